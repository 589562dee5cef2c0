"""The working-day calendar (工作日): notice periods, review deadlines, payout deadlines and audit
timers are counted in working days, not calendar days.

A day is a working day when it is a Monday-Friday not listed as a holiday, or a weekend day listed
as a make-up working day (调休). Both lists come from ``[calendar]`` in config.toml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from chain.config import CalendarSettings, ConfigError


@dataclass(frozen=True)
class WorkCalendar:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    zone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, settings: CalendarSettings) -> "WorkCalendar":
        def parse(values: tuple[str, ...], key: str) -> frozenset[date]:
            out = set()
            for v in values:
                try:
                    out.add(date.fromisoformat(v))
                except ValueError:
                    raise ConfigError(f"[calendar] {key}: {v!r} is not an ISO date (YYYY-MM-DD)") from None
            return frozenset(out)

        holidays, workdays = parse(settings.holidays, "holidays"), parse(settings.workdays, "workdays")
        both = holidays & workdays
        if both:
            raise ConfigError(f"[calendar] {sorted(d.isoformat() for d in both)} listed as holiday and working day")
        try:
            ZoneInfo(settings.timezone)
        except Exception:
            raise ConfigError(f"[calendar] timezone {settings.timezone!r} is not a known time zone") from None
        return cls(holidays=holidays, workdays=workdays, zone=settings.timezone)

    # ------------------------------------------------------------------ days

    def is_workday(self, d: date) -> bool:
        if d in self.workdays:
            return True
        return d.weekday() < 5 and d not in self.holidays

    def add_workdays(self, start: date, n: int) -> date:
        """The date ``n`` working days after ``start`` (``start`` itself is not counted; n >= 0).

        add_workdays(friday, 1) is the next Monday when there is no holiday between."""
        if n < 0:
            raise ValueError("n must be >= 0")
        d = start
        while n:
            d += timedelta(days=1)
            if self.is_workday(d):
                n -= 1
        return d

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how many working days have passed from ``start`` to ``end``.
        Negative when ``end`` is before ``start``."""
        if end < start:
            return -self.workdays_between(end, start)
        count, d = 0, start
        while d < end:
            d += timedelta(days=1)
            if self.is_workday(d):
                count += 1
        return count

    # ------------------------------------------------------------------ instants

    def local_date(self, ts: int | float | datetime) -> date:
        """The district's civil date of a unix time or an aware datetime."""
        if not isinstance(ts, datetime):
            ts = datetime.fromtimestamp(ts, tz=timezone.utc)
        return ts.astimezone(ZoneInfo(self.zone)).date()

    def end_of_day(self, d: date) -> int:
        """Unix time of the last second of ``d`` in the district's time: a deadline "by d" ends here."""
        return int(datetime.combine(d, time(23, 59, 59), tzinfo=ZoneInfo(self.zone)).timestamp())

    def deadline_after(self, ts: int | float | datetime, n: int) -> int:
        """Unix time at which a period of ``n`` working days that starts at ``ts`` ends."""
        return self.end_of_day(self.add_workdays(self.local_date(ts), n))

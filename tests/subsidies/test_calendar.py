"""The working-day calendar: weekends, holidays, make-up days, deadlines in the district's time."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from chain.config import CalendarSettings, ConfigError
from gateway.subsidies.calendar import WorkCalendar

# National Day week of 2026 as an example schedule: Oct 1-7 off, Sat Oct 10 a make-up working day.
GOLDEN_WEEK = CalendarSettings(holidays=tuple(f"2026-10-0{d}" for d in range(1, 8)), workdays=("2026-10-10",))


def test_plain_weeks_skip_weekends() -> None:
    cal = WorkCalendar()
    friday = date(2026, 11, 27)
    assert cal.add_workdays(friday, 1) == date(2026, 11, 30)
    assert cal.add_workdays(friday, 5) == date(2026, 12, 4)
    assert cal.workdays_between(friday, date(2026, 12, 4)) == 5
    assert cal.workdays_between(date(2026, 12, 4), friday) == -5


def test_holidays_and_make_up_days() -> None:
    cal = WorkCalendar.from_settings(GOLDEN_WEEK)
    assert not cal.is_workday(date(2026, 10, 5))  # a Monday inside the holiday
    assert cal.is_workday(date(2026, 10, 10))  # a Saturday made a working day
    # a 5-working-day notice opened on Sept 30 runs Oct 8, 9, 10, 12, 13
    assert cal.add_workdays(date(2026, 9, 30), 5) == date(2026, 10, 13)


def test_deadline_is_end_of_local_day() -> None:
    cal = WorkCalendar()
    opened = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)  # 09:00 in Beijing, Monday
    deadline = cal.deadline_after(opened, 5)
    assert datetime.fromtimestamp(deadline, tz=timezone.utc) == datetime(2026, 12, 7, 15, 59, 59, tzinfo=timezone.utc)


@pytest.mark.parametrize(("settings", "message"), [
    (CalendarSettings(holidays=("2026-13-01",)), "not an ISO date"),
    (CalendarSettings(holidays=("2026-10-10",), workdays=("2026-10-10",)), "holiday and working day"),
    (CalendarSettings(timezone="Mars/Olympus"), "not a known time zone"),
])
def test_bad_calendar_configuration_is_named(settings: CalendarSettings, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WorkCalendar.from_settings(settings)

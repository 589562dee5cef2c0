"""Two writers opening the same alert at once (the event listener and a full scan, or two gateway
processes): the second one's insert is refused by the unique key and its findings are applied again,
updating the alert the first one opened — one alert, no error."""

from __future__ import annotations

from sqlalchemy import func, select

from audit import alerts as store
from audit.findings import Level
from audit.models import AuditAlert
from audit.routing import process
from tests.audit.conftest import T0, finding


def test_an_alert_opened_meanwhile_by_another_writer_is_updated_not_duplicated(offline_env, monkeypatch) -> None:
    process(offline_env, [finding("PAY2", Level.PROMPT)], T0, settle_chain=False)  # the other writer's alert

    real = store._alerts_for
    calls = {"n": 0}

    def stale_read(s, keys):  # the first read happens before the other writer's commit is visible
        calls["n"] += 1
        return {} if calls["n"] == 1 else real(s, keys)

    monkeypatch.setattr(store, "_alerts_for", stale_read)
    result = process(offline_env, [finding("PAY2", Level.WARNING)], T0 + 60, settle_chain=False)

    assert calls["n"] >= 2  # refused once by the unique key, then applied again
    assert result.as_dict()["raised"] == 1
    with offline_env.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AuditAlert)) == 1
        assert s.scalar(select(AuditAlert.level)) == int(Level.WARNING)

"""The alert store with hand-built findings: a re-scan never duplicates an alert, a worse condition
raises the same alert (with its history), a same or lower level changes nothing but last seen, and
a key absent from a full scan of its scope is recorded as cleared — never deleted."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from audit import alerts as store
from audit.findings import Level
from audit.models import AuditAlert, AuditAlertEvent, AuditRecord
from chain.db import make_engine, session_factory, transaction
from tests.audit.conftest import AUDIT_TABLES, T0, finding
from tests.conftest import migrated_database

APP_A, APP_B, APP_C = ("0x" + c * 64 for c in "abc")


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The store on a database migrated by Alembic (0006), SQLite and PostgreSQL, shared by the module."""
    url_iter = migrated_database(request, tmp_path_factory.mktemp(f"alerts-{request.param}"))
    url = next(url_iter)
    engine = make_engine(url)
    yield session_factory(engine)
    engine.dispose()
    next(url_iter, None)


@pytest.fixture
def sessions(migrated):
    """Overrides the conftest's: the migrated database, emptied of audit rows before each test."""
    with transaction(migrated) as s:
        for table in reversed(AUDIT_TABLES):
            s.execute(table.delete())
    return migrated


def count(sessions, model) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def kinds(sessions, alert_id: str) -> list[str]:
    return [e.kind for e in store.events_of(sessions, store.get(sessions, alert_id))]


def test_a_new_finding_becomes_an_alert_with_everything_recorded(sessions) -> None:
    result = store.apply_findings(sessions, [finding("PAY2", Level.WARNING, APP_A, version="PAY2@3")], T0)
    assert result.as_dict() == {"new": 1, "raised": 0, "recurred": 0, "unchanged": 0, "cleared": 0}
    alert = store.get(sessions, result.new[0])
    assert alert.alert_id == store.alert_id_of("PAY2", "application", APP_A)
    assert (alert.point_id, alert.stage, alert.level, alert.subject_type, alert.subject_id) == (
        "PAY2", "payout", Level.WARNING, "application", APP_A)
    assert alert.rule_version == "PAY2@3" and alert.first_seen == alert.last_seen == T0
    assert json.loads(alert.facts)["account_holder"]["source"]["department"] == "FINANCE"
    assert (alert.condition, alert.status, alert.department) == ("active", "open", "SCIENCE")
    # the record to anchor names the point, level, subject, facts and rule version
    (rec,) = store.records_of(sessions, alert)
    record = json.loads(rec.record)
    assert record["level"] == "warning" and record["rule_version"] == "PAY2@3" and record["subject_id"] == APP_A
    assert rec.record_hash == store.record_hash(rec.record)
    assert rec.leaf == store.leaf_of(alert.alert_id, "SCIENCE", rec.record_hash)


def test_rescanning_the_same_findings_never_duplicates(sessions) -> None:
    scan = [finding("PAY2", Level.PROMPT, APP_A), finding("APP6", Level.WARNING, APP_B, stage="apply")]
    first = store.apply_findings(sessions, scan, T0)
    for n in range(1, 4):
        again = store.apply_findings(sessions, scan, T0 + n * 60)
        assert again.as_dict() == {"new": 0, "raised": 0, "recurred": 0, "unchanged": 2, "cleared": 0}
    assert count(sessions, AuditAlert) == 2 and count(sessions, AuditRecord) == 2
    alert = store.get(sessions, first.new[0])
    assert alert.first_seen == T0 and alert.last_seen == T0 + 180
    assert kinds(sessions, alert.alert_id) == ["raised"]


def test_a_key_reported_twice_in_one_scan_is_one_alert_at_the_worse_level(sessions) -> None:
    result = store.apply_findings(sessions, [finding("APP3", Level.PROMPT, APP_A, stage="apply"),
                                             finding("APP3", Level.ALARM, APP_A, stage="apply")], T0)
    assert len(result.new) == 1 and store.get(sessions, result.new[0]).level == Level.ALARM


def test_a_worse_condition_raises_the_same_alert_with_its_history(sessions) -> None:
    (aid,) = store.apply_findings(sessions, [finding("APP5", Level.PROMPT, APP_A, stage="apply",
                                                     revenue={"value": 0.12, "source": "TAX"})], T0).new
    raised = store.apply_findings(sessions, [finding("APP5", Level.ALARM, APP_A, stage="apply", version="APP5@2",
                                                     revenue={"value": 0.55, "source": "TAX"})], T0 + 60)
    assert raised.raised == [aid] and not raised.new
    alert = store.get(sessions, aid)
    assert (alert.level, alert.max_level, alert.rule_version, alert.raised_at) == (Level.ALARM, Level.ALARM,
                                                                                   "APP5@2", T0 + 60)
    events = store.events_of(sessions, alert)
    assert [e.kind for e in events] == ["raised", "level_raised"]
    assert (events[1].level_before, events[1].level_after) == (Level.PROMPT, Level.ALARM)
    assert json.loads(events[1].facts_before)["revenue"]["value"] == 0.12
    assert json.loads(events[1].facts_after)["revenue"]["value"] == 0.55
    assert [r.version for r in store.records_of(sessions, alert)] == [1, 2]
    assert count(sessions, AuditAlert) == 1


@pytest.mark.parametrize("later", [Level.WARNING, Level.PROMPT])
def test_the_same_or_a_lower_level_leaves_the_alert_unchanged(sessions, later) -> None:
    (aid,) = store.apply_findings(sessions, [finding("REV1", Level.WARNING, APP_A, stage="review")], T0).new
    result = store.apply_findings(sessions, [finding("REV1", later, APP_A, stage="review", note="other")], T0 + 99)
    assert result.unchanged == [aid]
    alert = store.get(sessions, aid)
    assert alert.level == Level.WARNING and alert.last_seen == T0 + 99 and "note" not in json.loads(alert.facts)
    assert alert.version == 1


def test_absent_from_a_full_scan_is_cleared_not_deleted_and_may_recur(sessions) -> None:
    new = store.apply_findings(sessions, [finding("PAY2", Level.WARNING, APP_A),
                                          finding("PAY2", Level.PROMPT, APP_B)], T0).new
    # an event-driven (partial) scan that misses APP_A clears nothing
    assert store.apply_findings(sessions, [finding("PAY2", Level.PROMPT, APP_B)], T0 + 10).cleared == []
    full = store.apply_findings(sessions, [finding("PAY2", Level.PROMPT, APP_B)], T0 + 20,
                                full_scan=store.ScanScope())
    assert full.cleared == [new[0]] and full.unchanged == [new[1]]
    alert = store.get(sessions, new[0])
    assert (alert.condition, alert.cleared_at, alert.level) == ("cleared", T0 + 20, Level.WARNING)
    assert kinds(sessions, alert.alert_id) == ["raised", "cleared"]
    assert json.loads(store.records_of(sessions, alert)[-1].record)["condition"] == "cleared"
    # cleared once only
    again = store.apply_findings(sessions, [finding("PAY2", Level.PROMPT, APP_B)], T0 + 30, full_scan=store.ScanScope())
    assert again.cleared == [] and count(sessions, AuditAlert) == 2
    back = store.apply_findings(sessions, [finding("PAY2", Level.PROMPT, APP_A)], T0 + 40)
    assert back.recurred == [new[0]]
    alert = store.get(sessions, new[0])
    assert (alert.condition, alert.level, alert.cleared_at) == ("active", Level.PROMPT, None)
    assert kinds(sessions, alert.alert_id) == ["raised", "cleared", "recurred"]


def test_a_full_scan_clears_only_within_the_scope_it_covered(sessions) -> None:
    new = store.apply_findings(sessions, [finding("PAY2", Level.PROMPT, APP_A),
                                          finding("APP6", Level.PROMPT, APP_A, stage="apply"),
                                          finding("PAY2", Level.PROMPT, APP_C)], T0).new
    # a full scan of point PAY2 over application C only
    result = store.apply_findings(sessions, [], T0 + 5, full_scan=store.ScanScope(
        points=frozenset({"PAY2"}), subjects=frozenset({("application", APP_C)})))
    assert result.cleared == [new[2]]
    # a full scan of PAY2 over everything clears PAY2/A but not APP6/A
    result = store.apply_findings(sessions, [], T0 + 6, full_scan=store.ScanScope(points=frozenset({"PAY2"})))
    assert result.cleared == [new[0]]
    assert store.get(sessions, new[1]).condition == "active"
    assert count(sessions, AuditAlert) == 3
    assert count(sessions, AuditAlertEvent) == 5


def test_a_malformed_finding_is_refused_whole(sessions) -> None:
    bad = finding("PAY2", Level.PROMPT, APP_A)
    object.__setattr__(bad, "rule_version", "")
    with pytest.raises(store.AlertError) as exc:
        store.apply_findings(sessions, [finding("PAY2", Level.PROMPT, APP_B), bad], T0)
    assert exc.value.code == "invalid_finding"
    assert count(sessions, AuditAlert) == 0


def test_facts_from_vectorised_rules_are_stored_as_plain_numbers(sessions) -> None:
    import numpy as np

    f = finding("APP4", Level.WARNING, APP_A, stage="apply",
                insured_staff={"value": np.int64(0), "source": "enterprises.insured_staff",
                               "source_department": "HRSS"},
                ratio={"value": np.float64(0.5), "source": "enterprises.tax", "source_department": "TAX"})
    (aid,) = store.apply_findings(sessions, [f], T0).new
    facts = json.loads(store.get(sessions, aid).facts)
    assert facts["insured_staff"]["value"] == 0 and isinstance(facts["insured_staff"]["value"], int)
    assert facts["ratio"]["value"] == 0.5
    # the same finding again is unchanged (the canonical form is stable)
    assert store.apply_findings(sessions, [f], T0 + 1).unchanged == [aid]

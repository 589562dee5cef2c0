"""The scan engine: clean ledgers stay clean, scans are deterministic and idempotent, a worsening
condition raises the same alert's level, one event gives the same findings as a full scan for the
subjects it touches, missing data is skipped (not a hit), and thresholds come from configuration."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest

from audit.config import thresholds
from audit.engine import EVENT_KINDS, Engine, Event
from audit.findings import Level
from audit.rules import RULES, rule
from audit.synthetic import AS_OF, clean_ledger, generate
from chain.config import AuditSettings, CalendarSettings, ConfigError, load_settings, render_config, with_overrides
from chain.config import Settings
from gateway.subsidies.calendar import WorkCalendar


@pytest.fixture(scope="module")
def ledger():
    return generate(4000, seed=7)


@pytest.fixture(scope="module")
def full(ledger):
    return Engine().scan(ledger)


def _sig(findings):
    return [(f.key, int(f.level), f.rule_version, f.facts, f.department, f.amount_fen, f.application_id)
            for f in findings]


def test_clean_ledger_has_no_findings_and_every_point_judges_something():
    result = Engine().scan(clean_ledger().build())
    assert result.findings == []
    assert list(result.stats) == [r.id for r in RULES]
    for pid, st in result.stats.items():
        assert st.evaluated >= 1, pid
        assert st.skipped == 0, pid


def test_synthetic_ledger_trips_every_point(full):
    fired = {f.point_id for f in full.findings}
    assert fired == {r.id for r in RULES}


def test_scan_is_deterministic_across_independent_builds(full):
    again = Engine().scan(generate(4000, seed=7))
    assert _sig(again.findings) == _sig(full.findings)


def test_rescan_of_the_same_snapshot_gives_the_same_findings(ledger, full):
    again = Engine().scan(ledger)
    assert _sig(again.findings) == _sig(full.findings)
    assert len({f.key for f in full.findings}) == len(full.findings)  # one finding per (point, subject)


def test_findings_are_in_catalogue_then_row_order(ledger, full):
    order = {r.id: i for i, r in enumerate(RULES)}
    points = [order[f.point_id] for f in full.findings]
    assert points == sorted(points)
    apps = ledger.index("applications")
    for pid in ("APP5", "REV1"):
        rows = [apps[f.subject_id] for f in full.findings if f.point_id == pid]
        assert rows == sorted(rows) and rows


def test_worsening_condition_raises_the_level_of_the_same_alert():
    engine = Engine()
    s = clean_ledger()
    s.set("applications", "A1", decl_revenue_fen=2_220_000_000)  # 11 % above the tax attestation
    first = engine.scan(s.build(), points=["APP5"]).findings
    s.set("applications", "A1", decl_revenue_fen=3_100_000_000)  # 55 %
    second = engine.scan(s.build(), points=["APP5"]).findings
    assert [f.key for f in first] == [f.key for f in second] == [("APP5", "application", "A1")]
    assert (first[0].level, second[0].level) == (Level.PROMPT, Level.ALARM)
    assert second[0].facts["largest_deviation"]["value"] == 0.55
    s.set("applications", "A1", decl_revenue_fen=2_000_000_000)  # corrected: the finding disappears
    assert engine.scan(s.build(), points=["APP5"]).findings == []


EVENTS = ["application.submitted", "application.reviewed", "payout.recorded", "notice.published",
          "usage.reported", "signoff.recorded", "objection.recorded", "record.changed", "transfer.recorded",
          "performance.reported", "rectification.recorded", "draw.recorded", "account.changed", "policy.changed"]


def test_event_evaluation_equals_the_full_scan_for_the_touched_subjects(ledger, full):
    engine = Engine()
    rng = np.random.default_rng(3)
    apps = ledger.applications.id
    pol_rows = ledger.index("policies")
    picks: list[str] = []
    for r in RULES:  # two subjects with a finding of each point, then some at random
        mine = [f for f in full.findings if f.point_id == r.id][:2]
        for f in mine:
            if f.application_id:
                picks.append(f.application_id)
            else:
                picks.append(str(apps[np.flatnonzero(ledger.applications.policy == pol_rows[f.subject_id])[0]]))
    picks += [str(a) for a in rng.choice(apps, 10, replace=False)]
    compared, covered = 0, set()
    for app_id, kind in [(a, k) for a in picks for k in EVENTS]:
        event = Event(kind, application_id=str(app_id))
        got = engine.evaluate(ledger, event)
        subjects = engine.subjects(ledger, event)
        touched = {("application", str(app_id))}
        touched |= {("payout", str(ledger.payout_lines.id[i])) for i in subjects["payout"]}
        touched |= {("policy", str(ledger.policies.id[i])) for i in subjects["policy"]}
        concerned = {r.id for r in RULES if kind in r.events}
        expected = [f for f in full.findings if f.point_id in concerned and (f.subject_type, f.subject_id) in touched]
        assert _sig(got.findings) == _sig(expected), (kind, app_id)
        assert set(got.stats) == concerned
        compared += len(expected)
        covered |= {f.point_id for f in expected}
    assert compared > 50
    assert covered == {r.id for r in RULES}, covered  # the comparison is not vacuous: most points had findings to match


def test_policy_event_by_policy_id(ledger, full):
    engine = Engine()
    for pid in sorted({f.subject_id for f in full.findings if f.subject_type == "policy"}):
        got = engine.evaluate(ledger, Event("policy.changed", policy_id=pid))
        expected = [f for f in full.findings if f.subject_type == "policy" and f.subject_id == pid]
        assert _sig(got.findings) == _sig(expected) and expected


def test_registry_event_reaches_every_application_of_the_firm(ledger, full):
    engine = Engine()
    ent_row = int(np.bincount(ledger.applications.enterprise).argmax())  # a firm with several applications
    uscc = str(ledger.enterprises.id[ent_row])
    got = engine.evaluate(ledger, Event("registry.changed", enterprise_id=uscc))
    mine = {str(a) for a in ledger.applications.id[ledger.applications.enterprise == ent_row]}
    assert len(mine) >= 2
    concerned = {r.id for r in RULES if "registry.changed" in r.events}
    expected = [f for f in full.findings if f.point_id in concerned and f.subject_id in mine]
    assert _sig(got.findings) == _sig(expected)
    assert got.stats["APP2"].subjects == len(mine)


def test_unknown_event_kind_or_subject_is_refused(ledger):
    with pytest.raises(ValueError, match="unknown event kind"):
        Engine().evaluate(ledger, Event("application.teleported", application_id=str(ledger.applications.id[0])))
    with pytest.raises(KeyError, match="no row"):
        Engine().evaluate(ledger, Event("application.submitted", application_id="0xnope"))
    assert "payout.recorded" in EVENT_KINDS


def test_missing_data_is_skipped_not_a_hit():
    s = clean_ledger()
    s.set("enterprises", "91330100MA00000001", insured_staff=None, tax_paid_fen=None, established=None,
          utility_kwh=None)
    s.drop("transfers")
    result = Engine().scan(s.build(), points=["APP4", "USE2"])
    assert result.findings == []
    assert (result.stats["APP4"].evaluated, result.stats["APP4"].skipped) == (4, 1)
    assert (result.stats["USE2"].evaluated, result.stats["USE2"].skipped) == (0, 1)


def test_facts_carry_values_sources_and_provenance():
    s = clean_ledger()
    s.set("payout_lines", "B1:1", payee_name="Other Co", account_changed="2026-03-20")
    f = Engine().scan(s.build(), points=["PAY2"]).findings[0]
    assert f.subject_type == "payout" and f.application_id == "A1" and f.department == "INDUSTRY"
    assert f.amount_fen == 5_000_000
    assert f.facts["payee_name"] == {"value": "Other Co", "source": "payout_lines.payee_name",
                                     "source_department": "INDUSTRY"}
    assert f.facts["firm_name"]["value"] == "Acme Robotics Co., Ltd."
    assert f.facts["firm_name"]["source_department"] == "MARKET"
    assert f.facts["account_changed"]["value"] == "2026-03-20"


def test_a_threshold_from_configuration_changes_the_result_and_the_version():
    s = clean_ledger()
    s.set("applications", "A1", decl_revenue_fen=2_300_000_000)  # 15 %
    snap = s.build()
    default = Engine().scan(snap, points=["APP5"]).findings
    strict = Engine(settings=AuditSettings(thresholds=("APP5.prompt_ratio=0.2",))).scan(snap, points=["APP5"]).findings
    assert [f.level for f in default] == [Level.PROMPT]
    assert strict == []
    loose = Engine(settings=AuditSettings(thresholds=("APP5.prompt_ratio=0.05",)))
    assert loose.versions["APP5"] != Engine().versions["APP5"]
    assert loose.versions["APP5"].startswith("APP5@1+")
    assert loose.versions["APP4"] == Engine().versions["APP4"]  # only the changed point's version moves
    assert loose.scan(snap, points=["APP5"]).findings[0].rule_version == loose.versions["APP5"]


def test_bad_threshold_configuration_is_refused():
    for bad, msg in (("APP5.nope=1", "no parameter"), ("ZZZ9.x=1", "unknown point"), ("APP5", "POINT.param"),
                     ("APP5.prompt_ratio=high", "must be a float")):
        with pytest.raises(ConfigError, match=msg):
            thresholds(AuditSettings(thresholds=(bad,)))
    with pytest.raises(ConfigError, match="unknown point"):
        Engine(settings=AuditSettings(disabled=("APP9",)))
    assert thresholds(AuditSettings(thresholds=("USE1.banned=gifts|wages",)))["USE1"]["banned"] == ("gifts", "wages")


def test_audit_section_round_trips_through_config_toml(tmp_path):
    settings = with_overrides(Settings(data_dir=tmp_path),
                              audit={"thresholds": ("PUB1.prompt_wd=4",), "disabled": ("APP4",)})
    (tmp_path / "config.toml").write_text(render_config(settings), encoding="utf-8")
    loaded = load_settings(tmp_path)
    assert loaded.audit == AuditSettings(thresholds=("PUB1.prompt_wd=4",), disabled=("APP4",))
    engine = Engine(settings=loaded.audit)
    assert "APP4" not in engine.points and engine.params["PUB1"]["prompt_wd"] == 4
    result = engine.scan(clean_ledger().build())
    assert "APP4" not in result.stats


def test_working_day_rules_follow_the_configured_calendar():
    s = clean_ledger()
    s.set("applications", "A1", materials_missing=1, materials_supplied=None, forwarded=None, submitted="2026-08-25")
    snap = s.build()  # 5 WD from Tue 25 Aug to Tue 1 Sep: prompt only
    assert [f.level for f in Engine().scan(snap, points=["APP1"]).findings] == [Level.PROMPT]
    cal = WorkCalendar.from_settings(CalendarSettings(workdays=("2026-08-29",)))  # a make-up Saturday
    assert [f.level for f in Engine(calendar=cal).scan(s.build(), points=["APP1"]).findings] == [Level.WARNING]


def test_versions_are_stable_and_documented():
    assert rule("PUB1").version() == rule("PUB1").version({"prompt_wd": 5})
    assert rule("PUB1").version() != rule("PUB1").version({"prompt_wd": 6})
    assert date.fromisoformat(AS_OF).weekday() == 1


def test_vectorised_working_days_agree_with_the_calendar():
    from audit.rules import Workdays
    from audit.snapshot import day

    cal = WorkCalendar.from_settings(CalendarSettings(holidays=("2026-10-01", "2026-10-02", "2026-10-05"),
                                                      workdays=("2026-09-27", "2026-10-10")))
    lo, hi = day("2026-08-01"), day("2026-12-31")
    wd = Workdays(cal, lo - 7, hi + 200)
    rng = np.random.default_rng(5)
    a = rng.integers(lo, hi, 300)
    b = rng.integers(lo, hi, 300)
    got = wd.between(a, b)
    base = date(1970, 1, 1)
    from datetime import timedelta
    want = [cal.workdays_between(base + timedelta(days=int(x)), base + timedelta(days=int(y))) for x, y in zip(a, b)]
    assert got.tolist() == want
    n = rng.integers(0, 40, 300)
    assert [base + timedelta(days=int(x)) for x in wd.add(a, n)] == \
        [cal.add_workdays(base + timedelta(days=int(x)), int(k)) for x, k in zip(a, n)]


def test_findings_are_json_for_the_alert_store(full):
    from audit.findings import STAGES, SUBJECT_TYPES

    for f in full.findings:
        json.dumps(f.facts, allow_nan=False)  # the store keeps facts as JSON; no NaN or numpy scalars
        assert f.stage in STAGES and f.subject_type in SUBJECT_TYPES
        assert all(isinstance(v, dict) and {"value", "source", "source_department"} <= set(v)
                   for k, v in f.facts.items() if k != "condition")
        assert f.amount_fen is None or type(f.amount_fen) is int
        if f.subject_type != "policy":
            assert f.application_id and f.department


def test_empty_ledger_and_an_application_with_nothing_known():
    from audit.snapshot import SnapshotBuilder

    empty = Engine().scan(SnapshotBuilder().build(AS_OF))
    assert empty.findings == [] and all(st.subjects == 0 for st in empty.stats.values())
    b = SnapshotBuilder()
    b.add("applications", id="0xbare")
    bare = Engine().scan(b.build(AS_OF))
    assert bare.findings == []  # nothing known is never a hit ...
    assert bare.stats["APP5"].skipped == 1 and bare.stats["REV1"].skipped == 1  # ... it is counted as skipped
    assert all(st.evaluated == 0 for st in bare.stats.values())

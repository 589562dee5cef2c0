"""The demo data: the plan at full scale, and a small load through the real services on anvil.

The small load (10 policies, 200 applications: enough that no two demo anomalies share a subject by accident) runs every stage a real district goes through — published,
applied (auto-approved or reviewed at three levels), rejected, noticed with objections, paid through a
bank batch file and its return file, used, clawed back — on the chain, the SQL tables and the event
index, and writes the manifest of injected anomalies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.demo import plan as demo_plan
from gateway.demo.load import DemoError, load
from tests.subsidies.conftest import SubsidyGateway, subsidy_gateway_on_anvil


# ---------------------------------------------------------------------------- the plan

def test_full_plan_covers_every_point_with_the_district_s_size() -> None:
    plan = demo_plan.build(170, 5000, seed=7)
    summary = plan.summary()
    assert summary["policies"] == 170
    assert summary["applications"] == 5000
    assert summary["points_missing"] == []
    assert set(summary["points"]) == set(demo_plan.POINTS) and len(demo_plan.POINTS) == 29
    # every stage of a subsidy's life is reached by many applications
    for stage in ("rejected", "approved", "noticed", "paid", "used", "clawed_back", "reviewing"):
        assert summary["stages"].get(stage, 0) >= 20, (stage, summary["stages"])
    assert summary["paths"]["manual"] > 1000 and summary["paths"]["auto"] > 2000
    # every level of the three layers is injected somewhere
    levels = {lvl for counts in summary["points"].values() for lvl in counts}
    assert levels == {"prompt", "warning", "alarm"}


def test_plan_is_deterministic_and_the_seed_changes_it() -> None:
    a, b, c = demo_plan.build(8, 80, seed=3), demo_plan.build(8, 80, seed=3), demo_plan.build(8, 80, seed=4)
    assert demo_plan.dumps(demo_plan.manifest(a)) == demo_plan.dumps(demo_plan.manifest(b))
    assert [x.uscc for x in a.applications] == [x.uscc for x in b.applications]
    assert [x.uscc for x in a.applications] != [x.uscc for x in c.applications]


def test_manifest_labels_each_anomaly_with_point_level_and_subject() -> None:
    plan = demo_plan.build(8, 80, seed=7)
    m = demo_plan.manifest(plan, ids={"P001": "0x" + "11" * 32}, as_of="2026-02-01")
    assert m["as_of"] == "2026-02-01" and m["points_missing"] == []
    ids = [x["id"] for x in m["anomalies"]]
    assert len(ids) == len(set(ids)) == len(plan.injections)
    for x in m["anomalies"]:
        assert x["point"] in demo_plan.POINTS
        assert x["level"] in ("prompt", "warning", "alarm")
        assert x["subject"] in ("policy", "application", "payout")
        assert x["method"] in ("service", "tamper", "snapshot_input")
        if x["method"] == "snapshot_input":
            assert x["rows"] and all(set(r) == {"table", "row"} for r in x["rows"])


def test_too_small_a_plan_is_refused() -> None:
    with pytest.raises(ValueError):
        demo_plan.build(3, 10)


# ---------------------------------------------------------------------------- a small load

@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SubsidyGateway, object, Path]]:
    directory = tmp_path_factory.mktemp("demo")
    for sg in subsidy_gateway_on_anvil(directory):
        result = load(sg.ctx, 10, 200, seed=7, out=directory, departments=("SCITECH",))
        yield sg, result, directory


def test_small_load_reaches_every_stage_and_reports_figures(loaded) -> None:
    sg, result, directory = loaded
    figures = result.report()
    statuses = figures["statuses"]
    assert figures["applications"] == 200
    for status in ("approved", "rejected", "noticed", "paid", "submitted"):
        assert statuses.get(status, 0) >= 1, statuses
    assert figures["paths"].get("auto", 0) >= 10 and figures["paths"].get("manual", 0) >= 10
    assert figures["paths"].get("enrolled", 0) >= 1
    amounts = figures["amounts_fen"]
    assert amounts["budget"] > amounts["approved"] >= amounts["noticed"] >= amounts["paid"] > amounts["used"] > 0
    assert 0 < amounts["clawed_back"] < amounts["paid"]
    assert figures["policies_reconciled"] == 10
    mat = figures["materials"]
    assert 0 < mat["materials_by_licence"] < mat["materials_required"]
    assert mat["saved_ratio"] == round(mat["materials_by_licence"] / mat["materials_required"], 4)
    assert figures["seconds"] > 0


def test_small_load_went_through_chain_and_index(loaded) -> None:
    sg, result, _ = loaded
    from gateway.subsidies import reviews, trace
    from gateway.subsidies.models import SubsidyReview

    events = {e["event"] for e in trace.indexed_events(sg.ctx, ("PolicyPublished", "PolicyAmended",
                                                                 "ApplicationSubmitted", "ReviewRecorded",
                                                                 "ApplicationRejected", "NoticeOpened",
                                                                 "ObjectionFiled", "ObjectionAnswered",
                                                                 "PayoutBatchRecorded", "UseReported",
                                                                 "ClawedBack", "ApplicationEnrolled"))}
    assert events == {"PolicyPublished", "PolicyAmended", "ApplicationSubmitted", "ReviewRecorded",
                      "ApplicationRejected", "NoticeOpened", "ObjectionFiled", "ObjectionAnswered",
                      "PayoutBatchRecorded", "UseReported", "ClawedBack", "ApplicationEnrolled"}
    with sg.ctx.sessions() as s:
        levels = {r.level for r in s.query(SubsidyReview)}
    assert levels == {1, 2, 3}
    # the reviews left overdue are overdue by the chain's clock
    assert reviews.overdue(sg.ctx)
    # every application row agrees with the chain's record of it (what REV6 checks), except the one the
    # demo edits by hand after the load: its approved amount differs, nothing else
    from gateway.subsidies import applications
    from gateway.subsidies.models import SubsidyApplication

    tampered = {x["subject_id"] for x in result.manifest["anomalies"] if x["method"] == "tamper"}
    assert len(tampered) == 1
    with sg.ctx.sessions() as s:
        rows = list(s.query(SubsidyApplication))
    differing = {r.id: [d["field"] for d in applications.consistency(sg.ctx, r)["differences"]] for r in rows
                 if not applications.consistency(sg.ctx, r)["consistent"]}
    assert differing == {aid: ["approved_fen"] for aid in tampered}


def test_small_load_writes_the_manifest_with_product_ids(loaded) -> None:
    sg, result, directory = loaded
    manifest = json.loads((directory / "demo_anomalies.json").read_text(encoding="utf-8"))
    assert manifest["points_missing"] == []
    assert manifest["as_of"] and manifest["figures"]["applications"] == 200
    service = [x for x in manifest["anomalies"] if x["method"] == "service"]
    assert service and all(x["subject_id"] and x["subject_id"].startswith("0x") for x in service)
    from gateway.subsidies import applications

    for x in service:
        if x["subject"] == "application":
            assert applications.get(sg.ctx, x["subject_id"]).uscc == x["uscc"]


def test_a_second_load_into_the_same_ledger_is_refused(loaded) -> None:
    sg, _, _ = loaded
    with pytest.raises(DemoError):
        load(sg.ctx, 10, 200, seed=7)


def test_small_load_audit_catches_the_injected_anomalies(loaded) -> None:
    """A full scan of the loaded ledger (every application compared with the chain, the manifest's
    external rows merged) raises an alert of each injected point on its subject."""
    from datetime import date

    from audit.groundtruth import external_rows, score
    from audit.loader import scan_gateway

    sg, _result, directory = loaded
    manifest = json.loads((directory / "demo_anomalies.json").read_text(encoding="utf-8"))
    as_of = date.fromisoformat(manifest["as_of"])
    snap, scan = scan_gateway(sg.ctx, as_of=as_of, external=external_rows(manifest, as_of))
    scores = {s.point_id: s for s in score(scan, snap, manifest)}
    injected = {x["point"] for x in manifest["anomalies"] if x["subject_id"]}
    assert {"APP3", "APP5", "REV1", "REV2", "REV6", "NOT3", "USE1", "USE2", "USE3", "USE4"} <= injected
    missed = {p: scores[p].missed_firms for p in injected if scores[p].caught < scores[p].labelled}
    assert not missed, missed
    by_method = {x["method"] for x in manifest["anomalies"] if x["point"] in ("REV2", "USE2", "USE3", "REV6")}
    assert by_method == {"service", "tamper"}


def test_small_load_product_recorded_anomalies_are_caught_from_the_ledger_alone(loaded) -> None:
    """Without any external rows, every anomaly the product's own services recorded is caught on its subject:
    a licence revoked under an application awaiting review (APP1), the drawn agency holding shares in the
    applicant (REV3), a review decided two minutes after it was opened (REV4), among the others; and the
    material re-supplied in time raises no APP1."""
    from datetime import date

    from audit.groundtruth import score
    from audit.loader import scan_gateway

    sg, _result, directory = loaded
    manifest = json.loads((directory / "demo_anomalies.json").read_text(encoding="utf-8"))
    native = dict(manifest, anomalies=[x for x in manifest["anomalies"] if x["method"] != "snapshot_input"])
    as_of = date.fromisoformat(manifest["as_of"])
    snap, scan = scan_gateway(sg.ctx, as_of=as_of)
    scores = {s.point_id: s for s in score(scan, snap, native)}
    injected = {x["point"] for x in native["anomalies"] if x["subject_id"]}
    assert {"APP1", "REV3", "REV4"} <= injected
    missed = {p: scores[p].missed_firms for p in injected if scores[p].caught < scores[p].labelled}
    assert not missed, missed
    app1 = {f.subject_id: f.level.name.lower() for f in scan.findings if f.point_id == "APP1"}
    expected = {x["subject_id"]: x["level"] for x in native["anomalies"] if x["point"] == "APP1"}
    assert app1 == expected  # the re-supplied material and every other application: no APP1

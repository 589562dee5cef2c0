"""Evidence packs checked offline against the chain: a pack of an escalated, held, cased alert
verifies; one with a byte changed in a record fails naming the file; one re-sealed after the change
(manifest digest rewritten) still fails, naming the record, the note or the value that was changed."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from audit import alerts as store
from audit import cases, evidence, routing
from audit.findings import Level
from tests.audit.conftest import DAY, T0, finding
from tests.contracts.conftest import h

APP = "0x" + h("application E").hex()


def rebuild(data: bytes, name: str, change, reseal: bool) -> bytes:
    """The pack with file ``name`` changed by ``change(bytes) -> bytes``; ``reseal`` rewrites its digest."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    files[name] = change(files[name])
    if reseal:
        manifest = json.loads(files["manifest.json"])
        manifest["files"][name] = hashlib.sha256(files[name]).hexdigest()
        files["manifest.json"] = json.dumps(manifest).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    return out.getvalue()


def failed(verdict: evidence.PackVerdict) -> list[tuple[str, str]]:
    return [(c.name, c.reason) for c in verdict.checks if not c.valid]


@pytest.fixture
def escalated(env, signer):
    """A warning raised to a worse warning, escalated to alarm (held, cased), one case step taken."""
    (aid,) = routing.process(env, [finding("APP5", Level.PROMPT, APP, stage="apply",
                                           revenue_ratio={"value": 0.12, "source": {"department": "TAX",
                                                                                    "file": "tax.csv", "line": 3}},
                                           staff={"value": 4, "source_department": "HRSS"})], T0).new
    routing.process(env, [finding("APP5", Level.WARNING, APP, stage="apply", version="APP5@2",
                                  revenue_ratio={"value": 0.34, "source": {"department": "TAX", "file": "tax.csv",
                                                                           "line": 9}},
                                  staff={"value": 4, "source_department": "HRSS"})], T0 + DAY)
    deadline = store.get(env.sessions, aid).deadline_at
    routing.tick(env, deadline + 1)
    case = cases.of_alert(env.sessions, store.get(env.sessions, aid))
    cases.record_step(env, case.case_id, "preliminary", signer("inspector"), "初核: bank statements requested",
                      deadline + DAY)
    routing.tick(env, cases.get(env.sessions, case.case_id).due_at + 1)  # the step overdue: escalated
    return aid, case


def test_a_pack_of_an_escalated_alert_verifies_offline(env, escalated, w3) -> None:
    aid, case = escalated
    pack = evidence.build_pack(env, T0 + 30 * DAY, case_id=case.case_id)
    manifest, files = evidence.read_pack(pack)
    assert manifest["scope"] == {"kind": "case", "case_id": case.case_id, "alert_ids": [aid]}
    assert set(manifest["files"]) == {f"alerts/{aid}.json", "VERIFY.txt"}
    content = json.loads(files[f"alerts/{aid}.json"])
    assert manifest["record_count"] == len(content["records"]) == 3  # prompt, warning (with deadline), alarm
    assert [json.loads(r["record"])["level"] for r in content["records"]] == ["prompt", "warning", "alarm"]
    assert json.loads(content["records"][1]["record"])["deadline_at"] is not None
    assert manifest["first_time"] == T0 and manifest["last_time"] > T0 + 20 * DAY
    # who, what, when; before/after values; each field's source department
    assert {f["name"]: f["source_department"] for f in content["fields"]} == {"revenue_ratio": "TAX", "staff": "HRSS"}
    (change,) = [c for c in content["changes"] if c["field"] == "revenue_ratio" and c["kind"] == "level_raised"]
    assert change["before"]["value"] == 0.12 and change["after"]["value"] == 0.34
    assert [d["kind"] for d in content["dispositions"]] == ["escalated", "case_opened"]
    assert content["hold"]["status"] == "placed"
    assert [s["step"] for s in content["case"]["steps"]] == ["opened", "preliminary", "escalated"]
    verdict = evidence.check_pack(pack, w3)
    assert verdict.valid, failed(verdict)
    names = [c.name for c in verdict.checks]
    assert any("disposition 0 (escalated)" in n for n in names) and any("hold" in n for n in names)
    assert any("case step 1 (preliminary)" in n for n in names)
    assert any("case step 2 (escalated)" in n for n in names)


def test_a_byte_changed_in_a_record_fails_naming_the_file(env, escalated, w3) -> None:
    aid, _ = escalated
    pack = evidence.build_pack(env, T0 + 30 * DAY, alert_ids=[aid])
    name = f"alerts/{aid}.json"
    tampered = rebuild(pack, name, lambda b: b.replace(b'"value": 0.34', b'"value": 0.31', 1), reseal=False)
    verdict = evidence.check_pack(tampered, w3)
    assert not verdict.valid
    ((check, reason),) = [f for f in failed(verdict) if f[0].startswith("digest")]
    assert check == f"digest {name}" and "the file was changed" in reason


def test_a_resealed_change_to_an_anchored_record_still_fails(env, escalated, w3) -> None:
    aid, _ = escalated
    pack = evidence.build_pack(env, T0 + 30 * DAY, alert_ids=[aid])
    name = f"alerts/{aid}.json"

    def lower_the_ratio(data: bytes) -> bytes:
        content = json.loads(data)
        rec = content["records"][-1]
        rec["record"] = rec["record"].replace('"value":0.34', '"value":0.31')
        return json.dumps(content).encode()

    verdict = evidence.check_pack(rebuild(pack, name, lower_the_ratio, reseal=True), w3)
    assert not verdict.valid
    reasons = dict(failed(verdict))
    record_check = [k for k in reasons if "record v" in k]
    assert record_check and "the record was changed" in reasons[record_check[0]]


def test_a_resealed_change_to_a_note_or_a_current_value_fails(env, escalated, w3) -> None:
    aid, _ = escalated
    pack = evidence.build_pack(env, T0 + 30 * DAY, alert_ids=[aid])
    name = f"alerts/{aid}.json"

    def soften_note(data: bytes) -> bytes:
        content = json.loads(data)
        content["dispositions"][1]["note"] = "nothing to see"
        return json.dumps(content).encode()

    reasons = dict(failed(evidence.check_pack(rebuild(pack, name, soften_note, reseal=True), w3)))
    assert list(reasons) == [f"{name} disposition 1 (case_opened)"]
    assert "the note or signer was changed" in reasons[f"{name} disposition 1 (case_opened)"]

    def lower_the_level(data: bytes) -> bytes:
        content = json.loads(data)
        content["alert"]["level"] = "prompt"
        return json.dumps(content).encode()

    reasons = dict(failed(evidence.check_pack(rebuild(pack, name, lower_the_level, reseal=True), w3)))
    assert list(reasons) == [f"{name} state"] and "level" in reasons[f"{name} state"]


def test_not_a_pack_is_refused(w3) -> None:
    with pytest.raises(evidence.PackError):
        evidence.check_pack(b"not a zip", w3)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "something else"}))
    with pytest.raises(evidence.PackError):
        evidence.check_pack(out.getvalue(), w3)


def test_each_field_names_its_source_department_in_every_shape_rules_record() -> None:
    fields = evidence.field_sources({
        "staff": {"value": 3, "source": "enterprises.insured_staff", "source_department": "HRSS"},
        "holder": {"value": "ACME", "source": {"department": "FINANCE", "file": "bank.csv", "line": 7}},
        "tax": {"value": 10, "source": "TAX"},
        "note": "plain value, no provenance",
    })
    assert [(f["name"], f["value"], f["source_department"]) for f in fields] == [
        ("holder", "ACME", "FINANCE"), ("note", "plain value, no provenance", "unknown"), ("staff", 3, "HRSS"),
        ("tax", 10, "TAX")]

"""AuditTrail on eth-tester: alert records anchored in Merkle batches (one transaction for many
alerts, a proof per alert), dispositions signed by the member who took them and refused for the
wrong member, problem-clue case steps, and nothing recorded on an alert after it is closed (销号)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_utils import keccak

from gateway.documents.merkle import MerkleTree
from tests.contracts.conftest import (
    COMMERCE,
    DISCIPLINE,
    INSPECTOR,
    SCIENCE,
    SERVICE,
    assert_reverts,
    bootstrap_subsidy_registry,
    deploy_contract,
    events,
    h,
    send,
    subsidy_people,
)

RECTIFIED, EXPLAINED, ESCALATED, CASE_OPENED, CLOSED = 1, 2, 3, 4, 5
FILED, PRELIMINARY, INQUIRY, SHELVED, CONCLUDED, ESCALATED_STEP = 1, 2, 3, 4, 5, 6
ZERO = bytes(32)
ANCHOR_ROLES = 32 | 128


def leaf(alert_id: bytes, department: bytes, record_hash: bytes) -> bytes:
    return keccak(encode(["bytes32", "bytes32", "bytes32"], [alert_id, department, record_hash]))


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return subsidy_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    return bootstrap_subsidy_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    return {"trail": deploy_contract(w3, "AuditTrail", registry.address, sender=people["admin"])}


@pytest.fixture
def trail(module_contracts):
    return module_contracts["trail"]


class Batch:
    """Five alert records (three of SCIENCE, two of COMMERCE) in one Merkle tree."""

    def __init__(self) -> None:
        self.alerts = [(h(f"alert {i}"), SCIENCE if i < 3 else COMMERCE, h(f"record {i} v1")) for i in range(5)]
        self.tree = MerkleTree([leaf(*a) for a in self.alerts])
        self.root = self.tree.root

    def ref(self, i: int) -> tuple:
        alert_id, dept, record = self.alerts[i]
        return alert_id, dept, record, self.root, self.tree.proof(i)


@pytest.fixture
def batch(trail, people) -> Batch:
    b = Batch()
    send(trail.functions.anchorAlerts(b.root, 5), people["inspector"])
    return b


def test_one_transaction_anchors_many_alerts_each_provable(w3, trail, people) -> None:
    b = Batch()
    receipt = send(trail.functions.anchorAlerts(b.root, 5), people["operator"])
    assert events(receipt, trail, "BatchAnchored") == [
        {"root": b.root, "department": SERVICE, "count": 5, "by": people["operator"]}]
    assert trail.functions.getBatch(b.root).call()[3] == 5
    for i in range(5):
        assert trail.functions.isAnchoredAlert(*b.ref(i)).call()
    alert_id, dept, _, root, proof = b.ref(0)
    assert not trail.functions.isAnchoredAlert(alert_id, dept, h("record 0 v2 (altered)"), root, proof).call()
    assert not trail.functions.isAnchoredAlert(alert_id, COMMERCE, h("record 0 v1"), root, proof).call()
    assert_reverts(trail.functions.anchorAlerts(b.root, 5), "BatchExists", b.root, sender=people["inspector"])


@pytest.mark.parametrize("who", ["sci_policy", "finance", "com_officer", "outsider"])
def test_only_inspectors_and_operators_anchor(trail, people, who) -> None:
    assert_reverts(trail.functions.anchorAlerts(h("root"), 1), "MissingAnyRole", people[who], ANCHOR_ROLES,
                   sender=people[who])


def test_rectified_and_explained_are_signed_by_the_responsible_department(trail, batch, people) -> None:
    f = trail.functions
    receipt = send(f.recordDisposition(*batch.ref(0), RECTIFIED, h("rectification report")), people["sci_rev1"])
    alert_id = batch.alerts[0][0]
    assert events(receipt, trail, "AlertBound") == [
        {"alertId": alert_id, "department": SCIENCE, "root": batch.root, "recordHash": batch.alerts[0][2]}]
    assert events(receipt, trail, "DispositionRecorded") == [
        {"alertId": alert_id, "kind": RECTIFIED, "noteHash": h("rectification report"), "index": 0,
         "byDepartment": SCIENCE, "by": people["sci_rev1"]}]
    record = f.getDisposition(alert_id, 0).call()
    assert record[0] == RECTIFIED and record[2] == SCIENCE and record[3] == people["sci_rev1"]
    # once bound, a later disposition needs no proof
    send(f.recordDisposition(alert_id, SCIENCE, ZERO, ZERO, [], EXPLAINED, h("explanation")), people["sci_policy"])
    assert f.getAlert(alert_id).call()[2] == 2


@pytest.mark.parametrize("who", ["com_officer", "inspector", "operator", "finance"])
def test_rectified_is_refused_for_another_department(trail, batch, people, who) -> None:
    assert_reverts(trail.functions.recordDisposition(*batch.ref(1), RECTIFIED, h("n")), "NotResponsibleDepartment",
                   people[who], SCIENCE, sender=people[who])


def test_a_non_member_cannot_record_anything(trail, batch, people) -> None:
    f, who = trail.functions, people["outsider"]
    assert_reverts(f.recordDisposition(*batch.ref(0), EXPLAINED, h("n")), "NotResponsibleDepartment", who, SCIENCE,
                   sender=who)
    assert_reverts(f.recordDisposition(*batch.ref(0), ESCALATED, h("n")), "MissingAnyRole", who, ANCHOR_ROLES,
                   sender=who)
    assert_reverts(f.recordDisposition(*batch.ref(0), CLOSED, h("n")), "MissingRole", who, INSPECTOR, sender=who)


def test_escalation_by_the_gateway_operator_or_an_inspector_only(trail, batch, people) -> None:
    f = trail.functions
    assert_reverts(f.recordDisposition(*batch.ref(3), ESCALATED, h("deadline missed")), "MissingAnyRole",
                   people["com_officer"], ANCHOR_ROLES, sender=people["com_officer"])
    receipt = send(f.recordDisposition(*batch.ref(3), ESCALATED, h("deadline missed")), people["operator"])
    assert events(receipt, trail, "DispositionRecorded")[0]["byDepartment"] == SERVICE
    send(f.recordDisposition(*batch.ref(4), ESCALATED, h("deadline missed")), people["inspector"])


def test_closing_is_the_commissions_and_final(trail, batch, people) -> None:
    f = trail.functions
    alert_id = batch.alerts[2][0]
    assert_reverts(f.recordDisposition(*batch.ref(2), CLOSED, h("close")), "MissingRole", people["sci_policy"],
                   INSPECTOR, sender=people["sci_policy"])
    send(f.recordDisposition(*batch.ref(2), RECTIFIED, h("fixed")), people["sci_rev2"])
    send(f.recordDisposition(*batch.ref(2), CLOSED, h("销号")), people["inspector"])
    assert f.getAlert(alert_id).call()[3] is True
    assert_reverts(f.recordDisposition(*batch.ref(2), EXPLAINED, h("late")), "AlertClosed", alert_id,
                   sender=people["sci_rev2"])
    assert_reverts(f.openCase(h("case"), *batch.ref(2), h("open")), "AlertClosed", alert_id,
                   sender=people["inspector"])
    # both dispositions are still there
    assert [f.getDisposition(alert_id, i).call()[0] for i in range(2)] == [RECTIFIED, CLOSED]
    assert_reverts(f.getDisposition(alert_id, 2), "IndexOutOfRange", 2, 2, sender=people["inspector"],
                   via=("call",))


def test_the_first_disposition_must_prove_an_anchored_record(trail, batch, people) -> None:
    f = trail.functions
    alert_id, dept, record, root, proof = batch.ref(0)
    bad = leaf(alert_id, dept, h("tampered record"))
    assert_reverts(f.recordDisposition(alert_id, dept, h("tampered record"), root, proof, RECTIFIED, h("n")),
                   "InvalidAlertProof", alert_id, bad, root, sender=people["sci_rev1"])
    # a record whose batch was never anchored
    lone = leaf(h("alert x"), SCIENCE, h("record x"))
    assert_reverts(f.recordDisposition(h("alert x"), SCIENCE, h("record x"), lone, [], RECTIFIED, h("n")),
                   "InvalidAlertProof", h("alert x"), lone, lone, sender=people["sci_rev1"])
    # the alert's department cannot be swapped after binding
    send(f.recordDisposition(*batch.ref(0), RECTIFIED, h("n")), people["sci_rev1"])
    assert_reverts(f.recordDisposition(alert_id, COMMERCE, ZERO, ZERO, [], RECTIFIED, h("n")),
                   "DepartmentMismatch", alert_id, SCIENCE, COMMERCE, sender=people["com_officer"])
    assert_reverts(f.recordDisposition(*batch.ref(0), RECTIFIED, ZERO), "ZeroValue", sender=people["sci_rev1"])
    assert_reverts(f.recordDisposition(*batch.ref(0), CASE_OPENED, h("n")), "InvalidDisposition", CASE_OPENED,
                   sender=people["inspector"])


def test_a_case_records_every_step_until_it_ends(trail, batch, people) -> None:
    f, insp = trail.functions, people["inspector"]
    case_id, alert_id = h("case 1"), batch.alerts[1][0]
    assert_reverts(f.openCase(case_id, *batch.ref(1), h("open")), "MissingRole", people["sci_policy"], INSPECTOR,
                   sender=people["sci_policy"])
    receipt = send(f.openCase(case_id, *batch.ref(1), h("open")), insp)
    assert events(receipt, trail, "CaseOpened") == [
        {"caseId": case_id, "alertId": alert_id, "noteHash": h("open"), "by": insp}]
    assert events(receipt, trail, "DispositionRecorded")[0]["kind"] == CASE_OPENED
    assert_reverts(f.openCase(case_id, *batch.ref(0), h("open")), "CaseExists", case_id, sender=insp)
    assert_reverts(f.openCase(h("case 2"), *batch.ref(1), h("open")), "CaseAlreadyOpen", alert_id, case_id,
                   sender=insp)
    for i, step in enumerate((PRELIMINARY, INQUIRY, SHELVED, CONCLUDED)):
        receipt = send(f.recordCaseStep(case_id, step, h(f"step {i}")), insp)
        assert events(receipt, trail, "CaseStepRecorded") == [
            {"caseId": case_id, "step": step, "noteHash": h(f"step {i}"), "index": i, "by": insp}]
    assert_reverts(f.recordCaseStep(case_id, FILED, h("after")), "CaseEnded", case_id, CONCLUDED, sender=insp)
    state = f.getCase(case_id).call()
    assert state[0] == alert_id and state[3] == 4 and state[4] == CONCLUDED
    assert [f.getCaseStep(case_id, i).call()[0] for i in range(4)] == [PRELIMINARY, INQUIRY, SHELVED, CONCLUDED]
    assert_reverts(f.recordCaseStep(h("no case"), PRELIMINARY, h("n")), "UnknownCase", h("no case"), sender=insp)
    assert_reverts(f.recordCaseStep(case_id, 0, h("n")), "InvalidCaseStep", 0, sender=insp)
    assert_reverts(f.recordCaseStep(case_id, PRELIMINARY, h("n")), "MissingRole", people["sci_rev1"], INSPECTOR,
                   sender=people["sci_rev1"])


def test_a_filed_case_takes_no_further_step(trail, batch, people) -> None:
    f, insp = trail.functions, people["inspector"]
    send(f.openCase(h("case F"), *batch.ref(4), h("open")), insp)
    send(f.recordCaseStep(h("case F"), FILED, h("立案")), insp)
    assert_reverts(f.recordCaseStep(h("case F"), CONCLUDED, h("n")), "CaseEnded", h("case F"), FILED, sender=insp)
    assert DISCIPLINE == f.getDisposition(batch.alerts[4][0], 0).call()[2]


def test_a_timer_escalation_is_recorded_without_changing_the_cases_disposition(trail, batch, people) -> None:
    f, insp = trail.functions, people["inspector"]
    send(f.openCase(h("case E"), *batch.ref(3), h("open")), insp)
    send(f.recordCaseStep(h("case E"), INQUIRY, h("函询")), insp)
    receipt = send(f.recordCaseStep(h("case E"), ESCALATED_STEP, h("overdue")), insp)
    assert events(receipt, trail, "CaseStepRecorded")[0]["step"] == ESCALATED_STEP
    state = f.getCase(h("case E")).call()
    assert state[3] == 2 and state[4] == INQUIRY
    send(f.recordCaseStep(h("case E"), CONCLUDED, h("了结")), insp)
    assert_reverts(f.recordCaseStep(h("case E"), ESCALATED_STEP, h("late")), "CaseEnded", h("case E"), CONCLUDED,
                   sender=insp)

"""SubsidyLedger public notice, payout and use on eth-tester: notices of approved applications at
least the policy's notice period long, objections filed while the notice runs and answered by the
policy department (upheld = rejected, amount back to the budget), payouts only after the notice
ended with no open objection and no alarm hold, paid ≤ approved, one record per batch line, usage
reports ≤ paid, claw backs ≤ paid -- and the full happy path with its events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.contracts.conftest import (
    DAY,
    NOTICE_FIELDS,
    OBJECTION_FIELDS,
    PAYOUT_LINE_FIELDS,
    TOTALS_FIELDS,
    AppStatus,
    ObjectionStatus,
    applicant_of,
    application_id,
    as_record,
    assert_reverts,
    events,
    h,
    latest_time,
    send,
    time_travel,
)
from tests.contracts.subsidy_fixtures import people, registry, module_contracts, ledger, holds, flow  # noqa: F401 (fixtures)

P1, P2, FREE = h("policy 2025 R&D grant"), h("policy 2025 export support"), h("policy no-application")
N1, N2 = h("notice 2025-01"), h("notice 2025-02")
ZERO = bytes(32)
ACME, BETA, GAMMA = "91330100ACME00001X", "91330100BETA00002Y", "91330100GAMM00003Z"


@pytest.fixture
def p1(flow) -> bytes:
    """An open policy of SCIENCE: budget 1,000,000 yuan, cap 300,000 yuan, notice 5 days."""
    flow.publish(P1)
    return P1


def notice_rec(ledger, notice_id: bytes) -> dict[str, Any]:
    return as_record(NOTICE_FIELDS, ledger.functions.getNotice(notice_id).call())


def objection_rec(ledger, notice_id: bytes, objection_id: int) -> dict[str, Any]:
    return as_record(OBJECTION_FIELDS, ledger.functions.getObjection(notice_id, objection_id).call())


def block_time(w3, receipt) -> int:
    return w3.eth.get_block(receipt.blockNumber).timestamp


# ---------------------------------------------------------------- the happy path


def test_full_happy_path_with_events(w3, ledger, holds, flow, people) -> None:
    f = ledger.functions
    # publish
    flow.publish(P1)
    # apply (two firms) through the gateway
    acme, beta = flow.submit(P1, ACME, requested=250_000_00), flow.submit(P1, BETA, requested=100_000_00)
    # three-level review
    flow.review_all(acme, 240_000_00)
    flow.review_all(beta, 100_000_00)
    assert flow.policy(P1)["approvedTotal"] == 340_000_00
    # public notice of both
    ends = latest_time(w3) + 5 * DAY + 600
    receipt = send(f.openNotice(N1, P1, [acme, beta], h("list v1"), ends), people["sci_policy"])
    assert events(receipt, ledger, "NoticeOpened") == [
        {"noticeId": N1, "policyId": P1, "listDigest": h("list v1"), "endsAt": ends, "count": 2,
         "by": people["sci_policy"]}]
    assert events(receipt, ledger, "ApplicationNoticed") == [
        {"applicationId": acme, "noticeId": N1}, {"applicationId": beta, "noticeId": N1}]
    assert notice_rec(ledger, N1) == {"policyId": P1, "listDigest": h("list v1"), "openedAt": block_time(w3, receipt),
                                      "endsAt": ends, "count": 2, "objections": 0, "openObjections": 0,
                                      "openedBy": people["sci_policy"]}
    # an objection against ACME, dismissed
    assert f.fileObjection(N1, acme, h("objection: ACME has no R&D staff")).call({"from": people["operator"]}) == 1
    receipt = send(f.fileObjection(N1, acme, h("objection: ACME has no R&D staff")), people["operator"])
    assert events(receipt, ledger, "ObjectionFiled") == [
        {"noticeId": N1, "objectionId": 1, "applicationId": acme,
         "objectionHash": h("objection: ACME has no R&D staff"), "by": people["operator"]}]
    assert flow.application(acme)["openObjections"] == 1 and notice_rec(ledger, N1)["openObjections"] == 1
    receipt = send(f.answerObjection(N1, 1, h("answer: 12 insured R&D staff"), False), people["sci_policy"])
    assert events(receipt, ledger, "ObjectionAnswered") == [
        {"noticeId": N1, "objectionId": 1, "applicationId": acme, "answerHash": h("answer: 12 insured R&D staff"),
         "upheld": False, "by": people["sci_policy"]}]
    assert events(receipt, ledger, "ApplicationRejected") == []
    assert objection_rec(ledger, N1, 1) | {"filedAt": 0, "answeredAt": 0} == {
        "applicationId": acme, "objectionHash": h("objection: ACME has no R&D staff"),
        "answerHash": h("answer: 12 insured R&D staff"), "filedAt": 0, "answeredAt": 0,
        "status": ObjectionStatus.DISMISSED, "filedBy": people["operator"], "answeredBy": people["sci_policy"]}
    # the notice runs its full period
    assert_reverts(f.recordPayout(acme, h("batch 1"), 1, 100_000_00, h("bank 1")), "NoticeNotEnded",
                   sender=people["finance"])
    time_travel(w3, 5 * DAY + 600)
    # payout to ACME in two parts, BETA in one
    receipt = flow.pay(acme, 140_000_00, "batch 1", 1, "CBC20250301001")
    assert events(receipt, ledger, "PayoutRecorded") == [
        {"applicationId": acme, "batchId": h("batch 1"), "policyId": P1, "lineNo": 1, "applicant": applicant_of(ACME),
         "amount": 140_000_00, "paidTotal": 140_000_00, "bankReference": h("CBC20250301001"), "noticeId": N1,
         "by": people["finance"]}]
    assert flow.application(acme)["status"] == AppStatus.PARTIALLY_PAID
    assert as_record(PAYOUT_LINE_FIELDS, f.getPayoutLine(h("batch 1"), 1).call()) == {
        "applicationId": acme, "bankReference": h("CBC20250301001"), "amount": 140_000_00,
        "paidAt": block_time(w3, receipt), "recordedBy": people["finance"]}
    flow.pay(beta, 100_000_00, "batch 1", 2)
    receipt = flow.pay(acme, 100_000_00, "batch 2", 1)
    assert events(receipt, ledger, "PayoutRecorded")[0]["paidTotal"] == 240_000_00
    assert flow.application(acme)["status"] == AppStatus.PAID
    assert flow.application(beta)["status"] == AppStatus.PAID
    # the usage report
    receipt = send(f.reportUse(acme, h("usage report Q2"), 90_000_00, 3), people["operator"])
    assert events(receipt, ledger, "UseReported") == [
        {"applicationId": acme, "reportHash": h("usage report Q2"), "spent": 90_000_00, "category": 3,
         "spentTotal": 90_000_00, "by": people["operator"]}]
    # a claw back (USE3: commitment not kept)
    receipt = send(f.clawBack(acme, 40_000_00, h("decision: relocated within 2 years")), people["sci_policy"])
    assert events(receipt, ledger, "ClawedBack") == [
        {"applicationId": acme, "policyId": P1, "amount": 40_000_00, "recoveredTotal": 40_000_00,
         "reasonHash": h("decision: relocated within 2 years"), "by": people["sci_policy"]}]
    rec = flow.application(acme)
    assert (rec["approved"], rec["paid"], rec["spent"], rec["recovered"], rec["useReports"]) == (
        240_000_00, 240_000_00, 90_000_00, 40_000_00, 1)
    assert rec["noticeId"] == N1 and rec["status"] == AppStatus.PAID
    pol = flow.policy(P1)
    assert (pol["approvedTotal"], pol["paidTotal"], pol["recoveredTotal"]) == (340_000_00, 340_000_00, 40_000_00)
    assert as_record(TOTALS_FIELDS, f.totals().call()) == {
        "policies": 1, "applications": 2, "notices": 1, "payoutLines": 3, "approved": 340_000_00,
        "paid": 340_000_00, "spent": 90_000_00, "recovered": 40_000_00}


# ---------------------------------------------------------------- public notice


def test_a_notice_lists_only_approved_applications_of_its_policy_once(ledger, flow, people, p1) -> None:
    f, who = ledger.functions, people["sci_policy"]
    approved = flow.approved(P1, ACME)
    submitted = flow.submit(P1, BETA)
    flow.publish(P2)
    other = flow.approved(P2, GAMMA)
    ends = latest_time(flow.w3) + 6 * DAY
    assert_reverts(f.openNotice(N1, P1, [approved, submitted], h("l"), ends), "InvalidStatus", submitted,
                   AppStatus.SUBMITTED, sender=who)
    assert_reverts(f.openNotice(N1, P1, [approved, other], h("l"), ends), "WrongPolicy", other, P1, sender=who)
    assert_reverts(f.openNotice(N1, P1, [h("x")], h("l"), ends), "UnknownApplication", h("x"), sender=who)
    assert_reverts(f.openNotice(N1, P1, [], h("l"), ends), "EmptyNotice", sender=who)
    assert_reverts(f.openNotice(N1, P1, [approved, approved], h("l"), ends), "InvalidStatus", approved,
                   AppStatus.NOTICED, sender=who)
    assert_reverts(f.openNotice(ZERO, P1, [approved], h("l"), ends), "ZeroHash", sender=who)
    assert_reverts(f.openNotice(N1, P1, [approved], ZERO, ends), "ZeroHash", sender=who)
    assert_reverts(f.openNotice(N1, P2, [approved], h("l"), ends), "WrongPolicy", approved, P2, sender=who)
    send(f.openNotice(N1, P1, [approved], h("l"), ends), who)
    assert flow.application(approved)["status"] == AppStatus.NOTICED
    # not noticed twice, and a notice id once
    assert_reverts(f.openNotice(N2, P1, [approved], h("l"), ends), "InvalidStatus", approved, AppStatus.NOTICED,
                   sender=who)
    assert_reverts(f.openNotice(N1, P2, [other], h("l"), ends), "NoticeExists", N1, sender=who)
    assert_reverts(f.getNotice(N2), "UnknownNotice", N2, sender=who, via=("call",))


def test_a_notice_runs_at_least_the_policys_notice_period(w3, ledger, flow, people, p1) -> None:
    f, who = ledger.functions, people["sci_policy"]
    app = flow.approved(P1, ACME)
    short = latest_time(w3) + 5 * DAY - 1
    ends, minimum = assert_reverts(f.openNotice(N1, P1, [app], h("l"), short), "NoticeTooShort", sender=who)
    assert ends == short and minimum >= latest_time(w3) + 5 * DAY
    send(f.openNotice(N1, P1, [app], h("l"), latest_time(w3) + 5 * DAY + 60), who)


def test_objections_only_while_the_notice_runs_and_only_against_listed_applications(w3, ledger, flow, people,
                                                                                     p1) -> None:
    f, who = ledger.functions, people["operator"]
    app = flow.approved(P1, ACME)
    unlisted = flow.approved(P1, BETA)
    _, ends = flow.notice(N1, P1, [app])
    assert_reverts(f.fileObjection(N1, unlisted, h("o")), "NotOnNotice", N1, unlisted, sender=who)
    assert_reverts(f.fileObjection(N2, app, h("o")), "UnknownNotice", N2, sender=who)
    assert_reverts(f.fileObjection(N1, app, ZERO), "ZeroHash", sender=who)
    send(f.fileObjection(N1, app, h("o1")), who)
    assert send(f.fileObjection(N1, app, h("o2")), who)  # several objections against one application
    assert flow.application(app)["openObjections"] == 2
    time_travel(w3, ends - latest_time(w3) + 1)
    _, end, now = assert_reverts(f.fileObjection(N1, app, h("late")), "NoticeEnded", sender=who)
    assert end == ends and now >= ends


def test_an_upheld_objection_rejects_and_returns_the_amount_to_the_budget(w3, ledger, flow, people) -> None:
    flow.publish(P1, budget=300_000_00, cap=300_000_00)
    f = ledger.functions
    acme = flow.approved(P1, ACME, amount=200_000_00)
    beta = flow.approved(P1, BETA, amount=100_000_00)
    flow.notice(N1, P1, [acme, beta])
    gamma = flow.submit(P1, GAMMA, requested=150_000_00)
    assert_reverts(f.autoApprove(gamma, 150_000_00, h("rule")), "BudgetExceeded", 300_000_00, 300_000_00,
                   150_000_00, sender=people["operator"])
    send(f.fileObjection(N1, acme, h("o1")), people["operator"])
    send(f.fileObjection(N1, acme, h("o2")), people["operator"])
    receipt = send(f.answerObjection(N1, 2, h("a2"), True), people["sci_policy"])
    assert events(receipt, ledger, "ObjectionAnswered")[0]["upheld"] is True
    assert events(receipt, ledger, "ApplicationRejected") == [
        {"applicationId": acme, "policyId": P1, "level": 0, "approvedTotal": 100_000_00, "by": people["sci_policy"]}]
    rec = flow.application(acme)
    assert rec["status"] == AppStatus.REJECTED and rec["openObjections"] == 1
    assert flow.policy(P1)["approvedTotal"] == 100_000_00
    assert objection_rec(ledger, N1, 2)["status"] == ObjectionStatus.UPHELD
    # the freed budget can be approved to someone else
    send(f.autoApprove(gamma, 150_000_00, h("rule")), people["operator"])
    # the other objection still gets its answer; upholding it too changes nothing more
    receipt = send(f.answerObjection(N1, 1, h("a1"), True), people["sci_policy"])
    assert events(receipt, ledger, "ApplicationRejected") == []
    assert flow.policy(P1)["approvedTotal"] == 250_000_00
    assert notice_rec(ledger, N1)["openObjections"] == 0
    # a rejected application is never paid, the other one on the notice is
    time_travel(w3, 6 * DAY)
    assert_reverts(f.recordPayout(acme, h("b"), 1, 1, h("r")), "InvalidStatus", acme, AppStatus.REJECTED,
                   sender=people["finance"])
    flow.pay(beta, 100_000_00)


def test_an_objection_is_answered_once(ledger, flow, people, p1) -> None:
    f, who = ledger.functions, people["sci_policy"]
    app = flow.approved(P1, ACME)
    flow.notice(N1, P1, [app])
    assert_reverts(f.answerObjection(N1, 1, h("a"), False), "UnknownObjection", N1, 1, sender=who)
    send(f.fileObjection(N1, app, h("o")), people["operator"])
    assert_reverts(f.answerObjection(N1, 1, ZERO, False), "ZeroHash", sender=who)
    send(f.answerObjection(N1, 1, h("a"), False), who)
    assert_reverts(f.answerObjection(N1, 1, h("a"), True), "ObjectionAlreadyAnswered", N1, 1, sender=who)
    assert_reverts(f.answerObjection(N2, 1, h("a"), True), "UnknownNotice", N2, sender=who)
    assert_reverts(f.getObjection(N1, 2), "UnknownObjection", N1, 2, sender=who, via=("call",))


# ---------------------------------------------------------------- payout


def test_no_payout_before_a_notice(ledger, flow, people, p1) -> None:
    f, who = ledger.functions, people["finance"]
    app = flow.approved(P1, ACME)
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, h("r")), "NotNoticed", app, sender=who)
    submitted = flow.submit(P1, BETA)
    assert_reverts(f.recordPayout(submitted, h("b"), 1, 1, h("r")), "InvalidStatus", submitted, AppStatus.SUBMITTED,
                   sender=who)
    assert_reverts(f.recordPayout(h("x"), h("b"), 1, 1, h("r")), "UnknownApplication", h("x"), sender=who)


def test_no_payout_before_the_notice_ended(w3, ledger, flow, people, p1) -> None:
    app = flow.approved(P1, ACME)
    _, ends = flow.notice(N1, P1, [app])
    end, now = assert_reverts(ledger.functions.recordPayout(app, h("b"), 1, 1, h("r")), "NoticeNotEnded",
                              sender=people["finance"])
    assert end == ends and now < ends
    time_travel(w3, ends - latest_time(w3))  # the first second after the notice is payable
    flow.pay(app, 1)


def test_no_payout_with_an_open_objection(w3, ledger, flow, people, p1) -> None:
    f = ledger.functions
    app = flow.approved(P1, ACME)
    other = flow.approved(P1, BETA)
    flow.notice(N1, P1, [app, other])
    send(f.fileObjection(N1, app, h("o")), people["operator"])
    time_travel(w3, 6 * DAY)
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, h("r")), "ObjectionOpen", app, 1, sender=people["finance"])
    flow.pay(other, 1, line=2)  # the objection holds only the application it is against
    send(f.answerObjection(N1, 1, h("a"), False), people["sci_policy"])
    flow.pay(app, 1)


def test_paid_never_exceeds_approved(w3, ledger, flow, people, p1) -> None:
    app = flow.noticed(P1, ACME, amount=150_000_00)
    f, who = ledger.functions, people["finance"]
    assert_reverts(f.recordPayout(app, h("b"), 1, 150_000_01, h("r")), "OverPayment", 150_000_00, 0, 150_000_01,
                   sender=who)
    flow.pay(app, 100_000_00, "b", 1)
    assert_reverts(f.recordPayout(app, h("b"), 2, 50_000_01, h("r")), "OverPayment", 150_000_00, 100_000_00,
                   50_000_01, sender=who)
    flow.pay(app, 50_000_00, "b", 2)
    assert_reverts(f.recordPayout(app, h("b"), 3, 1, h("r")), "InvalidStatus", app, AppStatus.PAID, sender=who)
    assert_reverts(f.recordPayout(app, h("b"), 3, 0, h("r")), "InvalidStatus", app, AppStatus.PAID, sender=who)


def test_payout_needs_an_amount_a_batch_and_a_bank_reference(ledger, flow, people, p1) -> None:
    app = flow.noticed(P1, ACME)
    f, who = ledger.functions, people["finance"]
    assert_reverts(f.recordPayout(app, h("b"), 1, 0, h("r")), "ZeroAmount", sender=who)
    assert_reverts(f.recordPayout(app, ZERO, 1, 1, h("r")), "IncompletePayout", sender=who)
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, ZERO), "IncompletePayout", sender=who)


def test_one_payout_record_per_batch_line(ledger, flow, people, p1) -> None:
    acme = flow.noticed(P1, ACME)
    beta = flow.noticed(P1, BETA)
    f, who = ledger.functions, people["finance"]
    flow.pay(acme, 10_000_00, "batch 7", 1)
    for app in (acme, beta):  # the same line again, for any application
        assert_reverts(f.recordPayout(app, h("batch 7"), 1, 1, h("r2")), "PayoutLineExists", h("batch 7"), 1,
                       sender=who)
    flow.pay(beta, 10_000_00, "batch 7", 2)
    flow.pay(acme, 10_000_00, "batch 8", 1)  # the same line number in another batch
    assert as_record(PAYOUT_LINE_FIELDS, f.getPayoutLine(h("batch 9"), 1).call())["paidAt"] == 0


def test_an_alarm_hold_blocks_the_payout_until_released(ledger, holds, flow, people, p1) -> None:
    app = flow.noticed(P1, ACME, amount=100_000_00)
    other = flow.noticed(P1, BETA, amount=100_000_00)
    f, hf = ledger.functions, holds.functions
    send(hf.placeHold(app, h("alert PAY2-1"), h("evidence 1")), people["inspector"])
    send(hf.placeHold(app, h("alert APP6-2"), h("evidence 2")), people["inspector"])
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, h("r")), "PayoutHeld", app, sender=people["finance"])
    flow.pay(other, 100_000_00, line=2)  # only the held application is frozen
    send(hf.releaseHold(app, h("alert PAY2-1"), h("explained")), people["inspector"])
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, h("r")), "PayoutHeld", app, sender=people["finance"])
    send(hf.releaseHold(app, h("alert APP6-2"), h("closed")), people["inspector"])
    flow.pay(app, 60_000_00)
    # a hold placed after a first part freezes the rest
    send(hf.placeHold(app, h("alert PAY3-3"), h("evidence 3")), people["inspector"])
    assert_reverts(f.recordPayout(app, h("b"), 3, 1, h("r")), "PayoutHeld", app, sender=people["finance"])
    send(hf.releaseHold(app, h("alert PAY3-3"), h("rectified")), people["inspector"])
    flow.pay(app, 40_000_00, line=3)
    assert flow.application(app)["status"] == AppStatus.PAID


def test_a_no_application_enrolment_still_needs_a_notice(w3, ledger, flow, people) -> None:
    flow.publish(FREE, no_application=True, budget=100_000_00, cap=20_000_00)
    f = ledger.functions
    send(f.enrolEligible(FREE, applicant_of(ACME), 20_000_00), people["sci_policy"])
    app = application_id(FREE, applicant_of(ACME))
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, h("r")), "NotNoticed", app, sender=people["finance"])
    flow.notice(N1, FREE, [app])
    assert_reverts(f.recordPayout(app, h("b"), 1, 1, h("r")), "NoticeNotEnded", sender=people["finance"])
    time_travel(w3, 6 * DAY)
    flow.pay(app, 20_000_00)
    assert flow.application(app)["status"] == AppStatus.PAID


# ---------------------------------------------------------------- use and claw back


def test_reported_spending_never_exceeds_what_was_received(ledger, flow, people, p1) -> None:
    app = flow.noticed(P1, ACME, amount=100_000_00)
    f, who = ledger.functions, people["operator"]
    assert_reverts(f.reportUse(app, h("u0"), 0, 1), "InvalidStatus", app, AppStatus.NOTICED, sender=who)
    flow.pay(app, 60_000_00)
    send(f.reportUse(app, h("u1"), 50_000_00, 1), who)
    assert_reverts(f.reportUse(app, h("u2"), 10_000_01, 2), "SpendAboveReceived", 60_000_00, 50_000_00, 10_000_01,
                   sender=who)
    assert_reverts(f.reportUse(app, ZERO, 1, 2), "ZeroHash", sender=who)
    send(f.reportUse(app, h("u2"), 10_000_00, 2), who)  # exactly what was received
    send(f.reportUse(app, h("u3"), 0, 9), who)  # a nil report is fine
    flow.pay(app, 40_000_00, line=2)
    receipt = send(f.reportUse(app, h("u4"), 40_000_00, 1), who)
    assert events(receipt, ledger, "UseReported")[0]["spentTotal"] == 100_000_00
    rec = flow.application(app)
    assert rec["spent"] == 100_000_00 and rec["useReports"] == 4


def test_claw_back_never_exceeds_what_was_paid(ledger, flow, people, p1) -> None:
    app = flow.noticed(P1, ACME, amount=100_000_00)
    f, who = ledger.functions, people["sci_policy"]
    assert_reverts(f.clawBack(app, 1, h("r")), "InvalidStatus", app, AppStatus.NOTICED, sender=who)
    flow.pay(app, 70_000_00)
    assert_reverts(f.clawBack(app, 70_000_01, h("r")), "ClawBackAbovePaid", 70_000_00, 0, 70_000_01, sender=who)
    send(f.clawBack(app, 30_000_00, h("r1")), who)
    assert_reverts(f.clawBack(app, 40_000_01, h("r")), "ClawBackAbovePaid", 70_000_00, 30_000_00, 40_000_01,
                   sender=who)
    assert_reverts(f.clawBack(app, 0, h("r")), "ZeroAmount", sender=who)
    assert_reverts(f.clawBack(app, 1, ZERO), "ZeroHash", sender=who)
    send(f.clawBack(app, 40_000_00, h("r2")), who)
    assert flow.application(app)["recovered"] == 70_000_00
    assert flow.policy(P1)["recoveredTotal"] == 70_000_00


# ---------------------------------------------------------------- payout batches (one transaction per bank batch)


def test_a_batch_records_every_line_in_one_transaction_with_an_event_per_line(ledger, flow, people, p1) -> None:
    acme = flow.noticed(P1, ACME, amount=150_000_00)
    beta = flow.noticed(P1, BETA, amount=100_000_00)
    f, who = ledger.functions, people["finance"]
    lines = [(acme, 1, 100_000_00, h("ref 1")), (beta, 2, 100_000_00, h("ref 2")), (acme, 3, 50_000_00, h("ref 3"))]
    receipt = send(f.recordPayoutBatch(h("PB-1"), h("return file"), lines), who)
    recorded = events(receipt, ledger, "PayoutRecorded")
    assert [(e["applicationId"], e["lineNo"], e["amount"], e["bankReference"]) for e in recorded] == [
        (acme, 1, 100_000_00, h("ref 1")), (beta, 2, 100_000_00, h("ref 2")), (acme, 3, 50_000_00, h("ref 3"))]
    assert [e["paidTotal"] for e in recorded] == [100_000_00, 100_000_00, 150_000_00]
    assert all(e["batchId"] == h("PB-1") and e["by"] == who for e in recorded)
    assert events(receipt, ledger, "PayoutBatchRecorded") == [
        {"batchId": h("PB-1"), "returnDigest": h("return file"), "lines": 3, "total": 250_000_00, "by": who}]
    assert flow.application(acme)["status"] == AppStatus.PAID and flow.application(beta)["status"] == AppStatus.PAID
    assert as_record(PAYOUT_LINE_FIELDS, f.getPayoutLine(h("PB-1"), 2).call())["amount"] == 100_000_00
    assert flow.policy(P1)["paidTotal"] == 250_000_00


def test_one_refused_line_refuses_the_whole_batch(ledger, flow, people, p1) -> None:
    acme = flow.noticed(P1, ACME, amount=150_000_00)
    beta = flow.noticed(P1, BETA, amount=100_000_00)
    f, who = ledger.functions, people["finance"]
    good = (acme, 1, 150_000_00, h("ref 1"))
    assert_reverts(f.recordPayoutBatch(h("PB-1"), h("rf"), [good, (beta, 2, 100_000_01, h("ref 2"))]),
                   "OverPayment", 100_000_00, 0, 100_000_01, sender=who)
    assert flow.application(acme)["paid"] == 0  # the good line was not recorded either
    assert as_record(PAYOUT_LINE_FIELDS, f.getPayoutLine(h("PB-1"), 1).call())["paidAt"] == 0
    assert_reverts(f.recordPayoutBatch(h("PB-1"), h("rf"), []), "EmptyBatch", sender=who)
    assert_reverts(f.recordPayoutBatch(h("PB-1"), ZERO, [good]), "ZeroHash", sender=who)
    assert_reverts(f.recordPayoutBatch(ZERO, h("rf"), [good]), "IncompletePayout", sender=who)


def test_a_batch_checks_each_line_like_a_single_payout(w3, ledger, holds, flow, people, p1) -> None:
    f, who = ledger.functions, people["finance"]
    paid = flow.noticed(P1, ACME, amount=100_000_00)
    held = flow.noticed(P1, BETA, amount=100_000_00)
    send(holds.functions.placeHold(held, h("alert"), h("evidence")), people["inspector"])
    running = flow.approved(P1, GAMMA, amount=100_000_00)
    _, ends = flow.notice(N2, P1, [running])
    batch = h("PB-2")
    ok = (paid, 1, 60_000_00, h("r1"))
    # the same line twice inside one batch: the second is refused
    assert_reverts(f.recordPayoutBatch(batch, h("rf"), [ok, (paid, 1, 1, h("r2"))]), "PayoutLineExists", batch, 1,
                   sender=who)
    # the same application twice inside one batch: together above approved
    assert_reverts(f.recordPayoutBatch(batch, h("rf"), [ok, (paid, 2, 40_000_01, h("r2"))]), "OverPayment",
                   100_000_00, 60_000_00, 40_000_01, sender=who)
    assert_reverts(f.recordPayoutBatch(batch, h("rf"), [ok, (held, 2, 1, h("r2"))]), "PayoutHeld", held, sender=who)
    end, _now = assert_reverts(f.recordPayoutBatch(batch, h("rf"), [ok, (running, 2, 1, h("r2"))]),
                               "NoticeNotEnded", sender=who)
    assert end == ends
    assert_reverts(f.recordPayoutBatch(batch, h("rf"), [ok, (paid, 2, 1, ZERO)]), "IncompletePayout", sender=who)
    send(f.recordPayoutBatch(batch, h("rf"), [ok]), who)
    # a line of a recorded batch cannot be recorded again, by a batch or singly
    assert_reverts(f.recordPayoutBatch(batch, h("rf2"), [(paid, 1, 1, h("r9"))]), "PayoutLineExists", batch, 1,
                   sender=who)
    assert_reverts(f.recordPayout(paid, batch, 1, 1, h("r9")), "PayoutLineExists", batch, 1, sender=who)
    # a re-export of the rest in a new batch goes through
    send(f.recordPayoutBatch(h("PB-3"), h("rf3"), [(paid, 1, 40_000_00, h("r3"))]), who)
    assert flow.application(paid)["status"] == AppStatus.PAID

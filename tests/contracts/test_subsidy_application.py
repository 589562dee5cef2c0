"""SubsidyLedger applications and review on eth-tester: submission through the gateway inside the
window (one per enterprise per policy, ≤ cap), no-application enrolment (免申即享), auto-approval
(秒批) with its rule version, the three-level manual review in order by three different reviewers
of the policy's department, recusal, and the cap and budget on every approval."""

from __future__ import annotations


import pytest

from tests.contracts.conftest import (
    DAY,
    AppStatus,
    applicant_of,
    application_id,
    assert_reverts,
    events,
    h,
    send,
    time_travel,
)
from tests.contracts.subsidy_fixtures import people, registry, module_contracts, ledger, flow  # noqa: F401 (fixtures)

P1, P2, FREE = h("policy 2025 R&D grant"), h("policy 2025 export support"), h("policy no-application")
ZERO = bytes(32)
RULE = h("rule R&D-auto v3")
ACME, BETA = "91330100ACME00001X", "91330100BETA00002Y"


@pytest.fixture
def p1(flow) -> bytes:
    """An open policy of SCIENCE: budget 1,000,000 yuan, cap 300,000 yuan."""
    flow.publish(P1)
    return P1


# ---------------------------------------------------------------- submission


def test_submit_records_the_application_under_its_derived_id(w3, ledger, flow, people, p1) -> None:
    applicant = applicant_of(ACME)
    app = application_id(P1, applicant)
    assert ledger.functions.applicationIdOf(P1, applicant).call() == app
    assert ledger.functions.submitApplication(P1, applicant, 200_000_00, h("m"), 3).call(
        {"from": people["operator"]}) == app
    receipt = send(ledger.functions.submitApplication(P1, applicant, 200_000_00, h("m"), 3), people["operator"])
    assert events(receipt, ledger, "ApplicationSubmitted") == [
        {"applicationId": app, "policyId": P1, "applicant": applicant, "requested": 200_000_00,
         "materialsHash": h("m"), "licenceRefs": 3, "by": people["operator"]}]
    rec = flow.application(app)
    assert rec["policyId"] == P1 and rec["applicant"] == applicant and rec["requested"] == 200_000_00
    assert rec["materialsHash"] == h("m") and rec["licenceRefs"] == 3 and rec["status"] == AppStatus.SUBMITTED
    assert rec["submittedAt"] == w3.eth.get_block(receipt.blockNumber).timestamp
    assert rec["approved"] == rec["paid"] == rec["reviewLevel"] == 0 and not rec["enrolled"]
    assert flow.policy(P1)["applications"] == 1
    assert ledger.functions.statusOf(app).call() == AppStatus.SUBMITTED
    assert ledger.functions.statusOf(h("nothing")).call() == AppStatus.NONE
    assert_reverts(ledger.functions.getApplication(h("nothing")), "UnknownApplication", h("nothing"),
                   sender=people["outsider"], via=("call",))


def test_one_application_per_enterprise_per_policy(ledger, flow, people, p1) -> None:
    app = flow.submit(P1, ACME)
    assert_reverts(ledger.functions.submitApplication(P1, applicant_of(ACME), 1, h("m2"), 0), "DuplicateApplication",
                   app, sender=people["operator"])
    flow.submit(P1, BETA)  # another enterprise
    flow.publish(P2)
    flow.submit(P2, ACME)  # the same enterprise under another policy
    assert ledger.functions.totals().call()[1] == 3


def test_applications_only_inside_the_window(w3, ledger, flow, people) -> None:
    flow.publish(P1, opens_in=DAY, lasts=10 * DAY)
    terms = flow.policy(P1)["terms"]
    fn = ledger.functions.submitApplication(P1, applicant_of(ACME), 100, h("m"), 0)
    opens, closes, now = assert_reverts(fn, "OutsideWindow", sender=people["operator"])
    assert (opens, closes) == (terms["opensAt"], terms["closesAt"]) and now < opens
    time_travel(w3, DAY)
    flow.submit(P1, ACME)  # opensAt is inclusive
    time_travel(w3, 10 * DAY)
    fn = ledger.functions.submitApplication(P1, applicant_of(BETA), 100, h("m"), 0)
    _, _, now = assert_reverts(fn, "OutsideWindow", sender=people["operator"])
    assert now >= closes


def test_requested_at_most_the_cap_and_not_zero(ledger, flow, people, p1) -> None:
    f, who = ledger.functions, people["operator"]
    assert_reverts(f.submitApplication(P1, applicant_of(ACME), 300_000_01, h("m"), 0), "AboveCap", 300_000_00,
                   300_000_01, sender=who)
    assert_reverts(f.submitApplication(P1, applicant_of(ACME), 0, h("m"), 0), "ZeroAmount", sender=who)
    assert_reverts(f.submitApplication(P1, ZERO, 1, h("m"), 0), "ZeroHash", sender=who)
    assert_reverts(f.submitApplication(P1, applicant_of(ACME), 1, ZERO, 0), "ZeroHash", sender=who)
    assert_reverts(f.submitApplication(P2, applicant_of(ACME), 1, h("m"), 0), "UnknownPolicy", P2, sender=who)
    flow.submit(P1, ACME, requested=300_000_00)  # exactly the cap


def test_a_no_application_policy_takes_enrolments_only(w3, ledger, flow, people) -> None:
    flow.publish(FREE, no_application=True, budget=100_000_00, cap=20_000_00)
    f = ledger.functions
    assert_reverts(f.submitApplication(FREE, applicant_of(ACME), 1, h("m"), 0), "NoApplicationPolicy", FREE,
                   sender=people["operator"])
    receipt = send(f.enrolEligible(FREE, applicant_of(ACME), 20_000_00), people["sci_policy"])
    app = application_id(FREE, applicant_of(ACME))
    assert events(receipt, ledger, "ApplicationEnrolled") == [
        {"applicationId": app, "policyId": FREE, "applicant": applicant_of(ACME), "amount": 20_000_00,
         "by": people["sci_policy"]}]
    assert events(receipt, ledger, "ApplicationApproved") == [
        {"applicationId": app, "policyId": FREE, "amount": 20_000_00, "approvedTotal": 20_000_00, "ruleVersion": ZERO,
         "by": people["sci_policy"]}]
    rec = flow.application(app)
    assert rec["status"] == AppStatus.APPROVED and rec["enrolled"] and rec["approved"] == 20_000_00
    assert rec["decidedBy"] == people["sci_policy"]
    # the enrolment checks: duplicate, cap, budget, mode, window
    assert_reverts(f.enrolEligible(FREE, applicant_of(ACME), 1), "DuplicateApplication", app,
                   sender=people["sci_policy"])
    assert_reverts(f.enrolEligible(FREE, applicant_of(BETA), 20_000_01), "AboveCap", 20_000_00, 20_000_01,
                   sender=people["sci_policy"])
    assert_reverts(f.enrolEligible(FREE, applicant_of(BETA), 0), "ZeroAmount", sender=people["sci_policy"])
    flow.publish(P1)
    assert_reverts(f.enrolEligible(P1, applicant_of(BETA), 1), "NotNoApplicationPolicy", P1,
                   sender=people["sci_policy"])
    for n in range(4):
        send(f.enrolEligible(FREE, applicant_of(f"firm {n}"), 20_000_00), people["sci_policy"])
    assert_reverts(f.enrolEligible(FREE, applicant_of(BETA), 1), "BudgetExceeded", 100_000_00, 100_000_00, 1,
                   sender=people["sci_policy"])
    time_travel(w3, 31 * DAY)
    _, _, now = assert_reverts(f.enrolEligible(FREE, applicant_of(BETA), 1), "OutsideWindow",
                               sender=people["sci_policy"])
    assert now >= flow.policy(FREE)["terms"]["closesAt"]


def test_enrolment_is_refused_after_closing(ledger, flow, people) -> None:
    flow.publish(FREE, no_application=True)
    send(ledger.functions.closePolicy(FREE), people["sci_policy"])
    assert_reverts(ledger.functions.enrolEligible(FREE, applicant_of(ACME), 1), "PolicyIsClosed", FREE,
                   sender=people["sci_policy"])


# ---------------------------------------------------------------- auto-approval


def test_auto_approval_records_the_rule_version_as_the_deciding_party(w3, ledger, flow, people, p1) -> None:
    app = flow.submit(P1, ACME, requested=120_000_00)
    receipt = send(ledger.functions.autoApprove(app, 120_000_00, RULE), people["operator"])
    assert events(receipt, ledger, "ApplicationApproved") == [
        {"applicationId": app, "policyId": P1, "amount": 120_000_00, "approvedTotal": 120_000_00, "ruleVersion": RULE,
         "by": people["operator"]}]
    rec = flow.application(app)
    assert rec["status"] == AppStatus.APPROVED and rec["ruleVersion"] == RULE and rec["reviewLevel"] == 0
    assert rec["decidedBy"] == people["operator"]
    assert rec["decidedAt"] == w3.eth.get_block(receipt.blockNumber).timestamp
    assert flow.policy(P1)["approvedTotal"] == 120_000_00
    assert_reverts(ledger.functions.autoApprove(app, 1, RULE), "InvalidStatus", app, AppStatus.APPROVED,
                   sender=people["operator"])


def test_auto_approval_checks(ledger, flow, people, p1) -> None:
    f, who = ledger.functions, people["operator"]
    app = flow.submit(P1, ACME, requested=100_000_00)
    assert_reverts(f.autoApprove(app, 100_000_00, ZERO), "ZeroHash", sender=who)
    assert_reverts(f.autoApprove(app, 100_000_01, RULE), "AboveRequested", 100_000_00, 100_000_01, sender=who)
    assert_reverts(f.autoApprove(app, 0, RULE), "ZeroAmount", sender=who)
    assert_reverts(f.autoApprove(h("x"), 1, RULE), "UnknownApplication", h("x"), sender=who)
    # not once a manual review has started
    send(f.review(app, 1, True, 100_000_00, h("o1")), people["sci_rev1"])
    assert_reverts(f.autoApprove(app, 100_000_00, RULE), "InvalidStatus", app, AppStatus.UNDER_REVIEW, sender=who)


def test_approval_above_the_cap_is_refused_after_the_cap_was_lowered(w3, ledger, flow, people, p1) -> None:
    app = flow.submit(P1, ACME, requested=300_000_00)
    terms = flow.policy(P1)["terms"]
    terms["perEnterpriseCap"] = 250_000_00
    send(ledger.functions.amendPolicy(P1, tuple(terms.values())), people["sci_policy"])
    assert_reverts(ledger.functions.autoApprove(app, 250_000_01, RULE), "AboveCap", 250_000_00, 250_000_01,
                   sender=people["operator"])
    send(ledger.functions.autoApprove(app, 250_000_00, RULE), people["operator"])


# ---------------------------------------------------------------- manual review


def test_three_level_review_approves_at_sign_off(w3, ledger, flow, people, p1) -> None:
    app = flow.submit(P1, ACME)
    r1, r2, r3 = flow.review_all(app, 180_000_00)
    assert events(r1, ledger, "ReviewRecorded") == [
        {"applicationId": app, "level": 1, "pass": True, "amount": 180_000_00, "opinionHash": h("opinion 1"),
         "reviewer": people["sci_rev1"]}]
    assert events(r1, ledger, "ApplicationApproved") == []
    assert events(r2, ledger, "ReviewRecorded")[0]["level"] == 2
    assert events(r3, ledger, "ApplicationApproved") == [
        {"applicationId": app, "policyId": P1, "amount": 180_000_00, "approvedTotal": 180_000_00, "ruleVersion": ZERO,
         "by": people["sci_rev3"]}]
    rec = flow.application(app)
    assert rec["status"] == AppStatus.APPROVED and rec["approved"] == 180_000_00 and rec["reviewLevel"] == 3
    assert rec["decidedBy"] == people["sci_rev3"] and rec["ruleVersion"] == ZERO
    assert [ledger.functions.reviewerOf(app, n).call() for n in (1, 2, 3)] == [
        people["sci_rev1"], people["sci_rev2"], people["sci_rev3"]]
    assert flow.policy(P1)["approvedTotal"] == 180_000_00 and flow.policy(P1)["maxApproved"] == 180_000_00


def test_review_levels_go_strictly_in_order(ledger, flow, people, p1) -> None:
    f = ledger.functions
    app = flow.submit(P1, ACME)
    assert_reverts(f.review(app, 2, True, 1, h("o")), "WrongReviewLevel", 1, 2, sender=people["sci_rev2"])
    assert_reverts(f.review(app, 3, True, 1, h("o")), "WrongReviewLevel", 1, 3, sender=people["sci_rev3"])
    assert_reverts(f.review(app, 0, True, 1, h("o")), "WrongReviewLevel", 1, 0, sender=people["sci_rev1"])
    send(f.review(app, 1, True, 1, h("o")), people["sci_rev1"])
    assert flow.application(app)["status"] == AppStatus.UNDER_REVIEW
    assert_reverts(f.review(app, 1, True, 1, h("o")), "WrongReviewLevel", 2, 1, sender=people["sci_rev2"])
    assert_reverts(f.review(app, 3, True, 1, h("o")), "WrongReviewLevel", 2, 3, sender=people["sci_rev3"])
    send(f.review(app, 2, True, 1, h("o")), people["sci_rev2"])
    assert_reverts(f.review(app, 4, True, 1, h("o")), "WrongReviewLevel", 3, 4, sender=people["sci_rev3"])


def test_the_same_reviewer_may_not_review_two_levels(ledger, flow, people, p1) -> None:
    f = ledger.functions
    app = flow.submit(P1, ACME)
    send(f.review(app, 1, True, 1, h("o")), people["sci_rev1"])
    assert_reverts(f.review(app, 2, True, 1, h("o")), "SameReviewer", app, people["sci_rev1"],
                   sender=people["sci_rev1"])
    send(f.review(app, 2, True, 1, h("o")), people["sci_rev2"])
    for who in ("sci_rev1", "sci_rev2"):
        assert_reverts(f.review(app, 3, True, 1, h("o")), "SameReviewer", app, people[who], sender=people[who])
    send(f.review(app, 3, True, 1, h("o")), people["sci_rev3"])


@pytest.mark.parametrize("level", [1, 2, 3])
def test_a_fail_at_any_level_rejects(ledger, flow, people, p1, level) -> None:
    f = ledger.functions
    app = flow.submit(P1, ACME)
    reviewers = ["sci_rev1", "sci_rev2", "sci_rev3"]
    for n in range(1, level):
        send(f.review(app, n, True, 100, h("o")), people[reviewers[n - 1]])
    receipt = send(f.review(app, level, False, 0, h("fail")), people[reviewers[level - 1]])
    assert events(receipt, ledger, "ApplicationRejected") == [
        {"applicationId": app, "policyId": P1, "level": level, "approvedTotal": 0, "by": people[reviewers[level - 1]]}]
    rec = flow.application(app)
    assert rec["status"] == AppStatus.REJECTED and rec["approved"] == 0 and rec["reviewLevel"] == level
    assert flow.policy(P1)["approvedTotal"] == 0
    if level < 3:
        assert_reverts(f.review(app, level + 1, True, 1, h("o")), "InvalidStatus", app, AppStatus.REJECTED,
                       sender=people[reviewers[level]])
    assert_reverts(f.autoApprove(app, 1, RULE), "InvalidStatus", app, AppStatus.REJECTED, sender=people["operator"])


def test_sign_off_checks_the_cap_the_request_and_the_amount(ledger, flow, people, p1) -> None:
    f = ledger.functions
    app = flow.submit(P1, ACME, requested=300_000_00)
    send(f.review(app, 1, True, 1, h("o")), people["sci_rev1"])
    send(f.review(app, 2, True, 1, h("o")), people["sci_rev2"])
    who = people["sci_rev3"]
    assert_reverts(f.review(app, 3, True, 300_000_01, h("o")), "AboveCap", 300_000_00, 300_000_01, sender=who)
    assert_reverts(f.review(app, 3, True, 0, h("o")), "ZeroAmount", sender=who)
    small = flow.submit(P1, BETA, requested=1_000_00)
    send(f.review(small, 1, True, 1, h("o")), people["sci_rev1"])
    send(f.review(small, 2, True, 1, h("o")), people["sci_rev2"])
    assert_reverts(f.review(small, 3, True, 1_000_01, h("o")), "AboveRequested", 1_000_00, 1_000_01, sender=who)
    send(f.review(app, 3, True, 300_000_00, h("o")), who)  # exactly the cap


def test_a_recused_reviewer_is_barred_from_the_application(ledger, flow, people, p1) -> None:
    f = ledger.functions
    app = flow.submit(P1, ACME)
    receipt = send(f.declareRecusal(app, h("shareholder is my cousin")), people["sci_rev1"])
    assert events(receipt, ledger, "RecusalDeclared") == [
        {"applicationId": app, "reviewer": people["sci_rev1"], "reasonHash": h("shareholder is my cousin")}]
    assert f.isRecused(app, people["sci_rev1"]).call() and not f.isRecused(app, people["sci_rev2"]).call()
    assert_reverts(f.review(app, 1, True, 1, h("o")), "ReviewerRecused", app, people["sci_rev1"],
                   sender=people["sci_rev1"])
    assert_reverts(f.declareRecusal(app, h("again")), "AlreadyRecused", app, people["sci_rev1"],
                   sender=people["sci_rev1"])
    # the others review; sci_rev1 stays barred at every level
    send(f.review(app, 1, True, 1, h("o")), people["sci_rev2"])
    assert_reverts(f.review(app, 2, True, 1, h("o")), "ReviewerRecused", app, people["sci_rev1"],
                   sender=people["sci_rev1"])
    send(f.review(app, 2, True, 1, h("o")), people["sci_rev3"])
    # the recusal bars only this application
    other = flow.submit(P1, BETA)
    send(f.review(other, 1, True, 1, h("o")), people["sci_rev1"])


def test_recusal_only_while_under_review(ledger, flow, people, p1) -> None:
    app = flow.approved(P1, ACME)
    assert_reverts(ledger.functions.declareRecusal(app, h("late")), "InvalidStatus", app, AppStatus.APPROVED,
                   sender=people["sci_rev1"])
    assert_reverts(ledger.functions.declareRecusal(h("x"), h("r")), "UnknownApplication", h("x"),
                   sender=people["sci_rev1"])


# ---------------------------------------------------------------- budget


def test_budget_exhaustion_across_several_applications(ledger, flow, people) -> None:
    flow.publish(P1, budget=500_000_00, cap=200_000_00)
    apps = [flow.submit(P1, f"9133010000000{n}", requested=200_000_00) for n in range(4)]
    flow.review_all(apps[0], 200_000_00)
    send(ledger.functions.autoApprove(apps[1], 200_000_00, RULE), people["operator"])
    assert flow.policy(P1)["approvedTotal"] == 400_000_00
    # the third would take the total to 600,000 yuan: refused by review and by rule
    f = ledger.functions
    send(f.review(apps[2], 1, True, 1, h("o")), people["sci_rev1"])
    send(f.review(apps[2], 2, True, 1, h("o")), people["sci_rev2"])
    assert_reverts(f.review(apps[2], 3, True, 200_000_00, h("o")), "BudgetExceeded", 500_000_00, 400_000_00,
                   200_000_00, sender=people["sci_rev3"])
    assert_reverts(f.autoApprove(apps[3], 100_000_01, RULE), "BudgetExceeded", 500_000_00, 400_000_00, 100_000_01,
                   sender=people["operator"])
    # what is left of the budget can still be approved, to the last fen
    send(f.review(apps[2], 3, True, 100_000_00, h("o")), people["sci_rev3"])
    assert flow.policy(P1)["approvedTotal"] == 500_000_00
    assert_reverts(f.autoApprove(apps[3], 1, RULE), "BudgetExceeded", 500_000_00, 500_000_00, 1,
                   sender=people["operator"])
    # raising the budget makes room again
    terms = flow.policy(P1)["terms"]
    terms["budget"] = 600_000_00
    send(f.amendPolicy(P1, tuple(terms.values())), people["sci_policy"])
    send(f.autoApprove(apps[3], 100_000_00, RULE), people["operator"])
    assert ledger.functions.totals().call()[4] == 600_000_00

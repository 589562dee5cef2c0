"""SubsidyLedger policies on eth-tester: publishing (owned by the publisher's department), the
terms' invariants, amendments (version + 1; the budget never below the total approved, the cap
never below an approved amount, the mode fixed) and closing."""

from __future__ import annotations

from typing import Any

import pytest

from chain.artifacts import load
from tests.contracts.conftest import (
    COMMERCE,
    DAY,
    POLICY,
    SCIENCE,
    TERMS_FIELDS,
    as_record,
    assert_reverts,
    events,
    h,
    latest_time,
    policy_terms,
    send,
)
from tests.contracts.subsidy_fixtures import people, registry, module_contracts, ledger, flow  # noqa: F401 (fixtures)

P1, P2 = h("policy 2025 R&D grant"), h("policy 2025 export support")
ZERO = bytes(32)


def with_terms(terms: tuple, **changes: Any) -> tuple:
    rec = dict(zip(TERMS_FIELDS, terms))
    rec.update(changes)
    return tuple(rec[k] for k in TERMS_FIELDS)


def test_deployed_code_is_the_artifact_and_knows_the_holds(w3, ledger, module_contracts, registry) -> None:
    assert w3.eth.get_code(ledger.address).hex().removeprefix("0x") == load("SubsidyLedger").deployed_bytecode[2:]
    assert ledger.functions.registry().call() == registry.address
    assert ledger.functions.holds().call() == module_contracts["holds"].address
    assert len(bytes.fromhex(load("SubsidyLedger").deployed_bytecode[2:])) <= 24576


def test_publish_stores_version_1_in_the_publishers_department(w3, ledger, flow, people) -> None:
    terms = policy_terms(w3, no_application=False)
    receipt = send(ledger.functions.publishPolicy(P1, terms), people["sci_policy"])
    (ev,) = events(receipt, ledger, "PolicyPublished")
    assert ev["policyId"] == P1 and ev["department"] == SCIENCE and ev["version"] == 1
    assert dict(ev["terms"]) == dict(zip(TERMS_FIELDS, terms)) and ev["by"] == people["sci_policy"]
    rec = flow.policy(P1)
    assert rec["terms"] == dict(zip(TERMS_FIELDS, terms))
    assert rec | {"terms": None} == {
        "terms": None, "department": SCIENCE, "approvedTotal": 0, "paidTotal": 0, "recoveredTotal": 0,
        "maxApproved": 0, "publishedAt": w3.eth.get_block(receipt.blockNumber).timestamp, "amendedAt": 0,
        "version": 1, "applications": 0, "closed": False, "publishedBy": people["sci_policy"]}
    # another department publishes its own policy
    flow.publish(P2, who="com_officer")
    assert flow.policy(P2)["department"] == COMMERCE
    assert ledger.functions.totals().call()[0] == 2


def test_a_policy_id_is_published_once(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    assert_reverts(ledger.functions.publishPolicy(P1, policy_terms(w3)), "PolicyExists", P1,
                   sender=people["com_officer"])
    assert_reverts(ledger.functions.getPolicy(P2), "UnknownPolicy", P2, sender=people["outsider"], via=("call",))


def test_terms_invariants_are_enforced_on_publish(w3, ledger, people) -> None:
    f, who = ledger.functions, people["sci_policy"]
    t = policy_terms(w3, budget=1000, cap=1000)
    assert_reverts(f.publishPolicy(P1, with_terms(t, perEnterpriseCap=1001)), "InvalidCap", 1001, 1000, sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, perEnterpriseCap=0)), "InvalidCap", 0, 1000, sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, budget=0, perEnterpriseCap=0)), "InvalidCap", 0, 0, sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, closesAt=t[2])), "InvalidWindow", t[2], t[2], sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, closesAt=t[2] - 1)), "InvalidWindow", t[2], t[2] - 1,
                   sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, guideHash=ZERO)), "IncompletePolicy", P1, sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, criteriaHash=ZERO)), "IncompletePolicy", P1, sender=who)
    assert_reverts(f.publishPolicy(P1, with_terms(t, noticePeriodSeconds=0)), "IncompletePolicy", P1, sender=who)
    assert_reverts(f.publishPolicy(ZERO, t), "IncompletePolicy", ZERO, sender=who)
    # cap == budget and a one-second window are fine
    send(f.publishPolicy(P1, with_terms(t, closesAt=t[2] + 1)), who)


def test_amend_bumps_the_version_and_records_the_new_terms(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    new = policy_terms(w3, budget=2_000_000_00, cap=400_000_00, lasts=60 * DAY, guide="guide v2",
                       criteria="criteria v2")
    receipt = send(ledger.functions.amendPolicy(P1, new), people["sci_policy"])
    (ev,) = events(receipt, ledger, "PolicyAmended")
    assert ev["policyId"] == P1 and ev["version"] == 2 and dict(ev["terms"]) == dict(zip(TERMS_FIELDS, new))
    assert ev["by"] == people["sci_policy"]
    rec = flow.policy(P1)
    assert rec["version"] == 2 and rec["terms"] == dict(zip(TERMS_FIELDS, new))
    assert rec["amendedAt"] == w3.eth.get_block(receipt.blockNumber).timestamp
    receipt = send(ledger.functions.amendPolicy(P1, new), people["sci_policy"])
    assert events(receipt, ledger, "PolicyAmended")[0]["version"] == 3


def test_amend_may_not_lower_the_budget_below_the_total_approved(w3, ledger, flow, people) -> None:
    flow.publish(P1, budget=500_000_00, cap=300_000_00)
    flow.approved(P1, "91330100A", amount=250_000_00, requested=300_000_00)
    flow.approved(P1, "91330100B", amount=100_000_00)
    f, who = ledger.functions, people["sci_policy"]
    low = policy_terms(w3, budget=349_999_99, cap=300_000_00)
    assert_reverts(f.amendPolicy(P1, low), "BudgetBelowApproved", 349_999_99, 350_000_00, sender=who)
    send(f.amendPolicy(P1, with_terms(low, budget=350_000_00)), who)  # exactly the total approved is fine
    assert flow.policy(P1)["terms"]["budget"] == 350_000_00


def test_amend_may_not_lower_the_cap_below_an_approved_amount(w3, ledger, flow, people) -> None:
    flow.publish(P1, budget=500_000_00, cap=300_000_00)
    flow.approved(P1, "91330100A", amount=250_000_00, requested=300_000_00)
    flow.approved(P1, "91330100B", amount=100_000_00)
    assert flow.policy(P1)["maxApproved"] == 250_000_00
    f, who = ledger.functions, people["sci_policy"]
    assert_reverts(f.amendPolicy(P1, policy_terms(w3, budget=500_000_00, cap=249_999_99)), "CapBelowApproved",
                   249_999_99, 250_000_00, sender=who)
    send(f.amendPolicy(P1, policy_terms(w3, budget=500_000_00, cap=250_000_00)), who)


def test_amend_checks_the_terms_and_keeps_the_mode(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    f, who = ledger.functions, people["sci_policy"]
    t = policy_terms(w3)
    assert_reverts(f.amendPolicy(P1, with_terms(t, perEnterpriseCap=t[0] + 1)), "InvalidCap", t[0] + 1, t[0],
                   sender=who)
    assert_reverts(f.amendPolicy(P1, with_terms(t, closesAt=t[2])), "InvalidWindow", t[2], t[2], sender=who)
    assert_reverts(f.amendPolicy(P1, with_terms(t, guideHash=ZERO)), "IncompletePolicy", P1, sender=who)
    assert_reverts(f.amendPolicy(P1, with_terms(t, noApplication=True)), "ModeChange", P1, sender=who)
    assert_reverts(f.amendPolicy(P2, t), "UnknownPolicy", P2, sender=who)
    assert flow.policy(P1)["version"] == 1


def test_close_stops_amendments_and_new_applications(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    receipt = send(ledger.functions.closePolicy(P1), people["sci_policy"])
    assert events(receipt, ledger, "PolicyClosed") == [{"policyId": P1, "by": people["sci_policy"]}]
    assert flow.policy(P1)["closed"]
    f = ledger.functions
    assert_reverts(f.closePolicy(P1), "PolicyIsClosed", P1, sender=people["sci_policy"])
    assert_reverts(f.amendPolicy(P1, policy_terms(w3)), "PolicyIsClosed", P1, sender=people["sci_policy"])
    assert_reverts(f.submitApplication(P1, h("firm"), 100, h("m"), 0), "PolicyIsClosed", P1,
                   sender=people["operator"])
    assert_reverts(f.closePolicy(P2), "UnknownPolicy", P2, sender=people["sci_policy"])


def test_applications_filed_before_closing_go_on(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    app = flow.submit(P1, "91330100A")
    send(ledger.functions.closePolicy(P1), people["sci_policy"])
    flow.review_all(app, 100_000_00)
    assert flow.application(app)["approved"] == 100_000_00


@pytest.mark.parametrize("who", ["outsider", "admin", "sci_rev1", "finance", "operator", "inspector"])
def test_policy_writes_need_the_policy_role(w3, ledger, flow, people, who) -> None:
    f, t = ledger.functions, policy_terms(w3)
    assert_reverts(f.publishPolicy(P2, t), "MissingRole", people[who], POLICY, sender=people[who])
    flow.publish(P1)
    assert_reverts(f.amendPolicy(P1, t), "MissingRole", people[who], POLICY, sender=people[who])
    assert_reverts(f.closePolicy(P1), "MissingRole", people[who], POLICY, sender=people[who])


def test_policy_writes_need_the_policys_department(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    f, who = ledger.functions, people["com_officer"]
    assert_reverts(f.amendPolicy(P1, policy_terms(w3)), "NotPolicyDepartment", P1, COMMERCE, sender=who)
    assert_reverts(f.closePolicy(P1), "NotPolicyDepartment", P1, COMMERCE, sender=who)
    assert not flow.policy(P1)["closed"]


def test_window_and_timing_fields_are_plain_seconds(w3, flow) -> None:
    flow.publish(P1, opens_in=DAY, lasts=10 * DAY, notice=7 * DAY, payout_deadline=15 * DAY)
    terms = flow.policy(P1)["terms"]
    assert terms["closesAt"] - terms["opensAt"] == 10 * DAY
    assert terms["opensAt"] > latest_time(w3)
    assert terms["noticePeriodSeconds"] == 7 * DAY and terms["payoutDeadlineSeconds"] == 15 * DAY
    assert as_record(TERMS_FIELDS, policy_terms(w3))["noApplication"] is False

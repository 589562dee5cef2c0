"""SubsidyLedger's reason and evidence hashes on eth-tester: amending or closing a policy with the hash of
its stated reason (`PolicyChangeReason`), and an automatic approval (秒批) with the hash of the evidence it
decided on (`AutoApprovalEvidence`); zero hashes refused; the same callers as the plain calls."""

from __future__ import annotations

from tests.contracts.conftest import DAY, AppStatus, assert_reverts, events, h, policy_terms, send
from tests.contracts.subsidy_fixtures import people, registry, module_contracts, ledger, flow  # noqa: F401 (fixtures)

P1 = h("policy with reasons")
ZERO = bytes(32)
RULE = h("rule v1")


def test_amend_and_close_with_a_reason_hash(w3, ledger, flow, people) -> None:
    flow.publish(P1)
    f, who = ledger.functions, people["sci_policy"]
    new = policy_terms(w3, budget=2_000_000_00, lasts=60 * DAY, guide="guide v2")
    assert_reverts(f.amendPolicy(P1, new, ZERO), "ZeroHash", sender=who)
    assert_reverts(f.amendPolicy(P1, new, h("why")), "MissingRole", sender=people["operator"])
    receipt = send(f.amendPolicy(P1, new, h("budget raised by decision 12")), who)
    assert events(receipt, ledger, "PolicyAmended")[0]["version"] == 2
    assert events(receipt, ledger, "PolicyChangeReason") == [
        {"policyId": P1, "version": 2, "closed": False, "reasonHash": h("budget raised by decision 12")}]
    assert flow.policy(P1)["version"] == 2
    assert_reverts(f.closePolicy(P1, ZERO), "ZeroHash", sender=who)
    receipt = send(f.closePolicy(P1, h("funds exhausted")), who)
    assert events(receipt, ledger, "PolicyClosed")[0]["policyId"] == P1
    assert events(receipt, ledger, "PolicyChangeReason") == [
        {"policyId": P1, "version": 2, "closed": True, "reasonHash": h("funds exhausted")}]
    assert_reverts(f.closePolicy(P1, h("again")), "PolicyIsClosed", P1, sender=who)


def test_auto_approval_with_its_evidence_hash(ledger, flow, people) -> None:
    flow.publish(P1)
    app = flow.submit(P1, "91330100EVID00001X", requested=100_000_00)
    f = ledger.functions
    assert_reverts(f.autoApprove(app, 100_000_00, RULE, ZERO), "ZeroHash", sender=people["operator"])
    assert_reverts(f.autoApprove(app, 100_000_00, RULE, h("evidence")), "MissingRole", sender=people["sci_policy"])
    assert_reverts(f.autoApprove(app, 100_000_01, RULE, h("evidence")), "AboveRequested", 100_000_00, 100_000_01,
                   sender=people["operator"])
    receipt = send(f.autoApprove(app, 100_000_00, RULE, h("evidence")), people["operator"])
    assert events(receipt, ledger, "AutoApprovalEvidence") == [
        {"applicationId": app, "ruleVersion": RULE, "evidenceHash": h("evidence")}]
    rec = flow.application(app)
    assert rec["status"] == AppStatus.APPROVED and rec["ruleVersion"] == RULE and rec["approved"] == 100_000_00

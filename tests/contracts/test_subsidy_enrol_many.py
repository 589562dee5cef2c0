"""SubsidyLedger.enrolMany on eth-tester: many enterprises of a no-application policy (免申即享) in one
transaction, each with its events, all or none — one enterprise's refusal (duplicate, cap, budget) reverts
the batch with that enterprise's error — and the mode, length and size checks (the caller checks are in
test_subsidy_access.py's matrix)."""

from __future__ import annotations

from tests.contracts.conftest import AppStatus, applicant_of, application_id, assert_reverts, events, h, send
from tests.contracts.subsidy_fixtures import people, registry, module_contracts, ledger, flow  # noqa: F401 (fixtures)

FREE, P1 = h("policy no-application many"), h("policy 2025 R&D grant many")
FIRMS = [f"9133010000000{n:04d}X" for n in range(5)]


def test_enrol_many_enrols_every_enterprise_in_one_transaction(ledger, flow, people) -> None:
    flow.publish(FREE, no_application=True, budget=100_000_00, cap=20_000_00)
    applicants = [applicant_of(u) for u in FIRMS[:3]]
    receipt = send(ledger.functions.enrolMany(FREE, applicants, [10_000_00, 20_000_00, 5_000_00]),
                   people["sci_policy"])
    ids = [application_id(FREE, a) for a in applicants]
    assert [e["applicationId"] for e in events(receipt, ledger, "ApplicationEnrolled")] == ids
    approved = events(receipt, ledger, "ApplicationApproved")
    assert [(e["amount"], e["approvedTotal"]) for e in approved] == [(10_000_00, 10_000_00), (20_000_00, 30_000_00),
                                                                     (5_000_00, 35_000_00)]
    for app in ids:
        rec = flow.application(app)
        assert rec["status"] == AppStatus.APPROVED and rec["enrolled"] and rec["decidedBy"] == people["sci_policy"]


def test_one_refusal_reverts_the_whole_batch(ledger, flow, people) -> None:
    flow.publish(FREE, no_application=True, budget=50_000_00, cap=20_000_00)
    f, who = ledger.functions, people["sci_policy"]
    a = [applicant_of(u) for u in FIRMS]
    assert_reverts(f.enrolMany(FREE, a[:2], [10_000_00, 20_000_01]), "AboveCap", 20_000_00, 20_000_01, sender=who)
    assert_reverts(f.enrolMany(FREE, [a[0], a[0]], [1, 1]), "DuplicateApplication", application_id(FREE, a[0]),
                   sender=who)
    assert_reverts(f.enrolMany(FREE, a[:3], [20_000_00, 20_000_00, 20_000_00]), "BudgetExceeded", 50_000_00,
                   40_000_00, 20_000_00, sender=who)
    for applicant in a[:3]:  # nothing was written
        assert_reverts(f.getApplication(application_id(FREE, applicant)), "UnknownApplication",
                       application_id(FREE, applicant), sender=who, via=("call",))
    assert_reverts(f.enrolMany(FREE, [], []), "EmptyBatch", sender=who)
    assert_reverts(f.enrolMany(FREE, a[:2], [1]), "LengthMismatch", 2, 1, sender=who)
    big = [h(f"firm {n}") for n in range(201)]
    assert_reverts(f.enrolMany(FREE, big, [1] * 201), "BatchTooLarge", 201, 200, sender=who)
    flow.publish(P1)
    assert_reverts(f.enrolMany(P1, a[:1], [1]), "NotNoApplicationPolicy", P1, sender=who)

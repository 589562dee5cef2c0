"""SubsidyLedger access on eth-tester: every write function refused for callers without its role
(non-members, and members of departments that do not hold it), and every department-bound write
refused for a member holding the role in another department than the policy's.

POLICY and REVIEWER steps are bound to the policy's department; OPERATOR (the gateway), FINANCE
(the finance bureau pays for every department) and POLICY's publishPolicy (the policy then belongs to
the caller's department) are not, so for those a "member of the wrong department" is a member whose
department lacks the role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contracts.conftest import (
    COMMERCE,
    DAY,
    FINANCE,
    OPERATOR,
    POLICY,
    REVIEWER,
    SUBSIDY_MEMBERS,
    AppStatus,
    SubsidyFlow,
    applicant_of,
    assert_reverts,
    bootstrap_subsidy_registry,
    deploy_subsidy,
    h,
    policy_terms,
    send,
    subsidy_people,
    time_travel,
)

P1, FREE = h("policy 2025 R&D grant"), h("policy no-application")
N2 = h("notice 2025-02")


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return subsidy_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    """Overrides the conftest registry: the subsidy alliance."""
    return bootstrap_subsidy_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    """The contracts and a world in which every write would otherwise go through: SCIENCE's policy
    P1 with a submitted application, an approved one, one paid (its notice N1 ended) and one on the
    running notice N2 with objection 1; and SCIENCE's no-application policy FREE."""
    contracts = deploy_subsidy(w3, registry, people)
    flow = SubsidyFlow(w3, contracts["ledger"], contracts["holds"], people)
    flow.publish(P1, lasts=60 * DAY)
    flow.publish(FREE, no_application=True)
    paid = flow.noticed(P1, "PAID", amount=100_000_00)
    flow.pay(paid, 50_000_00)
    submitted = flow.submit(P1, "SUBMITTED")
    approved = flow.approved(P1, "APPROVED")
    noticed = flow.approved(P1, "NOTICED")
    flow.notice(N2, P1, [noticed])
    send(contracts["ledger"].functions.fileObjection(N2, noticed, h("objection")), people["operator"])
    contracts["apps"] = {"paid": paid, "submitted": submitted, "approved": approved, "noticed": noticed}
    return contracts


@pytest.fixture
def ledger(module_contracts):
    return module_contracts["ledger"]


@pytest.fixture
def apps(module_contracts) -> dict[str, bytes]:
    return module_contracts["apps"]


Builder = Callable[[Any, Any, dict[str, bytes]], Any]

# name, role, whether the policy's department is checked, how to build the call (w3, functions, apps)
WRITES: list[tuple[str, int, bool, Builder]] = [
    ("publishPolicy", POLICY, False, lambda w3, f, a: f.publishPolicy(h("new policy"), policy_terms(w3))),
    ("amendPolicy", POLICY, True, lambda w3, f, a: f.amendPolicy(P1, policy_terms(w3, lasts=60 * DAY))),
    ("closePolicy", POLICY, True, lambda w3, f, a: f.closePolicy(P1)),
    ("submitApplication", OPERATOR, False,
     lambda w3, f, a: f.submitApplication(P1, applicant_of("NEW"), 1, h("m"), 0)),
    ("enrolEligible", POLICY, True, lambda w3, f, a: f.enrolEligible(FREE, applicant_of("NEW"), 1)),
    ("enrolMany", POLICY, True, lambda w3, f, a: f.enrolMany(FREE, [applicant_of("NEW MANY")], [1])),
    ("autoApprove", OPERATOR, False, lambda w3, f, a: f.autoApprove(a["submitted"], 1, h("rule"))),
    ("review", REVIEWER, True, lambda w3, f, a: f.review(a["submitted"], 1, True, 1, h("o"))),
    ("declareRecusal", REVIEWER, True, lambda w3, f, a: f.declareRecusal(a["submitted"], h("r"))),
    ("openNotice", POLICY, True,
     lambda w3, f, a: f.openNotice(h("notice new"), P1, [a["approved"]], h("l"),
                                   w3.eth.get_block("latest").timestamp + 6 * DAY)),
    ("fileObjection", OPERATOR, False, lambda w3, f, a: f.fileObjection(N2, a["noticed"], h("o"))),
    ("answerObjection", POLICY, True, lambda w3, f, a: f.answerObjection(N2, 1, h("a"), True)),
    ("recordPayout", FINANCE, False, lambda w3, f, a: f.recordPayout(a["paid"], h("b"), 9, 1, h("r"))),
    ("recordPayoutBatch", FINANCE, False,
     lambda w3, f, a: f.recordPayoutBatch(h("b"), h("f"), [(a["paid"], 8, 1, h("r"))])),
    ("reportUse", OPERATOR, False, lambda w3, f, a: f.reportUse(a["paid"], h("u"), 1, 1)),
    ("clawBack", POLICY, True, lambda w3, f, a: f.clawBack(a["paid"], 1, h("c"))),
]

WHO_HOLDS = {who: member_roles for who, _dept, member_roles in SUBSIDY_MEMBERS}


def lacking(role: int) -> list[str]:
    """Non-members and every member without ``role``."""
    return ["outsider", "admin"] + [who for who, member_roles in WHO_HOLDS.items() if not member_roles & role]


def test_every_write_function_is_covered(ledger) -> None:
    writes = {e["name"] for e in ledger.abi if e["type"] == "function" and e["stateMutability"] == "nonpayable"}
    assert writes == {name for name, *_ in WRITES}


@pytest.mark.parametrize("name, role, dept_bound, build", WRITES, ids=[w[0] for w in WRITES])
def test_write_refused_without_the_role(w3, ledger, apps, people, name, role, dept_bound, build) -> None:
    fn = build(w3, ledger.functions, apps)
    callers = lacking(role)
    assert len(callers) >= 4
    for who in callers:
        assert_reverts(fn, "MissingRole", people[who], role, sender=people[who])


@pytest.mark.parametrize("name, role, dept_bound, build", [w for w in WRITES if w[2]],
                         ids=[w[0] for w in WRITES if w[2]])
def test_write_refused_for_the_role_in_another_department(w3, ledger, apps, people, name, role, dept_bound,
                                                          build) -> None:
    fn = build(w3, ledger.functions, apps)
    policy = FREE if name in ("enrolEligible", "enrolMany") else P1
    assert WHO_HOLDS["com_officer"] & role
    assert_reverts(fn, "NotPolicyDepartment", policy, COMMERCE, sender=people["com_officer"])


@pytest.mark.parametrize("name, role, dept_bound, build", WRITES, ids=[w[0] for w in WRITES])
def test_write_goes_through_for_the_right_member(w3, ledger, apps, people, name, role, dept_bound, build) -> None:
    """The refusals above are about the caller: the same calls succeed for an entitled member."""
    who = {POLICY: "sci_policy", REVIEWER: "sci_rev1", OPERATOR: "operator", FINANCE: "finance"}[role]
    send(build(w3, ledger.functions, apps), people[who])


def test_the_world_is_as_described(ledger, apps) -> None:
    status = {k: ledger.functions.statusOf(v).call() for k, v in apps.items()}
    assert status == {"paid": AppStatus.PARTIALLY_PAID, "submitted": AppStatus.SUBMITTED,
                      "approved": AppStatus.APPROVED, "noticed": AppStatus.NOTICED}


def test_time_does_not_matter_for_the_role_checks(w3, ledger, apps, people) -> None:
    time_travel(w3, 365 * DAY)
    assert_reverts(ledger.functions.fileObjection(N2, apps["noticed"], h("o")), "MissingRole", people["finance"],
                   OPERATOR, sender=people["finance"])

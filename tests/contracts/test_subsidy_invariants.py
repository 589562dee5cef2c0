"""The subsidy invariants of DESIGN.md (issue 5, point 10), one test each on eth-tester: the call
that would break the invariant reverts with the invariant's own custom error, and the closest
call that keeps it goes through (so the refusal is about the invariant, not about the set-up).
Payout invariants are checked on both paths: a single line and a bank batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.contracts.conftest import (
    DAY,
    FINANCE,
    OPERATOR,
    applicant_of,
    assert_reverts,
    h,
    send,
    time_travel,
)
from tests.contracts.subsidy_fixtures import people, registry, module_contracts, ledger, holds, flow  # noqa: F401 (fixtures)

P1 = h("policy invariants")
ACME, BETA = "91330100ACME00001X", "91330100BETA00002Y"


@pytest.fixture
def p1(flow) -> bytes:
    flow.publish(P1, budget=300_000_00, cap=200_000_00)
    return P1


def test_an_application_outside_the_window_reverts_outside_window(w3, ledger, flow, people, p1) -> None:
    flow.submit(P1, ACME)
    time_travel(w3, 31 * DAY)
    assert_reverts(ledger.functions.submitApplication(P1, applicant_of(BETA), 1, h("m"), 0), "OutsideWindow",
                   sender=people["operator"])


def test_a_second_application_reverts_duplicate_application(ledger, flow, people, p1) -> None:
    app = flow.submit(P1, ACME)
    assert_reverts(ledger.functions.submitApplication(P1, applicant_of(ACME), 1, h("m2"), 0),
                   "DuplicateApplication", app, sender=people["operator"])


def test_an_amount_above_the_cap_reverts_above_cap(ledger, flow, people, p1) -> None:
    app = flow.submit(P1, ACME, requested=200_000_00)
    assert_reverts(ledger.functions.submitApplication(P1, applicant_of(BETA), 200_000_01, h("m"), 0), "AboveCap",
                   200_000_00, 200_000_01, sender=people["operator"])
    # the cap binds the approval too (a level-3 sign-off above it)
    flow.tx(ledger.functions.review(app, 1, True, 0, h("o1")), "sci_rev1")
    flow.tx(ledger.functions.review(app, 2, True, 0, h("o2")), "sci_rev2")
    assert_reverts(ledger.functions.review(app, 3, True, 200_000_01, h("o3")), "AboveCap", 200_000_00, 200_000_01,
                   sender=people["sci_rev3"])
    flow.tx(ledger.functions.review(app, 3, True, 200_000_00, h("o3")), "sci_rev3")


def test_an_approval_over_the_budget_reverts_budget_exceeded(ledger, flow, people, p1) -> None:
    flow.approved(P1, ACME, amount=200_000_00)
    beta = flow.submit(P1, BETA, requested=200_000_00)
    assert_reverts(ledger.functions.autoApprove(beta, 100_000_01, h("rule")), "BudgetExceeded", 300_000_00,
                   200_000_00, 100_000_01, sender=people["operator"])
    send(ledger.functions.autoApprove(beta, 100_000_00, h("rule")), people["operator"])


def _single(f, app, amount, line=1, batch="PB") -> Any:
    return f.recordPayout(app, h(batch), line, amount, h(f"ref {line}"))


def _batch(f, app, amount, line=1, batch="PB") -> Any:
    return f.recordPayoutBatch(h(batch), h("return file"), [(app, line, amount, h(f"ref {line}"))])


PAY: list[tuple[str, Callable[..., Any]]] = [("single", _single), ("batch", _batch)]


@pytest.mark.parametrize("how, pay", PAY, ids=[p[0] for p in PAY])
def test_a_payout_before_the_notice_ended_reverts_notice_not_ended(w3, ledger, flow, people, p1, how, pay) -> None:
    app = flow.noticed(P1, ACME, ended=False)
    assert_reverts(pay(ledger.functions, app, 1), "NoticeNotEnded", sender=people["finance"])
    time_travel(w3, 6 * DAY)
    send(pay(ledger.functions, app, 1), people["finance"])


@pytest.mark.parametrize("how, pay", PAY, ids=[p[0] for p in PAY])
def test_a_payout_with_an_open_objection_reverts_objection_open(w3, ledger, flow, people, p1, how, pay) -> None:
    app = flow.approved(P1, ACME)
    flow.notice(h("notice"), P1, [app])
    send(ledger.functions.fileObjection(h("notice"), app, h("objection")), people["operator"])
    time_travel(w3, 6 * DAY)
    assert_reverts(pay(ledger.functions, app, 1), "ObjectionOpen", app, 1, sender=people["finance"])
    send(ledger.functions.answerObjection(h("notice"), 1, h("answer"), False), people["sci_policy"])
    send(pay(ledger.functions, app, 1), people["finance"])


@pytest.mark.parametrize("how, pay", PAY, ids=[p[0] for p in PAY])
def test_paying_more_than_approved_reverts_over_payment(ledger, flow, people, p1, how, pay) -> None:
    app = flow.noticed(P1, ACME, amount=150_000_00)
    assert_reverts(pay(ledger.functions, app, 150_000_01), "OverPayment", 150_000_00, 0, 150_000_01,
                   sender=people["finance"])
    send(pay(ledger.functions, app, 150_000_00), people["finance"])


@pytest.mark.parametrize("how, pay", PAY, ids=[p[0] for p in PAY])
def test_paying_a_batch_line_twice_reverts_payout_line_exists(ledger, flow, people, p1, how, pay) -> None:
    app = flow.noticed(P1, ACME, amount=150_000_00)
    send(pay(ledger.functions, app, 50_000_00), people["finance"])
    assert_reverts(pay(ledger.functions, app, 50_000_00), "PayoutLineExists", h("PB"), 1, sender=people["finance"])
    send(pay(ledger.functions, app, 50_000_00, line=2), people["finance"])


@pytest.mark.parametrize("how, pay", PAY, ids=[p[0] for p in PAY])
def test_a_payout_under_an_alarm_hold_reverts_payout_held(ledger, holds, flow, people, p1, how, pay) -> None:
    app = flow.noticed(P1, ACME)
    send(holds.functions.placeHold(app, h("alert"), h("evidence")), people["inspector"])
    assert_reverts(pay(ledger.functions, app, 1), "PayoutHeld", app, sender=people["finance"])
    send(holds.functions.releaseHold(app, h("alert"), h("closed")), people["inspector"])
    send(pay(ledger.functions, app, 1), people["finance"])


def test_a_step_signed_by_a_member_without_the_role_reverts_missing_role(ledger, flow, people, p1) -> None:
    app = flow.noticed(P1, ACME)
    f = ledger.functions
    # the operator (gateway) may file but not pay; finance may pay but not file
    assert_reverts(_batch(f, app, 1), "MissingRole", people["operator"], FINANCE, sender=people["operator"])
    assert_reverts(f.submitApplication(P1, applicant_of(BETA), 1, h("m"), 0), "MissingRole", people["finance"],
                   OPERATOR, sender=people["finance"])
    send(_batch(f, app, 1), people["finance"])


def test_the_ledger_stays_under_the_eip170_code_size_limit(w3, ledger) -> None:
    """A contract above 24,576 bytes of deployed code cannot be deployed on any of the chain engines."""
    size = len(w3.eth.get_code(ledger.address))
    assert 0 < size <= 24_576, size

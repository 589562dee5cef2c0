"""Problem clues (问题线索): an alarm opens a case; the commission records 初核 / 函询 / 暂存 / 立案 /
了结 steps, each signed on AuditTrail; a non-inspector is refused; the timer shows green, yellow and
red in working days and escalates an overdue case once per missed due date."""

from __future__ import annotations

import pytest

from audit import alerts as store
from audit import cases, routing
from audit.findings import Level
from chain.errors import ContractRevert
from tests.audit.conftest import DAY, T0, finding
from tests.contracts.conftest import h

APP = "0x" + h("application C").hex()


@pytest.fixture
def case(env):
    (aid,) = routing.process(env, [finding("USE2", Level.ALARM, APP, stage="use")], T0).new
    return cases.of_alert(env.sessions, store.get(env.sessions, aid))


def test_an_alarm_becomes_a_case_with_a_due_date(env, case, contracts, people) -> None:
    assert case.status == "open" and case.opened_by == people["inspector"]
    assert case.due_at == env.calendar.deadline_after(T0, env.settings.audit.case_step_workdays)
    state = contracts["AuditTrail"].functions.getCase(bytes.fromhex(case.case_id[2:])).call()
    assert state[2] == people["inspector"] and state[3] == 0
    assert [s.step for s in cases.steps_of(env.sessions, case)] == ["opened"]


def test_every_step_is_signed_and_recorded_until_the_case_ends(env, case, signer, contracts) -> None:
    for step in ("preliminary", "inquiry", "shelved", "concluded"):
        cases.record_step(env, case.case_id, step, signer("inspector"), f"{cases.STEP_NAMES[step]}: note",
                          T0 + DAY)
    row = cases.get(env.sessions, case.case_id)
    assert row.status == "concluded" and row.closed_at is not None
    steps = cases.steps_of(env.sessions, row)
    assert [s.step for s in steps] == ["opened", "preliminary", "inquiry", "shelved", "concluded"]
    assert all(s.tx_hash for s in steps)
    trail = contracts["AuditTrail"].functions
    assert [trail.getCaseStep(bytes.fromhex(case.case_id[2:]), i).call()[0] for i in range(4)] == [2, 3, 4, 5]
    with pytest.raises(store.AlertError) as exc:
        cases.record_step(env, case.case_id, "filed", signer("inspector"), "too late", T0 + 2 * DAY)
    assert exc.value.code == "case_ended"
    assert cases.summary(env, row, T0)["colour"] == "none"


@pytest.mark.parametrize("who", ["sci_policy", "operator", "finance"])
def test_a_step_by_a_non_inspector_is_refused(env, case, signer, who) -> None:
    with pytest.raises(ContractRevert) as exc:
        cases.record_step(env, case.case_id, "preliminary", signer(who), "not mine", T0)
    assert exc.value.error == "MissingRole"
    assert cases.get(env.sessions, case.case_id).status == "open"


def test_bad_steps_and_unknown_cases_are_refused(env, case, signer) -> None:
    with pytest.raises(store.AlertError) as exc:
        cases.record_step(env, case.case_id, "investigate", signer("inspector"), "n", T0)
    assert exc.value.code == "invalid_step"
    with pytest.raises(store.AlertError) as exc:
        cases.record_step(env, "0x" + "00" * 32, "preliminary", signer("inspector"), "n", T0)
    assert exc.value.code == "case_not_found"
    with pytest.raises(store.AlertError) as exc:
        cases.open_case(env, store.get(env.sessions, cases.summary(env, case, T0)["alert_id"]).alert_id,
                        signer("inspector"), "again", T0)
    assert exc.value.code == "case_exists"


def test_three_colour_timer_and_escalation_of_an_overdue_case(env, case, contracts) -> None:
    due = case.due_at
    cal = env.calendar
    steps, yellow = env.settings.audit.case_step_workdays, env.settings.audit.yellow_workdays
    day = cal.local_date(T0)
    assert cases.colour(env, due, T0) == "green"
    # four working days left: green; three left: yellow (the default yellow_workdays is 3)
    assert cases.colour(env, due, cal.end_of_day(cal.add_workdays(day, steps - yellow - 1))) == "green"
    assert cases.colour(env, due, cal.end_of_day(cal.add_workdays(day, steps - yellow))) == "yellow"
    assert cases.colour(env, due, due) == "yellow"
    assert cases.colour(env, due, due + 1) == "red"
    assert routing.tick(env, due)["cases_escalated"] == 0
    assert routing.tick(env, due + 1)["cases_escalated"] == 1
    row = cases.get(env.sessions, case.case_id)
    assert row.escalations == 1 and row.due_at > due
    escalation = cases.steps_of(env.sessions, row)[-1]
    assert escalation.step == "escalated" and escalation.tx_hash  # signed by the gateway's INSPECTOR key
    trail = contracts["AuditTrail"].functions
    state = trail.getCase(bytes.fromhex(case.case_id[2:])).call()
    assert state[3] == 1 and state[4] == 0  # one step on chain, the case's disposition unchanged
    assert trail.getCaseStep(bytes.fromhex(case.case_id[2:]), 0).call()[0] == cases.ESCALATED_STEP
    assert routing.tick(env, due + 2)["cases_escalated"] == 0  # once per missed due date
    assert routing.tick(env, row.due_at + 1)["cases_escalated"] == 1
    assert cases.get(env.sessions, case.case_id).escalations == 2


def test_a_step_restarts_the_timer(env, case, signer) -> None:
    later = case.due_at - DAY
    cases.record_step(env, case.case_id, "inquiry", signer("inspector"), "函询 letter sent", later)
    row = cases.get(env.sessions, case.case_id)
    assert row.due_at == env.calendar.deadline_after(later, env.settings.audit.case_step_workdays)
    assert cases.colour(env, row.due_at, case.due_at + 1) == "green"

"""The three layers on eth-tester: a prompt goes to the handling officer's work list, a warning to
the department head with a rectification deadline in working days that escalates it to alarm when
it passes unrectified (tick), an alarm to the discipline commission with an on-chain hold and a case;
dispositions are signed on AuditTrail by the right member and refused for the wrong one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from audit import alerts as store
from audit import cases, routing
from audit.findings import Level
from audit.models import AuditNotice
from chain.errors import ContractRevert
from tests.audit.conftest import DAY, T0, finding
from tests.contracts.conftest import SCIENCE, h

APP = "0x" + h("application A").hex()
APP2 = "0x" + h("application B").hex()


def notices(env, alert_id: str) -> list[tuple[str, int | None]]:
    alert = store.get(env.sessions, alert_id)
    with env.sessions() as s:
        return [(n.audience, n.deadline_at) for n in s.scalars(select(AuditNotice).where(
            AuditNotice.alert_pk == alert.id).order_by(AuditNotice.id))]


def test_a_prompt_goes_to_the_officers_work_list_only(env, contracts) -> None:
    (aid,) = routing.process(env, [finding("APP1", Level.PROMPT, APP, stage="apply")], T0).new
    assert notices(env, aid) == [("officer", None)]
    listed = routing.worklist(env.sessions, "SCIENCE", "officer")
    assert [a["alert_id"] for a in listed] == [aid]
    assert routing.worklist(env.sessions, "SCIENCE", "head") == []
    assert routing.worklist(env.sessions, "COMMERCE") == []
    alert = store.get(env.sessions, aid)
    assert alert.hold_status == "none" and cases.of_alert(env.sessions, alert) is None
    assert not contracts["AuditHolds"].functions.isHeld(bytes.fromhex(APP[2:])).call()
    # its record is anchored on AuditTrail with a proof
    rec = store.records_of(env.sessions, alert)[-1]
    with env.sessions() as s:
        ref = routing.alert_ref(s, alert)
    assert contracts["AuditTrail"].functions.isAnchoredAlert(*ref).call()
    assert rec.record_hash == "0x" + ref[2].hex()


def test_a_warning_goes_to_the_head_with_a_working_day_deadline(env) -> None:
    (aid,) = routing.process(env, [finding("PAY1", Level.WARNING, APP)], T0).new
    deadline = env.calendar.deadline_after(T0, env.settings.audit.rectification_workdays)
    # Tuesday 2026-12-01 + 10 working days = Tuesday 2026-12-15, end of day in Asia/Shanghai
    assert env.calendar.local_date(deadline).isoformat() == "2026-12-15"
    assert notices(env, aid) == [("head", deadline)]
    assert [a["alert_id"] for a in routing.worklist(env.sessions, "SCIENCE", "head")] == [aid]
    assert store.get(env.sessions, aid).deadline_at == deadline


def test_a_missed_rectification_deadline_escalates_the_warning_to_alarm(env, contracts, people) -> None:
    (aid,) = routing.process(env, [finding("PAY1", Level.WARNING, APP)], T0).new
    deadline = store.get(env.sessions, aid).deadline_at
    assert routing.tick(env, deadline) == {"escalated": 0, "cases_escalated": 0}  # the last second still counts
    assert store.get(env.sessions, aid).level == Level.WARNING
    assert routing.tick(env, deadline + 1)["escalated"] == 1
    alert = store.get(env.sessions, aid)
    assert (alert.level, alert.status) == (Level.ALARM, "case_opened")
    assert [n[0] for n in notices(env, aid)] == ["head", "commission"]
    assert [e.kind for e in store.events_of(env.sessions, alert)][:2] == ["raised", "escalated"]
    # on chain: escalated and case opened, both signed by the commission's key; the payout is held
    trail, holds = contracts["AuditTrail"].functions, contracts["AuditHolds"].functions
    alert_id = bytes.fromhex(aid[2:])
    assert [trail.getDisposition(alert_id, i).call()[0] for i in range(2)] == [3, 4]
    assert trail.getDisposition(alert_id, 0).call()[3] == people["inspector"]
    assert holds.isHeld(bytes.fromhex(APP[2:])).call() and alert.hold_status == "placed"
    case = cases.of_alert(env.sessions, alert)
    assert case is not None and trail.getCase(bytes.fromhex(case.case_id[2:])).call()[0] == alert_id
    # escalation happens once
    assert routing.tick(env, deadline + 2 * DAY)["escalated"] == 0


def test_a_rectified_warning_does_not_escalate(env, signer, contracts) -> None:
    (aid,) = routing.process(env, [finding("PAY1", Level.WARNING, APP)], T0).new
    disposition = routing.dispose(env, aid, "rectified", signer("sci_rev1"), "account corrected, bank letter filed")
    assert disposition.department == "SCIENCE" and disposition.member == signer("sci_rev1").address
    deadline = store.get(env.sessions, aid).deadline_at
    assert routing.tick(env, deadline + 30 * DAY)["escalated"] == 0
    alert = store.get(env.sessions, aid)
    assert (alert.level, alert.status, alert.hold_status) == (Level.WARNING, "rectified", "none")
    record = contracts["AuditTrail"].functions.getDisposition(bytes.fromhex(aid[2:]), 0).call()
    assert record[0] == 1 and record[2] == SCIENCE


@pytest.mark.parametrize("who,error", [("com_officer", "NotResponsibleDepartment"),
                                       ("inspector", "NotResponsibleDepartment"),
                                       ("outsider", "NotResponsibleDepartment")])
def test_a_disposition_by_the_wrong_member_is_refused_and_not_recorded(env, signer, who, error) -> None:
    (aid,) = routing.process(env, [finding("PAY1", Level.WARNING, APP)], T0).new
    with pytest.raises(ContractRevert) as exc:
        routing.dispose(env, aid, "explained", signer(who), "not ours to explain")
    assert exc.value.error == error
    alert = store.get(env.sessions, aid)
    assert alert.status == "open" and routing.dispositions_of(env.sessions, alert) == []


def test_closing_is_for_the_commission_and_final(env, signer) -> None:
    (aid,) = routing.process(env, [finding("APP2", Level.PROMPT, APP, stage="apply")], T0).new
    with pytest.raises(ContractRevert) as exc:
        routing.dispose(env, aid, "closed", signer("sci_policy"), "closing my own alert")
    assert exc.value.error == "MissingRole"
    routing.dispose(env, aid, "explained", signer("sci_policy"), "formatting difference only")
    routing.dispose(env, aid, "closed", signer("inspector"), "销号: explanation accepted")
    assert store.get(env.sessions, aid).status == "closed"
    with pytest.raises(store.AlertError) as err:
        routing.dispose(env, aid, "rectified", signer("sci_rev1"), "late")
    assert err.value.code == "alert_closed"
    assert [d.kind for d in routing.dispositions_of(env.sessions, store.get(env.sessions, aid))] == [
        "explained", "closed"]


def test_an_alarm_finding_holds_the_application_and_opens_a_case(env, contracts) -> None:
    (aid,) = routing.process(env, [finding("PAY2", Level.ALARM, APP2, amount_fen=80_000_00)], T0).new
    alert = store.get(env.sessions, aid)
    assert alert.hold_status == "placed" and alert.status == "case_opened"
    assert notices(env, aid) == [("commission", None)]
    held = contracts["AuditHolds"].functions.getHold(bytes.fromhex(APP2[2:]), bytes.fromhex(aid[2:])).call()
    assert "0x" + held[0].hex() == store.records_of(env.sessions, alert)[-1].record_hash  # evidence: the record
    # a re-scan of the same alarm neither holds twice nor opens a second case
    assert routing.process(env, [finding("PAY2", Level.ALARM, APP2)], T0 + 60).unchanged == [aid]
    assert len(cases.listing(env.sessions)) == 1


def test_without_an_inspector_key_the_chain_work_waits_and_is_finished_later(env, signer, people) -> None:
    held_key = env.chain._system_account
    env.chain._system_account = lambda: None
    (aid,) = routing.process(env, [finding("PAY3", Level.ALARM, APP)], T0).new
    alert = store.get(env.sessions, aid)
    assert alert.hold_status == "pending" and cases.of_alert(env.sessions, alert) is None
    env.chain._system_account = held_key
    assert routing.settle(env, T0 + 60) == {"escalations": 0, "holds": 1, "cases": 1}
    assert store.get(env.sessions, aid).hold_status == "placed"


def test_escalating_by_hand_makes_an_alarm_signed_by_the_inspector(env, signer, contracts, people) -> None:
    (aid,) = routing.process(env, [finding("REV2", Level.PROMPT, APP, stage="review")], T0).new
    with pytest.raises(ContractRevert) as exc:
        routing.dispose(env, aid, "escalated", signer("sci_policy"), "escalating my own")
    assert exc.value.error == "MissingAnyRole"
    routing.dispose(env, aid, "escalated", signer("inspector"), "reviewer is the applicant's shareholder")
    alert = store.get(env.sessions, aid)
    assert (alert.level, alert.status, alert.hold_status) == (Level.ALARM, "case_opened", "placed")
    trail = contracts["AuditTrail"].functions
    alert_id = bytes.fromhex(aid[2:])
    assert [trail.getDisposition(alert_id, i).call()[0] for i in range(2)] == [3, 4]  # escalated once, case opened
    assert [n[0] for n in notices(env, aid)] == ["officer", "commission"]


@pytest.mark.parametrize("change", [{"rectification_workdays": 0}, {"case_step_workdays": -1},
                                    {"yellow_workdays": 20}, {"anchor_batch_size": 0}])
def test_nonsense_audit_settings_are_refused(sessions, tmp_path, change) -> None:
    from chain.config import ConfigError, Settings, with_overrides

    with pytest.raises(ConfigError, match=r"\[audit\]"):
        routing.AuditEnv(sessions, with_overrides(Settings(data_dir=tmp_path), audit=change))


def test_a_condition_back_after_closing_is_a_new_alert_told_to_the_commission(env, signer, contracts) -> None:
    (aid,) = routing.process(env, [finding("PAY4", Level.PROMPT, APP)], T0).new
    routing.dispose(env, aid, "closed", signer("inspector"), "销号")
    routing.process(env, [], T0 + DAY, full_scan=store.ScanScope())
    (again,) = routing.process(env, [finding("PAY4", Level.WARNING, APP)], T0 + 2 * DAY).recurred
    # a new on-chain identity: hash of the key and the occurrence number, linked to the closed alert
    assert again == store.alert_id_of("PAY4", "application", APP, 2) != aid
    new = store.get(env.sessions, again)
    assert (new.occurrence, new.recurrence_of, new.level, new.status) == (2, aid, Level.WARNING, "open")
    assert [n[0] for n in notices(env, again)] == ["head", "commission"]
    assert [n[0] for n in notices(env, aid)] == ["officer"]
    history = store.events_of(env.sessions, new)
    assert [e.kind for e in history] == ["recurred"] and aid in history[0].note
    assert [e.kind for e in store.events_of(env.sessions, store.get(env.sessions, aid))] == [
        "raised", "disposition", "cleared", "recurred_as"]
    assert again in store.events_of(env.sessions, store.get(env.sessions, aid))[-1].note
    assert store.get(env.sessions, aid).status == "closed"  # the closed alert stays closed
    # it is anchored and takes dispositions like any new alert (the closed id is refused on chain)
    with env.sessions() as s:
        ref = routing.alert_ref(s, new)
    assert contracts["AuditTrail"].functions.isAnchoredAlert(*ref).call()
    assert '"recurrence_of":"%s"' % aid in store.records_of(env.sessions, new)[-1].record
    routing.dispose(env, again, "rectified", signer("sci_policy"), "account holder corrected")
    assert store.get(env.sessions, again).status == "rectified"
    assert [a["alert_id"] for a in routing.worklist(env.sessions, "SCIENCE")] == []
    # a re-scan that still finds it does not open a third one
    assert routing.process(env, [finding("PAY4", Level.WARNING, APP)], T0 + 3 * DAY).unchanged == [again]


def test_a_closed_alerts_condition_worsening_becomes_an_alarm_with_its_own_hold_and_case(env, signer,
                                                                                        contracts) -> None:
    (aid,) = routing.process(env, [finding("PAY4", Level.ALARM, APP)], T0).new
    first_case = cases.of_alert(env.sessions, store.get(env.sessions, aid))
    routing.release_hold(env, aid, signer("inspector"), "firm re-registered")
    routing.dispose(env, aid, "closed", signer("inspector"), "销号: checked")
    # still found at the same level after closing: the closed alert stands, nothing new
    assert routing.process(env, [finding("PAY4", Level.ALARM, APP)], T0 + DAY).unchanged == [aid]
    routing.process(env, [], T0 + 2 * DAY, full_scan=store.ScanScope())
    (again,) = routing.process(env, [finding("PAY4", Level.ALARM, APP)], T0 + 3 * DAY).recurred
    new = store.get(env.sessions, again)
    assert (new.occurrence, new.recurrence_of, new.hold_status) == (2, aid, "placed")
    case = cases.of_alert(env.sessions, new)
    assert case is not None and case.case_id == cases.case_id_of(again) != first_case.case_id
    trail = contracts["AuditTrail"].functions
    assert trail.getCase(bytes.fromhex(case.case_id[2:])).call()[0] == bytes.fromhex(again[2:])
    assert contracts["AuditHolds"].functions.isHeld(bytes.fromhex(APP[2:])).call()
    with pytest.raises(ContractRevert, match="AlertClosed"):  # the closed occurrence takes nothing more
        env.chain.transact(signer("inspector"), trail.recordDisposition(
            bytes.fromhex(aid[2:]), bytes(32), bytes(32), bytes(32), [], 3, b"x" * 32), "probe")
    # a third occurrence after the second is closed
    routing.release_hold(env, again, signer("inspector"), "ok")
    routing.dispose(env, again, "closed", signer("inspector"), "销号 again")
    routing.process(env, [], T0 + 4 * DAY, full_scan=store.ScanScope())
    (third,) = routing.process(env, [finding("PAY4", Level.PROMPT, APP)], T0 + 5 * DAY).recurred
    assert third == store.alert_id_of("PAY4", "application", APP, 3)
    assert store.get(env.sessions, third).recurrence_of == again


def test_a_closed_alerts_condition_that_worsens_without_clearing_is_a_new_occurrence(env, signer) -> None:
    (aid,) = routing.process(env, [finding("PAY2", Level.PROMPT, APP2)], T0).new
    routing.dispose(env, aid, "closed", signer("inspector"), "销号: a formatting difference")
    assert routing.process(env, [finding("PAY2", Level.PROMPT, APP2)], T0 + DAY).unchanged == [aid]
    (again,) = routing.process(env, [finding("PAY2", Level.WARNING, APP2)], T0 + 2 * DAY).recurred
    assert again == store.alert_id_of("PAY2", "application", APP2, 2)
    assert "worsened" in store.events_of(env.sessions, store.get(env.sessions, again))[0].note
    assert store.get(env.sessions, aid).level == Level.PROMPT  # the closed alert keeps what it was closed on

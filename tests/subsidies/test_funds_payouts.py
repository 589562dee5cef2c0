"""Public notices, objections and payouts through the HTTP API on eth-tester: a notice's period in
working days and its anchored list; objections filed and answered on the record; finance's bank
batch export (CSV and XLSX), the bank's return file imported all-or-nothing, the paid lines recorded
on-chain in one transaction with an event per line; reconciliation findings; failed lines re-exported
to a changed payee account; roles; contract refusals answered 409 with the contract's error."""

from __future__ import annotations

from web3.logs import DISCARD

from gateway.subsidies import bankfiles as bf
from gateway.subsidies.calendar import WorkCalendar
from tests.gateway.helpers import error_of
from tests.subsidies.conftest import SubsidyGateway
from tests.subsidies.funds_support import (FINANCE, INSPECTOR, OPERATOR, POLICY_MEMBER, application, approved_on_chain,
                                           bank_return, batch_file, end_notice, enterprise_with_account, export,
                                           noticed_and_ended, open_notice, publish_on_chain, upload_return)


def _lines(raw: bytes, name: str = "batch.csv") -> tuple[bf.Control, list[bf.ExportLine]]:
    return bf.read_export(raw, name)


# ---------------------------------------------------------------------------- notices and objections

def test_a_notice_shorter_than_the_policys_period_is_refused_whatever_the_weekday(sg: SubsidyGateway) -> None:
    """The policy says 5 working days: a notice of 3 is refused with the policy's figure before any transaction
    (the contract's floor is in calendar days, so on a Wednesday it would have let 3 working days through),
    and no notice is written; without working_days the notice runs the policy's 5."""
    policy = sg.publish()
    _, headers = sg.applicant()
    app = sg.applied(policy["id"], headers)
    assert app["status"] == "approved"
    body = {"policy_id": policy["id"], "application_ids": [app["id"]], "title": "公示", "working_days": 3}
    error = error_of(sg.client.post("/funds/notices", json=body, headers=sg.member(POLICY_MEMBER)), 422,
                     "notice_shorter_than_policy")
    assert "5 working days" in error["message"]
    assert application(sg, app["id"])["status"] == "approved"  # nothing noticed
    notice = open_notice(sg, policy["id"], [app["id"]])
    assert notice["working_days"] == 5 and notice["chain"]["matches"] is True


def test_a_notice_runs_its_working_days_and_anchors_its_list(sg: SubsidyGateway) -> None:
    policy_id = publish_on_chain(sg)
    uscc, _ = enterprise_with_account(sg)
    app = approved_on_chain(sg, policy_id, uscc, 120_000_00)
    notice = open_notice(sg, policy_id, [app], working_days=3)
    cal = WorkCalendar.from_settings(sg.ctx.settings.calendar)
    opened = cal.local_date(notice["opened_at"])
    assert notice["ends_at"] == cal.end_of_day(cal.add_workdays(opened, 3))
    assert cal.workdays_between(opened, cal.local_date(notice["ends_at"])) == 3
    assert notice["running"] is True and notice["chain"]["matches"] is True
    assert [(e["application_id"], e["amount_fen"]) for e in notice["entries"]] == [(app, 120_000_00)]
    assert notice["chain"]["list_digest"] == "0x" + notice["list_sha256"]
    receipt = sg.client.get(f"/documents/{notice['list_sha256']}", headers=sg.member(POLICY_MEMBER)).json()
    assert receipt["sha256"] == notice["list_sha256"]
    assert application(sg, app)["status"] == "noticed"
    # an approved application goes on one notice only: the contract refuses the second
    error = error_of(sg.client.post("/funds/notices", json={"policy_id": policy_id, "application_ids": [app],
                                                            "title": "again"}, headers=sg.member(POLICY_MEMBER)),
                     409, "contract_revert")
    assert error["error"] == "InvalidStatus"


def test_only_the_policys_own_department_opens_a_notice(sg: SubsidyGateway) -> None:
    policy_id = publish_on_chain(sg)
    uscc, _ = enterprise_with_account(sg)
    app = approved_on_chain(sg, policy_id, uscc, 10_000_00)
    body = {"policy_id": policy_id, "application_ids": [app], "title": "公示"}
    error = error_of(sg.client.post("/funds/notices", json=body, headers=sg.member("COMMERCE-admin")), 409,
                     "contract_revert")
    assert error["error"] == "NotPolicyDepartment"
    error_of(sg.client.post("/funds/notices", json=body, headers=sg.member(FINANCE)), 403, "missing_role")
    error_of(sg.client.post("/funds/notices", json={**body, "policy_id": "0x" + "ab" * 32},
                            headers=sg.member(POLICY_MEMBER)), 404, "unknown_policy")
    error_of(sg.client.post("/funds/notices", json={**body, "application_ids": [app, app]},
                            headers=sg.member(POLICY_MEMBER)), 422, "duplicate_in_notice")


def test_objections_are_filed_and_answered_on_the_record(sg: SubsidyGateway) -> None:
    policy_id = publish_on_chain(sg)
    (uscc_a, _), (uscc_b, _) = enterprise_with_account(sg), enterprise_with_account(sg)
    a = approved_on_chain(sg, policy_id, uscc_a, 100_000_00)
    b = approved_on_chain(sg, policy_id, uscc_b, 80_000_00)
    notice = open_notice(sg, policy_id, [a, b])
    competitor = sg.enterprise(uscc_b)
    response = sg.client.post(f"/funds/notices/{notice['notice_id']}/objections",
                              json={"application_id": a, "text": "该企业不符合注册地要求"}, headers=competitor)
    assert response.status_code == 201, response.text
    objection = response.json()
    assert (objection["number"], objection["status"], objection["filed_by_kind"]) == (1, "open", "enterprise")
    assert application(sg, a)["openObjections"] == 1
    # the objection's text is off-chain; its digest is the on-chain objection hash
    on_chain = sg.ctx.ledger.contract("SubsidyLedger").functions.getObjection(
        bytes.fromhex(notice["notice_id"][2:]), 1).call()
    assert on_chain[1].hex() == objection["text_sha256"]
    # answered by the policy department: upheld rejects the application and frees its amount
    path = f"/funds/notices/{notice['notice_id']}/objections/1/answer"
    error_of(sg.client.post(path, json={"answer": "x", "upheld": True}, headers=competitor), 403, "forbidden_kind")
    response = sg.client.post(path, json={"answer": "经核查属实", "upheld": True}, headers=sg.member(POLICY_MEMBER))
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "upheld"
    assert application(sg, a)["status"] == "rejected"
    error = error_of(sg.client.post(path, json={"answer": "again", "upheld": False},
                                    headers=sg.member(POLICY_MEMBER)), 409, "contract_revert")
    assert error["error"] == "ObjectionAlreadyAnswered"
    view = sg.client.get(f"/funds/notices/{notice['notice_id']}", headers=competitor).json()
    assert [o["status"] for o in view["objections"]] == ["upheld"] and view["chain"]["open_objections"] == 0
    # after the notice: no more objections (the contract's NoticeEnded); the rejected line is never exported
    end_notice(sg, notice)
    error = error_of(sg.client.post(f"/funds/notices/{notice['notice_id']}/objections",
                                    json={"application_id": b, "text": "late"}, headers=competitor), 409,
                     "contract_revert")
    assert error["error"] == "NoticeEnded"
    batch = export(sg, policy_id=policy_id)
    assert [x["application_id"] for x in batch["batch"]["lines"]] == [b]
    assert {"application_id": a, "reason": "status_rejected"} in batch["skipped"]


def test_a_notice_opened_on_chain_by_another_tool_is_payable_too(sg: SubsidyGateway) -> None:
    """The export reads noticed applications from the chain's events, not only the gateway's notices."""
    from eth_utils import keccak

    policy_id = publish_on_chain(sg)
    uscc, _ = enterprise_with_account(sg)
    app = approved_on_chain(sg, policy_id, uscc, 25_000_00)
    ends = sg.now() + 2 * 86400
    fn = sg.ctx.ledger.contract("SubsidyLedger").functions.openNotice(
        keccak(text=f"notice {app}"), bytes.fromhex(policy_id[2:]), [bytes.fromhex(app[2:])], keccak(text="list"), ends)
    sg.ctx.ledger.txm.transact(sg.ctx.ledger.keyring.account(POLICY_MEMBER), fn, "notice by another tool")
    payable = sg.client.get("/funds/payouts/payable", params={"policy_id": policy_id}, headers=sg.member(FINANCE))
    assert payable.json()["skipped"] == [{"application_id": app, "reason": "notice_running"}]
    sg.time_travel(ends - sg.now() + 1)
    batch = export(sg, policy_id=policy_id)["batch"]
    assert [(x["application_id"], x["amount_fen"]) for x in batch["lines"]] == [(app, 25_000_00)]


def test_no_export_while_an_objection_is_open(sg: SubsidyGateway) -> None:
    policy_id = publish_on_chain(sg)
    uscc, _ = enterprise_with_account(sg)
    app = approved_on_chain(sg, policy_id, uscc, 50_000_00)
    notice = open_notice(sg, policy_id, [app])
    response = sg.client.post(f"/funds/notices/{notice['notice_id']}/objections",
                              json={"application_id": app, "text": "公众举报"}, headers=sg.member(INSPECTOR))
    assert response.status_code == 201, response.text
    end_notice(sg, notice)
    error = error_of(sg.client.post("/funds/payouts/batches", json={"policy_id": policy_id},
                                    headers=sg.member(FINANCE)), 409, "nothing_to_pay")
    assert error["skipped"] == [{"application_id": app, "reason": "objection_open"}]


# ---------------------------------------------------------------------------- export, return, on-chain record

def test_a_batch_goes_from_export_to_one_on_chain_transaction(sg: SubsidyGateway) -> None:
    policy_id, apps, _ = noticed_and_ended(sg, [150_000_00, 80_000_00, 30_000_00])
    response = sg.client.get("/funds/payouts/payable", params={"policy_id": policy_id}, headers=sg.member(FINANCE))
    assert response.json()["total_fen"] == 260_000_00
    batch = export(sg, policy_id=policy_id)["batch"]
    assert (batch["line_count"], batch["total_fen"], batch["status"]) == (3, 260_000_00, "exported")
    # the file for the bank, in both formats, with the same control digest
    control, lines = _lines(batch_file(sg, batch["batch_id"], "csv"))
    x_control, x_lines = _lines(batch_file(sg, batch["batch_id"], "xlsx"), "batch.xlsx")
    assert control == x_control and lines == x_lines
    assert control.digest == batch["control_digest"] and control.total == 260_000_00
    assert [x.application_id for x in lines] == [a for a, _, _ in apps]
    # exported lines are in flight: a second export holds nothing of them
    error_of(sg.client.post("/funds/payouts/batches", json={"policy_id": policy_id}, headers=sg.member(FINANCE)),
             409, "nothing_to_pay")
    # the bank pays two lines and fails one
    rows = bank_return(lines, batch["batch_id"], failed={3: "户名不符"})
    raw = bf.write_return(batch["batch_id"], rows, "xlsx")
    check = upload_return(sg, raw, "return.xlsx", check=True).json()
    assert (check["paid_lines"], check["paid_total_fen"], check["failed_lines"], check["blocking"]) == (
        2, 230_000_00, 1, False)
    assert [i["kind"] for i in check["issues"]] == ["failed_line"]
    assert sg.client.get(f"/funds/payouts/batches/{batch['batch_id']}", headers=sg.member(FINANCE)).json()[
        "status"] == "exported"  # the check recorded nothing
    response = upload_return(sg, raw, "return.xlsx")
    assert response.status_code == 200, response.text
    imported = response.json()
    assert imported["recorded"] is True and imported["tx_hash"]
    # one transaction, an event per paid line, and the batch event carrying the return file's digest
    receipt = sg.ctx.ledger.chain.w3.eth.get_transaction_receipt(imported["tx_hash"])
    contract = sg.ctx.ledger.contract("SubsidyLedger")
    paid_events = contract.events.PayoutRecorded().process_receipt(receipt, errors=DISCARD)
    assert [(e["args"]["lineNo"], e["args"]["amount"]) for e in paid_events] == [(1, 150_000_00), (2, 80_000_00)]
    (batch_event,) = contract.events.PayoutBatchRecorded().process_receipt(receipt, errors=DISCARD)
    assert batch_event["args"]["returnDigest"].hex() == imported["return_sha256"]
    assert (batch_event["args"]["lines"], batch_event["args"]["total"]) == (2, 230_000_00)
    assert [application(sg, a)["status"] for a, _, _ in apps] == ["paid", "paid", "noticed"]
    view = sg.client.get(f"/funds/payouts/batches/{batch['batch_id']}", headers=sg.member(FINANCE)).json()
    assert [x["status"] for x in view["lines"]] == ["paid", "paid", "failed"]
    assert view["lines"][2]["failure_reason"] == "户名不符"
    # the same return file again: refused, nothing recorded twice
    error_of(upload_return(sg, raw, "return.xlsx"), 409, "batch_already_imported")


def test_failed_lines_are_re_exported_to_the_changed_payee_account(sg: SubsidyGateway) -> None:
    policy_id, apps, _ = noticed_and_ended(sg, [40_000_00, 60_000_00])
    batch = export(sg, policy_id=policy_id)["batch"]
    _, lines = _lines(batch_file(sg, batch["batch_id"]))
    failed_uscc, failed_headers = apps[1][1], apps[1][2]
    raw = bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"], failed={2: "账户已销户"}))
    assert upload_return(sg, raw).status_code == 200
    # the enterprise changes its payee account: a new keyed hash, the old one closed with its time
    response = sg.client.put("/funds/payee-account", json={"account_no": "6217 0000 9999 8888", "payee_name": "新户名",
                                                           "bank_name": "建设银行"}, headers=failed_headers)
    assert response.status_code == 200 and response.json()["changed"] is True
    history = sg.client.get(f"/funds/payee-accounts/{failed_uscc}", headers=failed_headers).json()
    assert len(history) == 2 and history[0]["replaced_at"] and history[1]["replaced_at"] is None
    assert history[1]["account_tail"] == "8888" and history[0]["account_hash"] != history[1]["account_hash"]
    assert "6217000099998888" not in str(history)
    # the same account again is no change
    again = sg.client.put("/funds/payee-account", json={"account_no": "6217000099998888", "payee_name": "新户名",
                                                        "bank_name": "建设银行"}, headers=failed_headers)
    assert again.json()["changed"] is False
    response = sg.client.post(f"/funds/payouts/batches/{batch['batch_id']}/reexport", headers=sg.member(FINANCE))
    assert response.status_code == 201, response.text
    new = response.json()["batch"]
    assert new["reexport_of"] == batch["batch_id"] and new["total_fen"] == 60_000_00
    _, new_lines = _lines(batch_file(sg, new["batch_id"]))
    assert [(x.application_id, x.account_no) for x in new_lines] == [(apps[1][0], "6217000099998888")]
    old = sg.client.get(f"/funds/payouts/batches/{batch['batch_id']}", headers=sg.member(FINANCE)).json()
    assert old["lines"][1]["status"] == "reexported" and old["lines"][1]["reexported_in"] == new["batch_id"]
    error_of(sg.client.post(f"/funds/payouts/batches/{batch['batch_id']}/reexport", headers=sg.member(FINANCE)),
             409, "nothing_to_reexport")
    raw = bf.write_return(new["batch_id"], bank_return(new_lines, new["batch_id"]))
    assert upload_return(sg, raw).status_code == 200
    assert application(sg, apps[1][0])["status"] == "paid"


def test_reconciliation_findings_refuse_the_whole_file(sg: SubsidyGateway) -> None:
    policy_id, apps, _ = noticed_and_ended(sg, [100_000_00, 50_000_00, 20_000_00, 10_000_00])
    batch = export(sg, policy_id=policy_id)["batch"]
    _, lines = _lines(batch_file(sg, batch["batch_id"]))
    bid = batch["batch_id"]
    outsider = enterprise_with_account(sg)[0]
    rows = bank_return(lines, bid, amounts={1: 100_000_01, 2: 50_100_00})  # rounding (1 fen) and overpaid
    rows[2]["uscc"] = outsider  # paid someone who was not approved
    rows[3]["bank_reference"] = rows[0]["bank_reference"]  # one transfer reported twice
    response = upload_return(sg, bf.write_return(bid, rows))
    error = error_of(response, 422, "reconciliation_failed")
    kinds = {(i["line_no"], i["kind"]) for i in error["report"]["issues"]}
    assert {(1, "rounding_difference"), (1, "overpaid"), (2, "amount_mismatch"), (2, "overpaid"),
            (3, "payee_not_approved"), (4, "paid_twice")} <= kinds
    # a dropped line is reported too
    response = upload_return(sg, bf.write_return(bid, bank_return(lines[:3], bid)))
    assert ("missing_line", 4) in {(i["kind"], i["line_no"]) for i in
                                   error_of(response, 422, "reconciliation_failed")["report"]["issues"]}
    # nothing of it was recorded
    assert [application(sg, a)["paid"] for a, _, _ in apps] == [0, 0, 0, 0]
    assert sg.client.get(f"/funds/payouts/batches/{bid}", headers=sg.member(FINANCE)).json()["status"] == "exported"
    # the correct file goes through
    assert upload_return(sg, bf.write_return(bid, bank_return(lines, bid))).status_code == 200


def test_a_hold_placed_after_export_refuses_the_import_with_the_contract_error(sg: SubsidyGateway) -> None:
    policy_id, apps, _ = noticed_and_ended(sg, [30_000_00, 20_000_00])
    batch = export(sg, policy_id=policy_id)["batch"]
    _, lines = _lines(batch_file(sg, batch["batch_id"]))
    holds = sg.ctx.ledger.contract("AuditHolds").functions
    inspector = sg.ctx.ledger.keyring.account(INSPECTOR)
    from eth_utils import keccak

    app = bytes.fromhex(apps[1][0][2:])
    sg.ctx.ledger.txm.transact(inspector, holds.placeHold(app, keccak(text="alert"), keccak(text="evidence")), "hold")
    raw = bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"]))
    error = error_of(upload_return(sg, raw), 409, "contract_revert")
    assert error["error"] == "PayoutHeld"
    assert application(sg, apps[0][0])["paid"] == 0  # all or nothing: the unheld line was not recorded either
    assert sg.client.get(f"/funds/payouts/batches/{batch['batch_id']}", headers=sg.member(FINANCE)).json()[
        "status"] == "exported"
    sg.ctx.ledger.txm.transact(inspector, holds.releaseHold(app, keccak(text="alert"), keccak(text="closed")),
                               "release")
    assert upload_return(sg, raw).status_code == 200


def test_bad_files_and_unknown_batches_are_refused_with_codes(sg: SubsidyGateway) -> None:
    policy_id, _apps, _ = noticed_and_ended(sg, [10_000_00])
    batch = export(sg, policy_id=policy_id)["batch"]
    _, lines = _lines(batch_file(sg, batch["batch_id"]))
    raw = bf.write_return(batch["batch_id"], bank_return(lines, batch["batch_id"]))
    error = error_of(upload_return(sg, raw.replace(b",paid,", b",paied,")), 422, "bank_file_line_invalid")
    assert (error["line"], error["field"]) == (4, "status")
    error_of(upload_return(sg, raw.replace(b"10000.00", b"10000.01")), 422, "bank_file_total_mismatch")
    error_of(upload_return(sg, bf.write_return("PB19990101-001", bank_return(lines, "PB19990101-001"))), 404,
             "unknown_batch")
    error_of(upload_return(sg, b"garbage"), 422, "bank_file_control_missing")
    # finance only
    for who in (POLICY_MEMBER, OPERATOR, INSPECTOR):
        error_of(upload_return(sg, raw, headers=sg.member(who)), 403, "missing_role")
        error_of(sg.client.post("/funds/payouts/batches", json={}, headers=sg.member(who)), 403, "missing_role")
        error_of(sg.client.get(f"/funds/payouts/batches/{batch['batch_id']}/file", headers=sg.member(who)), 403,
                 "missing_role")
    error_of(sg.client.get("/funds/payouts/batches/PB19990101-001/file", headers=sg.member(FINANCE)), 404,
             "unknown_batch")
    assert upload_return(sg, raw).status_code == 200

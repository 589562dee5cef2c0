"""Payouts (拨付): payee accounts, finance's bank batch export, the bank's return file, and the
on-chain record of a batch — one ``recordPayoutBatch`` transaction per bank batch, an event per line.

Flow: an enterprise confirms its payee account (kept encrypted in the vault; the chain and the
tables see only its keyed hash and last four characters; every change is a new row with its time).
Finance exports the payable lines — applications on a notice (the gateway's, or any the chain's
indexed events show) that has ended, with no open objection, no alarm hold, an amount still to pay
and a confirmed payee account — as a CSV or XLSX
batch file (docs/bank_files.md). The bank returns the file with each line paid or failed. The import
reconciles the return with the export and the on-chain approvals (rounding differences, amount
mismatches, failed lines, overpaid, paid twice, payee not approved, missing or unknown lines) and,
only when nothing but failed lines is reported, records the paid lines on-chain in one transaction;
otherwise nothing at all is recorded. Failed lines can be re-exported in a new batch.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import func, select

from chain.db import transaction
from gateway.context import GatewayContext
from gateway.subsidies import bankfiles
from gateway.subsidies.fund_models import PayeeAccount, PayoutBatch, PayoutBatchLine, SubsidyNoticeEntry
from gateway.subsidies.notices import (FundError, b32, calendar, front_half_application, ledger_contract,
                                       on_chain_application, set_front_half_status, store_file)
from oracle.keyed import account_hash, normalise_account, subject_hash
from oracle.uscc import is_valid as uscc_valid

PAYABLE = ("noticed", "partially_paid")
BLOCKING = ("unknown_line", "missing_line", "payee_not_approved", "account_mismatch", "rounding_difference",
            "amount_mismatch", "overpaid", "paid_twice")


# ---------------------------------------------------------------------------- payee accounts

def _chain_clock(ctx: GatewayContext) -> datetime:
    """The chain's time (the contract's clock, as every other subsidy record uses) as an aware datetime."""
    return datetime.fromtimestamp(ctx.ledger.chain.now(), timezone.utc)


def current_payee(ctx: GatewayContext, uscc: str) -> PayeeAccount | None:
    with ctx.sessions() as s:
        return s.scalar(select(PayeeAccount).where(PayeeAccount.uscc == uscc, PayeeAccount.replaced_at.is_(None))
                        .order_by(PayeeAccount.id.desc()))


def payee_for_applicant(ctx: GatewayContext, applicant: str) -> PayeeAccount | None:
    with ctx.sessions() as s:
        return s.scalar(select(PayeeAccount).where(PayeeAccount.applicant == applicant.lower(),
                                                   PayeeAccount.replaced_at.is_(None))
                        .order_by(PayeeAccount.id.desc()))


def confirm_payee(ctx: GatewayContext, uscc: str, account_no: str, payee_name: str, bank_name: str,
                  confirmed_by: str) -> tuple[PayeeAccount, bool]:
    """Record the enterprise's payee account; (row, changed). The same account again changes nothing;
    another account closes the current one (its ``replaced_at``) — the change is tracked, not overwritten."""
    if not uscc_valid(uscc):
        raise FundError("invalid_uscc", f"{uscc!r} is not a valid unified social credit code")
    try:
        hashed = "0x" + account_hash(ctx.hmac_key, account_no).hex()
    except ValueError:
        raise FundError("invalid_account", "the account number needs at least 6 letters or digits") from None
    payee_name, bank_name = (payee_name or "").strip(), (bank_name or "").strip()
    if not payee_name or len(payee_name) > 200 or not bank_name or len(bank_name) > 200:
        raise FundError("invalid_payee", "payee name and bank name are required (at most 200 characters)")
    current = current_payee(ctx, uscc)
    if current is not None and current.account_hash == hashed and current.payee_name == payee_name \
            and current.bank_name == bank_name:
        return current, False
    clear = json.dumps({"uscc": uscc, "account_no": normalise_account(account_no), "payee_name": payee_name,
                        "bank_name": bank_name, "salt": os.urandom(16).hex()}, ensure_ascii=False).encode("utf-8")
    sha = ctx.vault.put(clear).sha256
    now = _chain_clock(ctx)
    with transaction(ctx.sessions) as s:
        if current is not None:
            s.get(PayeeAccount, current.id).replaced_at = now
        row = PayeeAccount(uscc=uscc, applicant="0x" + subject_hash(ctx.hmac_key, uscc).hex(), account_hash=hashed,
                           account_tail=normalise_account(account_no)[-4:], payee_name=payee_name,
                           bank_name=bank_name, vault_sha256=sha, confirmed_by=confirmed_by[:64], changed_at=now)
        s.add(row)
    _mirror_payee(ctx, uscc, hashed, payee_name)
    return row, True


def _mirror_payee(ctx: GatewayContext, uscc: str, hashed: str, payee_name: str) -> None:
    """Keep the applications table's payee fields (its documented contract) in step."""
    try:
        from gateway.subsidies.models import SubsidyApplication
    except ImportError:  # pragma: no cover
        return
    with transaction(ctx.sessions) as s:
        for row in s.scalars(select(SubsidyApplication).where(SubsidyApplication.uscc == uscc,
                                                               SubsidyApplication.status != "paid")):
            row.payee_account_hash, row.payee_name = hashed, payee_name
            row.payee_confirmed_at = ctx.ledger.chain.now()


def payee_view(row: PayeeAccount) -> dict[str, Any]:
    return {"uscc": row.uscc, "account_hash": row.account_hash, "account_tail": row.account_tail,
            "payee_name": row.payee_name, "bank_name": row.bank_name, "confirmed_by": row.confirmed_by,
            "changed_at": row.changed_at.isoformat(), "replaced_at": row.replaced_at and row.replaced_at.isoformat()}


def payee_history(ctx: GatewayContext, uscc: str) -> list[dict[str, Any]]:
    with ctx.sessions() as s:
        rows = s.scalars(select(PayeeAccount).where(PayeeAccount.uscc == uscc).order_by(PayeeAccount.id))
        return [payee_view(r) for r in rows]


def _clear_account(ctx: GatewayContext, payee: PayeeAccount) -> dict[str, str]:
    return json.loads(ctx.vault.get(payee.vault_sha256))


# ---------------------------------------------------------------------------- what is payable

@dataclass
class Payable:
    application_id: str
    policy_id: str
    uscc: str
    amount: int
    payee: PayeeAccount


@dataclass
class PayableScan:
    lines: list[Payable] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)


def _in_flight(ctx: GatewayContext, application_id: str) -> int:
    """Amount exported in batches whose return file has not come back yet."""
    with ctx.sessions() as s:
        return int(s.scalar(select(func.coalesce(func.sum(PayoutBatchLine.amount), 0)).where(
            PayoutBatchLine.application_id == application_id, PayoutBatchLine.status == "exported")) or 0)


def _noticed(ctx: GatewayContext, policy_id: str | None, application_ids: list[str] | None) -> list[tuple[str, str]]:
    """(application id, notice id) of every noticed application — from the gateway's notices and from
    the chain's indexed ``ApplicationNoticed`` events (notices opened by another gateway or tool)."""
    from gateway.subsidies.trace import catch_up, indexed_events

    wanted = {a.lower() for a in application_ids} if application_ids is not None else None
    with ctx.sessions() as s:
        q = select(SubsidyNoticeEntry)
        if policy_id:
            q = q.where(SubsidyNoticeEntry.policy_id == policy_id.lower())
        found = [(e.application_id, e.notice_id) for e in s.scalars(q.order_by(SubsidyNoticeEntry.id))]
    catch_up(ctx)
    if policy_id:
        opened = indexed_events(ctx, ("NoticeOpened",), policy_id.lower())
        notice_ids = [e["args"]["noticeId"] for e in opened if e["args"].get("policyId") == policy_id.lower()]
        noticed = indexed_events(ctx, ("ApplicationNoticed",), *notice_ids) if notice_ids else []
    else:
        noticed = indexed_events(ctx, ("ApplicationNoticed",))
    found += [(e["args"]["applicationId"], e["args"]["noticeId"]) for e in noticed]
    out, seen = [], set()
    for app_id, notice_id in found:
        if app_id not in seen and (wanted is None or app_id in wanted):
            seen.add(app_id)
            out.append((app_id, notice_id))
    return out


def scan_payable(ctx: GatewayContext, policy_id: str | None = None,
                 application_ids: list[str] | None = None) -> PayableScan:
    """Applications that may be exported now, and for each other noticed one why not."""
    holds = ctx.ledger.contract("AuditHolds").functions
    now = ctx.ledger.chain.now()
    ledger = ledger_contract(ctx).functions
    scan = PayableScan()
    for app_id, notice_id in _noticed(ctx, policy_id, application_ids):
        rec = on_chain_application(ctx, app_id)
        if rec["noticeId"] != notice_id:
            continue  # listed on an earlier notice that is not the application's current one
        reason = None
        if rec["status"] not in PAYABLE:
            if rec["status"] != "paid":
                reason = f"status_{rec['status']}"
        elif ledger.getNotice(b32(notice_id)).call()[3] > now:
            reason = "notice_running"
        elif rec["openObjections"]:
            reason = "objection_open"
        elif holds.isHeld(b32(app_id)).call():
            reason = "held"
        remaining = rec["approved"] - rec["paid"] - _in_flight(ctx, app_id)
        payee = payee_for_applicant(ctx, rec["applicant"])
        if reason is None and rec["status"] in PAYABLE:
            if remaining <= 0:
                reason = "in_flight"
            elif payee is None:
                reason = "no_payee_account"
        if reason is not None:
            scan.skipped.append({"application_id": app_id, "reason": reason})
        elif rec["status"] in PAYABLE:
            scan.lines.append(Payable(app_id, rec["policyId"], payee.uscc, remaining, payee))
    return scan


# ---------------------------------------------------------------------------- export

def batch_chain_id(batch_id: str) -> bytes:
    """The on-chain batchId of a batch: keccak256 of its id text."""
    return keccak(text=batch_id)


def _new_batch_id(ctx: GatewayContext) -> str:
    day = calendar(ctx).local_date(ctx.ledger.chain.now())
    prefix = f"PB{day:%Y%m%d}-"
    with ctx.sessions() as s:
        taken = s.scalar(select(func.count()).select_from(PayoutBatch).where(PayoutBatch.id.like(prefix + "%")))
    return f"{prefix}{int(taken or 0) + 1:03d}"


def _write_batch(ctx: GatewayContext, exported_by: str, lines: list[Payable], reexport_of: str | None = None
                 ) -> PayoutBatch:
    if not lines:
        raise FundError("nothing_to_pay", "no line is payable now (see skipped for why)", 409)
    if len(lines) > ctx.settings.payouts.max_batch_lines:
        raise FundError("batch_too_large", f"at most {ctx.settings.payouts.max_batch_lines} lines per batch")
    batch_id = _new_batch_id(ctx)
    export_lines = [_export_line(ctx, n, p.application_id, p.amount, p.payee) for n, p in enumerate(lines, start=1)]
    with transaction(ctx.sessions) as s:
        batch = PayoutBatch(id=batch_id, chain_id="0x" + batch_chain_id(batch_id).hex(), status="exported",
                            line_count=len(lines), total=sum(p.amount for p in lines),
                            control_digest=bankfiles.export_digest(batch_id, export_lines), reexport_of=reexport_of,
                            exported_by=exported_by, exported_at=_chain_clock(ctx), paid_lines=0,
                            paid_total=0)
        s.add(batch)
        for n, p in enumerate(lines, start=1):
            s.add(PayoutBatchLine(batch_id=batch_id, line_no=n, application_id=p.application_id,
                                  policy_id=p.policy_id, uscc=p.uscc, payee_account_id=p.payee.id,
                                  account_hash=p.payee.account_hash, amount=p.amount, status="exported"))
    return batch


def _export_line(ctx: GatewayContext, line_no: int, application_id: str, amount: int, payee: PayeeAccount
                 ) -> bankfiles.ExportLine:
    clear = _clear_account(ctx, payee)
    return bankfiles.ExportLine(line_no, payee.uscc, clear["payee_name"], clear["account_no"], clear["bank_name"],
                                amount, application_id)


def export_batch(ctx: GatewayContext, exported_by: str, policy_id: str | None = None,
                 application_ids: list[str] | None = None) -> tuple[PayoutBatch, list[dict[str, Any]]]:
    """Export every payable line (of one policy, or of the given applications) as a new batch."""
    scan = scan_payable(ctx, policy_id, application_ids)
    if application_ids is not None:
        listed = {p.application_id for p in scan.lines} | {x["application_id"] for x in scan.skipped}
        unknown = sorted({a.lower() for a in application_ids} - listed)
        if unknown:
            raise FundError("not_noticed", f"not on any public notice: {', '.join(unknown[:5])}", 409)
    try:
        return _write_batch(ctx, exported_by, scan.lines), scan.skipped
    except FundError as exc:
        exc.details["skipped"] = scan.skipped
        raise


def get_batch(ctx: GatewayContext, batch_id: str) -> PayoutBatch:
    with ctx.sessions() as s:
        row = s.get(PayoutBatch, batch_id)
    if row is None:
        raise FundError("unknown_batch", f"no payout batch {batch_id!r}", 404)
    return row


def batch_lines(ctx: GatewayContext, batch_id: str) -> list[PayoutBatchLine]:
    with ctx.sessions() as s:
        return list(s.scalars(select(PayoutBatchLine).where(PayoutBatchLine.batch_id == batch_id)
                              .order_by(PayoutBatchLine.line_no)))


def export_file(ctx: GatewayContext, batch_id: str, file_format: str = "csv") -> bytes:
    """The batch's file for the bank (the same lines and control digest every time it is downloaded)."""
    if file_format not in bankfiles.FORMATS:
        raise FundError("bank_file_format", f"format must be one of {', '.join(bankfiles.FORMATS)}")
    batch = get_batch(ctx, batch_id)
    with ctx.sessions() as s:
        rows = [(line, s.get(PayeeAccount, line.payee_account_id)) for line in
                s.scalars(select(PayoutBatchLine).where(PayoutBatchLine.batch_id == batch_id)
                          .order_by(PayoutBatchLine.line_no))]
    lines = [_export_line(ctx, line.line_no, line.application_id, line.amount, payee) for line, payee in rows]
    if bankfiles.export_digest(batch_id, lines) != batch.control_digest:
        raise FundError("batch_tampered", f"the stored lines of {batch_id} no longer match its control digest", 500)
    return bankfiles.write_export(batch_id, lines, file_format)


def batch_view(ctx: GatewayContext, batch: PayoutBatch, with_lines: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "batch_id": batch.id, "chain_batch_id": batch.chain_id, "status": batch.status,
        "line_count": batch.line_count, "total_fen": batch.total, "control_digest": batch.control_digest,
        "reexport_of": batch.reexport_of, "exported_by": batch.exported_by,
        "exported_at": batch.exported_at.isoformat(),
        "return_sha256": batch.return_sha256, "imported_by": batch.imported_by,
        "imported_at": batch.imported_at and batch.imported_at.isoformat(), "paid_lines": batch.paid_lines,
        "paid_total_fen": batch.paid_total, "tx_hash": batch.tx_hash, "block_number": batch.block_number}
    if with_lines:
        out["lines"] = [{"line_no": x.line_no, "application_id": x.application_id, "policy_id": x.policy_id,
                         "uscc": x.uscc, "account_hash": x.account_hash, "amount_fen": x.amount, "status": x.status,
                         "returned_amount_fen": x.returned_amount, "bank_reference": x.bank_reference,
                         "failure_reason": x.failure_reason, "paid_at": x.paid_at, "reexported_in": x.reexported_in}
                        for x in batch_lines(ctx, batch.id)]
    return out


def list_batches(ctx: GatewayContext) -> list[PayoutBatch]:
    with ctx.sessions() as s:
        return list(s.scalars(select(PayoutBatch).order_by(PayoutBatch.exported_at.desc())))


# ---------------------------------------------------------------------------- return file

def _issue(kind: str, line: int | None, message: str, **extra: Any) -> dict[str, Any]:
    return {"kind": kind, "line_no": line, "blocking": kind in BLOCKING, "message": message, **extra}


def reconcile(ctx: GatewayContext, raw: bytes, filename: str | None = None
              ) -> tuple[dict[str, Any], bankfiles.ReturnFile, PayoutBatch]:
    """Check a return file against its export and the on-chain approvals; (report, file, batch). Raises
    FundError for a file that cannot be read (code ``bank_file_*``), an unknown or already imported batch."""
    try:
        rf = bankfiles.read_return(raw, ctx.hmac_key, filename)
    except bankfiles.BankFileError as exc:
        raise FundError(exc.code, str(exc), 422, line=exc.line, field=exc.field, problems=exc.problems) from None
    batch = get_batch(ctx, rf.control.batch_id)
    if batch.status != "exported":
        raise FundError("batch_already_imported", f"the return file of {batch.id} was imported already", 409,
                        tx_hash=batch.tx_hash)
    exported = {x.line_no: x for x in batch_lines(ctx, batch.id)}
    tolerance = ctx.settings.payouts.rounding_tolerance_fen
    issues: list[dict[str, Any]] = []
    chain_recs: dict[str, dict[str, Any]] = {}
    paying: dict[str, int] = {}
    with ctx.sessions() as s:
        used_refs = set(s.scalars(select(PayoutBatchLine.bank_reference).where(
            PayoutBatchLine.bank_reference.is_not(None))))
    refs_in_file: dict[str, int] = {}
    for line in rf.lines:
        n = line.line_no
        ex = exported.get(n)
        if ex is None:
            issues.append(_issue("unknown_line", n, f"line {n} is not in the exported batch {batch.id}"))
            continue
        if line.status.value == "failed":
            issues.append(_issue("failed_line", n, f"line {n} failed at the bank: {line.failure_reason}",
                                 amount_fen=ex.amount, reason=line.failure_reason))
            continue
        rec = chain_recs.get(ex.application_id) or on_chain_application(ctx, ex.application_id)
        chain_recs[ex.application_id] = rec
        payee_hash = "0x" + subject_hash(ctx.hmac_key, line.uscc).hex()
        if line.uscc != ex.uscc or payee_hash != rec["applicant"]:
            issues.append(_issue("payee_not_approved", n, f"line {n} paid {line.uscc}, which is not the approved "
                                 f"applicant of {ex.application_id}"))
            continue
        if rec["status"] not in PAYABLE:
            kind = "paid_twice" if rec["status"] == "paid" else "payee_not_approved"
            issues.append(_issue(kind, n, f"line {n}: application {ex.application_id} is {rec['status']} on chain"))
            continue
        if "0x" + line.account_hash.hex() != ex.account_hash:
            issues.append(_issue("account_mismatch", n, f"line {n} was paid to another account than exported"))
        if line.amount != ex.amount:
            diff = line.amount - ex.amount
            kind = "rounding_difference" if abs(diff) <= tolerance else "amount_mismatch"
            issues.append(_issue(kind, n, f"line {n}: the bank paid {line.amount} fen, {ex.amount} were exported",
                                 exported_fen=ex.amount, returned_fen=line.amount, difference_fen=diff))
        if line.bank_reference in used_refs or line.bank_reference in refs_in_file:
            issues.append(_issue("paid_twice", n, f"line {n}: bank reference {line.bank_reference} was already "
                                 "used by another payout line"))
        refs_in_file.setdefault(line.bank_reference, n)
        paying[ex.application_id] = paying.get(ex.application_id, 0) + line.amount
        remaining = rec["approved"] - rec["paid"]
        if paying[ex.application_id] > remaining:
            issues.append(_issue("overpaid", n, f"line {n}: {paying[ex.application_id]} fen to {ex.application_id} "
                                 f"exceed the {remaining} fen still approved", approved_fen=rec["approved"],
                                 paid_fen=rec["paid"]))
    returned = {x.line_no for x in rf.lines}
    for n in sorted(set(exported) - returned):
        issues.append(_issue("missing_line", n, f"exported line {n} is not in the return file"))
    paid = [x for x in rf.lines if x.status.value == "paid"]
    failed = [x for x in rf.lines if x.status.value == "failed"]
    report = {"batch_id": batch.id, "return_sha256": rf.sha256, "format": rf.file_format,
              "lines": len(rf.lines), "paid_lines": len(paid), "paid_total_fen": sum(x.amount for x in paid),
              "failed_lines": len(failed), "failed_total_fen": sum(x.amount for x in failed),
              "exported_total_fen": batch.total, "issues": issues,
              "blocking": any(i["blocking"] for i in issues)}
    return report, rf, batch


def import_return(ctx: GatewayContext, account: LocalAccount, raw: bytes, filename: str | None = None
                  ) -> dict[str, Any]:
    """Import the bank's return file and record its paid lines on-chain in one transaction (FINANCE
    member ``account``). All or nothing: any blocking issue refuses the file, a contract refusal too."""
    report, rf, batch = reconcile(ctx, raw, filename)
    if report["blocking"]:
        raise FundError("reconciliation_failed", "the return file does not reconcile with the export and the "
                        "approvals: nothing was recorded", 422, report=report)
    exported = {x.line_no: x for x in batch_lines(ctx, batch.id)}
    paid = [x for x in rf.lines if x.status.value == "paid"]
    return_sha = store_file(ctx, raw, media_type=bankfiles.MEDIA_TYPES[rf.file_format],
                            name=filename or f"{batch.id}-return.{rf.file_format}",
                            department=_department_of(ctx, account), uploaded_by=account.address)
    tx = None
    if paid:
        items = [(b32(exported[x.line_no].application_id), x.line_no, x.amount, keccak(text=x.bank_reference))
                 for x in paid]
        fn = ledger_contract(ctx).functions.recordPayoutBatch(bytes.fromhex(batch.chain_id[2:]),
                                                              bytes.fromhex(rf.sha256), items)
        tx = ctx.ledger.txm.transact(account, fn, f"payout batch {batch.id}")
    with transaction(ctx.sessions) as s:
        row = s.get(PayoutBatch, batch.id)
        row.status = "recorded"
        row.return_sha256, row.imported_by, row.imported_at = return_sha, account.address, _chain_clock(ctx)
        row.paid_lines, row.paid_total = len(paid), sum(x.amount for x in paid)
        row.tx_hash, row.block_number = (tx.tx_hash, tx.block_number) if tx else (None, None)
        for x in rf.lines:
            line = s.scalar(select(PayoutBatchLine).where(PayoutBatchLine.batch_id == batch.id,
                                                          PayoutBatchLine.line_no == x.line_no))
            line.status, line.returned_amount = x.status.value, x.amount
            if x.status.value == "paid":
                line.bank_reference, line.paid_at = x.bank_reference, int(x.paid_at.timestamp())
            else:
                line.failure_reason = x.failure_reason[:200]
    for app_id in {exported[x.line_no].application_id for x in paid}:
        set_front_half_status(ctx, [app_id], on_chain_application(ctx, app_id)["status"])
    report.update(recorded=True, tx_hash=tx.tx_hash if tx else None, block_number=tx.block_number if tx else None,
                  return_sha256=return_sha)
    return report


def _department_of(ctx: GatewayContext, account: LocalAccount) -> str:
    from chain.roles import bytes32_to_code

    return bytes32_to_code(ctx.ledger.registry.functions.getMember(account.address).call()[1])


def reexport_failed(ctx: GatewayContext, exported_by: str, batch_id: str) -> tuple[PayoutBatch, list[dict[str, Any]]]:
    """Put the failed lines of an imported batch into a new batch (to the payee's current account)."""
    batch = get_batch(ctx, batch_id)
    if batch.status != "recorded":
        raise FundError("batch_not_returned", f"the bank's return file of {batch_id} is not imported yet", 409)
    failed = [x for x in batch_lines(ctx, batch_id) if x.status == "failed" and not x.reexported_in]
    if not failed:
        raise FundError("nothing_to_reexport", f"{batch_id} has no failed line left to re-export", 409)
    scan = scan_payable(ctx, application_ids=[x.application_id for x in failed])
    new = _write_batch(ctx, exported_by, scan.lines, reexport_of=batch_id)
    with transaction(ctx.sessions) as s:
        for x in failed:
            if any(p.application_id == x.application_id for p in scan.lines):
                line = s.get(PayoutBatchLine, x.id)
                line.status, line.reexported_in = "reexported", new.id
    return new, scan.skipped


def application_payouts(ctx: GatewayContext, application_id: str) -> list[PayoutBatchLine]:
    with ctx.sessions() as s:
        return list(s.scalars(select(PayoutBatchLine).where(PayoutBatchLine.application_id == application_id.lower())
                              .order_by(PayoutBatchLine.id)))


def owner_uscc(ctx: GatewayContext, application_id: str) -> str | None:
    """The USCC of an application's enterprise, from the applications table or a payee account."""
    row = front_half_application(ctx, application_id.lower())
    if row is not None:
        return row.uscc
    rec = on_chain_application(ctx, application_id)
    payee = payee_for_applicant(ctx, rec["applicant"])
    return payee.uscc if payee else None

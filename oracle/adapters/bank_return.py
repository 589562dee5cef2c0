"""Bank return files (回盘文件) for a payout batch (source FINANCE, data type BANK_RETURN).

The layout finance exports to the bank and reads back. CSV, UTF-8 (a BOM is optional and
written by :func:`format_csv` so that spreadsheet programs show Chinese correctly) — GB18030 is
also accepted on input; comma-separated; RFC 4180 quoting; one header row::

    batch_id,line_no,uscc,payee_name,account_no,amount_yuan,status,failure_reason,bank_reference,paid_at

==================  ==================  ========  =====================================================
column              Chinese alias       required  content
==================  ==================  ========  =====================================================
``batch_id``        批次号               yes       the payout batch, as in finance's export
``line_no``         明细序号 / 序号       yes       line number inside the batch (1, 2, ...)
``uscc``            统一社会信用代码       yes       payee enterprise (check character verified)
``payee_name``      收款人名称 / 户名      yes       account holder name as the bank holds it
``account_no``      收款账号 / 账号        one of    account number in clear; HMAC-ed on reading
``account_hash``                        one of    or the keyed hash already (``0x`` + 64 hex)
``amount_yuan``     金额(元) / 金额        yes       yuan, > 0, at most 2 decimals (stored as fen)
``status``          处理状态 / 状态        yes       ``paid`` (成功, success, S) or ``failed`` (失败, fail, F)
``failure_reason``  失败原因             failed    empty for a paid line
``bank_reference``  银行流水号            paid      the bank's transaction reference
``paid_at``         交易时间             paid      ``2026-01-31 10:00:00`` (China Standard Time unless
                                                  an offset is given), ISO 8601 also accepted
==================  ==================  ========  =====================================================

Key within a file: (batch_id, line_no).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from decimal import Decimal

from oracle.adapters.base import (Column, FieldError, LineError, ParseResult, Row, collect, parse_choice,
                                  parse_count, parse_instant, parse_text, parse_uscc, parse_yuan, read_csv,
                                  read_text)
from oracle.facts import CST, BankReturn, PayStatus
from oracle.keyed import account_hash

DATA_TYPE = BankReturn.DATA_TYPE

HEADER = ("batch_id", "line_no", "uscc", "payee_name", "account_no", "amount_yuan", "status", "failure_reason",
          "bank_reference", "paid_at")

COLUMNS = [
    Column("batch_id", ("批次号", "批次编号")),
    Column("line_no", ("明细序号", "序号")),
    Column("uscc", ("统一社会信用代码", "社会信用代码")),
    Column("payee_name", ("收款人名称", "户名", "收款户名")),
    Column("account_no", ("收款账号", "账号"), required=False),
    Column("account_hash", (), required=False),
    Column("amount_yuan", ("金额(元)", "金额", "amount")),
    Column("status", ("处理状态", "状态")),
    Column("failure_reason", ("失败原因",), required=False),
    Column("bank_reference", ("银行流水号", "交易流水号"), required=False),
    Column("paid_at", ("交易时间", "支付时间"), required=False),
]

STATUS_ALIASES = {
    "paid": "paid", "success": "paid", "succeeded": "paid", "s": "paid", "成功": "paid", "支付成功": "paid",
    "已支付": "paid", "交易成功": "paid",
    "failed": "failed", "fail": "failed", "f": "failed", "失败": "failed", "支付失败": "failed", "交易失败": "failed",
}
parse_status = parse_choice(STATUS_ALIASES, "status")
_HASH = re.compile(r"^0x[0-9a-f]{64}$")


def _hash_text(value: object) -> bytes:
    text = str(value).strip().lower()
    if not _HASH.match(text):
        raise FieldError(f"{value!r} is not 0x followed by 64 hex digits")
    return bytes.fromhex(text[2:])


def _line_no(value: object) -> int:
    number = parse_count(value)
    if number < 1:
        raise FieldError("line numbers start at 1")
    return number


def build(row: Row, hmac_key: bytes) -> BankReturn | None:
    """One return-file record → fact (None when a field was rejected)."""
    batch_id = row.get("batch_id", parse_text)
    line_no = row.get("line_no", _line_no)
    uscc = row.get("uscc", parse_uscc)
    payee_name = row.get("payee_name", parse_text)
    if row.raw("account_no"):
        account = row.get("account_no", lambda v: account_hash(hmac_key, str(v)))
    elif row.raw("account_hash"):
        account = row.get("account_hash", _hash_text)
    else:
        account = row.get("account_no")  # records "missing required field"
    amount = row.get("amount_yuan", parse_yuan)
    status = row.get("status", parse_status)
    paid = status == PayStatus.PAID.value
    reason = row.get("failure_reason", parse_text, required=status == PayStatus.FAILED.value) or ""
    reference = row.get("bank_reference", parse_text, required=paid) or ""
    paid_at = row.get("paid_at", parse_instant, required=paid)
    if amount == 0:
        row.problems.append(("amount_yuan", "amount_yuan must be positive"))
    if paid and reason:
        row.problems.append(("failure_reason", "a paid line cannot have a failure_reason"))
    if row.problems:
        return None
    return BankReturn(batch_id=batch_id, line_no=line_no, uscc=uscc, payee_name=payee_name, account_hash=account,
                      amount=amount, status=PayStatus(status), failure_reason=reason, bank_reference=reference,
                      paid_at=paid_at)


def parse(raw: bytes, file: str = "bank_return.csv", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a bank return CSV (``hmac_key`` hashes clear account numbers and is required)."""
    if not hmac_key:
        raise ValueError("bank return lines hold keyed account hashes: pass hmac_key")
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    records = ((n, Row(values)) for n, values in read_csv(text, COLUMNS, file, errors))
    return collect(file, DATA_TYPE, raw, encoding, records, lambda row: build(row, hmac_key), errors)


def format_csv(rows: Iterable[dict[str, object]], *, bom: bool = True) -> bytes:
    """Write return-file rows (keys from :data:`HEADER`; amounts as yuan strings or fen ints under
    ``amount_fen``; datetimes as CST) in the layout above, UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in rows:
        values = dict(row)
        if "amount_fen" in values:
            values["amount_yuan"] = f"{Decimal(int(values.pop('amount_fen'))) / 100:.2f}"
        moment = values.get("paid_at")
        if hasattr(moment, "astimezone"):
            values["paid_at"] = moment.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S")
        writer.writerow(["" if values.get(h) is None else str(values.get(h)) for h in HEADER])
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")

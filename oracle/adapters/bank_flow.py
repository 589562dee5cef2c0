"""Outgoing movements of subsidy recipients' accounts (资金流向), from the banks' statements that
finance obtains (source FINANCE, data type BANK_FLOW).

CSV header (canonical names; Chinese aliases accepted, any order)::

    uscc,reference,account_no,value_date,amount_yuan,kind,counterparty_account,counterparty_id

==========================  ================  ========  ===============================================
column                      Chinese alias     required  content
==========================  ================  ========  ===============================================
``uscc``                    统一社会信用代码     yes       the enterprise whose account the money left
``reference``               交易流水号          yes       the bank's transaction reference
``account_no``              付款账号           yes       the enterprise's account; HMAC-ed on reading
``value_date``              交易日期           yes       a date
``amount_yuan``             金额(元)           yes       yuan, > 0, at most 2 decimals (stored as fen)
``kind``                    交易类型           yes       ``cash`` (取现, 现金) or ``transfer`` (转账)
``counterparty_account``    对方账号           transfer  the receiving account; HMAC-ed on reading
``counterparty_id``         对方证件号码        no        the receiving holder's ID number or USCC; HMAC-ed
==========================  ================  ========  ===============================================

Account numbers and the holder's identifier never leave the adapter in clear: accounts become
``account`` keyed hashes (so they match payee accounts), the holder a ``party`` keyed hash (so it matches
registry shareholders and members' declared identities). Key within a file: (uscc, reference).
"""

from __future__ import annotations

from oracle.adapters.base import (Column, LineError, ParseResult, Row, collect, parse_choice, parse_date, parse_text,
                                  parse_uscc, parse_yuan, read_csv, read_text)
from oracle.facts import BankFlow, FlowKind
from oracle.keyed import account_hash, party_hash

DATA_TYPE = BankFlow.DATA_TYPE

COLUMNS = [
    Column("uscc", ("统一社会信用代码", "社会信用代码")),
    Column("reference", ("交易流水号", "流水号")),
    Column("account_no", ("付款账号", "本方账号")),
    Column("value_date", ("交易日期", "记账日期")),
    Column("amount_yuan", ("金额(元)", "交易金额", "金额")),
    Column("kind", ("交易类型", "类型")),
    Column("counterparty_account", ("对方账号", "收款账号"), required=False),
    Column("counterparty_id", ("对方证件号码", "对方证件号"), required=False),
]

parse_kind = parse_choice({"cash": "cash", "取现": "cash", "现金": "cash", "现金支取": "cash", "atm取款": "cash",
                           "transfer": "transfer", "转账": "transfer", "转出": "transfer", "汇款": "transfer"},
                          "kind")


def build(row: Row, hmac_key: bytes) -> BankFlow | None:
    """One statement line → fact (None when a field was rejected)."""
    uscc = row.get("uscc", parse_uscc)
    reference = row.get("reference", parse_text)
    account = row.get("account_no", lambda v: account_hash(hmac_key, str(v)))
    value_date = row.get("value_date", parse_date)
    amount = row.get("amount_yuan", parse_yuan)
    kind = row.get("kind", parse_kind)
    transfer = kind == FlowKind.TRANSFER.value
    counterparty = row.get("counterparty_account", lambda v: account_hash(hmac_key, str(v)), required=transfer)
    holder = row.get("counterparty_id", lambda v: party_hash(hmac_key, "", str(v)), required=False)
    if amount == 0:
        row.problems.append(("amount_yuan", "amount_yuan must be positive"))
    if reference is not None and len(reference) > 64:
        row.problems.append(("reference", "reference must be at most 64 characters"))
    if row.problems:
        return None
    return BankFlow(uscc=uscc, reference=reference, account_hash=account, value_date=value_date, amount=amount,
                    kind=FlowKind(kind), counterparty_hash=counterparty, counterparty_holder_hash=holder)


def parse(raw: bytes, file: str = "bank_flow.csv", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a statement CSV (``hmac_key`` hashes account numbers and identifiers and is required)."""
    if not hmac_key:
        raise ValueError("bank flow lines hold keyed hashes: pass hmac_key")
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    records = ((n, Row(values)) for n, values in read_csv(text, COLUMNS, file, errors))
    return collect(file, DATA_TYPE, raw, encoding, records, lambda row: build(row, hmac_key), errors)

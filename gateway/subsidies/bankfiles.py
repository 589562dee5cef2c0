"""Bank batch files: finance's payout export and the bank's return file (回盘), in CSV and XLSX.

The layout is documented in docs/bank_files.md. Both files start with two control rows — the
names ``file_kind,batch_id,line_count,total_fen,control_digest`` and their values — followed by a
column header and one row per batch line. The return file's rows are exactly the oracle's bank
return layout (``oracle.adapters.bank_return``), whose reader skips the control rows as title lines,
so the same parser, aliases and field checks serve both the oracle and finance.

The control digest lets either side check that no line was altered, dropped or added: SHA-256 (hex)
of the UTF-8 text made of one line per batch line, in line order, each ending in ``\\n``:

- export: ``batch_id|line_no|uscc|account_no|amount_fen`` (account number normalised: upper-case
  letters and digits only);
- return: ``batch_id|line_no|uscc|amount_fen|status|bank_reference`` (status ``paid`` / ``failed``,
  bank reference empty for a failed line) — without the account, which the bank may return hashed.

Every problem is a :class:`BankFileError` with a machine-readable code and, for a line problem, the
file line and the field; a file with any problem is refused as a whole.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from oracle.adapters import bank_return
from oracle.adapters.base import FieldError, decode, parse_count
from oracle.facts import CST, BankReturn
from oracle.keyed import normalise_account

CONTROL_NAMES = ("file_kind", "batch_id", "line_count", "total_fen", "control_digest")
EXPORT_KIND = "PAYOUT_EXPORT"
RETURN_KIND = "BANK_RETURN"
EXPORT_HEADER = ("batch_id", "line_no", "uscc", "payee_name", "account_no", "bank_name", "amount_fen",
                 "amount_yuan", "application_id")
FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
XLSX_MAGIC = b"PK\x03\x04"


class BankFileError(ValueError):
    """A refused bank file: ``code`` names the problem; ``line`` / ``field`` say where (line 0 = the file)."""

    def __init__(self, code: str, message: str, *, line: int = 0, field: str | None = None,
                 problems: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.code = code
        self.line = line
        self.field = field
        self.problems = problems or [{"line": line, "field": field, "problem": message}]


@dataclass(frozen=True)
class Control:
    """The control rows of a bank file."""

    kind: str
    batch_id: str
    line_count: int
    total: int  # fen
    digest: str  # hex


@dataclass(frozen=True)
class ExportLine:
    """One line of finance's export: who is paid how much, to which account, for which application."""

    line_no: int
    uscc: str
    payee_name: str
    account_no: str
    bank_name: str
    amount: int  # fen
    application_id: str


@dataclass
class ReturnFile:
    """A parsed, checked return file: its control rows, its lines (in line order) and the file's SHA-256."""

    control: Control
    lines: list[BankReturn] = field(default_factory=list)
    sha256: str = ""
    file_format: str = "csv"


# ------------------------------------------------------------------------------------------ digests

def yuan(fen: int) -> str:
    """Fen as a yuan string with two decimals (exact)."""
    return f"{Decimal(int(fen)) / 100:.2f}"


def export_digest(batch_id: str, lines: Iterable[ExportLine]) -> str:
    text = "".join(f"{batch_id}|{line.line_no}|{line.uscc}|{normalise_account(line.account_no)}|{line.amount}\n"
                   for line in sorted(lines, key=lambda x: x.line_no))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def return_digest(batch_id: str, lines: Iterable[BankReturn]) -> str:
    return _return_digest(batch_id, [(x.line_no, x.uscc, x.amount, x.status.value, x.bank_reference) for x in lines])


def _return_digest(batch_id: str, items: list[tuple[int, str, int, str, str]]) -> str:
    text = "".join(f"{batch_id}|{n}|{uscc}|{amount}|{status}|{ref if status == 'paid' else ''}\n"
                   for n, uscc, amount, status, ref in sorted(items))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------ writing

def _rows_to_csv(rows: list[list[Any]]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else str(v) for v in row])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")


def _rows_to_xlsx(rows: list[list[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        # every cell as text: account numbers keep leading zeros, amounts stay exact
        sheet.append(["" if v is None else str(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _control_rows(control: Control) -> list[list[Any]]:
    return [list(CONTROL_NAMES),
            [control.kind, control.batch_id, control.line_count, control.total, control.digest]]


def write_export(batch_id: str, lines: list[ExportLine], file_format: str = "csv") -> bytes:
    """Finance's export file of a batch in ``csv`` or ``xlsx``."""
    control = Control(EXPORT_KIND, batch_id, len(lines), sum(x.amount for x in lines), export_digest(batch_id, lines))
    rows = _control_rows(control) + [list(EXPORT_HEADER)]
    rows += [[batch_id, x.line_no, x.uscc, x.payee_name, x.account_no, x.bank_name, x.amount, yuan(x.amount),
              x.application_id] for x in sorted(lines, key=lambda x: x.line_no)]
    return _render(rows, file_format, "payout")


def write_return(batch_id: str, lines: list[dict[str, Any]], file_format: str = "csv") -> bytes:
    """A bank return file (what the bank sends back; used by tests, demos and bank simulators).
    ``lines``: dicts with line_no, uscc, payee_name, account_no, amount_fen, status, failure_reason,
    bank_reference, paid_at (datetime)."""
    items = [(int(x["line_no"]), x["uscc"], int(x["amount_fen"]), x["status"], x.get("bank_reference", ""))
             for x in lines]
    control = Control(RETURN_KIND, batch_id, len(items), sum(i[2] for i in items), _return_digest(batch_id, items))
    rows = _control_rows(control) + [list(bank_return.HEADER)]
    for x in sorted(lines, key=lambda x: int(x["line_no"])):
        moment = x.get("paid_at")
        rows.append([batch_id, x["line_no"], x["uscc"], x["payee_name"], x["account_no"], yuan(x["amount_fen"]),
                     x["status"], x.get("failure_reason", ""), x.get("bank_reference", ""),
                     moment.astimezone(CST).strftime("%Y-%m-%d %H:%M:%S") if isinstance(moment, datetime) else ""])
    return _render(rows, file_format, "return")


def _render(rows: list[list[Any]], file_format: str, title: str) -> bytes:
    if file_format == "csv":
        return _rows_to_csv(rows)
    if file_format == "xlsx":
        return _rows_to_xlsx(rows, title)
    raise BankFileError("bank_file_format", f"format must be one of {', '.join(FORMATS)}, got {file_format!r}")


# ------------------------------------------------------------------------------------------ reading

def detect_format(raw: bytes, filename: str | None = None) -> str:
    if raw.startswith(XLSX_MAGIC) or (filename or "").lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def _xlsx_to_csv(raw: bytes) -> bytes:
    """The first sheet as CSV text (row n of the sheet = line n of the text), cells as text."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, InvalidFileException: not a workbook
        raise BankFileError("bank_file_unreadable", f"not a readable XLSX workbook: {type(exc).__name__}") from None
    sheet = book.worksheets[0]
    rows: list[list[Any]] = []
    for cells in sheet.iter_rows(values_only=True):
        row = []
        for value in cells:
            if value is None:
                row.append("")
            elif isinstance(value, float):
                row.append(str(Decimal(repr(value))))  # 1234.56 stays 1234.56
            elif isinstance(value, datetime):
                row.append(value.strftime("%Y-%m-%d %H:%M:%S"))
            else:
                row.append(str(value))
        rows.append(row)
    book.close()
    return _rows_to_csv(rows)


def _text(raw: bytes, filename: str | None) -> tuple[str, str]:
    file_format = detect_format(raw, filename)
    data = _xlsx_to_csv(raw) if file_format == "xlsx" else raw
    text, _encoding, bad = decode(data)
    if bad:
        raise BankFileError("bank_file_encoding", f"line {bad[0]} is neither UTF-8 nor GB18030 text", line=bad[0])
    return text, file_format


def _control(text: str, kind: str) -> Control:
    lines = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    rows = list(csv.reader(lines[:2]))
    if len(rows) < 2 or [c.strip().lower().lstrip("\ufeff") for c in rows[0][:5]] != list(CONTROL_NAMES):
        raise BankFileError("bank_file_control_missing",
                            f"line 1 must be the control names {','.join(CONTROL_NAMES)} and line 2 their values",
                            line=1)
    values = [c.strip() for c in rows[1]] + [""] * 5
    if values[0] != kind:
        raise BankFileError("bank_file_wrong_kind", f"file_kind is {values[0]!r}, expected {kind}", line=2,
                            field="file_kind")
    if not values[1]:
        raise BankFileError("bank_file_control_invalid", "batch_id is empty", line=2, field="batch_id")
    numbers = []
    for name, value in (("line_count", values[2]), ("total_fen", values[3])):
        try:
            numbers.append(parse_count(value))
        except (FieldError, ValueError):
            raise BankFileError("bank_file_control_invalid", f"{name} {value!r} is not a whole number", line=2,
                                field=name) from None
    digest = values[4].lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BankFileError("bank_file_control_invalid", "control_digest must be 64 hexadecimal characters", line=2,
                            field="control_digest")
    return Control(kind, values[1], numbers[0], numbers[1], digest)


def _check_totals(control: Control, count: int, total: int, digest: str) -> None:
    if count != control.line_count:
        raise BankFileError("bank_file_count_mismatch",
                            f"the file has {count} lines, its control row says {control.line_count}", line=2,
                            field="line_count")
    if total != control.total:
        raise BankFileError("bank_file_total_mismatch",
                            f"the lines add up to {total} fen, the control row says {control.total}", line=2,
                            field="total_fen")
    if digest != control.digest:
        raise BankFileError("bank_file_digest_mismatch",
                            "the control digest does not match the lines: a line was altered, added or dropped",
                            line=2, field="control_digest")


def read_return(raw: bytes, hmac_key: bytes, filename: str | None = None) -> ReturnFile:
    """Parse and check a bank return file (CSV or XLSX). All-or-nothing: any bad line, a line twice,
    a line of another batch, or counts / total / digest that disagree with the control rows raise."""
    if not raw:
        raise BankFileError("bank_file_empty", "the file is empty")
    text, file_format = _text(raw, filename)
    control = _control(text, RETURN_KIND)
    parsed = bank_return.parse(text.encode("utf-8"), filename or "return", hmac_key=hmac_key)
    if parsed.errors:
        problems = [{"line": e.line_no, "field": e.field, "problem": e.reason} for e in parsed.errors]
        first = parsed.errors[0]
        code = "bank_file_duplicate_line" if first.reason.startswith("duplicate key") else "bank_file_line_invalid"
        where = f"line {first.line_no}" + (f", field {first.field}" if first.field else "")
        raise BankFileError(code, f"{where}: {first.reason}", line=first.line_no, field=first.field,
                            problems=problems)
    lines: list[BankReturn] = [p.fact for p in parsed.good]
    for parsed_line, fact in zip(parsed.good, lines):
        if fact.batch_id != control.batch_id:
            raise BankFileError("bank_file_batch_mismatch",
                                f"line {parsed_line.line_no}: batch_id {fact.batch_id!r} is not the file's batch "
                                f"{control.batch_id!r}", line=parsed_line.line_no, field="batch_id")
    _check_totals(control, len(lines), sum(x.amount for x in lines), return_digest(control.batch_id, lines))
    lines.sort(key=lambda x: x.line_no)
    return ReturnFile(control, lines, hashlib.sha256(raw).hexdigest(), file_format)


def read_export(raw: bytes, filename: str | None = None) -> tuple[Control, list[ExportLine]]:
    """Parse and check finance's own export file (to re-check a file before sending it to the bank)."""
    text, _ = _text(raw, filename)
    control = _control(text, EXPORT_KIND)
    rows = list(csv.reader(text.replace("\r\n", "\n").split("\n")[2:]))
    if not rows or [c.strip() for c in rows[0]] != list(EXPORT_HEADER):
        raise BankFileError("bank_file_header", f"line 3 must be the header {','.join(EXPORT_HEADER)}", line=3)
    lines: list[ExportLine] = []
    seen: dict[int, int] = {}
    for offset, row in enumerate(rows[1:], start=4):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(EXPORT_HEADER):
            raise BankFileError("bank_file_line_invalid", f"line {offset}: expected {len(EXPORT_HEADER)} columns",
                                line=offset)
        values = dict(zip(EXPORT_HEADER, (c.strip() for c in row)))
        try:
            line_no, amount = parse_count(values["line_no"]), parse_count(values["amount_fen"])
        except (FieldError, ValueError) as exc:
            raise BankFileError("bank_file_line_invalid", f"line {offset}: {exc}", line=offset) from None
        if values["batch_id"] != control.batch_id:
            raise BankFileError("bank_file_batch_mismatch", f"line {offset}: batch_id is not {control.batch_id}",
                                line=offset, field="batch_id")
        if line_no in seen:
            raise BankFileError("bank_file_duplicate_line", f"line {offset}: line_no {line_no} also on line "
                                f"{seen[line_no]}", line=offset, field="line_no")
        seen[line_no] = offset
        lines.append(ExportLine(line_no, values["uscc"], values["payee_name"], values["account_no"],
                                values["bank_name"], amount, values["application_id"]))
    _check_totals(control, len(lines), sum(x.amount for x in lines), export_digest(control.batch_id, lines))
    return control, lines

"""What every source reader shares: results, byte decoding, CSV records with line numbers, and
field parsers that raise :class:`FieldError` with a reason a clerk can act on.

Decoding: a UTF-8 BOM means UTF-8; a UTF-16 BOM means UTF-16; otherwise each line is UTF-8 when
it is valid UTF-8 and GB18030 (what many Chinese government systems export) when not. Undecodable
lines are reported and skipped; the others are parsed.

CSV: comma-separated (tab-separated when the header has tabs and no commas), RFC 4180 quoting
(a quoted field may span lines), a header row (it may follow up to five title lines, which are
ignored) whose names are matched case-insensitively, after NFKC, against each column's canonical
name and aliases; columns may come in any order; unknown columns are ignored. Blank lines are
skipped. A line number is the physical line where a record starts, the first line being 1.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from oracle import uscc as uscc_codes
from oracle.facts import CST, Fact

MAX_RECORD_LINES = 50  # a quoted field may span at most this many lines
TITLE_LINES = 5


@dataclass(frozen=True)
class ParsedLine:
    """A good record: where it started in the file, and the fact it holds."""

    line_no: int
    fact: Fact


@dataclass(frozen=True)
class LineError:
    """A rejected record (or, with line 0, the whole file): file name, line, why, and which field."""

    file: str
    line_no: int
    reason: str
    field: str | None = None


@dataclass
class ParseResult:
    """Everything read from one file: its SHA-256 (hex of the raw bytes), the data type, the good
    records in file order and the errors."""

    file_digest: str
    data_type: str
    good: list[ParsedLine] = field(default_factory=list)
    errors: list[LineError] = field(default_factory=list)
    file: str = ""
    encoding: str = ""

    @property
    def source_digest(self) -> bytes:
        """The digest as the attestation's bytes32 ``sourceDigest``."""
        return bytes.fromhex(self.file_digest)

    @property
    def facts(self) -> list[Fact]:
        """The good facts in file order."""
        return [line.fact for line in self.good]

    @property
    def error_lines(self) -> list[int]:
        """Sorted, distinct line numbers with at least one error."""
        return sorted({e.line_no for e in self.errors})


class FieldError(ValueError):
    """A field value the reader rejects."""


class FileError(ValueError):
    """The file as a whole cannot be read (encoding, header)."""


def digest(raw: bytes) -> str:
    """SHA-256 hex of the raw bytes."""
    return hashlib.sha256(raw).hexdigest()


# ----------------------------------------------------------------------------------- decoding

def _decode_lines(raw: bytes, encodings: tuple[str, ...]) -> tuple[list[str], list[int], set[str]]:
    """Each line in the first encoding that decodes it; undecodable lines are blanked and listed."""
    lines, bad, used = [], [], set()
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        for encoding in encodings:
            try:
                lines.append(chunk.decode(encoding))
            except UnicodeDecodeError:
                continue
            if not chunk.isascii():
                used.add(encoding)
            break
        else:
            lines.append("")
            bad.append(number)
    return lines, bad, used


def decode(raw: bytes) -> tuple[str, str, list[int]]:
    """(text, encoding used, numbers of lines that could not be decoded and were blanked).

    Without a BOM each line is read as UTF-8 if it is valid UTF-8 (GB18030 text practically never
    is) and as GB18030 otherwise, so even a file whose lines were concatenated from both is read;
    the encoding is then reported as ``utf-8+gb18030``.
    """
    if raw.startswith(codecs.BOM_UTF16_LE) or raw.startswith(codecs.BOM_UTF16_BE):
        try:
            return raw.decode("utf-16"), "utf-16", []
        except UnicodeDecodeError as exc:
            raise FileError(f"the file starts with a UTF-16 byte-order mark but is not UTF-16: {exc}") from None
    if raw.startswith(codecs.BOM_UTF8):
        body = raw[len(codecs.BOM_UTF8):]
        try:
            return body.decode("utf-8"), "utf-8-sig", []
        except UnicodeDecodeError:
            lines, bad, _ = _decode_lines(body, ("utf-8",))
            return "\n".join(lines), "utf-8-sig", bad
    try:
        return raw.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    lines, bad, used = _decode_lines(raw, ("utf-8", "gb18030"))
    name = "+".join(e for e in ("utf-8", "gb18030") if e in used) or "utf-8"
    return "\n".join(lines), name, bad


def normalise_header(name: str) -> str:
    """How header cells are compared: NFKC, lower case, no whitespace, underscores and hyphens kept."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).lower().lstrip("\ufeff")


def clean_cell(value: str) -> str:
    """Strip whitespace and unwrap Excel's ``="..."`` text guard."""
    value = value.strip()
    if value.startswith('="') and value.endswith('"') and len(value) >= 3:
        value = value[2:-1].strip()
    return value


# ----------------------------------------------------------------------------------- CSV records

@dataclass(frozen=True)
class Column:
    """A CSV column: canonical header name, accepted aliases, and whether every file must have it."""

    name: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    def names(self) -> set[str]:
        return {normalise_header(n) for n in (self.name, *self.aliases)}


def _logical_records(lines: list[str], start: int) -> Iterator[tuple[int, str | None]]:
    """(first line number, record text) from lines[start:], joining lines inside quotes; an
    unterminated quote yields (line, None) and resumes at the next line."""
    index = start
    while index < len(lines):
        first = index
        text = lines[index]
        index += 1
        while text.count('"') % 2 and index < len(lines) and index - first < MAX_RECORD_LINES:
            text += "\n" + lines[index]
            index += 1
        if text.count('"') % 2:
            yield first + 1, None
            index = first + 1
            continue
        yield first + 1, text


def _split(text: str, delimiter: str) -> list[str]:
    rows = list(csv.reader((text,), delimiter=delimiter, strict=True))
    if len(rows) != 1:
        raise FieldError("malformed CSV record")
    return rows[0]


def read_csv(text: str, columns: list[Column], file: str, errors: list[LineError]
             ) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number, {canonical column: cleaned cell}) for each well-formed record; header problems,
    wrong column counts and malformed quoting go to ``errors``. Missing optional columns read as ''."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    wanted = {alias: col.name for col in columns for alias in col.names()}
    header_at, mapping, delimiter = -1, {}, ","
    seen_nonblank = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        delimiter = "\t" if "\t" in line and "," not in line else ","
        try:
            cells = [normalise_header(c) for c in _split(line, delimiter)]
        except (FieldError, csv.Error):
            cells = []
        found = {i: wanted[c] for i, c in enumerate(cells) if c in wanted}
        if found and all(col.name in found.values() for col in columns if col.required):
            names = list(found.values())
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                errors.append(LineError(file, index + 1, f"column {duplicated[0]!r} appears more than once"))
                return
            header_at, mapping, width = index, found, len(cells)
            break
        seen_nonblank += 1
        if seen_nonblank > TITLE_LINES:
            break
    if header_at < 0:
        required = ", ".join(c.name for c in columns if c.required)
        errors.append(LineError(file, 0, f"no header row with the required columns ({required}) in the first lines"))
        return
    for line_no, record in _logical_records(lines, header_at + 1):
        if record is None:
            errors.append(LineError(file, line_no, "unterminated quoted field"))
            continue
        if not record.strip():
            continue
        try:
            cells = _split(record, delimiter)
        except (FieldError, csv.Error) as exc:
            errors.append(LineError(file, line_no, f"malformed CSV record: {exc}"))
            continue
        if all(not c.strip() for c in cells):
            continue
        if len(cells) != width:
            errors.append(LineError(file, line_no, f"expected {width} columns, got {len(cells)}"))
            continue
        row = {col.name: "" for col in columns}
        row.update({name: clean_cell(cells[i]) for i, name in mapping.items()})
        yield line_no, row


# ----------------------------------------------------------------------------------- rows → facts

class Row:
    """Reads fields of one record, collecting every field error instead of stopping at the first."""

    def __init__(self, values: dict[str, object]):
        self.values = values
        self.problems: list[tuple[str | None, str]] = []

    def raw(self, name: str) -> object:
        value = self.values.get(name)
        return value.strip() if isinstance(value, str) else value

    def get(self, name: str, parse: Callable[[object], object] | None = None, *, required: bool = True):
        """The parsed field, or None (recording the problem) when missing or invalid."""
        value = self.raw(name)
        if value is None or value == "":
            if required:
                self.problems.append((name, f"missing required field {name!r}"))
            return None
        if parse is None:
            return value
        try:
            return parse(value)
        except (FieldError, ValueError, TypeError, InvalidOperation) as exc:
            self.problems.append((name, f"{name}: {exc}"))
            return None


def collect(file: str, data_type: str, raw: bytes, encoding: str,
            records: Iterator[tuple[int, Row]], build: Callable[[Row], Fact],
            errors: list[LineError]) -> ParseResult:
    """Build facts from rows; a record with any problem, an invalid fact or an already-seen key
    becomes errors, never an exception. The first of two records with the same key is kept."""
    result = ParseResult(digest(raw), data_type, errors=errors, file=file, encoding=encoding)
    first_seen: dict[tuple[str, ...], int] = {}
    for line_no, row in records:
        fact = None
        try:
            fact = build(row)
        except (FieldError, ValueError) as exc:
            if not row.problems:
                row.problems.append((None, str(exc)))
        if row.problems or fact is None:
            for name, reason in row.problems or [(None, "record rejected")]:
                errors.append(LineError(file, line_no, reason, name))
            continue
        key = fact.key()
        if key in first_seen:
            errors.append(LineError(file, line_no, f"duplicate key {'/'.join(key)} (first on line {first_seen[key]})"))
            continue
        first_seen[key] = line_no
        result.good.append(ParsedLine(line_no, fact))
    errors.sort(key=lambda e: e.line_no)
    return result


def read_text(raw: bytes, file: str, errors: list[LineError]) -> tuple[str, str]:
    """Decode (see module docstring), reporting undecodable lines; FileError if hopeless."""
    text, encoding, bad = decode(raw)
    reason = "line is not valid UTF-8" if encoding == "utf-8-sig" else "line is neither UTF-8 nor GB18030 text"
    for number in bad:
        errors.append(LineError(file, number, reason))
    return text, encoding


# ----------------------------------------------------------------------------------- field parsers

_AMOUNT = re.compile(r"^\d+(\.\d+)?$")
_INTEGER = re.compile(r"^\d+$")


def _nfkc(value: object) -> str:
    if isinstance(value, bool):
        raise FieldError("expected text or a number, got a boolean")
    if isinstance(value, float):
        raise FieldError("inexact number (write it as a string)")
    return unicodedata.normalize("NFKC", str(value)).strip()


def parse_uscc(value: object) -> str:
    """A validated, normalised USCC."""
    try:
        return uscc_codes.validate(_nfkc(value))
    except uscc_codes.InvalidUscc as exc:
        raise FieldError(f"bad USCC: {exc}") from None


def parse_decimal_units(value: object, scale: int, places: int) -> int:
    """A non-negative decimal (thousands separators, ¥ and 元 allowed) times ``scale``; the result
    must be whole, i.e. at most ``places`` significant decimals."""
    text = _nfkc(value).replace(",", "").replace("¥", "").replace("元", "").strip()
    if text.startswith("-"):
        raise FieldError(f"{value!r} is negative")
    if not _AMOUNT.match(text):
        raise FieldError(f"{value!r} is not a number")
    scaled = Decimal(text) * scale
    if scaled != scaled.to_integral_value():
        raise FieldError(f"{value!r} has more than {places} decimals")
    return int(scaled)


def parse_yuan(value: object) -> int:
    """Yuan with at most 2 decimals → fen."""
    return parse_decimal_units(value, 100, 2)


def parse_wan(value: object) -> int:
    """万元 (10,000 yuan) with at most 6 decimals → fen."""
    return parse_decimal_units(value, 1_000_000, 6)


def parse_count(value: object) -> int:
    """A non-negative integer."""
    text = _nfkc(value)
    if not _INTEGER.match(text):
        raise FieldError(f"{value!r} is not a whole non-negative number")
    return int(text)


_DATE_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
)
_MONTH_FORMS = (
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月$"),
)


def parse_date(value: object) -> date:
    """2020-01-31, 2020/1/31, 2020.01.31, 20200131 or 2020年1月31日 (a trailing 00:00:00 is allowed)."""
    text = re.sub(r"[ T]00:00(:00)?$", "", _nfkc(value))
    for form in _DATE_FORMS:
        m = form.match(text)
        if m:
            try:
                return date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError as exc:
                raise FieldError(f"{value!r} is not a real date ({exc})") from None
    raise FieldError(f"{value!r} is not a date like 2020-01-31")


def parse_month(value: object) -> str:
    """2025-03, 2025/3, 202503 or 2025年3月 → '2025-03'."""
    text = _nfkc(value)
    for form in _MONTH_FORMS:
        m = form.match(text)
        if m and 1 <= int(m[2]) <= 12:
            return f"{int(m[1]):04d}-{int(m[2]):02d}"
    raise FieldError(f"{value!r} is not a month like 2025-03")


def parse_instant(value: object) -> datetime:
    """ISO 8601 with or without an offset (none = China Standard Time), '2026-01-31 10:00:00',
    '2026/01/31 10:00:00', '20260131100000', or a bare date (midnight CST)."""
    text = _nfkc(value)
    compact = re.match(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$", text)
    if compact:
        text = "{}-{}-{}T{}:{}:{}".format(*compact.groups())
    text = text.replace("/", "-")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(parse_date(value), time())
        except FieldError:
            raise FieldError(f"{value!r} is not a time like 2026-01-31 10:00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CST)
    return moment


def parse_choice(aliases: dict[str, str], what: str) -> Callable[[object], str]:
    """A parser mapping accepted spellings (compared after NFKC, lower case) to a canonical value."""
    table = {unicodedata.normalize("NFKC", k).lower(): v for k, v in aliases.items()}

    def parse(value: object) -> str:
        text = _nfkc(value).lower()
        if text not in table:
            raise FieldError(f"unknown {what} {value!r}")
        return table[text]

    return parse


def parse_text(value: object) -> str:
    """Text with surrounding whitespace removed."""
    if not isinstance(value, str):
        raise FieldError("expected text")
    return value.strip()

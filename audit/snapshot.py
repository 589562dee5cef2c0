"""The supervision rules' input: a columnar, read-only model of the ledger at one evaluation date.

A :class:`Snapshot` is a set of tables (:data:`SCHEMA`), each a dict of equally long numpy columns.
Rows refer to each other by row index (``ref`` columns), so joins are array gathers; text values are
interned into per-domain vocabularies (``code`` columns), so equality is an integer comparison and a
value shared by two tables (a firm name declared by an applicant and the registry's) has one code.

Conventions, for every column kind:

==========  ==========  ==============================================================================
kind        dtype       value
==========  ==========  ==============================================================================
``id``      object      the subject's identifier as the product spells it (application id, USCC, …)
``ref``     int32       row index into another table; -1 = none
``date``    int32       days since 1970-01-01 in the district's civil calendar; -1 = unknown / not yet
``int``     int64       a count or measure; -1 = unknown
``money``   int64       fen (分, 0.01 yuan); -1 = unknown
``flag``    int8        1 yes, 0 no, -1 unknown
``code``    int32       index into ``snapshot.vocab[domain]``; -1 = none / unknown
==========  ==========  ==============================================================================

**-1 means "we do not know"**: the rules treat it as *not evaluated*, never as a hit, and the engine
counts the subjects it skipped for missing data per point.

Every column records its provenance (``source``): the product's own tables (``ledger``), an oracle
attestation (``MARKET`` registry incl. relatives, ``TAX``, ``HRSS`` social insurance, ``DRC`` utility use,
``FINANCE`` bank return and bank flows), the chain, ``derived`` (computed from several), or an oracle
adapter the product does not run (``adapter:…``). Facts in an alert carry ``table.column`` and this source.

Build a snapshot with :class:`SnapshotBuilder` (rows as keyword arguments, ids as references), from
the gateway's SQL tables with :mod:`audit.loader`, or directly from arrays (:meth:`Snapshot.from_columns`,
used by the synthetic benchmark ledger).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Mapping

import numpy as np

NA = -1
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

#: The guide's required elements (PUB2), as bits of ``policies.missing_fields``.
GUIDE_FIELDS = ("eligibility", "conditions", "window", "contact", "materials", "amount_rule")

_DT = {"id": object, "ref": np.int32, "date": np.int32, "int": np.int64, "money": np.int64, "flag": np.int8,
       "code": np.int32}


@dataclass(frozen=True)
class Col:
    name: str
    kind: str  # id | ref | date | int | money | flag | code
    doc: str
    source: str = "ledger"
    target: str = ""  # ref: the table; code: the vocabulary domain


def _c(name: str, kind: str, doc: str, source: str = "ledger", target: str = "") -> Col:
    return Col(name, kind, doc, source, target)


#: table -> (what a row is, columns). The first column of a table with an ``id`` is its identifier.
SCHEMA: dict[str, tuple[str, tuple[Col, ...]]] = {
    "policies": ("a subsidy policy (政策)", (
        _c("id", "id", "policy id"),
        _c("department", "code", "issuing department", target="department"),
        _c("status", "code", "draft | published | closed", target="policy_status"),
        _c("drafter", "code", "keyed hash of the official who drafted the criteria", target="party"),
        _c("issue", "date", "date the policy document was issued"),
        _c("guide", "date", "date the application guide (申报指南) was published"),
        _c("open", "date", "application window opens"),
        _c("close", "date", "application window closes"),
        _c("valid_until", "date", "last day the policy is in force"),
        _c("missing_fields", "int", "bitmask of GUIDE_FIELDS missing from the guide"),
        _c("criteria_changed", "date", "last change of the eligibility criteria"),
        _c("eligibility_run", "flag", "the criteria were run against the registry (rows in `eligible`)",
           "MARKET"),
        _c("cap_fen", "money", "the most one firm may receive"),
        _c("review_wd", "int", "the policy's review deadline in WD (-1: the REV1 default)"),
        _c("auto_grant", "flag", "no-application policy (免申即享): eligible firms are paid without applying"),
        _c("grant_deadline", "date", "免申即享: date by which every listed firm must be paid"),
    )),
    "enterprises": ("a firm, as the registry and the tax / social-insurance attestations know it", (
        _c("id", "id", "USCC (统一社会信用代码)", "MARKET"),
        _c("name", "code", "registered name", "MARKET", "name"),
        _c("legal_rep", "code", "legal representative", "MARKET", "person_name"),
        _c("capital_fen", "money", "registered capital", "MARKET"),
        _c("address", "code", "registered address", "MARKET", "address"),
        _c("scope", "code", "business scope", "MARKET", "scope"),
        _c("status", "code", "active | abnormal | deregistered | revoked | dishonest", "MARKET", "ent_status"),
        _c("established", "date", "date of establishment", "MARKET"),
        _c("controller", "code", "keyed hash of the actual controller", "MARKET", "party"),
        _c("insured_staff", "int", "staff insured, latest month", "HRSS"),
        _c("tax_paid_fen", "money", "tax paid, latest year", "TAX"),
        _c("revenue_fen", "money", "revenue, latest year", "TAX"),
        _c("utility_kwh", "int", "electricity used, latest year", "DRC"),
    )),
    "registry_changes": ("a registry event for a firm", (
        _c("enterprise", "ref", "the firm", target="enterprises"),
        _c("date", "date", "date of the change", "MARKET"),
        _c("kind", "code", "status: active (restored) | abnormal | deregistered | revoked | dishonest; "
                           "district: moved_out | returned", "MARKET", "change"),
    )),
    "relations": ("a link between a party (person or firm, keyed hash / USCC) and a firm", (
        _c("party", "code", "the person's keyed hash or the other firm's USCC", "MARKET", "party"),
        _c("enterprise", "ref", "the firm", target="enterprises"),
        _c("kind", "code", "shareholder | officer | controller | indirect | relative | former_employee",
           "MARKET", "relation"),
    )),
    "eligible": ("a firm the policy's criteria select when run against the registry", (
        _c("policy", "ref", "the policy", target="policies"),
        _c("enterprise", "ref", "the firm", target="enterprises"),
        _c("notified", "flag", "the firm was told of the policy"),
    )),
    "applications": ("an application (申报) by a firm under a policy", (
        _c("id", "id", "application id"),
        _c("policy", "ref", "the policy", target="policies"),
        _c("enterprise", "ref", "the applicant", target="enterprises"),
        _c("submitted", "date", "date submitted"),
        _c("decision", "code", "pending | approved | rejected | withdrawn", target="decision"),
        _c("project", "code", "project title, normalised (case, spaces, punctuation)", target="project"),
        _c("category", "code", "project category", target="category"),
        _c("year", "int", "the project's year"),
        _c("requested_fen", "money", "amount applied for"),
        _c("formula_fen", "money", "amount the policy's formula gives"),
        _c("approved_fen", "money", "amount approved (-1: none yet)"),
        _c("approved", "date", "date approved"),
        _c("materials_missing", "int", "checklist items missing at submission, plus items whose licence stopped "
                                       "standing while the application awaited review"),
        _c("materials_lapsed", "date", "date the first licence-backed item stopped standing (revoked, suspended, "
                                      "expired) while the application awaited review; -1: none / not known "
                                      "(APP1 then waits from submission)", "chain"),
        _c("materials_supplied", "date", "date the last missing item arrived"),
        _c("forwarded", "date", "date forwarded to review"),
        _c("reviewed", "date", "date the review decided"),
        _c("decl_name", "code", "declared name", target="name"),
        _c("decl_legal_rep", "code", "declared legal representative", target="person_name"),
        _c("decl_capital_fen", "money", "declared registered capital"),
        _c("decl_address", "code", "declared address", target="address"),
        _c("decl_scope", "code", "declared business scope", target="scope"),
        _c("decl_revenue_fen", "money", "declared revenue"),
        _c("decl_staff", "int", "declared staff"),
        _c("decl_tax_fen", "money", "declared tax paid"),
        _c("unanchored_docs", "int", "uploaded documents whose hash matches no anchored original", "chain"),
        _c("phone", "code", "contact phone (keyed hash)", target="phone"),
        _c("ip", "code", "submitting IP address (keyed hash)", target="ip"),
        _c("bank_account", "code", "payee account (keyed hash)", target="account"),
        _c("contact_address", "code", "contact address", target="address"),
        _c("hash_ok", "flag", "the database record matches its on-chain hash", "chain"),
        _c("review_levels", "int", "sign-off levels its path requires (0: decided by rule / enrolled; -1: the "
                                   "PAY5 default)"),
    )),
    "invoices": ("an invoice or contract number an application relies on", (
        _c("application", "ref", "the application", target="applications"),
        _c("number", "code", "invoice / contract number", target="invoice"),
    )),
    "reviews": ("one reviewer's or expert's review of an application", (
        _c("application", "ref", "the application", target="applications"),
        _c("reviewer", "code", "keyed hash of the reviewer", target="party"),
        _c("recused", "flag", "the reviewer declared a conflict and stood down"),
        _c("minutes", "int", "time spent"),
        _c("passed", "flag", "the review passed the application"),
        _c("hardfail_overridden", "flag", "a hard-fail automatic check was overridden"),
        _c("override_reason", "code", "the recorded reason", target="text"),
    )),
    "draws": ("the double-random draw (双随机) of a verification firm for an application", (
        _c("application", "ref", "the application", target="applications"),
        _c("firm", "code", "the firm assigned (USCC)", target="party"),
        _c("log_complete", "flag", "seed, candidates and result all recorded", "chain"),
        _c("overridden", "flag", "the drawn firm was replaced by hand"),
    )),
    "signoffs": ("one level of the three-level approval sign-off", (
        _c("application", "ref", "the application", target="applications"),
        _c("level", "int", "1, 2 or 3"),
        _c("role", "code", "role of the member who signed", target="role"),
        _c("expected_role", "code", "role that should sign at this level", target="role"),
        _c("signed", "date", "date signed (-1: not signed)"),
        _c("due", "date", "date it was due"),
    )),
    "record_changes": ("an edit or deletion of an application record", (
        _c("application", "ref", "the application", target="applications"),
        _c("at", "date", "date of the change"),
        _c("after_signoff", "flag", "made after the final sign-off"),
        _c("reason", "code", "recorded reason", target="text"),
        _c("deleted", "flag", "the record was deleted"),
    )),
    "notices": ("the public notice (公示) of an approved application", (
        _c("application", "ref", "the application", target="applications"),
        _c("published", "date", "notice published"),
        _c("planned_end", "date", "notice period's planned end"),
        _c("closed", "date", "notice actually closed"),
        _c("planned_payout", "date", "payout date planned when the notice was set"),
        _c("listed_name", "code", "payee name on the notice", target="name"),
        _c("listed_amount_fen", "money", "amount on the notice"),
    )),
    "objections": ("an objection (异议) raised during a notice", (
        _c("application", "ref", "the application", target="applications"),
        _c("received", "date", "date received"),
        _c("replied", "date", "date answered"),
        _c("closed", "date", "date closed"),
    )),
    "payout_lines": ("a line of a finance export file and its bank return", (
        _c("id", "id", "batch:line"),
        _c("application", "ref", "the application", target="applications"),
        _c("planned", "date", "payout date ordered"),
        _c("export_fen", "money", "amount in the export file"),
        _c("bank_fen", "money", "amount in the bank return", "FINANCE"),
        _c("bank_status", "code", "paid | failed", "FINANCE", "bank_status"),
        _c("bank_date", "date", "value date", "FINANCE"),
        _c("resolved", "date", "a failed line's resolution"),
        _c("payee_name", "code", "account holder name", target="name"),
        _c("account_type", "code", "corporate | individual | agent | department", target="account_type"),
        _c("account_changed", "date", "last change of the payee account before this line"),
    )),
    "usage": ("a line of a usage report (资金使用报告)", (
        _c("application", "ref", "the application", target="applications"),
        _c("category", "code", "spending category ('' = uncategorised)", target="use_category"),
        _c("amount_fen", "money", "amount"),
        _c("reported", "date", "date reported"),
    )),
    "transfers": ("an outgoing transfer from the receiving account after receipt", (
        _c("application", "ref", "the application whose money was received", target="applications"),
        _c("date", "date", "date", "FINANCE"),
        _c("amount_fen", "money", "amount", "FINANCE"),
        _c("kind", "code", "cash | transfer", "FINANCE", "transfer_kind"),
        _c("counterparty", "code", "the receiving account (keyed hash)", "FINANCE", "party"),
        _c("counterparty_since", "date", "first transfer ever to this counterparty", "FINANCE"),
        _c("counterparty_link", "code", "none | official (a member's declared identity) | agent (also paid other firms' subsidies)",
           "derived", "link"),
    )),
    "performance": ("a performance commitment (绩效目标) and its report", (
        _c("application", "ref", "the application", target="applications"),
        _c("due", "date", "report due"),
        _c("reported", "date", "report received"),
        _c("target", "int", "committed figure"),
        _c("achieved", "int", "reported figure"),
        _c("commitment_end", "date", "end of the commitment period"),
    )),
    "rectifications": ("a rectification order or claw-back (追回) with its due date", (
        _c("application", "ref", "the application", target="applications"),
        _c("kind", "code", "rectification | clawback", target="rect_kind"),
        _c("due", "date", "due date"),
        _c("done", "date", "rectified / refunded"),
        _c("amount_fen", "money", "amount to recover"),
    )),
}

COLUMNS: dict[str, dict[str, Col]] = {t: {c.name: c for c in cols} for t, (_, cols) in SCHEMA.items()}


# ---------------------------------------------------------------------- values


def day(value: date | datetime | str | int | None) -> int:
    """Day number (days since 1970-01-01) of a date / ISO string; -1 for None."""
    if value is None or value == "":
        return NA
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return value.toordinal() - EPOCH_ORDINAL


def iso(d: int) -> str | None:
    return None if d < 0 else date.fromordinal(int(d) + EPOCH_ORDINAL).isoformat()


_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Formatting-insensitive form of a text: NFKC (full-width → half-width), case, spaces, punctuation."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", text)).casefold()


# ---------------------------------------------------------------------- snapshot


class Table:
    """Equally long numpy columns; ``table.col`` or ``table["col"]``."""

    def __init__(self, name: str, columns: Mapping[str, np.ndarray]):
        self.table_name = name
        self.columns = dict(columns)
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"table {name}: columns of different lengths {sorted(lengths)}")
        self.n = lengths.pop() if lengths else 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, col: str) -> np.ndarray:
        return self.columns[col]

    def __getattr__(self, col: str) -> np.ndarray:
        try:
            return self.__dict__["columns"][col]
        except KeyError:
            raise AttributeError(col) from None


@dataclass
class Snapshot:
    """The ledger at ``as_of`` (a day number). Read-only by convention; ``cache`` holds derived indexes."""

    as_of: int
    tables: dict[str, Table]
    vocab: dict[str, list[str]]
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __getattr__(self, name: str) -> Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @classmethod
    def from_columns(cls, as_of: int, columns: Mapping[str, Mapping[str, np.ndarray]],
                     vocab: Mapping[str, list[str]]) -> "Snapshot":
        """A snapshot from arrays; a missing column is all -1 (unknown)."""
        tables = {}
        for tname, (_, cols) in SCHEMA.items():
            given = columns.get(tname, {})
            unknown = set(given) - {c.name for c in cols}
            if unknown:
                raise ValueError(f"table {tname}: unknown column(s) {sorted(unknown)}")
            n = len(next(iter(given.values()))) if given else 0
            out = {}
            for c in cols:
                if c.name in given:
                    arr = np.asarray(given[c.name], dtype=_DT[c.kind])
                else:
                    arr = (np.empty(n, dtype=object) if c.kind == "id" else np.full(n, NA, dtype=_DT[c.kind]))
                out[c.name] = arr
            tables[tname] = Table(tname, out)
        voc = {d: list(v) for d, v in vocab.items()}
        return cls(as_of=as_of, tables=tables, vocab=voc)

    def index(self, table: str) -> dict[str, int]:
        """id -> row of a table with an ``id`` column."""
        key = ("index", table)
        if key not in self.cache:
            ids = self.tables[table]["id"]
            self.cache[key] = dict(zip(ids.tolist(), range(len(ids))))
        return self.cache[key]

    def text(self, domain: str, code: int) -> str | None:
        return None if code < 0 else self.vocab.get(domain, [])[int(code)]

    def code(self, domain: str, value: str) -> int:
        """The code of a vocabulary value, -1 when the snapshot never saw it."""
        key = ("vocab", domain)
        if key not in self.cache:
            self.cache[key] = {v: i for i, v in enumerate(self.vocab.get(domain, []))}
        return self.cache[key].get(value, NA)

    def same_text(self, domain: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Per pair of codes: equal after :func:`normalise` (formatting-insensitive). -1 never matches.

        Equal codes are equal texts; only the differing pairs (few) are normalised, once per code."""
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        out = (a == b) & (a >= 0)
        diff = np.flatnonzero((a != b) & (a >= 0) & (b >= 0))
        if len(diff):
            memo = self.cache.setdefault(("norm", domain), {})
            words = self.vocab.get(domain, [])

            def norm(code: int) -> str:
                v = memo.get(code)
                if v is None:
                    v = memo[code] = normalise(words[code])
                return v

            out[diff] = [norm(x) == norm(y) for x, y in zip(a[diff].tolist(), b[diff].tolist())]
        return out


class SnapshotBuilder:
    """Build a snapshot from rows: ``b.add("applications", id="0xa1", policy="P1", submitted="2026-03-02")``.

    ``ref`` columns take the referred row's id (or, for tables without ids, its row number); ``code``
    columns take the text (interned); ``date`` columns take a date or ISO string; booleans are flags.
    Missing columns are -1 (unknown)."""

    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {t: [] for t in SCHEMA}

    def add(self, table: str, **values: Any) -> int:
        cols = COLUMNS[table]
        unknown = set(values) - set(cols)
        if unknown:
            raise ValueError(f"table {table}: unknown column(s) {sorted(unknown)}")
        self.rows[table].append(values)
        return len(self.rows[table]) - 1

    def build(self, as_of: date | str) -> Snapshot:
        vocab: dict[str, dict[str, int]] = {}
        ids = {t: {r["id"]: i for i, r in enumerate(rows)} for t, rows in self.rows.items() if "id" in COLUMNS[t]}
        for t, index in ids.items():
            if len(index) != len(self.rows[t]):
                raise ValueError(f"table {t}: duplicate ids")

        def intern(domain: str, v: Any) -> int:
            if v is None or v == "":
                return NA
            v = normalise(v) if domain == "project" else str(v)
            d = vocab.setdefault(domain, {})
            return d.setdefault(v, len(d))

        def convert(c: Col, v: Any) -> Any:
            if v is None:
                return None if c.kind == "id" else NA
            if c.kind == "ref":
                if isinstance(v, str):
                    try:
                        return ids[c.target][v]
                    except KeyError:
                        raise ValueError(f"{c.name}: no {c.target} row with id {v!r}") from None
                return int(v)
            if c.kind == "date":
                return day(v)
            if c.kind == "code":
                return intern(c.target, v)
            if c.kind == "flag":
                return int(bool(v)) if isinstance(v, bool) else int(v)
            return v

        columns: dict[str, dict[str, np.ndarray]] = {}
        for tname, rows in self.rows.items():
            if not rows:
                continue
            columns[tname] = {}
            for c in SCHEMA[tname][1]:
                vals = [convert(c, r.get(c.name)) for r in rows]
                columns[tname][c.name] = np.array(vals, dtype=_DT[c.kind])
        return Snapshot.from_columns(day(as_of), columns,
                                     {d: list(m) for d, m in vocab.items()})


def describe() -> str:
    """Markdown description of the snapshot's tables (for docs/audit_points.md)."""
    out = []
    for tname, (what, cols) in SCHEMA.items():
        out.append(f"### `{tname}` — {what}\n\n| column | kind | source | meaning |\n| --- | --- | --- | --- |")
        for c in cols:
            kind = c.kind + (f"→{c.target}" if c.target else "")
            doc = c.doc.replace("|", "\\|")
            out.append(f"| {c.name} | {kind} | {c.source} | {doc} |")
        out.append("")
    return "\n".join(out)


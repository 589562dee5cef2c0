"""Writing the synthetic district's source files, optionally with deliberately broken lines.

Every record is one physical line, so a record's line number is its position + 1 (the header is
line 1). Broken lines are extra lines (no good record is lost), spread round-robin over the four
CSV sources and cycling through the kinds each source can have.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections.abc import Iterable
from pathlib import Path

from oracle import uscc as uscc_codes
from oracle.adapters.bank_return import HEADER as RETURN_HEADER
from oracle.sample.firms import Firm
from oracle.sample.payout import PayoutLine

REGISTRY_HEADER = ["uscc", "name", "legal_representative", "registered_capital_yuan", "address", "business_scope",
                   "status", "registered_district", "established", "shareholders", "officers", "phone", "controller"]
TAX_HEADER = ["uscc", "year", "tax_paid_yuan", "tax_credit_rating", "revenue_yuan"]
SI_HEADER = ["uscc", "month", "insured_headcount"]
BATCH_HEADER = list(RETURN_HEADER[:6])
STATUS_TEXT = {"active": "存续", "abnormal": "经营异常", "deregistered": "注销", "revoked": "吊销", "dishonest": "失信"}

BROKEN_KINDS = ("wrong_column_count", "bad_check_digit", "bad_number", "unknown_code", "bad_date", "duplicate_key",
                "missing_required_field")
# per file: the column each kind breaks, the bad value, and the key columns
BREAKS: dict[str, dict[str, object]] = {
    "registry.csv": {"bad_number": ("registered_capital_yuan", "5OO万"), "unknown_code": ("status", "待核实"),
                     "bad_date": ("established", "2021-02-30"), "missing_required_field": ("name", ""),
                     "key": ("uscc",)},
    "tax.csv": {"bad_number": ("tax_paid_yuan", "12,3a4.00"), "unknown_code": ("tax_credit_rating", "E"),
                "missing_required_field": ("revenue_yuan", ""), "key": ("uscc", "year")},
    "social_insurance.csv": {"bad_number": ("insured_headcount", "三十"), "bad_date": ("month", "2025-13"),
                             "missing_required_field": ("insured_headcount", ""), "key": ("uscc", "month")},
    "bank_return.csv": {"bad_number": ("amount_yuan", "1O000.00"), "unknown_code": ("status", "pending"),
                        "bad_date": ("paid_at", "2026-02-30 10:00:00"), "missing_required_field": ("payee_name", ""),
                        "key": ("batch_id", "line_no")},
}


def yuan(fen: int) -> str:
    """Fen as a yuan string with two decimals."""
    return f"{fen // 100}.{fen % 100:02d}"


def _party(name: str, ident: str, role: str | None = None) -> str:
    return "|".join([name, ident] + ([role] if role else []))


def registry_rows(firms: Iterable[Firm]) -> list[list[str]]:
    return [[f.uscc, f.name, f.legal_rep.name, yuan(f.capital), f.address, f.scope, STATUS_TEXT[f.status], f.district,
             f.established.isoformat(), ";".join(_party(p.name, p.id_number) for p in f.shareholders),
             ";".join(_party(p.name, p.id_number, role) for p, role in f.officers), f.phone,
             _party(f.controller.name, f.controller.id_number)] for f in firms]


def registry_json(firms: Iterable[Firm]) -> bytes:
    items = [{"uscc": f.uscc, "name": f.name, "legal_representative": f.legal_rep.name,
              "registered_capital_yuan": yuan(f.capital), "address": f.address, "business_scope": f.scope,
              "status": f.status, "registered_district": f.district, "established": f.established.isoformat(),
              "shareholders": [{"name": p.name, "id_number": p.id_number} for p in f.shareholders],
              "officers": [{"name": p.name, "id_number": p.id_number, "role": r} for p, r in f.officers],
              "phone": f.phone, "controller": {"name": f.controller.name, "id_number": f.controller.id_number}}
             for f in firms]
    return json.dumps({"enterprises": items}, ensure_ascii=False, indent=1).encode("utf-8")


def tax_rows(firms: Iterable[Firm]) -> list[list[str]]:
    return [[f.uscc, str(y), yuan(t.tax_paid), t.rating, yuan(t.revenue)] for f in firms for y, t in f.tax.items()]


def si_rows(firms: Iterable[Firm]) -> list[list[str]]:
    return [[f.uscc, m, str(n)] for f in firms for m, n in f.headcount.items()]


def batch_rows(batch_id: str, lines: list[PayoutLine]) -> list[list[str]]:
    return [[batch_id, str(x.line_no), x.firm.uscc, x.firm.account_holder, x.firm.account_no, yuan(x.exported)]
            for x in lines]


def return_rows(batch_id: str, lines: list[PayoutLine]) -> list[list[str]]:
    return [[batch_id, str(x.line_no), x.firm.uscc, x.firm.account_holder, x.firm.account_no, yuan(x.returned),
             x.status, x.failure_reason, x.bank_reference,
             x.paid_at.strftime("%Y-%m-%d %H:%M:%S") if x.paid_at else ""] for x in lines]


def _broken(rng: random.Random, kind: str, file: str, header: list[str], template: list[str]) -> list[str]:
    row = list(template)
    spec = BREAKS[file]
    if kind == "wrong_column_count":
        return row + ["多余"] if rng.random() < 0.5 else row[:-1]
    if kind == "bad_check_digit":
        code = row[header.index("uscc")]
        row[header.index("uscc")] = code[:17] + rng.choice([c for c in uscc_codes.ALPHABET if c != code[17]])
        return row
    if kind == "duplicate_key":
        return row
    column, value = spec[kind]  # type: ignore[misc]
    row[header.index(column)] = value
    return row


def insert_broken(rng: random.Random, file: str, header: list[str], rows: list[list[str]], kinds: list[str]
                  ) -> tuple[list[list[str]], list[dict[str, object]]]:
    """The rows with one broken line per entry of ``kinds`` inserted; and where each went."""
    placed: list[tuple[list[str], str | None]] = [(r, None) for r in rows]
    for kind in kinds:
        candidates = [i for i, (r, k) in enumerate(placed) if k is None
                      and (kind != "bad_date" or file != "bank_return.csv" or r[header.index("status")] == "paid")]
        at = rng.choice(candidates)
        line = _broken(rng, kind, file, header, placed[at][0])
        position = rng.randint(at + 1, len(placed)) if kind == "duplicate_key" else rng.randint(0, len(placed))
        placed.insert(position, (line, kind))
    out = [r for r, _ in placed]
    where = [{"file": file, "line_no": i + 2, "kind": k} for i, (_, k) in enumerate(placed) if k is not None]
    return out, where


def applicable_kinds(file: str) -> list[str]:
    spec = BREAKS[file]
    return [k for k in BROKEN_KINDS if k in ("wrong_column_count", "bad_check_digit", "duplicate_key") or k in spec]


def plan_broken(count: int) -> dict[str, list[str]]:
    """Which broken kinds go to which file: round-robin over files, cycling each file's kinds."""
    files = list(BREAKS)
    plan: dict[str, list[str]] = {f: [] for f in files}
    for i in range(count):
        file = files[i % len(files)]
        kinds = applicable_kinds(file)
        plan[file].append(kinds[len(plan[file]) % len(kinds)])
    return plan


def encode_csv(header: list[str], rows: list[list[str]], encoding: str) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")

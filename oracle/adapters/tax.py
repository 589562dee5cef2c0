"""Annual tax summaries from the tax bureau (source TAX, data type TAX_SUMMARY).

CSV header (canonical names; Chinese aliases accepted, any order)::

    uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan

* ``uscc`` 统一社会信用代码 / 纳税人识别号; ``year`` 所属年度: four digits;
* ``tax_paid_yuan`` 实缴税额(元) and ``revenue_yuan`` 营业收入(元): yuan, at most 2 decimals (stored as fen);
* ``tax_credit_rating`` 纳税信用等级: A, B, M, C or D (``A级`` accepted).

Key within a file: (uscc, year).
"""

from __future__ import annotations

import re
import unicodedata

from oracle.adapters.base import (Column, FieldError, LineError, ParseResult, Row, collect, parse_uscc, parse_yuan,
                                  read_csv, read_text)
from oracle.facts import TAX_CREDIT_RATINGS, TaxSummary

DATA_TYPE = TaxSummary.DATA_TYPE

COLUMNS = [
    Column("uscc", ("统一社会信用代码", "纳税人识别号", "社会信用代码")),
    Column("year", ("所属年度", "年度", "tax_year")),
    Column("tax_paid_yuan", ("实缴税额(元)", "纳税总额(元)", "实缴税额", "tax_paid")),
    Column("tax_credit_rating", ("纳税信用等级", "信用等级")),
    Column("revenue_yuan", ("营业收入(元)", "营业收入", "revenue")),
]


def parse_year(value: object) -> int:
    """A four-digit year (``2025年`` accepted)."""
    text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("年")
    if not re.fullmatch(r"\d{4}", text):
        raise FieldError(f"{value!r} is not a year")
    return int(text)


def parse_rating(value: object) -> str:
    """A, B, M, C or D (``A级`` accepted)."""
    text = unicodedata.normalize("NFKC", str(value)).strip().upper().removesuffix("级")
    if text not in TAX_CREDIT_RATINGS:
        raise FieldError(f"unknown tax credit rating {value!r}")
    return text


def build(row: Row) -> TaxSummary | None:
    """One tax record → fact (None when a field was rejected)."""
    uscc = row.get("uscc", parse_uscc)
    year = row.get("year", parse_year)
    tax_paid = row.get("tax_paid_yuan", parse_yuan)
    rating = row.get("tax_credit_rating", parse_rating)
    revenue = row.get("revenue_yuan", parse_yuan)
    if row.problems:
        return None
    return TaxSummary(uscc=uscc, year=year, tax_paid=tax_paid, tax_credit_rating=rating, revenue=revenue)


def parse(raw: bytes, file: str = "tax.csv", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a tax CSV export (``hmac_key`` is accepted for a uniform signature and not used)."""
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    records = ((n, Row(values)) for n, values in read_csv(text, COLUMNS, file, errors))
    return collect(file, DATA_TYPE, raw, encoding, records, build, errors)

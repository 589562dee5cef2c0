"""Monthly insured headcounts from human resources & social security (source HRSS, data type
SOCIAL_INSURANCE).

CSV header (canonical names; Chinese aliases accepted, any order)::

    uscc,month,insured_headcount

* ``uscc`` 统一社会信用代码; ``month`` 缴费月份 / 所属期: 2025-03, 2025/3, 202503 or 2025年3月;
* ``insured_headcount`` 参保人数: a whole number ≥ 0.

Key within a file: (uscc, month).
"""

from __future__ import annotations

from oracle.adapters.base import (Column, LineError, ParseResult, Row, collect, parse_count, parse_month, parse_uscc,
                                  read_csv, read_text)
from oracle.facts import SocialInsurance

DATA_TYPE = SocialInsurance.DATA_TYPE

COLUMNS = [
    Column("uscc", ("统一社会信用代码", "单位统一社会信用代码", "社会信用代码")),
    Column("month", ("缴费月份", "所属期", "费款所属期", "年月")),
    Column("insured_headcount", ("参保人数", "在职参保人数", "headcount")),
]


def build(row: Row) -> SocialInsurance | None:
    """One social-insurance record → fact (None when a field was rejected)."""
    uscc = row.get("uscc", parse_uscc)
    month = row.get("month", parse_month)
    headcount = row.get("insured_headcount", parse_count)
    if row.problems:
        return None
    return SocialInsurance(uscc=uscc, month=month, insured_headcount=headcount)


def parse(raw: bytes, file: str = "social_insurance.csv", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a social-insurance CSV export (``hmac_key`` is accepted for a uniform signature and not used)."""
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    records = ((n, Row(values)) for n, values in read_csv(text, COLUMNS, file, errors))
    return collect(file, DATA_TYPE, raw, encoding, records, build, errors)

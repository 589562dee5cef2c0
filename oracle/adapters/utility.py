"""Annual electricity and water use from the development and reform bureau's energy-use monitoring
(source DRC, data type UTILITY_USE; see :mod:`oracle.facts` for why DRC is the authoritative source).

CSV header (canonical names; Chinese aliases accepted, any order)::

    uscc,year,electricity_kwh,water_tonnes

* ``uscc`` 统一社会信用代码; ``year`` 年度: four digits (``2025年`` accepted);
* ``electricity_kwh`` 用电量(千瓦时) and ``water_tonnes`` 用水量(吨): whole numbers ≥ 0.

Key within a file: (uscc, year). APP4 (shell company) counts a year with no electricity as a signal.
"""

from __future__ import annotations

from oracle.adapters.base import Column, LineError, ParseResult, Row, collect, parse_count, parse_uscc, read_csv, read_text
from oracle.adapters.tax import parse_year
from oracle.facts import UtilityUse

DATA_TYPE = UtilityUse.DATA_TYPE

COLUMNS = [
    Column("uscc", ("统一社会信用代码", "社会信用代码", "用户统一社会信用代码")),
    Column("year", ("年度", "统计年度")),
    Column("electricity_kwh", ("用电量(千瓦时)", "用电量(kwh)", "用电量", "electricity")),
    Column("water_tonnes", ("用水量(吨)", "用水量", "water")),
]


def build(row: Row) -> UtilityUse | None:
    """One utility-use record → fact (None when a field was rejected)."""
    uscc = row.get("uscc", parse_uscc)
    year = row.get("year", parse_year)
    kwh = row.get("electricity_kwh", parse_count)
    water = row.get("water_tonnes", parse_count)
    if row.problems:
        return None
    return UtilityUse(uscc=uscc, year=year, electricity_kwh=kwh, water_tonnes=water)


def parse(raw: bytes, file: str = "utility.csv", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a utility-use CSV export (``hmac_key`` is accepted for a uniform signature and not used)."""
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    records = ((n, Row(values)) for n, values in read_csv(text, COLUMNS, file, errors))
    return collect(file, DATA_TYPE, raw, encoding, records, build, errors)

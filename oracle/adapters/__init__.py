"""Readers of source-department exports, one module per source; each returns a :class:`ParseResult`
with the good records as :class:`ParsedLine` and every bad one as a :class:`LineError` — a bad
line never stops the good ones.

=====================  ==================  ======================================
module                 data type           input
=====================  ==================  ======================================
``registry``           ENTERPRISE_REGISTRY  CSV or JSON (needs ``hmac_key``)
``tax``                TAX_SUMMARY          CSV
``social_insurance``   SOCIAL_INSURANCE     CSV
``bank_return``        BANK_RETURN          CSV (needs ``hmac_key``)
``utility``            UTILITY_USE          CSV
``bank_flow``          BANK_FLOW            CSV (needs ``hmac_key``)
=====================  ==================  ======================================

:func:`detect` tells the data type from a file's header; :func:`parse_bytes` / :func:`parse_file`
detect and read in one call.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from oracle.adapters import bank_flow, bank_return, registry, social_insurance, tax, utility
from oracle.adapters.base import Column, FileError, LineError, ParsedLine, ParseResult, decode, read_csv

__all__ = ["ParsedLine", "LineError", "ParseResult", "READERS", "detect", "parse_bytes", "parse_file",
           "UnknownFileType"]

READERS: dict[str, Callable[..., ParseResult]] = {
    registry.DATA_TYPE: registry.parse,
    tax.DATA_TYPE: tax.parse,
    social_insurance.DATA_TYPE: social_insurance.parse,
    bank_return.DATA_TYPE: bank_return.parse,
    utility.DATA_TYPE: utility.parse,
    bank_flow.DATA_TYPE: bank_flow.parse,
}
_COLUMNS: dict[str, list[Column]] = {
    tax.DATA_TYPE: tax.COLUMNS,
    social_insurance.DATA_TYPE: social_insurance.COLUMNS,
    bank_return.DATA_TYPE: bank_return.COLUMNS,
    registry.DATA_TYPE: registry.COLUMNS,
    utility.DATA_TYPE: utility.COLUMNS,
    bank_flow.DATA_TYPE: bank_flow.COLUMNS,
}


class UnknownFileType(ValueError):
    """No reader recognises the file."""


def detect(raw: bytes) -> str:
    """The data type whose required columns the header carries (JSON means a registry export)."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return registry.DATA_TYPE
    try:
        text, _, _ = decode(raw[:65536])
    except FileError as exc:
        raise UnknownFileType(str(exc)) from None
    for data_type, columns in _COLUMNS.items():
        errors: list[LineError] = []
        for _ in read_csv(text, columns, "", errors):
            break
        if not any(e.line_no == 0 or "appears more than once" in e.reason for e in errors):
            return data_type
    raise UnknownFileType("the header matches none of the known sources")


def parse_bytes(raw: bytes, file: str, *, hmac_key: bytes | None = None, data_type: str | None = None) -> ParseResult:
    """Read a file's bytes with the reader for ``data_type`` (detected when not given)."""
    kind = data_type or detect(raw)
    if kind not in READERS:
        raise UnknownFileType(f"no reader for data type {kind!r}")
    return READERS[kind](raw, file, hmac_key=hmac_key)


def parse_file(path: str | Path, *, hmac_key: bytes | None = None, data_type: str | None = None) -> ParseResult:
    """Read a file from disk; errors name it by its file name."""
    path = Path(path)
    return parse_bytes(path.read_bytes(), path.name, hmac_key=hmac_key, data_type=data_type)


"""Enterprise registry exports from market regulation (source MARKET, data type ENTERPRISE_REGISTRY).

CSV header (canonical names; Chinese aliases accepted, any order)::

    uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,
    registered_district,established,shareholders,officers,phone,controller

* ``uscc`` 统一社会信用代码 — validated with its check character;
* ``registered_capital_yuan`` 注册资本(元), at most 2 decimals — or instead ``registered_capital_wan``
  注册资本(万元), at most 6 decimals; stored as fen;
* ``status`` 登记状态: active/存续/在业, abnormal/经营异常, deregistered/注销, revoked/吊销,
  dishonest/失信 (see :class:`oracle.facts.EnterpriseStatus`);
* ``registered_district`` 登记区划: 6-digit division code; ``established`` 成立日期: a date;
* ``shareholders`` 股东 and ``officers`` 主要人员 (optional): entries separated by ``;``, each
  ``name|id_number`` or ``name|id_number|role`` (ID number or, for a corporate shareholder, its USCC;
  may be left empty, then the name is hashed; the role is not kept);
  ``controller`` 实际控制人 (optional): one such entry; ``phone`` 联系电话 (optional);
  ``relatives`` 近亲属 (optional): close relatives of the shareholders and officers, entries as above
  (REV2 matches them against reviewers' declared identities).
  These are replaced by keyed hashes (:mod:`oracle.keyed`) here and never kept in clear.

JSON: a list of objects, or ``{"enterprises": [...]}``, with the same keys; parties may be given
as ``{"name": ..., "id_number": ...}`` objects or ``"name|id"`` strings; numbers are read exactly.
A JSON record's line number is its 1-based position in the list.
"""

from __future__ import annotations

import json
import unicodedata
from decimal import Decimal
from typing import Any

from oracle.adapters.base import (Column, FieldError, LineError, ParseResult, Row, collect, digest, normalise_header,
                                  parse_choice, parse_date, parse_text, parse_uscc, parse_wan, parse_yuan,
                                  read_csv, read_text)
from oracle.facts import EnterpriseRegistry, EnterpriseStatus
from oracle.keyed import party_hash, phone_hash

DATA_TYPE = EnterpriseRegistry.DATA_TYPE

COLUMNS = [
    Column("uscc", ("统一社会信用代码", "社会信用代码", "credit_code")),
    Column("name", ("企业名称", "名称", "enterprise_name")),
    Column("legal_representative", ("法定代表人", "法定代表人姓名", "legal_person")),
    Column("registered_capital_yuan", ("注册资本(元)", "registered_capital"), required=False),
    Column("registered_capital_wan", ("注册资本(万元)",), required=False),
    Column("address", ("住所", "地址", "注册地址")),
    Column("business_scope", ("经营范围",)),
    Column("status", ("登记状态", "经营状态", "状态")),
    Column("registered_district", ("登记区划", "区划代码", "行政区划代码")),
    Column("established", ("成立日期", "established_on")),
    Column("shareholders", ("股东", "股东信息"), required=False),
    Column("officers", ("主要人员", "高管"), required=False),
    Column("phone", ("联系电话", "电话"), required=False),
    Column("controller", ("实际控制人",), required=False),
    Column("relatives", ("近亲属", "关联自然人"), required=False),
]

STATUS_ALIASES = {
    "active": "active", "存续": "active", "在业": "active", "开业": "active", "正常": "active",
    "存续(在营、开业、在册)": "active",
    "abnormal": "abnormal", "经营异常": "abnormal", "列入经营异常名录": "abnormal",
    "deregistered": "deregistered", "注销": "deregistered", "已注销": "deregistered",
    "revoked": "revoked", "吊销": "revoked", "已吊销": "revoked", "吊销,未注销": "revoked",
    "dishonest": "dishonest", "失信": "dishonest", "严重违法失信": "dishonest",
}
parse_status = parse_choice(STATUS_ALIASES, "status")


def _district(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if len(text) != 6 or not text.isdigit():
        raise FieldError(f"{value!r} is not a 6-digit division code")
    return text


def _split_party(entry: Any) -> tuple[str, str]:
    if isinstance(entry, dict):
        return str(entry.get("name") or "").strip(), str(entry.get("id_number") or "").strip()
    if not isinstance(entry, str):
        raise FieldError(f"a party must be text or an object, got {type(entry).__name__}")
    name, _, ident = unicodedata.normalize("NFKC", entry).partition("|")
    return name.strip(), ident.split("|")[0].strip()


def _party(hmac_key: bytes, entry: Any) -> bytes:
    name, ident = _split_party(entry)
    if not name and not ident:
        raise FieldError("a party needs a name or an identifier")
    return party_hash(hmac_key, name, ident or None)


def _parties(hmac_key: bytes) -> Any:
    def parse(value: object) -> tuple[bytes, ...]:
        if isinstance(value, list):
            entries = value
        else:
            entries = [e for e in unicodedata.normalize("NFKC", str(value)).split(";") if e.strip()]
        return tuple(_party(hmac_key, e) for e in entries)
    return parse


def build(row: Row, hmac_key: bytes) -> EnterpriseRegistry | None:
    """One registry record → fact (None when a field was rejected; the row holds the reasons)."""
    uscc = row.get("uscc", parse_uscc)
    values = {name: row.get(name, parse_text) for name in ("name", "legal_representative", "address", "business_scope")}
    if row.raw("registered_capital_yuan") not in (None, ""):
        capital = row.get("registered_capital_yuan", parse_yuan)
    elif row.raw("registered_capital_wan") not in (None, ""):
        capital = row.get("registered_capital_wan", parse_wan)
    else:
        capital = row.get("registered_capital_yuan", parse_yuan)  # records "missing required field"
    status = row.get("status", parse_status)
    district = row.get("registered_district", _district)
    established = row.get("established", parse_date)
    shareholders = row.get("shareholders", _parties(hmac_key), required=False) or ()
    officers = row.get("officers", _parties(hmac_key), required=False) or ()
    phone = row.get("phone", lambda v: phone_hash(hmac_key, str(v)), required=False)
    controller = row.get("controller", lambda v: _party(hmac_key, v), required=False)
    relatives = row.get("relatives", _parties(hmac_key), required=False) or ()
    if row.problems:
        return None
    return EnterpriseRegistry(uscc=uscc, registered_capital=capital, status=EnterpriseStatus(status),
                              registered_district=district, established=established, shareholders=shareholders,
                              officers=officers, phone_hash=phone, controller_hash=controller, relatives=relatives,
                              **values)


def _require_key(hmac_key: bytes | None) -> bytes:
    if not hmac_key:
        raise ValueError("registry records hold keyed hashes: pass hmac_key")
    return hmac_key


def parse_csv(raw: bytes, file: str = "registry.csv", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a registry CSV export."""
    key = _require_key(hmac_key)
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    records = ((n, Row(values)) for n, values in read_csv(text, COLUMNS, file, errors))
    return collect(file, DATA_TYPE, raw, encoding, records, lambda row: build(row, key), errors)


def parse_json(raw: bytes, file: str = "registry.json", *, hmac_key: bytes | None = None) -> ParseResult:
    """Read a registry JSON export."""
    key = _require_key(hmac_key)
    errors: list[LineError] = []
    text, encoding = read_text(raw, file, errors)
    try:
        document = json.loads(text, parse_float=Decimal)
    except ValueError as exc:
        errors.append(LineError(file, 0, f"not valid JSON: {exc}"))
        return ParseResult(digest(raw), DATA_TYPE, errors=errors, file=file, encoding=encoding)
    items = document.get("enterprises") if isinstance(document, dict) else document
    if not isinstance(items, list):
        errors.append(LineError(file, 0, 'expected a list of enterprises or {"enterprises": [...]}'))
        return ParseResult(digest(raw), DATA_TYPE, errors=errors, file=file, encoding=encoding)
    aliases = {alias: col.name for col in COLUMNS for alias in col.names()}

    def records():
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                errors.append(LineError(file, number, "record is not an object"))
                continue
            yield number, Row({aliases.get(normalise_header(str(k)), str(k)): v for k, v in item.items()})

    return collect(file, DATA_TYPE, raw, encoding, records(), lambda row: build(row, key), errors)


def parse(raw: bytes, file: str = "registry", *, hmac_key: bytes | None = None) -> ParseResult:
    """CSV or JSON, decided by the first non-blank character ('[' or '{' means JSON)."""
    head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"[", b"{"):
        return parse_json(raw, file, hmac_key=hmac_key)
    return parse_csv(raw, file, hmac_key=hmac_key)

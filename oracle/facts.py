"""The facts the oracle attests, one data type per authoritative source department (一数一源).

==========================  ========  ========================  =========================================
data type (``dataType``)    source    key within a file         class
==========================  ========  ========================  =========================================
``ENTERPRISE_REGISTRY``     MARKET    uscc                      :class:`EnterpriseRegistry`
``TAX_SUMMARY``             TAX       uscc, year                :class:`TaxSummary`
``SOCIAL_INSURANCE``        HRSS      uscc, month               :class:`SocialInsurance`
``BANK_RETURN``             FINANCE   batch_id, line_no         :class:`BankReturn`
``UTILITY_USE``             DRC       uscc, year                :class:`UtilityUse`
``BANK_FLOW``               FINANCE   uscc, reference           :class:`BankFlow`
==========================  ========  ========================  =========================================

UTILITY_USE comes from the development and reform bureau (DRC): it runs the district's energy-use
monitoring (能耗双控 / 重点用能单位能耗在线监测) and receives the grid and water companies' per-account
consumption for every enterprise in the district, so it is the one department that holds an
enterprise's electricity and water use (the grid company itself is not an alliance member). BANK_FLOW
comes from FINANCE, which supervises the subsidy accounts and obtains the receiving accounts'
statements from the banks (资金流向监测): outgoing transfers after a subsidy was received, with the
counterparty's account and holder only as keyed hashes.

Conventions of the canonical value (:meth:`value_dict`), which is what gets hashed:

* money is an integer number of fen (分, 0.01 yuan) — never a float; source files carry yuan with
  at most two decimals and the adapters convert exactly;
* dates are ``YYYY-MM-DD``, months ``YYYY-MM``, instants ``YYYY-MM-DDTHH:MM:SS+08:00`` (China
  Standard Time, whatever offset the source used);
* keyed hashes (see :mod:`oracle.keyed`) are ``0x`` + 64 lower-case hex digits; lists of them
  (shareholders, officers) are sorted and duplicate-free, so the order in the export does not matter;
* no personal identifier or personal name of a shareholder, officer, controller or phone owner
  appears in clear. The legal representative's name and the payee name are kept: both are
  compared with what an applicant declares (APP2, PAY2) and neither goes on-chain (only the hash
  of the value does).

``canonical_json`` is JSON with sorted keys, no spaces, non-ASCII kept as UTF-8;
``value_hash`` is keccak256 of it; ``subject_hash`` is HMAC-SHA256(key, b"uscc:" + USCC), the same
bytes as the licence registry's ``holder_hash``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, ClassVar, Mapping, Union

from eth_utils import keccak

from oracle import uscc as uscc_codes
from oracle.keyed import subject_hash
from oracle.uscc import is_valid as is_valid_uscc
from oracle.uscc import validate as validate_uscc

__all__ = [
    "CST", "EnterpriseStatus", "PayStatus", "TAX_CREDIT_RATINGS", "EnterpriseRegistry", "TaxSummary",
    "SocialInsurance", "BankReturn", "UtilityUse", "BankFlow", "FlowKind", "Fact", "FACT_TYPES", "DATA_TYPE_SOURCES", "canonical_json",
    "value_hash", "subject_hash", "data_type_bytes32", "hex32", "validate_uscc", "is_valid_uscc",
]

CST = timezone(timedelta(hours=8), "CST")
TAX_CREDIT_RATINGS = ("A", "B", "M", "C", "D")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_DISTRICT = re.compile(r"^\d{6}$")


class EnterpriseStatus(StrEnum):
    """Registry status. When several apply the export states the gravest (revoked > deregistered >
    dishonest > abnormal > active)."""

    ACTIVE = "active"  # 存续 / 在业
    ABNORMAL = "abnormal"  # 列入经营异常名录
    DEREGISTERED = "deregistered"  # 注销
    REVOKED = "revoked"  # 吊销营业执照
    DISHONEST = "dishonest"  # 列入严重违法失信名单


class PayStatus(StrEnum):
    """Outcome of one bank payout line."""

    PAID = "paid"
    FAILED = "failed"


def hex32(value: bytes) -> str:
    """``0x`` + 64 lower-case hex digits."""
    return "0x" + bytes(value).hex()


def data_type_bytes32(code: str) -> bytes:
    """A data-type code as the contracts' bytes32: ASCII, right-padded with zero bytes."""
    raw = code.encode("ascii")
    if not raw or len(raw) > 32:
        raise ValueError(f"data type {code!r} must be 1 to 32 ASCII characters")
    return raw.ljust(32, b"\0")


def _need(condition: bool, message: str) -> None:
    if not condition:
        raise ValueError(message)


def _check_uscc(value: str) -> None:
    _need(isinstance(value, str), "uscc must be a string")
    _need(uscc_codes.validate(value) == value, "uscc must be normalised (upper case, no spaces)")


def _check_fen(name: str, value: int, *, positive: bool = False) -> None:
    _need(isinstance(value, int) and not isinstance(value, bool), f"{name} must be an integer number of fen")
    _need(value > 0 if positive else value >= 0, f"{name} must be {'positive' if positive else 'non-negative'}")


def _check_text(name: str, value: str, *, required: bool = True) -> None:
    _need(isinstance(value, str), f"{name} must be text")
    _need(value == value.strip(), f"{name} must not have surrounding whitespace")
    if required:
        _need(bool(value), f"{name} is required")


def _check_hash(name: str, value: bytes | None, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    _need(isinstance(value, bytes) and len(value) == 32, f"{name} must be a 32-byte keyed hash")


@dataclass(frozen=True)
class EnterpriseRegistry:
    """An enterprise's entry in the market-regulation registry (市场主体登记)."""

    DATA_TYPE: ClassVar[str] = "ENTERPRISE_REGISTRY"
    SOURCE: ClassVar[str] = "MARKET"

    uscc: str
    name: str
    legal_representative: str
    registered_capital: int  # fen
    address: str
    business_scope: str
    status: EnterpriseStatus
    registered_district: str  # 6-digit administrative division code (GB/T 2260) of the registering district
    established: date
    shareholders: tuple[bytes, ...] = ()  # keyed party hashes, sorted, unique
    officers: tuple[bytes, ...] = ()  # keyed party hashes, sorted, unique
    phone_hash: bytes | None = None
    controller_hash: bytes | None = None  # actual controller (实际控制人)
    relatives: tuple[bytes, ...] = ()  # close relatives (近亲属) of shareholders / officers: keyed party hashes

    def __post_init__(self) -> None:
        _check_uscc(self.uscc)
        for name in ("name", "legal_representative", "address", "business_scope"):
            _check_text(name, getattr(self, name))
        _check_fen("registered_capital", self.registered_capital)
        object.__setattr__(self, "status", EnterpriseStatus(self.status))
        _need(isinstance(self.registered_district, str) and bool(_DISTRICT.match(self.registered_district)),
              "registered_district must be a 6-digit division code")
        _need(isinstance(self.established, date) and not isinstance(self.established, datetime),
              "established must be a date")
        for name in ("shareholders", "officers", "relatives"):
            items = tuple(getattr(self, name))
            for item in items:
                _check_hash(name, item)
            object.__setattr__(self, name, tuple(sorted(set(items))))
        _check_hash("phone_hash", self.phone_hash, optional=True)
        _check_hash("controller_hash", self.controller_hash, optional=True)

    def key(self) -> tuple[str, ...]:
        """The record's key within one export."""
        return (self.uscc,)

    def value_dict(self) -> dict[str, Any]:
        """The canonical value."""
        return {
            "uscc": self.uscc,
            "name": self.name,
            "legal_representative": self.legal_representative,
            "registered_capital": self.registered_capital,
            "address": self.address,
            "business_scope": self.business_scope,
            "status": self.status.value,
            "registered_district": self.registered_district,
            "established": self.established.isoformat(),
            "shareholders": [hex32(h) for h in self.shareholders],
            "officers": [hex32(h) for h in self.officers],
            "phone_hash": hex32(self.phone_hash) if self.phone_hash else None,
            "controller_hash": hex32(self.controller_hash) if self.controller_hash else None,
            # only when the export names any: older facts keep their value hash
            **({"relatives": [hex32(h) for h in self.relatives]} if self.relatives else {}),
        }


@dataclass(frozen=True)
class TaxSummary:
    """One enterprise's tax year as the tax bureau reports it."""

    DATA_TYPE: ClassVar[str] = "TAX_SUMMARY"
    SOURCE: ClassVar[str] = "TAX"

    uscc: str
    year: int
    tax_paid: int  # fen
    tax_credit_rating: str  # A, B, M, C or D (纳税信用等级)
    revenue: int  # fen

    def __post_init__(self) -> None:
        _check_uscc(self.uscc)
        _need(isinstance(self.year, int) and 1990 <= self.year <= 2100, "year must be between 1990 and 2100")
        _check_fen("tax_paid", self.tax_paid)
        _check_fen("revenue", self.revenue)
        _need(self.tax_credit_rating in TAX_CREDIT_RATINGS,
              f"tax_credit_rating must be one of {'/'.join(TAX_CREDIT_RATINGS)}")

    def key(self) -> tuple[str, ...]:
        """The record's key within one export."""
        return (self.uscc, str(self.year))

    def value_dict(self) -> dict[str, Any]:
        """The canonical value."""
        return {"uscc": self.uscc, "year": self.year, "tax_paid": self.tax_paid,
                "tax_credit_rating": self.tax_credit_rating, "revenue": self.revenue}


@dataclass(frozen=True)
class SocialInsurance:
    """Number of insured employees of one enterprise in one month (社保参保人数)."""

    DATA_TYPE: ClassVar[str] = "SOCIAL_INSURANCE"
    SOURCE: ClassVar[str] = "HRSS"

    uscc: str
    month: str  # YYYY-MM
    insured_headcount: int

    def __post_init__(self) -> None:
        _check_uscc(self.uscc)
        _need(isinstance(self.month, str) and bool(_MONTH.match(self.month)), "month must be YYYY-MM")
        _need(isinstance(self.insured_headcount, int) and not isinstance(self.insured_headcount, bool)
              and self.insured_headcount >= 0, "insured_headcount must be a non-negative integer")

    def key(self) -> tuple[str, ...]:
        """The record's key within one export."""
        return (self.uscc, self.month)

    def value_dict(self) -> dict[str, Any]:
        """The canonical value."""
        return {"uscc": self.uscc, "month": self.month, "insured_headcount": self.insured_headcount}


@dataclass(frozen=True)
class BankReturn:
    """One line of a bank's return file (回盘) for a payout batch.

    ``line_no`` is the line number inside the payout batch (as finance exported it), not the line
    of the file. A paid line has ``paid_at`` and ``bank_reference``; a failed line has a
    ``failure_reason``.
    """

    DATA_TYPE: ClassVar[str] = "BANK_RETURN"
    SOURCE: ClassVar[str] = "FINANCE"

    batch_id: str
    line_no: int
    uscc: str
    payee_name: str
    account_hash: bytes
    amount: int  # fen
    status: PayStatus
    failure_reason: str = ""
    bank_reference: str = ""
    paid_at: datetime | None = None

    def __post_init__(self) -> None:
        _check_text("batch_id", self.batch_id)
        _need(isinstance(self.line_no, int) and not isinstance(self.line_no, bool) and self.line_no > 0,
              "line_no must be a positive integer")
        _check_uscc(self.uscc)
        _check_text("payee_name", self.payee_name)
        _check_hash("account_hash", self.account_hash)
        _check_fen("amount", self.amount, positive=True)
        object.__setattr__(self, "status", PayStatus(self.status))
        _check_text("failure_reason", self.failure_reason, required=False)
        _check_text("bank_reference", self.bank_reference, required=False)
        if self.paid_at is not None:
            _need(isinstance(self.paid_at, datetime) and self.paid_at.tzinfo is not None,
                  "paid_at must be a timezone-aware datetime")
            object.__setattr__(self, "paid_at", self.paid_at.astimezone(CST).replace(microsecond=0))
        if self.status is PayStatus.PAID:
            _need(self.paid_at is not None, "a paid line needs paid_at")
            _need(bool(self.bank_reference), "a paid line needs bank_reference")
            _need(not self.failure_reason, "a paid line cannot have a failure_reason")
        else:
            _need(bool(self.failure_reason), "a failed line needs failure_reason")

    def key(self) -> tuple[str, ...]:
        """The record's key within one export."""
        return (self.batch_id, str(self.line_no))

    def value_dict(self) -> dict[str, Any]:
        """The canonical value."""
        return {
            "batch_id": self.batch_id,
            "line_no": self.line_no,
            "uscc": self.uscc,
            "payee_name": self.payee_name,
            "account_hash": hex32(self.account_hash),
            "amount": self.amount,
            "status": self.status.value,
            "failure_reason": self.failure_reason,
            "bank_reference": self.bank_reference,
            "paid_at": self.paid_at.strftime("%Y-%m-%dT%H:%M:%S+08:00") if self.paid_at else None,
        }


class FlowKind(StrEnum):
    """How money left the receiving account."""

    CASH = "cash"  # 取现
    TRANSFER = "transfer"  # 转账


@dataclass(frozen=True)
class UtilityUse:
    """One enterprise's electricity and water use in one year (DRC's energy-use monitoring)."""

    DATA_TYPE: ClassVar[str] = "UTILITY_USE"
    SOURCE: ClassVar[str] = "DRC"

    uscc: str
    year: int
    electricity_kwh: int
    water_tonnes: int

    def __post_init__(self) -> None:
        _check_uscc(self.uscc)
        _need(isinstance(self.year, int) and 1990 <= self.year <= 2100, "year must be between 1990 and 2100")
        for name in ("electricity_kwh", "water_tonnes"):
            v = getattr(self, name)
            _need(isinstance(v, int) and not isinstance(v, bool) and v >= 0, f"{name} must be a non-negative integer")

    def key(self) -> tuple[str, ...]:
        """The record's key within one export."""
        return (self.uscc, str(self.year))

    def value_dict(self) -> dict[str, Any]:
        """The canonical value."""
        return {"uscc": self.uscc, "year": self.year, "electricity_kwh": self.electricity_kwh,
                "water_tonnes": self.water_tonnes}


@dataclass(frozen=True)
class BankFlow:
    """One outgoing movement of an enterprise's account (资金流向): a cash withdrawal or a transfer,
    the counterparty's account and its holder (ID number or USCC) only as keyed hashes."""

    DATA_TYPE: ClassVar[str] = "BANK_FLOW"
    SOURCE: ClassVar[str] = "FINANCE"

    uscc: str
    reference: str  # the bank's transaction reference
    account_hash: bytes  # the enterprise's account the money left
    value_date: date
    amount: int  # fen
    kind: FlowKind
    counterparty_hash: bytes | None = None  # keyed account hash of the receiving account (transfers)
    counterparty_holder_hash: bytes | None = None  # keyed party hash of its holder, when the bank knows it

    def __post_init__(self) -> None:
        _check_uscc(self.uscc)
        _check_text("reference", self.reference)
        _need(len(self.reference) <= 64, "reference must be at most 64 characters")
        _check_hash("account_hash", self.account_hash)
        _need(isinstance(self.value_date, date) and not isinstance(self.value_date, datetime),
              "value_date must be a date")
        _check_fen("amount", self.amount, positive=True)
        object.__setattr__(self, "kind", FlowKind(self.kind))
        _check_hash("counterparty_hash", self.counterparty_hash, optional=True)
        _check_hash("counterparty_holder_hash", self.counterparty_holder_hash, optional=True)
        if self.kind is FlowKind.TRANSFER:
            _need(self.counterparty_hash is not None, "a transfer needs the counterparty's account")

    def key(self) -> tuple[str, ...]:
        """The record's key within one export."""
        return (self.uscc, self.reference)

    def value_dict(self) -> dict[str, Any]:
        """The canonical value."""
        return {"uscc": self.uscc, "reference": self.reference, "account_hash": hex32(self.account_hash),
                "value_date": self.value_date.isoformat(), "amount": self.amount, "kind": self.kind.value,
                "counterparty_hash": hex32(self.counterparty_hash) if self.counterparty_hash else None,
                "counterparty_holder_hash": hex32(self.counterparty_holder_hash)
                if self.counterparty_holder_hash else None}


Fact = Union[EnterpriseRegistry, TaxSummary, SocialInsurance, BankReturn, UtilityUse, BankFlow]
FACT_TYPES: dict[str, type] = {cls.DATA_TYPE: cls
                               for cls in (EnterpriseRegistry, TaxSummary, SocialInsurance, BankReturn, UtilityUse,
                                           BankFlow)}
DATA_TYPE_SOURCES: dict[str, str] = {code: cls.SOURCE for code, cls in FACT_TYPES.items()}


def canonical_json(value: Fact | Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8 (non-ASCII kept). Accepts a fact or its value dict."""
    if hasattr(value, "value_dict"):
        value = value.value_dict()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def value_hash(value: Fact | Mapping[str, Any]) -> bytes:
    """keccak256(canonical_json(value)) — the attestation's ``valueHash``."""
    return keccak(canonical_json(value))

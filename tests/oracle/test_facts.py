"""Fact schemas: canonical JSON, value and subject hashes (golden values), keyed hashes, validation."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import FrozenInstanceError
from datetime import date, datetime, timedelta, timezone

import pytest
from eth_utils import keccak

from oracle.facts import (CST, DATA_TYPE_SOURCES, BankReturn, EnterpriseRegistry, EnterpriseStatus, SocialInsurance,
                          TaxSummary, canonical_json, data_type_bytes32, subject_hash, value_hash)
from oracle.keyed import account_hash, keyed_hash, party_hash, phone_hash

KEY = b"alliance-test-secret"
USCC = "91350100M000100Y43"


def tax() -> TaxSummary:
    return TaxSummary(uscc=USCC, year=2025, tax_paid=12345678, tax_credit_rating="A", revenue=987654321)


def registry() -> EnterpriseRegistry:
    person = party_hash(KEY, "张三", "350102198001010012")
    return EnterpriseRegistry(
        uscc=USCC, name="福州示例科技有限公司", legal_representative="张三", registered_capital=100_000_000,
        address="福州市鼓楼区五四路1号", business_scope="软件开发", status=EnterpriseStatus.ACTIVE,
        registered_district="350102", established=date(2015, 3, 1), shareholders=(person,),
        officers=(party_hash(KEY, "李四"),), phone_hash=phone_hash(KEY, "13800000000"), controller_hash=person)


def test_sources_are_one_department_each():
    assert DATA_TYPE_SOURCES == {"ENTERPRISE_REGISTRY": "MARKET", "TAX_SUMMARY": "TAX",
                                 "SOCIAL_INSURANCE": "HRSS", "BANK_RETURN": "FINANCE",
                                 "UTILITY_USE": "DRC", "BANK_FLOW": "FINANCE"}


def test_canonical_json_is_sorted_compact_utf8():
    assert canonical_json(tax()) == (b'{"revenue":987654321,"tax_credit_rating":"A","tax_paid":12345678,'
                                     b'"uscc":"91350100M000100Y43","year":2025}')
    assert canonical_json({"b": "福", "a": [1, None]}) == '{"a":[1,null],"b":"福"}'.encode("utf-8")


def test_value_hash_golden():
    assert value_hash(tax()).hex() == "2a21c60ffeee36876a6d345a8cc7863f391f586f7bfcad42fe72fccfb071a1cf"
    assert value_hash(tax()) == keccak(canonical_json(tax().value_dict()))
    assert value_hash(registry()).hex() == "3d7f8b478115dacacd6dbfe37d929965a1f865a08c630d80f6c04e822806ca8f"


def test_registry_value_has_no_personal_identifiers():
    text = canonical_json(registry()).decode("utf-8")
    assert "350102198001010012" not in text and "李四" not in text and "13800000000" not in text
    assert '"shareholders":["0xf1d4084c3e68dba824a8bdb52e4696e21150ef8b226bcb64d1784f7324645647"]' in text


def test_subject_hash_golden_and_same_bytes_as_licence_holder_hash():
    expected = hmac.new(KEY, b"uscc:" + USCC.encode(), hashlib.sha256).digest()
    assert subject_hash(KEY, USCC) == expected
    assert expected.hex() == "f88177e57e23a90ba58f968116aa61242705e4b362db7240983e246b5d25b06e"
    from gateway.services.licences import holder_hash
    assert holder_hash(KEY, USCC) == subject_hash(KEY, USCC)


def test_keyed_hashes_normalise_and_separate_kinds():
    assert phone_hash(KEY, "+86 138-0000-0000") == phone_hash(KEY, "13800000000")
    assert account_hash(KEY, "6222 0200 1234 5678") == account_hash(KEY, "6222020012345678")
    assert party_hash(KEY, "张 三", None) == party_hash(KEY, "张三")
    assert party_hash(KEY, "张三", "35010219800101001x") == party_hash(KEY, "张叁", "35010219800101001X")
    assert keyed_hash(KEY, "id", "X") != keyed_hash(KEY, "name", "X")
    assert party_hash(KEY, "某公司", USCC) != subject_hash(KEY, USCC)
    with pytest.raises(ValueError):
        keyed_hash(b"", "uscc", USCC)


def test_lists_of_hashes_are_sorted_and_unique():
    a, b = keyed_hash(KEY, "id", "1"), keyed_hash(KEY, "id", "2")
    one = EnterpriseRegistry(**{**registry().__dict__, "shareholders": (b, a, b)})
    two = EnterpriseRegistry(**{**registry().__dict__, "shareholders": (a, b)})
    assert one.shareholders == tuple(sorted((a, b))) and value_hash(one) == value_hash(two)


def test_facts_are_frozen():
    with pytest.raises(FrozenInstanceError):
        tax().year = 2024  # type: ignore[misc]


@pytest.mark.parametrize("change", [
    {"uscc": "91350100M000100Y44"}, {"year": 1899}, {"tax_paid": -1}, {"tax_paid": 1.5},
    {"tax_credit_rating": "E"}, {"revenue": True},
])
def test_tax_validation(change):
    with pytest.raises(ValueError):
        TaxSummary(**{**tax().__dict__, **change})


def test_registry_validation():
    base = registry().__dict__
    for change in ({"status": "closed"}, {"registered_district": "3501"}, {"name": " x"}, {"shareholders": (b"x",)},
                   {"established": datetime(2020, 1, 1)}, {"registered_capital": -5}):
        with pytest.raises(ValueError):
            EnterpriseRegistry(**{**base, **change})


def test_social_insurance_value():
    fact = SocialInsurance(uscc=USCC, month="2025-03", insured_headcount=0)
    assert fact.value_dict() == {"uscc": USCC, "month": "2025-03", "insured_headcount": 0}
    assert fact.key() == (USCC, "2025-03")
    with pytest.raises(ValueError):
        SocialInsurance(uscc=USCC, month="2025-3", insured_headcount=1)


def test_bank_return_value_and_rules():
    paid_at = datetime(2026, 6, 1, 2, 0, tzinfo=timezone.utc)
    fact = BankReturn(batch_id="PB1", line_no=3, uscc=USCC, payee_name="福州示例科技有限公司",
                      account_hash=account_hash(KEY, "6222020012345678"), amount=10_000_00, status="paid",
                      bank_reference="REF1", paid_at=paid_at)
    value = fact.value_dict()
    assert value["paid_at"] == "2026-06-01T10:00:00+08:00" and value["status"] == "paid" and value["amount"] == 1000000
    assert fact.paid_at.utcoffset() == timedelta(hours=8) and fact.paid_at.tzinfo == CST
    base = fact.__dict__
    for change in ({"paid_at": None}, {"bank_reference": ""}, {"failure_reason": "x"}, {"amount": 0},
                   {"status": "failed"}, {"line_no": 0}, {"paid_at": datetime(2026, 6, 1)}):
        with pytest.raises(ValueError):
            BankReturn(**{**base, **change})
    failed = BankReturn(**{**base, "status": "failed", "failure_reason": "账户已销户", "paid_at": None,
                           "bank_reference": ""})
    assert failed.value_dict()["paid_at"] is None


def test_data_type_bytes32():
    assert data_type_bytes32("TAX_SUMMARY") == b"TAX_SUMMARY" + b"\0" * 21
    with pytest.raises(ValueError):
        data_type_bytes32("X" * 33)
    from chain.roles import code_to_bytes32
    assert code_to_bytes32("ENTERPRISE_REGISTRY") == data_type_bytes32("ENTERPRISE_REGISTRY")

"""The two sources added for the audit points — UTILITY_USE (DRC's energy-use monitoring, APP4) and
BANK_FLOW (FINANCE, money leaving a recipient's account, USE2) — and registry relatives (REV2): readers,
header detection, bad lines, keyed hashes instead of account and ID numbers, and facts that stay
byte-identical for registry exports without relatives."""

from __future__ import annotations

from datetime import date

import pytest

from oracle.adapters import bank_flow, detect, parse_bytes, registry, utility
from oracle.facts import DATA_TYPE_SOURCES, BankFlow, FlowKind, UtilityUse, canonical_json, value_hash
from oracle.keyed import account_hash, party_hash

KEY = b"alliance-test-secret"
USCC = "91350100M000100Y43"
OTHER = "914403001922038216"


def test_utility_use_reader_with_aliases_and_bad_lines():
    raw = ("统一社会信用代码,年度,用电量(千瓦时),用水量(吨)\n"
           f"{USCC},2025年,120000,3400\n"
           f"{OTHER},2025,-5,10\n"  # negative use
           f"{USCC},2024,0,0\n").encode("utf-8")
    assert detect(raw) == "UTILITY_USE"
    result = parse_bytes(raw, "utility.csv")
    facts = [line.fact for line in result.good]
    assert facts == [UtilityUse(uscc=USCC, year=2025, electricity_kwh=120000, water_tonnes=3400),
                     UtilityUse(uscc=USCC, year=2024, electricity_kwh=0, water_tonnes=0)]
    assert [(e.line_no, e.field) for e in result.errors] == [(3, "electricity_kwh")]
    assert DATA_TYPE_SOURCES["UTILITY_USE"] == "DRC"
    assert canonical_json(facts[0]) == (f'{{"electricity_kwh":120000,"uscc":"{USCC}","water_tonnes":3400,'
                                        f'"year":2025}}').encode()


def test_a_tax_file_is_not_taken_for_utility_use():
    raw = f"uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan\n{USCC},2025,100.00,A,1000.00\n".encode()
    assert detect(raw) == "TAX_SUMMARY"


def test_bank_flow_reader_hashes_accounts_and_holders():
    raw = (bank_flow.COLUMNS[0].name + ",reference,account_no,value_date,amount_yuan,kind,counterparty_account,"
           "counterparty_id\n"
           f"{USCC},T001,6222 0000 1111,2026-03-05,5000.00,转账,6228-4800-0001,350102198001010011\n"
           f"{USCC},T002,6222 0000 1111,2026/03/06,200,现金,,\n"
           f"{USCC},T003,6222 0000 1111,2026-03-07,10.00,转账,,\n"  # a transfer with no counterparty
           f"{USCC},T004,6222 0000 1111,2026-03-08,0,cash,,\n").encode()  # nothing moved
    assert detect(raw) == "BANK_FLOW"
    result = parse_bytes(raw, "flows.csv", hmac_key=KEY)
    first, second = (line.fact for line in result.good)
    assert first == BankFlow(uscc=USCC, reference="T001", account_hash=account_hash(KEY, "622200001111"),
                             value_date=date(2026, 3, 5), amount=500000, kind=FlowKind.TRANSFER,
                             counterparty_hash=account_hash(KEY, "622848000001"),
                             counterparty_holder_hash=party_hash(KEY, "", "350102198001010011"))
    assert (second.kind, second.amount, second.counterparty_hash) == (FlowKind.CASH, 20000, None)
    assert sorted((e.line_no, e.field) for e in result.errors) == [(4, "counterparty_account"), (5, "amount_yuan")]
    text = canonical_json(first).decode()
    assert "6228" not in text and "350102198001010011" not in text and "6222" not in text
    assert DATA_TYPE_SOURCES["BANK_FLOW"] == "FINANCE"
    with pytest.raises(ValueError, match="hmac_key"):
        bank_flow.parse(raw, "flows.csv")


def test_bank_flow_fact_checks_its_own_invariants():
    with pytest.raises(ValueError, match="counterparty"):
        BankFlow(uscc=USCC, reference="X", account_hash=b"\1" * 32, value_date=date(2026, 1, 1), amount=1,
                 kind=FlowKind.TRANSFER)
    with pytest.raises(ValueError, match="positive"):
        BankFlow(uscc=USCC, reference="X", account_hash=b"\1" * 32, value_date=date(2026, 1, 1), amount=0,
                 kind=FlowKind.CASH)


def test_registry_relatives_are_hashed_and_old_exports_keep_their_value_hash():
    header = ("uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,"
              "registered_district,established,shareholders")
    base = f'{USCC},甲公司,张三,100,福州市,软件,active,350102,2015-06-01,"李四|350102197001010033"'
    without = registry.parse(f"{header}\n{base}\n".encode(), "r.csv", hmac_key=KEY).good[0].fact
    with_rel = registry.parse(f"{header},近亲属\n{base},王六|35010219850202002X;赵七\n".encode(), "r.csv",
                              hmac_key=KEY).good[0].fact
    assert without.relatives == () and "relatives" not in without.value_dict()
    assert set(with_rel.relatives) == {party_hash(KEY, "王六", "35010219850202002X"), party_hash(KEY, "赵七")}
    assert "35010219850202002X" not in canonical_json(with_rel).decode()
    assert value_hash(without) != value_hash(with_rel)
    # an export without the column hashes exactly as before the column existed
    legacy = dict(with_rel.value_dict())
    legacy.pop("relatives")
    assert value_hash(without) == value_hash(legacy)


def test_utility_reader_is_registered_for_its_data_type():
    raw = f"uscc,year,electricity_kwh,water_tonnes\n{USCC},2025,1,1\n".encode()
    assert parse_bytes(raw, "u.csv", data_type="UTILITY_USE").good[0].fact.electricity_kwh == 1
    assert utility.DATA_TYPE == "UTILITY_USE" and bank_flow.DATA_TYPE == "BANK_FLOW"

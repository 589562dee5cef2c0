"""Source readers on generated district files (with broken lines), encodings, header variants,
malformed input, and idempotency."""

from __future__ import annotations

import codecs
import json
from collections import defaultdict

import pytest

from oracle.adapters import UnknownFileType, bank_return, detect, parse_bytes, parse_file, registry, tax
from oracle.adapters.base import FieldError, parse_date, parse_instant, parse_month, parse_yuan
from oracle.facts import BankReturn, EnterpriseStatus, value_hash
from oracle.keyed import account_hash, phone_hash

KEY = b"alliance-test-secret"
USCC = "91350100M000100Y43"
OTHER = "914403001922038216"

REASONS = {
    "wrong_column_count": "columns, got",
    "bad_check_digit": "check character",
    "bad_number": "not a",
    "unknown_code": "unknown",
    "bad_date": "is not a",
    "duplicate_key": "duplicate key",
    "missing_required_field": "missing required field",
}
CSV_FILES = ["registry.csv", "tax.csv", "social_insurance.csv", "bank_return.csv"]


def expected_good(sample, file: str) -> int:
    return {"registry.csv": len(sample.firms), "registry.json": len(sample.firms),
            "tax.csv": sum(len(f.tax) for f in sample.firms),
            "social_insurance.csv": sum(len(f.headcount) for f in sample.firms),
            "bank_return.csv": len(sample.payout)}[file]


@pytest.fixture(scope="module")
def parsed(sample_dir):
    return {name: parse_file(sample_dir / name, hmac_key=KEY) for name in CSV_FILES + ["registry.json"]}


@pytest.mark.parametrize("file", CSV_FILES)
def test_broken_lines_reported_and_good_lines_all_parsed(parsed, truth, sample, file):
    result = parsed[file]
    broken = {b["line_no"]: b["kind"] for b in truth["broken_lines"] if b["file"] == file}
    assert len(broken) == 7
    assert result.error_lines == sorted(broken)
    for error in result.errors:
        assert error.file == file
        assert REASONS[broken[error.line_no]] in error.reason, (error, broken[error.line_no])
    assert len(result.good) == expected_good(sample, file)
    assert result.encoding == "utf-8-sig"


def test_every_broken_kind_is_exercised(truth):
    kinds = defaultdict(set)
    for b in truth["broken_lines"]:
        kinds[b["file"]].add(b["kind"])
    assert kinds["registry.csv"] == set(REASONS)
    assert kinds["bank_return.csv"] == set(REASONS)
    assert kinds["tax.csv"] == set(REASONS) - {"bad_date"}
    assert kinds["social_insurance.csv"] == set(REASONS) - {"unknown_code"}


def test_detected_types(parsed, sample_dir):
    assert {name: r.data_type for name, r in parsed.items()} == {
        "registry.csv": "ENTERPRISE_REGISTRY", "registry.json": "ENTERPRISE_REGISTRY", "tax.csv": "TAX_SUMMARY",
        "social_insurance.csv": "SOCIAL_INSURANCE", "bank_return.csv": "BANK_RETURN"}
    with pytest.raises(UnknownFileType):
        detect((sample_dir / "payout_batch.csv").read_bytes())
    with pytest.raises(UnknownFileType):
        parse_bytes(b"a,b\n1,2\n", "x.csv")


def test_registry_json_and_csv_give_the_same_facts(parsed, sample):
    csv_facts = {f.uscc: f for f in parsed["registry.csv"].facts}
    json_facts = {f.uscc: f for f in parsed["registry.json"].facts}
    assert not parsed["registry.json"].errors
    assert set(json_facts) == {f.uscc for f in sample.firms} == set(csv_facts)
    assert all(value_hash(json_facts[u]) == value_hash(csv_facts[u]) for u in json_facts)


def test_registry_values_match_the_generated_firms(parsed, sample):
    facts = {f.uscc: f for f in parsed["registry.csv"].facts}
    for firm in sample.firms:
        fact = facts[firm.uscc]
        assert fact.name == firm.name and fact.registered_capital == firm.capital
        assert fact.status == EnterpriseStatus(firm.status) and fact.established == firm.established
        assert fact.phone_hash == phone_hash(KEY, firm.phone)
        assert len(fact.shareholders) == len({p.id_number for p in firm.shareholders})


def test_idempotent(sample_dir):
    for name in CSV_FILES + ["registry.json"]:
        one = parse_file(sample_dir / name, hmac_key=KEY)
        two = parse_file(sample_dir / name, hmac_key=KEY)
        assert one == two
        assert [value_hash(f) for f in one.facts] == [value_hash(f) for f in two.facts]
        assert one.file_digest == two.file_digest and len(one.file_digest) == 64


@pytest.mark.parametrize("file", CSV_FILES)
def test_gb18030_and_bom_variants_give_the_same_facts(parsed, sample_dir, file):
    text = (sample_dir / file).read_bytes().decode("utf-8-sig")
    reference = [(g.line_no, value_hash(g.fact)) for g in parsed[file].good]
    gb = "utf-8" if text.isascii() else "gb18030"  # ASCII is read as UTF-8
    for encoding, raw in ((gb, text.encode("gb18030")), ("utf-8", text.encode("utf-8")),
                          ("utf-8-sig", codecs.BOM_UTF8 + text.encode("utf-8")), ("utf-16", text.encode("utf-16"))):
        result = parse_bytes(raw, file, hmac_key=KEY)
        assert result.encoding == encoding
        assert [(g.line_no, value_hash(g.fact)) for g in result.good] == reference
        assert result.error_lines == parsed[file].error_lines
    assert parse_bytes(text.encode("gb18030"), file, hmac_key=KEY).file_digest != parsed[file].file_digest


def test_chinese_headers_title_row_reordered_columns_wan_and_tabs():
    raw = ("福州市鼓楼区市场主体登记信息导出（2026年6月）\n"
           "企业名称\t统一社会信用代码\t法定代表人\t注册资本(万元)\t住所\t经营范围\t登记状态\t登记区划\t成立日期\t股东\t联系电话\n"
           f"福州示例科技有限公司\t{USCC}\t张三\t100.5\t福州市鼓楼区五四路1号\t软件开发\t存续\t350102\t2015年3月1日\t"
           "张三|350102198001010012；某公司|914403001922038216\t＋86 138 0000 0000\n").encode("gb18030")
    result = registry.parse(raw, "导出.csv", hmac_key=KEY)
    assert not result.errors and result.encoding == "gb18030"
    (line,) = result.good
    assert line.line_no == 3
    fact = line.fact
    assert fact.registered_capital == 100_500_000 and fact.status is EnterpriseStatus.ACTIVE
    assert str(fact.established) == "2015-03-01" and len(fact.shareholders) == 2
    assert fact.phone_hash == phone_hash(KEY, "13800000000") and fact.controller_hash is None


def test_undecodable_line_is_reported_and_others_parsed():
    header = "uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan\n".encode()
    raw = header + f"{USCC},2024,1.00,A,2.00\n".encode() + b"\xff\xfe\xfd,2025\n" + f"{OTHER},2025,3,B,4\n".encode()
    result = tax.parse(raw, "t.csv")
    assert [e.line_no for e in result.errors] == [3] and "neither UTF-8 nor GB18030" in result.errors[0].reason
    assert [g.line_no for g in result.good] == [2, 4]
    with_bom = tax.parse(codecs.BOM_UTF8 + raw, "t.csv")
    assert with_bom.error_lines == [3] and "not valid UTF-8" in with_bom.errors[0].reason


def test_lines_from_both_encodings_in_one_file():
    header = "统一社会信用代码,所属年度,实缴税额(元),纳税信用等级,营业收入(元)\n".encode("gb18030")
    raw = header + f"{USCC},2024年,1.00,A级,2.00\n".encode() + f"{OTHER},2025,3,B,4\n".encode("gb18030")
    result = tax.parse(raw, "t.csv")
    assert not result.errors and result.encoding == "utf-8+gb18030" and len(result.good) == 2
    assert result.good[0].fact.year == 2024 and result.good[0].fact.tax_credit_rating == "A"


def test_quoting_multiline_and_unterminated():
    header = ("uscc,name,legal_representative,registered_capital_yuan,address,business_scope,status,"
              "registered_district,established\n")
    good = f'{USCC},"福州示例科技有限公司","张三",100,"五四路1号","软件开发,\n技术咨询",active,350102,2015-03-01\n'
    bad = f'{OTHER},"未闭合的引号,张三,100,x,y,active,350102,2015-03-01\n'
    third = f'{OTHER},另一家公司,李四,"1,000.50",x,y,注销,350102,20150301\n'
    result = registry.parse((header + good + bad + third).encode(), "r.csv", hmac_key=KEY)
    assert [(e.line_no, e.reason) for e in result.errors] == [(4, "unterminated quoted field")]
    assert [g.line_no for g in result.good] == [2, 5]
    assert result.good[0].fact.business_scope == "软件开发,\n技术咨询"
    assert result.good[1].fact.registered_capital == 100050 and result.good[1].fact.status == "deregistered"


def test_missing_required_column_is_a_file_error():
    result = tax.parse(b"uscc,year,tax_paid_yuan,revenue_yuan\n91350100M000100Y43,2024,1,2\n", "t.csv")
    assert not result.good and [(e.line_no, e.file) for e in result.errors] == [(0, "t.csv")]
    assert "tax_credit_rating" in result.errors[0].reason


def test_several_field_errors_on_one_line_are_all_reported():
    raw = b"uscc,year,tax_paid_yuan,tax_credit_rating,revenue_yuan\n91350100M000100Y44,20x5,-1,E,\n"
    result = tax.parse(raw, "t.csv")
    assert {e.field for e in result.errors} == {"uscc", "year", "tax_paid_yuan", "tax_credit_rating", "revenue_yuan"}
    assert {e.line_no for e in result.errors} == {2}


def test_registry_json_errors():
    doc = [{"uscc": USCC, "name": "甲", "legal_representative": "张三", "registered_capital_yuan": 1000000.5,
            "address": "a", "business_scope": "b", "status": "active", "registered_district": 350102,
            "established": "2015-03-01", "shareholders": ["张三|350102198001010012"],
            "controller": {"name": "张三", "id_number": "350102198001010012"}},
           "not an object",
           {"uscc": OTHER, "name": "乙", "status": "closed"}]
    result = registry.parse(json.dumps(doc, ensure_ascii=False).encode(), "r.json", hmac_key=KEY)
    assert [g.line_no for g in result.good] == [1]
    assert result.good[0].fact.registered_capital == 100000050
    assert result.good[0].fact.shareholders == (result.good[0].fact.controller_hash,)
    assert {e.line_no for e in result.errors} == {2, 3}
    assert any("unknown status" in e.reason for e in result.errors)
    bad = registry.parse(b"[{", "r.json", hmac_key=KEY)
    assert not bad.good and bad.errors[0].line_no == 0


def test_hmac_key_required_where_identifiers_are_hashed():
    with pytest.raises(ValueError):
        registry.parse(b"[]", "r.json")
    with pytest.raises(ValueError):
        bank_return.parse(b"batch_id\n", "b.csv")


def test_bank_return_rules_and_account_hash_column():
    header = "batch_id,line_no,uscc,payee_name,account_hash,amount_yuan,status,failure_reason,bank_reference,paid_at\n"
    acct = "0x" + account_hash(KEY, "6222020012345678").hex()
    rows = [
        f"B1,1,{USCC},甲公司,{acct},100.00,成功,,R1,2026-06-01T10:00:00+08:00",
        f"B1,2,{USCC},甲公司,{acct},100.00,paid,余额不足,R2,2026-06-01 10:00:00",  # paid with a reason
        f"B1,3,{USCC},甲公司,{acct},100.00,失败,,,",  # failed without a reason
        f"B1,4,{USCC},甲公司,{acct},0,failed,账户冻结,,",  # zero amount
        f"B1,5,{USCC},甲公司,0x12,100,failed,账户冻结,,",  # bad hash
        f"B1,6,{USCC},甲公司,{acct},100,F,账户冻结,,",
    ]
    result = bank_return.parse((header + "\n".join(rows)).encode(), "b.csv", hmac_key=KEY)
    assert [g.line_no for g in result.good] == [2, 7]
    assert result.error_lines == [3, 4, 5, 6]
    first = result.good[0].fact
    assert isinstance(first, BankReturn) and first.account_hash.hex() == acct[2:] and first.amount == 10000
    assert first.value_dict()["paid_at"] == "2026-06-01T10:00:00+08:00"


def test_bank_return_writer_round_trips():
    raw = bank_return.format_csv([{"batch_id": "B1", "line_no": 1, "uscc": USCC, "payee_name": "甲公司",
                                   "account_no": "6222 0200 1234 5678", "amount_fen": 12345, "status": "paid",
                                   "bank_reference": "R1", "paid_at": parse_instant("2026-06-01 10:00:00")}])
    assert raw.startswith(codecs.BOM_UTF8) and b"123.45" in raw
    (line,) = parse_bytes(raw, "b.csv", hmac_key=KEY).good
    assert line.fact.account_hash == account_hash(KEY, "6222020012345678") and line.fact.amount == 12345


@pytest.mark.parametrize("text, fen", [("1,234.50", 123450), ("¥100元", 10000), ("０.０１", 1), ("7", 700),
                                       ("1.500", 150)])
def test_yuan_parsing(text, fen):
    assert parse_yuan(text) == fen


@pytest.mark.parametrize("text", ["1.234", "-1", "1e3", "", "abc", "1.2.3"])
def test_yuan_rejects(text):
    with pytest.raises(FieldError):
        parse_yuan(text)


def test_date_month_instant_forms():
    assert {str(parse_date(t)) for t in ("2020-01-31", "2020/1/31", "20200131", "2020年1月31日",
                                         "2020-01-31 00:00:00")} == {"2020-01-31"}
    assert {parse_month(t) for t in ("2025-03", "2025/3", "202503", "2025年3月")} == {"2025-03"}
    assert parse_instant("20260601100000") == parse_instant("2026-06-01T02:00:00Z")
    for bad in ("2025-13", "2025-00"):
        with pytest.raises(FieldError):
            parse_month(bad)

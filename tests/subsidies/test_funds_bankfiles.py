"""Bank batch files (docs/bank_files.md): finance's export and the bank's return, CSV and XLSX, with
control rows (batch id, line count, total in fen, control digest); every refusal names its code, and
for a line problem the file line and the field."""

from __future__ import annotations

import io
from datetime import datetime

import pytest

from gateway.subsidies import bankfiles as bf
from oracle.facts import CST
from oracle.keyed import account_hash
from oracle.uscc import complete

KEY = b"alliance test secret 32 bytes..."
U1, U2 = complete("91350102MA2Y00001"), complete("91350102MA2Y00002")
LINES = [bf.ExportLine(1, U1, "福州甲科技有限公司", "6222 0200 1234 5678", "工商银行", 12_345_67, "0x" + "11" * 32),
         bf.ExportLine(2, U2, "福州乙科技有限公司", "6228480012345678", "农业银行", 50_00, "0x" + "22" * 32)]
PAID_AT = datetime(2027, 1, 6, 10, 30, tzinfo=CST)


def returned(**changes) -> list[dict]:
    rows = [dict(line_no=1, uscc=U1, payee_name="福州甲科技有限公司", account_no="6222020012345678",
                 amount_fen=12_345_67, status="paid", bank_reference="ICBC20270106001", paid_at=PAID_AT),
            dict(line_no=2, uscc=U2, payee_name="福州乙科技有限公司", account_no="6228480012345678", amount_fen=50_00,
                 status="failed", failure_reason="账户已销户")]
    for n, fields in changes.items():
        rows[int(n[1:]) - 1].update(fields)
    return rows


def refused(raw: bytes, code: str) -> bf.BankFileError:
    with pytest.raises(bf.BankFileError) as caught:
        bf.read_return(raw, KEY, "return.csv")
    assert caught.value.code == code, (caught.value.code, str(caught.value))
    return caught.value


@pytest.mark.parametrize("file_format", bf.FORMATS)
def test_an_export_reads_back_with_its_control_rows(file_format: str) -> None:
    raw = bf.write_export("PB20270105-001", LINES, file_format)
    control, lines = bf.read_export(raw, f"batch.{file_format}")
    assert control == bf.Control("PAYOUT_EXPORT", "PB20270105-001", 2, 12_395_67,
                                 bf.export_digest("PB20270105-001", LINES))
    assert lines == LINES
    if file_format == "csv":
        text = raw.decode("utf-8-sig").splitlines()
        assert text[0] == "file_kind,batch_id,line_count,total_fen,control_digest"
        assert text[1].startswith("PAYOUT_EXPORT,PB20270105-001,2,1239567,")
        assert text[3].endswith(",1234567,12345.67," + "0x" + "11" * 32)  # fen and yuan, exact


@pytest.mark.parametrize("file_format", bf.FORMATS)
def test_a_return_file_reads_per_line_success_or_failure_with_the_bank_reference(file_format: str) -> None:
    raw = bf.write_return("PB20270105-001", returned(), file_format)
    rf = bf.read_return(raw, KEY, f"return.{file_format}")
    assert rf.file_format == file_format and rf.control.line_count == 2 and rf.control.total == 12_395_67
    (paid, failed) = rf.lines
    assert (paid.status.value, paid.amount, paid.bank_reference) == ("paid", 12_345_67, "ICBC20270106001")
    assert paid.account_hash == account_hash(KEY, "6222020012345678")  # the account only as a keyed hash
    assert (failed.status.value, failed.failure_reason, failed.bank_reference) == ("failed", "账户已销户", "")


def test_the_control_digest_catches_an_altered_line() -> None:
    raw = bf.write_return("PB1", returned()).decode("utf-8")
    tampered = raw.replace("ICBC20270106001", "ICBC20270106999")
    error = refused(tampered.encode(), "bank_file_digest_mismatch")
    assert (error.line, error.field) == (2, "control_digest")


def test_counts_and_totals_must_match_the_control_row() -> None:
    good = bf.write_return("PB1", returned()).decode("utf-8")
    head, values, rest = good.split("\r\n", 2)
    kind, batch, count, total, digest = values.split(",")
    error = refused("\r\n".join([head, f"{kind},{batch},3,{total},{digest}", rest]).encode(),
                    "bank_file_count_mismatch")
    assert error.field == "line_count"
    error = refused("\r\n".join([head, f"{kind},{batch},{count},{int(total) + 1},{digest}", rest]).encode(),
                    "bank_file_total_mismatch")
    assert error.field == "total_fen"


def test_a_bad_field_is_refused_naming_its_line_and_field() -> None:
    raw = bf.write_return("PB1", returned()).decode("utf-8")
    error = refused(raw.replace("12345.67", "12345.678").encode(), "bank_file_line_invalid")
    assert (error.line, error.field) == (4, "amount_yuan")
    assert "line 4" in str(error) and "amount_yuan" in str(error)
    error = refused(raw.replace(",paid,", ",maybe,").encode(), "bank_file_line_invalid")
    assert (error.line, error.field) == (4, "status")
    error = refused(raw.replace(U2, U2[:-1] + ("0" if U2[-1] != "0" else "1")).encode(), "bank_file_line_invalid")
    assert (error.line, error.field) == (5, "uscc")


def test_a_line_twice_is_refused() -> None:
    rows = returned()
    rows[1] = dict(rows[0])  # line 1 again
    error = refused(bf.write_return("PB1", rows), "bank_file_duplicate_line")
    assert error.line == 5


def test_a_line_of_another_batch_is_refused() -> None:
    raw = bf.write_return("PB1", returned()).decode("utf-8")
    lines = raw.split("\r\n")
    lines[4] = lines[4].replace("PB1,", "PB2,", 1)
    error = refused("\r\n".join(lines).encode(), "bank_file_batch_mismatch")
    assert (error.line, error.field) == (5, "batch_id")


def test_files_without_control_rows_or_of_the_wrong_kind_are_refused() -> None:
    plain = bf.write_return("PB1", returned()).decode("utf-8").split("\r\n", 2)[2]
    assert refused(plain.encode(), "bank_file_control_missing").line == 1
    export = bf.write_export("PB1", LINES)
    assert refused(export, "bank_file_wrong_kind").field == "file_kind"
    assert refused(b"", "bank_file_empty")
    assert refused(b"PK\x03\x04 not really a workbook", "bank_file_unreadable")


def test_an_xlsx_with_typed_number_cells_reads_exactly() -> None:
    """A bank's spreadsheet may hold numbers as numbers, not text: 12345.67 stays 1234567 fen."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(bf.write_return("PB1", returned(), "xlsx")))
    sheet = book.active
    sheet["F4"].value = 12345.67  # amount_yuan as a float cell
    sheet["B4"].value = 1  # line_no as an int cell
    out = io.BytesIO()
    book.save(out)
    rf = bf.read_return(out.getvalue(), KEY, "return.xlsx")
    assert rf.lines[0].amount == 12_345_67

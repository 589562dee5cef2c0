"""``alliance finance export|import`` and ``alliance trace policy|enterprise|payout`` on the embedded
anvil node of a real data directory (``alliance init``): a batch file written by the CLI, the bank's
return imported by the CLI in one transaction, the trace printed as JSON with its exit code, and
refusals as one-line errors with a non-zero exit."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from eth_utils import keccak

from chain.config import load_settings
from gateway import cli
from gateway.runtime import open_runtime
from gateway.subsidies import bankfiles as bf
from gateway.subsidies import notices, payouts
from oracle.keyed import subject_hash
from tests.conftest import FAST_SCRYPT, PASSPHRASE, free_port
from tests.subsidies.conftest import DAY, new_uscc
from tests.subsidies.funds_support import bank_return
from tests.chain.chain_support import anvil_available


pytestmark = [pytest.mark.anvil, pytest.mark.skipif(not anvil_available(), reason="anvil binary not installed")]


def _run(capsys: pytest.CaptureFixture, data: Path, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(["--data-dir", str(data), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_finance_files_and_trace_through_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture) -> None:
    monkeypatch.setenv("ALLIANCE_PASSPHRASE", PASSPHRASE)
    data = tmp_path / "data"
    code, _, err = _run(capsys, data, "init", "--node-port", str(free_port()), "--gateway-port", str(free_port()),
                        "--scrypt-n", str(FAST_SCRYPT))
    assert code == 0, err
    settings = load_settings(str(data))
    with open_runtime(settings, PASSPHRASE) as rt:  # starts the embedded node for the whole test
        rt.ledger.reconcile()
        rt.ledger.ensure_deployed()
        rt.ledger.bootstrap()
        ctx = rt.context(PASSPHRASE)
        ledger, keys, w3 = rt.ledger.contract("SubsidyLedger").functions, rt.ledger.keyring, rt.ledger.chain.w3
        send = lambda alias, fn: rt.ledger.txm.transact(keys.account(alias), fn, "cli test")  # noqa: E731
        now = w3.eth.get_block("latest")["timestamp"]
        pid = keccak(text=f"cli policy {uuid.uuid4()}")
        send("SCITECH-admin", ledger.publishPolicy(pid, (1_000_000_00, 300_000_00, now - 60, now + 365 * DAY, 60,
                                                         DAY, keccak(text="g"), keccak(text="c"), False)))
        uscc = new_uscc()
        applicant = subject_hash(ctx.hmac_key, uscc)
        send("APPROVAL-admin", ledger.submitApplication(pid, applicant, 88_000_00, keccak(text="m"), 0))
        app = ledger.applicationIdOf(pid, applicant).call()
        send("APPROVAL-admin", ledger.autoApprove(app, 88_000_00, keccak(text="rule")))
        payouts.confirm_payee(ctx, uscc, "6222 0000 1234 0001", "厦门测试有限公司", "建设银行", uscc)
        notice = notices.open_notice(ctx, keys.account("SCITECH-admin"), "SCITECH",
                                     notices.NoticeDraft("0x" + pid.hex(), ["0x" + app.hex()], "公示", 1))
        w3.provider.make_request("evm_increaseTime", [notice.ends_at - now + 3 * DAY])
        w3.provider.make_request("evm_mine", [])

        out_file = tmp_path / "batch.xlsx"
        code, out, err = _run(capsys, data, "finance", "export", "--format", "xlsx", "--out", str(out_file))
        assert code == 0, err
        exported = json.loads(out)
        control, lines = bf.read_export(out_file.read_bytes(), out_file.name)
        assert control.batch_id == exported["batch"]["batch_id"] and control.total == 88_000_00
        assert [x.account_no for x in lines] == ["6222000012340001"]

        returned = tmp_path / "return.csv"
        raw = bf.write_return(control.batch_id, bank_return(lines, control.batch_id))
        returned.write_bytes(raw.replace(b"88000.00", b"88000.01"))
        code, _, err = _run(capsys, data, "finance", "import", "--check", str(returned))
        assert code == 2 and err.strip().splitlines()[-1].startswith("alliance: error: bank_file_total_mismatch")
        returned.write_bytes(raw)
        code, out, err = _run(capsys, data, "finance", "import", str(returned))
        assert code == 0, err
        report = json.loads(out)
        assert report["recorded"] is True and report["paid_total_fen"] == 88_000_00 and report["tx_hash"]
        code, _, err = _run(capsys, data, "finance", "import", str(returned))
        assert code == 2 and "batch_already_imported" in err and "Traceback" not in err

        code, out, err = _run(capsys, data, "trace", "policy", "0x" + pid.hex())
        assert code == 0, err
        trace = json.loads(out)
        assert trace["reconciled"] is True
        assert {s["stage"]: s.get("events_fen") for s in trace["stages"]}["paid"] == 88_000_00
        code, out, err = _run(capsys, data, "trace", "payout", "0x" + app.hex())
        assert code == 0, err
        custody = json.loads(out)
        assert custody["consistent"] is True
        assert [c["signer_department"] for c in custody["custody"] if c["event"] == "PayoutBatchRecorded"] == [
            "FINANCE"]
        code, out, err = _run(capsys, data, "trace", "enterprise", uscc)
        assert code == 0 and json.loads(out)["totals"]["paid_fen"] == 88_000_00
        code, _, err = _run(capsys, data, "trace", "policy", "0x" + "00" * 31 + "01")
        assert code == 2 and err.strip().splitlines()[-1].startswith("alliance: error: unknown_policy")

"""The department-gateway flags of `alliance init`, `secret export` and `members export`, and their one-line
errors (in-process: none of these needs a node)."""

from __future__ import annotations

import json
import signal
import stat
from pathlib import Path

import pytest

from chain.keystore import unseal_secret
from gateway.cli import main
from tests.conftest import FAST_SCRYPT, PASSPHRASE

RPC = ("--rpc-url", "http://127.0.0.1:9", "--scrypt-n", str(FAST_SCRYPT))


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ALLIANCE_PASSPHRASE", PASSPHRASE)
    handler = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, handler)  # main() installs its own


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def one_line_error(capsys: pytest.CaptureFixture, pattern: str, *argv: str) -> None:
    import re

    code, _, err = run(capsys, *argv)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code != 0 and lines and lines[-1].startswith("alliance: error: "), err
    assert re.search(pattern, lines[-1]), lines[-1]


def test_department_init_secret_and_members_export(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    code, out, _ = run(capsys, "--data-dir", first, "init", "--department", "MARKET", "--department", "FINANCE", *RPC)
    assert code == 0 and "department MARKET, FINANCE, 2 encrypted keystores" in out
    assert sorted(p.name for p in (tmp_path / "first" / "keystore").glob("*.json")) == \
        ["FINANCE-admin.json", "MARKET-admin.json"]
    code, out, _ = run(capsys, "--data-dir", first, "members", "export")
    lines = [line for line in out.splitlines() if not line.startswith("#")]
    assert [line.split(" = ")[0] for line in lines] == ["FINANCE-admin", "MARKET-admin"]
    code, out, _ = run(capsys, "--data-dir", first, "members", "export", "--json")
    assert sorted(json.loads(out)) == ["FINANCE-admin", "MARKET-admin"]

    secret = tmp_path / "out" / "secret.hex"
    code, out, _ = run(capsys, "--data-dir", first, "secret", "export", "--out", str(secret))
    assert code == 0 and "secure channel" in out and stat.S_IMODE(secret.stat().st_mode) == 0o600
    one_line_error(capsys, r"exists; choose a new file", "--data-dir", first, "secret", "export", "--out", str(secret))
    code, _, _ = run(capsys, "--data-dir", second, "init", "--department", "SCITECH", "--alliance-secret-file",
                     str(secret), *RPC)
    assert code == 0
    keys = [unseal_secret(Path(d) / "keystore" / "alliance-hmac.sealed", PASSPHRASE) for d in (first, second)]
    assert keys[0] == keys[1] == bytes.fromhex(secret.read_text().strip())
    monkeypatch.setenv("ALLIANCE_PASSPHRASE", "not-the-passphrase")
    one_line_error(capsys, r"wrong passphrase", "--data-dir", first, "secret", "export", "--out",
                   str(tmp_path / "x.hex"))
    assert not (tmp_path / "x.hex").exists()


def test_init_refusals_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    d = str(tmp_path / "d")
    one_line_error(capsys, r"unknown department\(s\) \['NOPE'\]", "--data-dir", d, "init", "--department", "NOPE", *RPC)
    one_line_error(capsys, r"give its --rpc-url http", "--data-dir", d, "init", "--department", "MARKET")
    one_line_error(capsys, r"give its --rpc-url http", "--data-dir", d, "init", "--deployer-only")
    bad = tmp_path / "bad.hex"
    bad.write_text("not a secret\n")
    one_line_error(capsys, r"must hold 64 hexadecimal characters", "--data-dir", d, "init", "--department", "MARKET",
                   "--alliance-secret-file", str(bad), *RPC)
    one_line_error(capsys, r"no alliance secret file", "--data-dir", d, "init", "--alliance-secret-file",
                   str(tmp_path / "missing.hex"), *RPC)
    one_line_error(capsys, r"no deployment manifest at", "--data-dir", d, "init", "--department", "MARKET",
                   "--join", str(tmp_path / "missing.json"), *RPC)
    assert not (tmp_path / "d" / "config.toml").exists()  # nothing half-initialised
    with pytest.raises(SystemExit):  # argparse: one or the other
        main(["--data-dir", d, "init", "--department", "MARKET", "--deployer-only", *RPC])

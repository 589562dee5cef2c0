"""``alliance audit check-pack PACK.zip --rpc URL`` end to end on a real anvil node: a pack exported
from an alarm (anchored, held, cased) verifies with exit 0 against the node alone; the same pack
with one byte of a record changed fails with exit 1 and names the file; an unusable pack exits 2."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit import cases, evidence, routing
from audit import alerts as store
from audit.findings import Level
from chain.alliance import DEFAULT_ALLIANCE_FILE
from chain.config import NodeSettings, render_config
from chain.db import make_engine, session_factory
from chain.ledger import Ledger
from chain.node import AnvilNode
from gateway import cli
from gateway import db as gateway_db
from tests.audit.conftest import finding
from tests.conftest import PASSPHRASE, free_port, make_settings
from tests.chain.chain_support import anvil_available


pytestmark = [pytest.mark.anvil, pytest.mark.skipif(not anvil_available(), reason="anvil binary not installed")]
APP = "0x" + "5a" * 32


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, alliance_spec, keyring,
             keystore_dir) -> Iterator[tuple[Path, str]]:
    """(pack path, node URL): a case's evidence pack written by a gateway over anvil."""
    data = tmp_path_factory.mktemp("audit-anvil")
    url = f"sqlite:///{data / 'gateway.db'}"
    gateway_db.upgrade(url)
    node = AnvilNode(NodeSettings(port=free_port()), data / "node")
    node.start()
    engine = make_engine(url)
    try:
        settings = make_settings(data, url, rpc_url=node.url)
        ledger = Ledger.open(settings, alliance_spec, keyring, session_factory(engine))
        ledger.ensure_deployed()
        ledger.bootstrap()
        env = routing.AuditEnv(ledger.sessions, settings, routing.AuditChain.from_ledger(ledger))
        now = int(time.time())
        (aid,) = routing.process(env, [finding("APP6", Level.ALARM, APP, stage="apply", department="SCITECH",
                                               bank_account={"value": "shared by 3 applicants",
                                                             "source": {"department": "FINANCE"}})], now).new
        case = cases.of_alert(env.sessions, store.get(env.sessions, aid))
        pack = data / "case.zip"
        pack.write_bytes(evidence.build_pack(env, now, case_id=case.case_id))
        ledger.close()
        # the same data directory as `alliance init` leaves it, for the commands that read the gateway's store
        (data / "config.toml").write_text(render_config(settings), encoding="utf-8")
        shutil.copy(DEFAULT_ALLIANCE_FILE, data / "alliance.toml")
        shutil.copytree(keystore_dir, data / "keystore", dirs_exist_ok=True)
        yield pack, node.url
    finally:
        engine.dispose()
        node.stop()


def test_check_pack_against_the_node_alone(exported, capsys) -> None:
    pack, rpc = exported
    assert cli.main(["audit", "check-pack", str(pack), "--rpc", rpc]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VALID") and "hold" in out and "INVALID" not in out


def test_a_changed_byte_fails_with_exit_1_naming_the_file(exported, tmp_path, capsys) -> None:
    pack, rpc = exported
    with zipfile.ZipFile(pack) as zf:
        files = {i.filename: zf.read(i) for i in zf.infolist()}
    name = next(n for n in files if n.startswith("alerts/"))
    files[name] = files[name].replace(b"shared by 3", b"shared by 2", 1)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for n, d in files.items():
            zf.writestr(n, d)
    bad = tmp_path / "tampered.zip"
    bad.write_bytes(buffer.getvalue())
    assert cli.main(["audit", "check-pack", str(bad), "--rpc", rpc]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID") and f"INVALID  digest {name}: SHA-256 is" in out


def test_an_unusable_pack_exits_2(exported, tmp_path, capsys) -> None:
    _, rpc = exported
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK not really")
    assert cli.main(["audit", "check-pack", str(junk), "--rpc", rpc]) == 2
    assert "not a ZIP file" in capsys.readouterr().err


def test_the_gateways_store_exports_packs_and_figures_from_the_command_line(exported, tmp_path, capsys,
                                                                            monkeypatch) -> None:
    pack, rpc = exported
    data = pack.parent
    monkeypatch.setenv("ALLIANCE_PASSPHRASE", PASSPHRASE)
    assert cli.main(["--data-dir", str(data), "audit", "dashboard"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["counts"]["by_point"]["APP6"]["alarm"] == 1 and figures["amounts"]["held_applications"] == 1
    alert_id = store.alert_id_of("APP6", "application", APP)
    out = tmp_path / "alert.zip"
    assert cli.main(["--data-dir", str(data), "audit", "pack", "--alert", alert_id, "--out", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["audit", "check-pack", str(out), "--rpc", rpc, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "VALID"
    assert cli.main(["--data-dir", str(data), "audit", "tick", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"escalated": 0, "cases_escalated": 0}
    assert cli.main(["--data-dir", str(data), "audit", "pack", "--alert", "0x" + "0" * 64, "--out",
                     str(tmp_path / "none.zip")]) == 2
    assert "no alert" in capsys.readouterr().err

"""``alliance verify BUNDLE --rpc URL``: a proof bundle downloaded from the gateway is checked against a
node with no gateway or database, so it needs a real JSON-RPC node (one anvil). The command reads no
database, and the bundles themselves are built on both backends in test_verification and
test_documents, so this module runs its gateway on SQLite only (an anvil costs several seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from chain.alliance import AllianceSpec
from chain.config import NodeSettings
from chain.db import make_engine, session_factory
from chain.keystore import Keyring
from chain.ledger import Ledger
from chain.node import AnvilNode
from gateway import cli
from gateway import db as gateway_db
from gateway.app import create_app
from gateway.services import users
from tests.conftest import FAST_SCRYPT, free_port, make_context, make_settings
from tests.licences.helpers import PASSWORD, bearer, draft
from tests.chain.chain_support import anvil_available


pytestmark = [pytest.mark.anvil, pytest.mark.skipif(not anvil_available(), reason="anvil binary not installed")]


@dataclass
class AnvilGateway:
    client: TestClient
    market: dict[str, str]
    rpc_url: str
    batcher: object


@pytest.fixture(scope="module")
def anvil_gateway(tmp_path_factory: pytest.TempPathFactory, alliance_spec: AllianceSpec,
                  keyring: Keyring) -> Iterator[AnvilGateway]:
    data = tmp_path_factory.mktemp("offline")
    url = f"sqlite:///{data / 'gateway.db'}"
    gateway_db.upgrade(url)
    node = AnvilNode(NodeSettings(port=free_port()), data / "node")
    node.start()
    engine = make_engine(url)
    try:
        sessions = session_factory(engine)
        ledger = Ledger.open(make_settings(data, url, rpc_url=node.url), alliance_spec, keyring, sessions)
        ledger.ensure_deployed()
        ledger.bootstrap()
        ctx = make_context(ledger.settings, ledger)
        users.create_user(sessions, "market-admin", PASSWORD, kind="member",
                          member_address=keyring.account("MARKET-admin").address, scrypt_n=FAST_SCRYPT)
        with TestClient(create_app(ctx)) as client:
            login = client.post("/auth/login", json={"username": "market-admin", "password": PASSWORD})
            assert login.status_code == 200, login.text
            yield AnvilGateway(client=client, market=bearer(login.json()["token"]), rpc_url=node.url,
                               batcher=ctx.batcher)
        ledger.close()
    finally:
        engine.dispose()
        node.stop()


def _save(tmp_path: Path, name: str, body: dict) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    return str(path)


def test_licence_bundle_valid_then_revoked(anvil_gateway: AnvilGateway, tmp_path: Path,
                                           capsys: pytest.CaptureFixture) -> None:
    gw = anvil_gateway
    issued = gw.client.post("/licences", json=draft(), headers=gw.market)
    assert issued.status_code == 201, issued.text
    lid = issued.json()["licence"]["id"]
    bundle = gw.client.get(f"/v/{lid}/bundle")
    assert bundle.status_code == 200
    path = _save(tmp_path, "licence.bundle.json", bundle.json())

    assert cli.main(["verify", path, "--rpc", gw.rpc_url]) == 0
    out = capsys.readouterr().out
    assert out.startswith("VALID") and "LicenceStatus" in out

    revoked = gw.client.post(f"/licences/{lid}/revoke", json={"reason_code": 8}, headers=gw.market)
    assert revoked.status_code == 200, revoked.text
    assert cli.main(["verify", path, "--rpc", gw.rpc_url]) == 1
    out = capsys.readouterr().out
    assert out.startswith("INVALID")
    failed = [line for line in out.splitlines()[1:] if line.strip().startswith("INVALID ")]
    assert len(failed) == 1 and "LicenceStatus" in failed[0] and "revoked" in failed[0]

    assert cli.main(["verify", path, "--rpc", gw.rpc_url, "--json"]) == 1
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "INVALID" and result["failed"] == ["LicenceStatus"]

    # a bundle whose document was altered on the way fails offline as well
    tampered = bundle.json()
    salt, kind, _ = tampered["document"]["data"]["holderName"].split(":", 2)
    tampered["document"]["data"]["holderName"] = f"{salt}:{kind}:冒名企业"
    assert cli.main(["verify", _save(tmp_path, "tampered.json", tampered), "--rpc", gw.rpc_url]) == 1
    assert "OpenAttestationHash" in capsys.readouterr().out


def test_document_bundle(anvil_gateway: AnvilGateway, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gw = anvil_gateway
    content = "离线核验的文件 offline document\n".encode() * 50 + tmp_path.name.encode()
    upload = gw.client.post("/documents", files={"file": ("contract.pdf", content)}, headers=gw.market)
    assert upload.status_code == 201, upload.text
    gw.batcher.flush()
    bundle = gw.client.get(f"/documents/{upload.json()['sha256']}/bundle", headers=gw.market)
    assert bundle.status_code == 200, bundle.text
    path = _save(tmp_path, "document.bundle.json", bundle.json())
    assert cli.main(["verify", path, "--rpc", gw.rpc_url]) == 0
    assert capsys.readouterr().out.startswith("VALID")
    original = tmp_path / "contract.pdf"
    original.write_bytes(content)
    assert cli.main(["verify", path, "--rpc", gw.rpc_url, "--file", str(original)]) == 0
    capsys.readouterr()
    other = tmp_path / "other.pdf"
    other.write_bytes(content + b"changed")
    assert cli.main(["verify", path, "--rpc", gw.rpc_url, "--file", str(other)]) == 1
    assert "DocumentDigests" in capsys.readouterr().out


def test_bad_bundle_files(anvil_gateway: AnvilGateway, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gw = anvil_gateway
    not_json = tmp_path / "not-a-bundle.json"
    not_json.write_text("this is not JSON {", encoding="utf-8")
    assert cli.main(["verify", str(not_json), "--rpc", gw.rpc_url]) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert err.startswith("alliance: error:") and "not a JSON proof bundle" in err
    assert len(err.splitlines()) == 1 and captured.out == ""

    other = _save(tmp_path, "other.json", {"format": "something/else"})
    assert cli.main(["verify", other, "--rpc", gw.rpc_url]) == 2
    assert "not an Alliance Ledger proof bundle" in capsys.readouterr().err

    assert cli.main(["verify", str(tmp_path / "missing.json"), "--rpc", gw.rpc_url]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1

"""The stock OpenAttestation verifier (npm @govtechsg/oa-verify: its hash and Ethereum
document-store status checks) reads our LicenceRegistry on a real anvil node over plain
JSON-RPC: VALID for a good licence document (and for one with fields hidden), INVALID for a
tampered, suspended, revoked or superseded one."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from chain.config import NodeSettings
from chain.db import make_engine, session_factory
from chain.ledger import Ledger
from chain.node import AnvilNode
from gateway.documents import openattestation as oa
from gateway.services import licences
from tests.conftest import free_port, make_context, make_settings
from tests.documents.oa_bridge import run_node

pytestmark = pytest.mark.anvil


@pytest.fixture(scope="module")
def chain_ctx(tmp_path_factory: pytest.TempPathFactory, alliance_spec, keyring):
    tmp: Path = tmp_path_factory.mktemp("oa-verify")
    node = AnvilNode(NodeSettings(port=free_port()), tmp / "node")
    node.start()
    url = f"sqlite:///{tmp / 'gateway.db'}"
    from gateway import db

    db.upgrade(url)
    settings = make_settings(tmp, url, rpc_url=node.url)
    ledger = Ledger.open(settings, alliance_spec, keyring, session_factory(make_engine(url)))
    ledger.ensure_deployed()
    ledger.bootstrap()
    yield make_context(settings, ledger), node.url
    ledger.close()
    node.stop()


def _issue(ctx, keyring, number: str):
    draft = licences.LicenceDraft("BUSINESS_LICENCE", number, "91350100MA2Y0001XA", "福州测试科技有限公司",
                                  "2026-01-01", "2031-12-31", {"legalRepresentative": "张三", "registeredCapital": "500万元"})
    (row,) = licences.issue(ctx, keyring.account("MARKET-admin"), "MARKET", [draft])
    return row


def _oa_verify(doc: dict, rpc: str) -> dict:
    return run_node("verify.cjs", doc, "--rpc", rpc)


def _status(result: dict) -> dict[str, str]:
    return {f["name"]: f["status"] for f in result["fragments"]}


def test_stock_verifier_accepts_a_good_and_a_selectively_disclosed_licence(chain_ctx, keyring) -> None:
    ctx, rpc = chain_ctx
    row = _issue(ctx, keyring, "OA-GOOD-1")
    doc = licences.document(row)
    result = _oa_verify(doc, rpc)
    assert result["valid"] is True, result
    assert _status(result) == {"OpenAttestationHash": "VALID", "OpenAttestationEthereumDocumentStoreStatus": "VALID"}
    hidden = oa.obfuscate(doc, ["legalRepresentative", "holderName"])
    assert "张三" not in str(hidden["data"])
    assert _oa_verify(hidden, rpc)["valid"] is True


def test_stock_verifier_rejects_a_tampered_licence(chain_ctx, keyring) -> None:
    ctx, rpc = chain_ctx
    doc = copy.deepcopy(licences.document(_issue(ctx, keyring, "OA-TAMPER-1")))
    salt = doc["data"]["registeredCapital"].split(":", 2)
    doc["data"]["registeredCapital"] = f"{salt[0]}:{salt[1]}:5000万元"
    result = _oa_verify(doc, rpc)
    assert result["valid"] is False
    assert _status(result)["OpenAttestationHash"] == "INVALID"


@pytest.mark.parametrize("action", ["revoke", "suspend", "renew"])
def test_stock_verifier_rejects_a_licence_that_is_no_longer_valid(chain_ctx, keyring, action: str) -> None:
    ctx, rpc = chain_ctx
    row = _issue(ctx, keyring, f"OA-{action.upper()}-1")
    doc = licences.document(row)
    assert _oa_verify(doc, rpc)["valid"] is True
    account = keyring.account("MARKET-admin")
    if action == "revoke":
        licences.revoke(ctx, account, row.id, 3)
    elif action == "suspend":
        licences.suspend(ctx, account, row.id, 4)
    else:
        licences.renew(ctx, account, "MARKET", row.id, licences.LicenceDraft(
            "BUSINESS_LICENCE", f"OA-{action.upper()}-2", "91350100MA2Y0001XA", "福州测试科技有限公司", "2026-06-01"))
    result = _oa_verify(doc, rpc)
    assert result["valid"] is False, result
    assert _status(result)["OpenAttestationEthereumDocumentStoreStatus"] == "INVALID"
    assert _status(result)["OpenAttestationHash"] == "VALID"
    # our own verifier agrees, and says why
    ours = licences.verify_document(ctx, doc)
    assert ours["status"] == "INVALID" and ours["failed"] == ["LicenceStatus"]

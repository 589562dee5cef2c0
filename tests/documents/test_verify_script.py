"""Smoke test of scripts/oa/verify.cjs (oa-verify) against a local anvil node on a custom chain id.

A minimal DocumentStore-shaped contract (isIssued(bytes32) / isRevoked(bytes32)) is compiled with
the npm solc package and deployed; Python-wrapped documents are then checked by oa-verify through
a plain JSON-RPC URL. The end-to-end run against the product's own contracts lives elsewhere.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from gateway.documents.openattestation import obfuscate, wrap_documents
from tests.documents.oa_bridge import ROOT, run_node

pytestmark = pytest.mark.anvil

ANVIL = ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
CHAIN_ID = 20240
SOURCE = """// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;
contract MiniDocumentStore {
    mapping(bytes32 => bool) public isIssued;
    mapping(bytes32 => bool) public isRevoked;
    function issue(bytes32 root) external { isIssued[root] = true; }
    function revoke(bytes32 hash) external { isRevoked[hash] = true; }
}
"""
COMPILE_JS = """
const solc = require("solc");
const input = {language: "Solidity", sources: {"M.sol": {content: process.argv[1]}},
  settings: {evmVersion: "shanghai", outputSelection: {"*": {"*": ["evm.bytecode.object"]}}}};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
if (out.errors && out.errors.some(e => e.severity === "error")) {
  console.error(JSON.stringify(out.errors)); process.exit(1);
}
process.stdout.write(out.contracts["M.sol"].MiniDocumentStore.evm.bytecode.object);
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Rpc:
    """Just enough JSON-RPC for the smoke test (anvil's unlocked dev accounts sign)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session = requests.Session()
        self.account = ""

    def call(self, method: str, *params: Any) -> Any:
        reply = self.session.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)},
                                  timeout=10).json()
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def transact(self, tx: dict[str, str]) -> dict[str, Any]:
        tx_hash = self.call("eth_sendTransaction", {"from": self.account, **tx})
        deadline = time.monotonic() + 30  # automine answers at once, but a loaded machine may lag
        receipt = self.call("eth_getTransactionReceipt", tx_hash)
        while receipt is None and time.monotonic() < deadline:
            time.sleep(0.05)
            receipt = self.call("eth_getTransactionReceipt", tx_hash)
        assert receipt and receipt["status"] == "0x1", receipt
        return receipt


@pytest.fixture(scope="module")
def chain() -> Iterator[Rpc]:
    if not ANVIL.is_file():
        pytest.fail(f"anvil binary missing at {ANVIL}: run `make setup` (npm ci) first", pytrace=False)
    port = _free_port()
    proc = subprocess.Popen([str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--chain-id", str(CHAIN_ID),
                             "--accounts", "1", "--silent"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rpc = Rpc(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                rpc.account = rpc.call("eth_accounts")[0]
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("anvil did not start", pytrace=False)
                time.sleep(0.1)
        yield rpc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def store(chain: Rpc) -> str:
    bytecode = subprocess.run(["node", "-e", COMPILE_JS, SOURCE], capture_output=True, text=True, cwd=ROOT,
                              timeout=120, check=True).stdout
    return chain.transact({"data": "0x" + bytecode})["contractAddress"]


def _call_data(selector_sig: str, word: str) -> str:
    from gateway.documents.merkle import keccak256

    return "0x" + keccak256(selector_sig.encode())[:4].hex() + word


def _issuer(address: str) -> dict[str, Any]:
    return {"name": "市场监管局", "documentStore": address,
            "identityProof": {"type": "DNS-TXT", "location": "ledger.example.gov.cn"}}


def _statuses(result: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["status"] for f in result["fragments"]}


def test_oa_verify_with_custom_chain_rpc(chain: Rpc, store: str) -> None:
    assert int(chain.call("eth_chainId"), 16) == CHAIN_ID
    batch = wrap_documents([{"issuers": [_issuer(store)], "licenceNo": f"L-{i}", "holder": "示例企业"}
                            for i in range(3)])
    root = batch[0]["signature"]["merkleRoot"]
    other = wrap_documents([{"issuers": [_issuer(store)], "licenceNo": "never anchored"}])[0]

    chain.transact({"to": store, "data": _call_data("issue(bytes32)", root)})
    chain.transact({"to": store, "data": _call_data("revoke(bytes32)", batch[1]["signature"]["targetHash"])})

    tampered = json.loads(json.dumps(batch[2]))
    tampered["data"]["holder"] = tampered["data"]["holder"].replace("示例企业", "别的企业")
    docs = [batch[0], batch[1], obfuscate(batch[2], "holder"), other, tampered]
    results = run_node("verify.cjs", docs, "--rpc", chain.url)

    assert [r["valid"] for r in results] == [True, False, True, False, False]
    status = "OpenAttestationEthereumDocumentStoreStatus"
    assert _statuses(results[0]) == {"OpenAttestationHash": "VALID", status: "VALID"}
    assert _statuses(results[1])[status] == "INVALID"
    assert results[1]["fragments"][1]["reason"]["codeString"] == "DOCUMENT_REVOKED"
    assert results[3]["fragments"][1]["reason"]["codeString"] == "DOCUMENT_NOT_ISSUED"
    assert _statuses(results[4])["OpenAttestationHash"] == "INVALID"

    single = run_node("verify.cjs", batch[0], "--rpc", chain.url)
    assert single["valid"] is True and set(single) == {"valid", "fragments"}


def test_verify_script_reports_unreachable_node() -> None:
    doc = wrap_documents([{"issuers": [_issuer("0x9178F546D3FF57D7A6352bD61B80cCCD46199C2d")]}])[0]
    result = run_node("verify.cjs", doc, "--rpc", f"http://127.0.0.1:{_free_port()}", "--timeout-ms", "3000")
    assert result["valid"] is False
    assert _statuses(result)["OpenAttestationHash"] == "VALID"
    assert _statuses(result)["OpenAttestationEthereumDocumentStoreStatus"] == "ERROR"

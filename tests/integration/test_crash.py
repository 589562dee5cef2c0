"""Crash test: SIGKILL the embedded node in the middle of a stream of writes, lose or truncate its
state file, restart through the CLI, and find every acknowledged transaction on chain.

"Acknowledged" means the gateway answered 201 with a transaction hash and a block: the caller was
told the write is done. Writes answered otherwise (202 pending, 503 while the node restarts) are
not counted, though the journal delivers them too.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
import requests
from web3 import Web3

from chain import artifacts
from tests.integration.conftest import Product, login

pytestmark = [pytest.mark.anvil, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


class Writer:
    """Proposes SetThreshold changes as MARKET-admin from several threads; records what was acknowledged."""

    def __init__(self, product: Product, headers: dict[str, str], threads: int = 4):
        self.product = product
        self.headers = headers
        self.threads = threads
        self.acknowledged: list[dict] = []
        self.other: dict[str, int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _run(self) -> None:
        session = requests.Session()
        while not self._stop.is_set():
            try:
                r = session.post(self.product.url + "/alliance/proposals", headers=self.headers, timeout=30,
                                 json={"action": "SetThreshold", "params": {"threshold": 9}})
                key = str(r.status_code)
                if r.status_code == 201:
                    body = r.json()
                    with self._lock:
                        self.acknowledged.append({"tx_hash": body["tx_hash"], "id": body["proposal"]["id"]})
                    continue
            except requests.RequestException as exc:
                key = type(exc).__name__
            with self._lock:
                self.other[key] = self.other.get(key, 0) + 1
            time.sleep(0.05)

    def start(self) -> None:
        self._workers = [threading.Thread(target=self._run, daemon=True) for _ in range(self.threads)]
        for w in self._workers:
            w.start()

    def wait_for(self, count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count:
            assert time.monotonic() < deadline, f"only {len(self.acknowledged)} writes acknowledged; {self.other}"
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        for w in self._workers:
            w.join(60)


def _check_on_chain(product: Product, acknowledged: list[dict]) -> int:
    """Count acknowledged writes whose transaction is mined (status 1) and whose proposal exists."""
    w3 = Web3(Web3.HTTPProvider(product.rpc_url))
    manifest = json.loads((product.data_dir / "deployment.json").read_text())
    registry = w3.eth.contract(address=manifest["contracts"]["AllianceRegistry"]["address"],
                               abi=artifacts.load("AllianceRegistry").abi)
    found = 0
    for ack in acknowledged:
        receipt = w3.eth.get_transaction_receipt(ack["tx_hash"])
        proposal = registry.functions.getProposal(ack["id"]).call()
        if receipt["status"] == 1 and proposal[1] == 1:  # mined, proposal Open
            found += 1
    return found


def test_sigkill_and_lost_state_lose_no_acknowledged_write(product: Product) -> None:
    product.cli("users", "add", "market", "--member", "MARKET-admin")
    product.up()
    writer = Writer(product, login(product, "market"))
    writer.start()
    try:
        # 1. SIGKILL the node mid-stream: the supervisor inside `alliance up` restarts it from its last
        #    state dump and resubmits from the journal what the dump had lost, then writes resume.
        writer.wait_for(30)
        killed_at = len(writer.acknowledged)
        product.kill_node()
        writer.wait_for(killed_at + 30)
        # 2. SIGKILL the whole product and the node together, and truncate the node's state file.
        product.kill_node()
        product.stop(signal.SIGKILL)
    finally:
        writer.stop()
    acknowledged = list(writer.acknowledged)
    state = product.data_dir / "node" / "state.json"
    size = state.stat().st_size
    with open(state, "r+b") as fh:
        fh.truncate(size // 2)
    # 3. Restart through the CLI: the truncated file is moved aside, the chain is rebuilt from the journal.
    product.up()
    found_after_truncation = _check_on_chain(product, acknowledged)
    status = json.loads(product.cli("status", "--json").stdout)
    # 4. Lose the state file altogether (stop cleanly, delete it) and restart once more.
    product.stop()
    state.unlink()
    product.up()
    found_after_loss = _check_on_chain(product, acknowledged)
    reconcile = json.loads(product.cli("journal", "reconcile", "--json").stdout)
    moved_aside = [p.name for p in (product.data_dir / "node").glob("state.json.unreadable-*")]

    figures = {"acknowledged": len(acknowledged), "found_after_truncation": found_after_truncation,
               "found_after_state_loss": found_after_loss, "killed_after": killed_at,
               "not_acknowledged": writer.other, "state_files_moved_aside": len(moved_aside),
               "journal_after": reconcile}
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "crash-test.json").write_text(json.dumps(figures, indent=2))
    print("crash test:", json.dumps(figures))

    assert len(acknowledged) >= 60
    assert found_after_truncation == len(acknowledged)
    assert found_after_loss == len(acknowledged)
    assert moved_aside, "the truncated state file should have been moved aside"
    assert status["deployment_problems"] == []
    assert len(status["departments"]) == 14
    assert reconcile["failed"] == [] and reconcile["resubmitted"] == 0
    # proposal ids are the ones the callers were given: the rebuilt chain replayed the same order
    assert len({a["id"] for a in acknowledged}) == len(acknowledged)
    assert os.path.exists(product.data_dir / "node" / "state.json")

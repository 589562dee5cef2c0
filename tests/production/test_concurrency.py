"""Two gateway processes of one department sharing one PostgreSQL database, one node and one key.

Each "process" here is its own ``Ledger`` (own engine and connection pool, own node connection,
own transaction manager and batcher), as two `alliance up` processes would have; they meet only
in PostgreSQL and on the anvil node. What must hold:

(a) batchers sealing and anchoring side by side: every document in exactly one batch, every
    batch anchored exactly once (no duplicate anchor transaction, no root twice), proofs valid,
    the signer's journal nonces contiguous and all mined;
(b) transaction managers sending in parallel for one key: all mined, nonces contiguous, none twice.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_abi import encode
from sqlalchemy import func, select

from chain.alliance import AllianceSpec
from chain.config import NodeSettings
from chain.db import make_engine, session_factory, transaction
from chain.journal import MINED, REJECTED, JournalEntry
from chain.keystore import Keyring
from chain.ledger import Ledger
from chain.node import AnvilNode
from gateway import db as gateway_db
from gateway.context import department_signer
from gateway.documents.batcher import Batcher
from gateway.documents.vault import digests
from gateway.models import AnchorBatch, Document
from gateway.verification.documents import DocumentProof, verify_document
from tests.conftest import _fresh_pg_database, free_port, make_settings
from tests.chain.chain_support import anvil_available

pytestmark = [pytest.mark.postgres, pytest.mark.anvil, pytest.mark.slow]

SET_THRESHOLD = 7


@dataclass
class Shared:
    """One anvil node with the alliance deployed, one PostgreSQL database, the settings both processes read."""

    node: AnvilNode
    database_url: str
    data_dir: Path
    spec: AllianceSpec
    keyring: Keyring
    opened: list[tuple[Ledger, object]]

    def process(self) -> Ledger:
        """A new "gateway process": its own engine and pool, its own node connection and TxManager."""
        engine = make_engine(self.database_url)
        settings = make_settings(self.data_dir, self.database_url, rpc_url=self.node.url)
        ledger = Ledger.open(settings, self.spec, self.keyring, session_factory(engine))
        assert ledger.manifest is not None, "the deployment manifest was not attached"
        self.opened.append((ledger, engine))
        return ledger


@pytest.fixture
def shared(tmp_path: Path, pg_server: str, alliance_spec: AllianceSpec, keyring: Keyring) -> Iterator[Shared]:
    if not anvil_available():
        pytest.skip("anvil binary not installed (make setup)")
    url, drop = _fresh_pg_database(pg_server)
    node = AnvilNode(NodeSettings(port=free_port()), tmp_path / "node")
    env = Shared(node=node, database_url=url, data_dir=tmp_path / "data", spec=alliance_spec, keyring=keyring,
                 opened=[])
    try:
        gateway_db.upgrade(url)
        node.start()
        env.data_dir.mkdir()
        engine = make_engine(url)
        first = Ledger.open(make_settings(env.data_dir, url, rpc_url=node.url), alliance_spec, keyring,
                            session_factory(engine))
        env.opened.append((first, engine))
        first.ensure_deployed()  # deploy and bootstrap through a first process; it writes the manifest
        first.bootstrap()
        yield env
    finally:
        for ledger, engine in env.opened:
            ledger.close()
            engine.dispose()  # type: ignore[attr-defined]
        node.stop()
        drop()


def _add_documents(sessions, department: str, n: int, tag: str) -> None:
    with transaction(sessions) as s:
        for i in range(n):
            d = digests(f"{tag}-{department}-{i}-{os.urandom(8).hex()}".encode())
            s.add(Document(sha256=d.sha256, sm3=d.sm3, leaf=d.leaf, size=d.size, media_type="text/plain",
                           filename=None, department=department, uploaded_by="0x" + "00" * 20))


def _journal(sessions, account: str) -> list[JournalEntry]:
    with sessions() as s:
        return list(s.scalars(select(JournalEntry).where(JournalEntry.account == account).order_by(JournalEntry.nonce)))


def _assert_nonces_contiguous_and_mined(ledger: Ledger, account: str) -> list[JournalEntry]:
    rows = [r for r in _journal(ledger.sessions, account) if r.status != REJECTED]
    nonces = [r.nonce for r in rows]
    assert nonces == list(range(len(rows))), f"journal nonces of {account} not contiguous: {nonces}"
    assert Counter(r.status for r in rows) == {MINED: len(rows)}, Counter(r.status for r in rows)
    assert len({r.tx_hash for r in rows}) == len(rows)
    assert ledger.chain.w3.eth.get_transaction_count(account) == len(rows)
    return rows


@pytest.mark.parametrize("mining", ["automine", "block-period"])
def test_two_batchers_share_the_pending_documents(shared: Shared, mining: str) -> None:
    """With ``block-period`` the node mines every second as a QBFT network does, so a sent anchor
    transaction stays pending long enough for the other process to see its batch still sealed."""
    departments = ("MARKET", "APPROVAL")
    per_department, late = 240, 120
    ledgers = [shared.process(), shared.process()]
    if mining == "block-period":
        ledgers[0].chain.rpc("evm_setAutomine", [False])
        ledgers[0].chain.rpc("evm_setIntervalMining", [1])
    batch_size = 20 if mining == "automine" else 60
    batchers = [Batcher(ledger, lambda d, ledger=ledger: department_signer(ledger, d), batch_size=batch_size,
                        batch_seconds=0.2) for ledger in ledgers]
    for dept in departments:
        _add_documents(ledgers[0].sessions, dept, per_department, "early")
    errors: list[str] = []

    def producer(k: int) -> None:  # uploads keep arriving while both processes seal
        try:
            for j in range(late // 20):
                _add_documents(ledgers[k % 2].sessions, departments[k % 2], 10, f"late{k}-{j}")
                time.sleep(0.02)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"producer: {type(exc).__name__}: {exc}")

    def flusher(b: Batcher) -> None:  # besides each process's own loop, an eager flush from a request thread
        try:
            for _ in range(5):
                b.flush(force=True)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"flush: {type(exc).__name__}: {exc}")

    for b in batchers:
        b.start()
    threads = [threading.Thread(target=producer, args=(k,)) for k in range(4)]
    threads += [threading.Thread(target=flusher, args=(b,)) for b in batchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    total = len(departments) * per_department + 4 * (late // 20) * 10
    deadline = time.monotonic() + 120
    sessions = ledgers[0].sessions
    while time.monotonic() < deadline:
        with sessions() as s:
            pending = s.scalar(select(func.count()).select_from(Document).where(Document.batch_id.is_(None)))
            unconfirmed = s.scalar(select(func.count()).select_from(AnchorBatch).where(AnchorBatch.status != "confirmed"))
        if pending == 0 and unconfirmed == 0:
            break
        time.sleep(0.2)
    for b in batchers:
        b.stop()
    assert errors == []
    assert [b.last_error for b in batchers] == [None, None]

    with sessions() as s:
        docs = s.scalars(select(Document)).all()
        batches = {b.id: b for b in s.scalars(select(AnchorBatch))}
    assert len(docs) == total
    assert all(d.batch_id is not None for d in docs), "a document was left out of every batch"
    per_batch = Counter(d.batch_id for d in docs)
    assert {i: b.count for i, b in batches.items()} == dict(per_batch), "a batch's count disagrees with its documents"
    assert {b.status for b in batches.values()} == {"confirmed"}
    assert all(b.tx_hash and b.block_number for b in batches.values())
    assert len({b.root for b in batches.values()}) == len(batches)
    assert all({d.department for d in docs if d.batch_id == i} == {b.department} for i, b in batches.items())

    # the chain: one BatchAnchored event per batch, no root twice
    store = ledgers[1].contract("DocumentStore")
    events = store.events.BatchAnchored.get_logs(from_block=0)
    roots = ["0x" + bytes(e["args"]["root"]).hex() for e in events]
    assert sorted(roots) == sorted(b.root for b in batches.values())
    # the journal: exactly one anchor transaction per batch, and it was mined (no duplicate that reverted)
    with sessions() as s:
        anchors = s.scalars(select(JournalEntry).where(JournalEntry.purpose.like("anchor batch %"))).all()
    assert Counter(a.purpose for a in anchors) == Counter(f"anchor batch {i}" for i in batches), \
        "a batch was sent more than once"
    assert {a.status for a in anchors} == {MINED}
    assert {b.tx_hash for b in batches.values()} == {a.tx_hash for a in anchors}
    # every signer: nonces contiguous and mined
    for dept in departments:
        _assert_nonces_contiguous_and_mined(ledgers[0], department_signer(ledgers[0], dept).address)
    # every proof checks out against the chain
    for d in docs[:: max(len(docs) // 40, 1)]:
        proof = DocumentProof(sha256=d.sha256, sm3=d.sm3, leaf=d.leaf, root=batches[d.batch_id].root,
                              proof=tuple(json.loads(d.proof)))
        assert verify_document(store, proof, None).status == "VALID", d.sha256


def test_two_transaction_managers_share_one_key(shared: Shared) -> None:
    ledgers = [shared.process(), shared.process()]
    account = shared.keyring.account("SCITECH-admin")
    per_manager, threads_per_manager = 40, 4
    errors: list[str] = []
    hashes: list[str] = []
    lock = threading.Lock()

    def worker(ledger: Ledger, t: int) -> None:
        registry = ledger.registry
        for i in range(per_manager // threads_per_manager):
            try:
                fn = registry.functions.propose(SET_THRESHOLD, encode(["uint256"], [(t + i) % 14 + 1]))
                result = ledger.txm.transact(account, fn, f"manager {id(ledger)} thread {t} tx {i}")
                with lock:
                    hashes.append(result.tx_hash)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"{type(exc).__name__}: {exc}")

    pool = [threading.Thread(target=worker, args=(ledger, t)) for ledger in ledgers for t in range(threads_per_manager)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(timeout=180)
    assert not any(th.is_alive() for th in pool), "a sender thread hung"
    assert errors == []
    assert len(hashes) == len(set(hashes)) == 2 * per_manager
    rows = _assert_nonces_contiguous_and_mined(ledgers[1], account.address)
    assert len(rows) == 2 * per_manager
    assert {r.tx_hash for r in rows} == set(hashes)
    w3 = ledgers[0].chain.w3
    for row in rows:
        tx = w3.eth.get_transaction(row.tx_hash)
        assert tx["nonce"] == row.nonce and tx["from"] == account.address

"""The anchoring batcher: seals pending document leaves into Merkle batches and anchors each
batch's root in one transaction (DocumentStore.anchor).

Durability: a document is committed to SQL (no batch yet) before its upload is answered, so
nothing is lost if the process dies with a batch half-built; sealing assigns leaves and proofs
in one SQL transaction; a sealed batch whose anchoring was not confirmed is retried on start
(``recover``), first asking the chain whether the root is already there.
A batch is sealed per department when it reaches ``batch_size`` leaves or its oldest leaf has
waited ``batch_seconds``; it is signed by a member of that department holding ISSUER or OPERATOR.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select

from chain.db import transaction
from chain.errors import ChainError, ContractRevert
from chain.keystore import KeystoreError
from chain.ledger import Ledger
from gateway.documents.merkle import MerkleTree
from gateway.models import AnchorBatch, Document

log = logging.getLogger(__name__)
SEALED, CONFIRMED, FAILED = "sealed", "confirmed", "failed"


class Batcher:
    def __init__(self, ledger: Ledger, signer_for: Callable[[str], LocalAccount], batch_size: int = 200,
                 batch_seconds: float = 1.0):
        self.ledger = ledger
        self.sessions = ledger.sessions
        self.signer_for = signer_for
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seal_lock = threading.Lock()
        self.last_error: str | None = None
        # other housekeeping run on each tick of the background loop (e.g. settling pending licences)
        self.tasks: list[Callable[[], object]] = []

    # ------------------------------------------------------------------ sealing

    def notify(self) -> None:
        """A document was added: wake the loop (it seals when a size or time limit is reached)."""
        self._wake.set()

    def pending_count(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Document).where(Document.batch_id.is_(None))) or 0

    def _due_departments(self, force: bool) -> list[str]:
        cutoff = datetime.now(timezone.utc).timestamp() - self.batch_seconds
        with self.sessions() as s:
            rows = s.execute(
                select(Document.department, func.count(), func.min(Document.created_at))
                .where(Document.batch_id.is_(None)).group_by(Document.department)
            ).all()
        due = []
        for dept, count, oldest in rows:
            oldest_ts = oldest.replace(tzinfo=oldest.tzinfo or timezone.utc).timestamp()
            if force or count >= self.batch_size or oldest_ts <= cutoff:
                due.append(dept)
        return due

    def seal(self, department: str) -> int | None:
        """Seal up to batch_size pending leaves of one department into a batch; return its id."""
        with self._seal_lock, transaction(self.sessions) as s:
            q = (select(Document).where(Document.batch_id.is_(None), Document.department == department)
                 .order_by(Document.id).limit(self.batch_size))
            if s.get_bind().dialect.name == "postgresql":
                q = q.with_for_update(skip_locked=True)
            docs = list(s.scalars(q))
            if not docs:
                return None
            tree = MerkleTree([bytes.fromhex(d.leaf[2:]) for d in docs])
            batch = AnchorBatch(root="0x" + tree.root.hex(), department=department, count=len(docs), status=SEALED)
            s.add(batch)
            s.flush()
            for index, doc in enumerate(docs):
                doc.batch_id = batch.id
                doc.proof = json.dumps(["0x" + p.hex() for p in tree.proof(index)])
            return batch.id

    def anchor(self, batch_id: int) -> AnchorBatch:
        """Anchor a sealed batch's root on chain (or confirm it is already there).

        On PostgreSQL several gateway processes may share the database, and each one's loop
        (``recover``) sees every sealed batch, including one another process has just sealed and
        is sending. So the batch row is held ``FOR UPDATE SKIP LOCKED`` while it is anchored: the
        process holding it sends, any other leaves it (its anchor transaction would only revert
        with BatchExists, or worse be mined twice if a block period lets both be pending)."""
        with self.sessions() as claim:
            if claim.get_bind().dialect.name != "postgresql":
                return self._anchor(batch_id, None)
            with claim.begin():
                row = claim.scalar(select(AnchorBatch).where(AnchorBatch.id == batch_id)
                                   .with_for_update(skip_locked=True))
                if row is not None:
                    return self._anchor(batch_id, claim)
        with self.sessions() as s:  # another process is anchoring it right now
            return s.get(AnchorBatch, batch_id)

    def _anchor(self, batch_id: int, claim) -> AnchorBatch:
        """Anchor ``batch_id``; with ``claim`` (PostgreSQL) the row is locked in that session and updated there."""
        if claim is not None:
            batch = claim.get(AnchorBatch, batch_id)
        else:
            with self.sessions() as s:
                batch = s.get(AnchorBatch, batch_id)
        if batch.status == CONFIRMED:  # another process finished it before we got the row
            return batch
        store = self.ledger.contract("DocumentStore")
        root = bytes.fromhex(batch.root[2:])
        tx_hash, block_number = None, None
        if not store.functions.isIssued(root).call():
            try:
                result = self.ledger.txm.transact(self.signer_for(batch.department),
                                                  store.functions.anchor(root, batch.count),
                                                  f"anchor batch {batch.id}")
                tx_hash, block_number = result.tx_hash, result.block_number
            except ContractRevert as exc:
                if exc.error != "BatchExists":
                    if claim is not None:  # record the error in the session holding the lock (else a self-deadlock)
                        batch.error = str(exc)[:2000]
                        claim.commit()
                    else:
                        self._fail(batch_id, str(exc))
                    raise
        if block_number is None:
            block_number = store.functions.getIssuedBlock(root).call()
        timestamp = self.ledger.chain.w3.eth.get_block(block_number)["timestamp"]

        def record(row: AnchorBatch) -> None:
            row.status, row.block_number, row.block_timestamp = CONFIRMED, block_number, timestamp
            row.tx_hash = row.tx_hash or tx_hash or self._journal_tx(batch_id)
            row.confirmed_at, row.error = datetime.now(timezone.utc), None

        if claim is not None:
            record(batch)
            claim.flush()
            return batch
        with transaction(self.sessions) as s:
            record(s.get(AnchorBatch, batch_id))
        with self.sessions() as s:
            return s.get(AnchorBatch, batch_id)

    def _journal_tx(self, batch_id: int) -> str | None:
        from chain.journal import MINED, JournalEntry

        with self.sessions() as s:
            return s.scalar(select(JournalEntry.tx_hash).where(JournalEntry.purpose == f"anchor batch {batch_id}",
                                                               JournalEntry.status == MINED))

    def _fail(self, batch_id: int, error: str) -> None:
        with transaction(self.sessions) as s:
            s.get(AnchorBatch, batch_id).error = error[:2000]

    def flush(self, force: bool = True) -> list[int]:
        """Seal and anchor batches while any is due (every pending leaf with ``force``); return their ids."""
        anchored: list[int] = []
        while due := self._due_departments(force):
            for dept in due:
                batch_id = self.seal(dept)
                if batch_id is not None:
                    self.anchor(batch_id)
                    anchored.append(batch_id)
        return anchored

    def recover(self) -> list[int]:
        """Anchor batches that were sealed but not confirmed before the process stopped; return those anchored.

        A batch that cannot be anchored (no key of its department here, a contract refusal) keeps its error
        and is tried again next time; it does not hold up the others. A node that does not answer does."""
        with self.sessions() as s:
            ids = list(s.scalars(select(AnchorBatch.id).where(AnchorBatch.status == SEALED).order_by(AnchorBatch.id)))
        anchored = []
        for batch_id in ids:
            try:
                self.anchor(batch_id)
            except (KeystoreError, ContractRevert) as exc:
                log.warning("batch %s not anchored: %s", batch_id, exc)
                self.last_error = f"batch {batch_id}: {exc}"[:500]
                self._fail(batch_id, str(exc))
                continue
            anchored.append(batch_id)
        return anchored

    # ------------------------------------------------------------------ background loop

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="anchor-batcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _loop(self) -> None:
        tick = max(min(self.batch_seconds / 4, 0.25), 0.01)
        while not self._stop.is_set():
            self._wake.wait(tick)
            self._wake.clear()
            try:
                self.recover()
                self.flush(force=False)
                for task in self.tasks:
                    task()
                self.last_error = None
            except (ChainError, Exception) as exc:  # node restarting: retry on the next tick
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
                time.sleep(tick)

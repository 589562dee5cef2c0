"""The event indexer: copies every contract event into SQL, resumable, with a lag figure.

It reads logs in block ranges from the last indexed block, decodes them with the contracts'
ABIs, and stores one row per event. The cursor keeps the hash of the last indexed block: if the
chain no longer has that block (a rebuilt dev chain after a lost state file), the index is
rebuilt from the deployment block, so it never shows events the chain does not have.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from eth_utils import event_abi_to_log_topic
from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from chain.connection import Chain
from chain.db import Base, transaction
from chain.journal import utcnow

log = logging.getLogger(__name__)


class ChainEvent(Base):
    __tablename__ = "chain_events"
    __table_args__ = (UniqueConstraint("chain_id", "block_number", "log_index", name="uq_chain_events_position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    block_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_timestamp: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    log_index: Mapped[int] = mapped_column(Integer, nullable=False)
    contract: Mapped[str] = mapped_column(String(64), nullable=False)
    address: Mapped[str] = mapped_column(String(42), nullable=False)
    event: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    args: Mapped[str] = mapped_column(Text, nullable=False)


class IndexCursor(Base):
    __tablename__ = "index_cursor"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    last_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_block_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):  # dict, and web3's AttributeDict of a struct argument (e.g. policy terms)
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class Indexer:
    """Indexes the events of the given contracts (name → web3 contract) from ``start_block``."""

    def __init__(self, chain: Chain, sessions: sessionmaker[Session], contracts: dict[str, Any],
                 start_block: int = 0, batch_blocks: int = 2000, poll_seconds: float = 0.5):
        self.chain = chain
        self.sessions = sessions
        self.start_block = start_block
        self.batch_blocks = batch_blocks
        self.poll_seconds = poll_seconds
        self._by_address = {c.address: (name, c) for name, c in contracts.items()}
        self._topics: dict[str, dict[bytes, Any]] = {}
        for name, contract in contracts.items():
            self._topics[contract.address] = {
                event_abi_to_log_topic(item): getattr(contract.events, item["name"])
                for item in contract.abi if item.get("type") == "event"
            }
        self._listeners: list[Callable[[list[ChainEvent]], None]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def subscribe(self, listener: Callable[[list[ChainEvent]], None]) -> None:
        """Call ``listener`` with each batch of newly indexed events (for the audit engine)."""
        self._listeners.append(listener)

    def cursor(self) -> int:
        with self.sessions() as s:
            row = s.get(IndexCursor, self.chain.chain_id)
            return row.last_block if row else self.start_block - 1

    def lag(self) -> int:
        """Blocks the chain head is ahead of the index."""
        return max(self.chain.head() - self.cursor(), 0)

    def _rewound(self) -> bool:
        with self.sessions() as s:
            row = s.get(IndexCursor, self.chain.chain_id)
        if row is None:
            return False
        try:
            block = self.chain.w3.eth.get_block(row.last_block)
        except Exception:  # BlockNotFound: the chain is shorter than the index
            return True
        return "0x" + bytes(block["hash"]).hex() != row.last_block_hash

    def reset(self) -> None:
        """Drop the index of this chain; the next run rebuilds it."""
        with transaction(self.sessions) as s:
            s.execute(delete(ChainEvent).where(ChainEvent.chain_id == self.chain.chain_id))
            s.execute(delete(IndexCursor).where(IndexCursor.chain_id == self.chain.chain_id))

    def run_once(self) -> int:
        """Index up to the current head; return the number of new events."""
        if self._rewound():
            log.warning("chain no longer has the last indexed block; rebuilding the event index")
            self.reset()
        head = self.chain.head()
        added = 0
        frm = self.cursor() + 1
        while frm <= head:
            to = min(head, frm + self.batch_blocks - 1)
            added += self._index_range(frm, to)
            frm = to + 1
        return added

    def _index_range(self, frm: int, to: int) -> int:
        w3 = self.chain.w3
        logs = w3.eth.get_logs({"fromBlock": frm, "toBlock": to, "address": list(self._by_address)})
        timestamps: dict[int, int] = {}
        rows: list[ChainEvent] = []
        for entry in logs:
            address = entry["address"]
            topics = entry["topics"]
            if not topics:
                continue
            event = self._topics.get(address, {}).get(bytes(topics[0]))
            if event is None:
                continue
            decoded = event().process_log(entry)
            number = entry["blockNumber"]
            if number not in timestamps:
                timestamps[number] = w3.eth.get_block(number)["timestamp"]
            rows.append(ChainEvent(
                chain_id=self.chain.chain_id, block_number=number,
                block_hash="0x" + bytes(entry["blockHash"]).hex(), block_timestamp=timestamps[number],
                tx_hash="0x" + bytes(entry["transactionHash"]).hex(), log_index=entry["logIndex"],
                contract=self._by_address[address][0], address=address, event=decoded["event"],
                args=json.dumps(_jsonable(dict(decoded["args"])), ensure_ascii=False, sort_keys=True),
            ))
        last_hash = "0x" + bytes(w3.eth.get_block(to)["hash"]).hex()
        with transaction(self.sessions) as s:
            s.add_all(rows)
            cursor = s.get(IndexCursor, self.chain.chain_id)
            if cursor is None:
                s.add(IndexCursor(chain_id=self.chain.chain_id, last_block=to, last_block_hash=last_hash))
            else:
                cursor.last_block, cursor.last_block_hash, cursor.updated_at = to, last_hash, utcnow()
        for listener in self._listeners:
            listener(rows)
        return len(rows)

    def events(self, event: str | None = None, limit: int = 1000) -> list[dict[str, Any]]:
        """Indexed events, newest first."""
        with self.sessions() as s:
            q = select(ChainEvent).where(ChainEvent.chain_id == self.chain.chain_id)
            if event:
                q = q.where(ChainEvent.event == event)
            rows = s.scalars(q.order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc()).limit(limit))
            return [{"block": r.block_number, "timestamp": r.block_timestamp, "tx_hash": r.tx_hash,
                     "contract": r.contract, "event": r.event, "args": json.loads(r.args)} for r in rows]

    # ------------------------------------------------------------------ background thread

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="event-indexer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
                self.last_error = None
            except Exception as exc:  # node restarting: keep polling, report the error in status
                self.last_error = f"{type(exc).__name__}: {exc}"[:500]
            self._stop.wait(self.poll_seconds)

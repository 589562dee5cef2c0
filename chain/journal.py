"""The transaction journal: every signed transaction, written to SQL before it is sent.

The journal, not the node's state file, is the system of record: after a node crash or a lost
state file, ``chain.reconcile`` resubmits whatever the chain is missing from it.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, bindparam, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from chain.db import Base

# status values
SIGNED = "signed"  # written, not yet accepted by a node
SENT = "sent"  # accepted by a node, no receipt yet
MINED = "mined"  # receipt with status 1
REVERTED = "reverted"  # receipt with status 0 (the nonce is used all the same)
REJECTED = "rejected"  # refused by the node before inclusion; its nonce was never used
OPEN_STATUSES = (SIGNED, SENT)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class JournalEntry(Base):
    __tablename__ = "tx_journal"
    # One live transaction per account and nonce; a rejected one gives its nonce back.
    __table_args__ = (
        Index("uq_tx_journal_account_nonce", "chain_id", "account", "nonce", unique=True,
              sqlite_where=text("status != 'rejected'"), postgresql_where=text("status != 'rejected'")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    chain_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False, index=True)
    nonce: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    raw_tx: Mapped[str] = mapped_column(Text, nullable=False)
    to_address: Mapped[str | None] = mapped_column(String(42))
    purpose: Mapped[str] = mapped_column(String(200), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    block_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    gas_used: Mapped[int | None] = mapped_column(BigInteger)
    contract_address: Mapped[str | None] = mapped_column(String(42))
    error: Mapped[str | None] = mapped_column(Text)
    resubmissions: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                 onupdate=utcnow)


# built once: every signed transaction asks (building the statement costs more than running it)
_HIGHEST_NONCE = select(func.max(JournalEntry.nonce)).where(
    JournalEntry.chain_id == bindparam("chain_id"), JournalEntry.account == bindparam("account"),
    JournalEntry.status != REJECTED,
)


def next_journal_nonce(session: Session, chain_id: int, account: str) -> int:
    """One past the highest nonce the journal holds for ``account`` that was not rejected."""
    highest = session.scalar(_HIGHEST_NONCE, {"chain_id": chain_id, "account": account})
    return 0 if highest is None else highest + 1


def open_count(session: Session, chain_id: int) -> int:
    """Entries signed or sent but not yet confirmed (the journal lag)."""
    return session.scalar(
        select(func.count()).select_from(JournalEntry).where(
            JournalEntry.chain_id == chain_id, JournalEntry.status.in_(OPEN_STATUSES)
        )
    ) or 0

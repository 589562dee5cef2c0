"""Gateway tables: logins (members and enterprises) and revoked tokens.

Chain-side tables (journal, event index) live in ``chain.journal`` and ``chain.indexer``; all
share ``chain.db.Base`` so that one Alembic history migrates them together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from chain.db import Base
from chain.journal import utcnow


class User(Base):
    """A login. A member login acts as one on-chain member account; an enterprise login as one USCC."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(200), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # "member" | "enterprise"
    member_address: Mapped[str | None] = mapped_column(String(42), index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class RevokedToken(Base):
    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class AnchorBatch(Base):
    """A sealed batch of document leaves and the transaction that anchors its Merkle root."""

    __tablename__ = "anchor_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    root: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # sealed | confirmed | failed
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_timestamp: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Document(Base):
    """An uploaded document: stored encrypted in the vault, its leaf anchored in a batch."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    sm3: Mapped[str] = mapped_column(String(64), nullable=False)
    leaf: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    media_type: Mapped[str] = mapped_column(String(200), nullable=False)
    filename: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    uploaded_by: Mapped[str] = mapped_column(String(42), nullable=False)
    batch_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("anchor_batches.id"), index=True)
    proof: Mapped[str | None] = mapped_column(Text)  # JSON list of 0x hashes
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Licence(Base):
    """The gateway's copy of a licence; the chain's LicenceRegistry is the authority on its status."""

    __tablename__ = "licences"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)  # keccak(type, number)
    number: Mapped[str] = mapped_column(String(64), nullable=False)
    licence_type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    holder_uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    holder_name: Mapped[str] = mapped_column(String(200), nullable=False)
    issuer_department: Mapped[str] = mapped_column(String(32), nullable=False)
    wrapped: Mapped[str] = mapped_column(Text, nullable=False)  # OpenAttestation v2 wrapped document (JSON)
    target_hash: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    merkle_root: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    valid_from: Mapped[int] = mapped_column(BigInteger, nullable=False)
    valid_until: Mapped[int] = mapped_column(BigInteger, nullable=False)  # 0 = no expiry
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # valid | suspended | revoked | superseded
    reason_code: Mapped[int | None] = mapped_column(Integer)
    supersedes: Mapped[str | None] = mapped_column(String(66))
    superseded_by: Mapped[str | None] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    issued_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                 onupdate=utcnow)

"""SQL tables of the oracle: every ingested file and every attested fact with its provenance."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chain.db import Base
from chain.journal import utcnow


class SourceFile(Base):
    """One file received from a source department (by watched folder, HTTP push or the CLI)."""

    __tablename__ = "oracle_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    digest: Mapped[str] = mapped_column(String(64), nullable=False, index=True)  # SHA-256 of the raw bytes
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    data_type: Mapped[str] = mapped_column(String(32), nullable=False)
    source_department: Mapped[str] = mapped_column(String(32), nullable=False)
    good_lines: Mapped[int] = mapped_column(Integer, nullable=False)
    bad_lines: Mapped[int] = mapped_column(Integer, nullable=False)
    attested: Mapped[int] = mapped_column(Integer, nullable=False)
    unchanged: Mapped[int] = mapped_column(Integer, nullable=False)
    errors: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of {line, field, reason}
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Fact(Base):
    """An attested fact: the value (off-chain, here) and its provenance; the chain holds its hashes."""

    __tablename__ = "oracle_facts"
    __table_args__ = (UniqueConstraint("digest", name="uq_oracle_facts_digest"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    data_type: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    fact_key: Mapped[str] = mapped_column(String(200), nullable=False, index=True)  # e.g. "uscc|2025"
    subject: Mapped[str] = mapped_column(String(66), nullable=False)  # HMAC of the USCC, as on chain
    value: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    value_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    observed_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    source_department: Mapped[str] = mapped_column(String(32), nullable=False)
    file_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    file_name: Mapped[str] = mapped_column(String(255), nullable=False)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    signers: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of addresses
    digest: Mapped[str] = mapped_column(String(66), nullable=False)  # EIP-712 digest of the attestation
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)

"""Gateway tables: logins (members and enterprises) and revoked tokens.

Chain-side tables (journal, event index) live in ``chain.journal`` and ``chain.indexer``; all
share ``chain.db.Base`` so that one Alembic history migrates them together.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String
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

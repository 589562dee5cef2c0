"""SQL tables of the supervision system: alerts and their history, the anchored alert records,
dispositions, who was told (notices), and problem clues (cases) with their steps.

Nothing here is ever deleted: an alert that clears is marked cleared, a released hold keeps its
record, a disposition or case step is appended. Times are unix seconds (the chain's clock).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chain.db import Base


class AuditAlert(Base):
    """One occurrence of a (point, subject) risk signal: its current level and state.

    A condition that comes back after its alert was closed (销号) is a new occurrence: a new row with
    ``occurrence`` + 1, a new on-chain id and ``recurrence_of`` naming the closed alert."""

    __tablename__ = "audit_alerts"
    __table_args__ = (UniqueConstraint("point_id", "subject_type", "subject_id", "occurrence",
                                       name="uq_audit_alerts_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)  # bytes32 hex, as on chain
    key_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)  # the id of occurrence 1
    occurrence: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    recurrence_of: Mapped[str | None] = mapped_column(String(66))  # the closed alert this one recurs
    point_id: Mapped[str] = mapped_column(String(8), nullable=False, index=True)
    stage: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(200), nullable=False)
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    application_id: Mapped[str | None] = mapped_column(String(66), index=True)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    level: Mapped[int] = mapped_column(Integer, nullable=False, index=True)  # audit.findings.Level
    max_level: Mapped[int] = mapped_column(Integer, nullable=False)
    condition: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # active | cleared
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # open | rectified | ... | closed
    facts: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON of the latest facts
    rule_version: Mapped[str] = mapped_column(String(64), nullable=False)
    first_seen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    last_seen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    raised_at: Mapped[int] = mapped_column(BigInteger, nullable=False)  # when the current level was reached
    cleared_at: Mapped[int | None] = mapped_column(BigInteger)
    deadline_at: Mapped[int | None] = mapped_column(BigInteger)  # a warning's rectification deadline
    hold_status: Mapped[str] = mapped_column(String(16), nullable=False, default="none")  # none|pending|placed|released
    hold_tx: Mapped[str | None] = mapped_column(String(66))
    amount_recovered_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False)  # bumps with every anchored change


class AuditAlertEvent(Base):
    """The history of an alert: raised, level raised, cleared, recurred, escalated, disposed, held."""

    __tablename__ = "audit_alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("audit_alerts.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(24), nullable=False)
    level_before: Mapped[int | None] = mapped_column(Integer)
    level_after: Mapped[int | None] = mapped_column(Integer)
    facts_before: Mapped[str | None] = mapped_column(Text)
    facts_after: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[str | None] = mapped_column(String(64))
    actor: Mapped[str | None] = mapped_column(String(42))
    note: Mapped[str | None] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditRecord(Base):
    """One anchored version of an alert: its canonical record, leaf, batch root and Merkle proof."""

    __tablename__ = "audit_records"
    __table_args__ = (UniqueConstraint("alert_pk", "version", name="uq_audit_records_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("audit_alerts.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    record: Mapped[str] = mapped_column(Text, nullable=False)  # canonical JSON
    record_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    leaf: Mapped[str] = mapped_column(String(66), nullable=False)
    batch_pk: Mapped[int | None] = mapped_column(ForeignKey("audit_batches.id"), index=True)
    proof: Mapped[str | None] = mapped_column(Text)  # JSON list of 0x hashes
    created_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditBatch(Base):
    """A Merkle batch of alert records anchored by one AuditTrail transaction."""

    __tablename__ = "audit_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    root: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    count: Mapped[int] = mapped_column(Integer, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    anchored_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditDisposition(Base):
    """A disposition recorded on chain, signed by the member who took it."""

    __tablename__ = "audit_dispositions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("audit_alerts.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    member: Mapped[str] = mapped_column(String(42), nullable=False)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    note_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    amount_recovered_fen: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditNotice(Base):
    """Who was told of an alert at which level: the officer's work list, the head, the commission."""

    __tablename__ = "audit_notices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("audit_alerts.id"), nullable=False, index=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    audience: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # officer | head | commission
    department: Mapped[str | None] = mapped_column(String(32), index=True)
    deadline_at: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class AuditCase(Base):
    """A problem clue (问题线索) opened on an alarm."""

    __tablename__ = "audit_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    alert_pk: Mapped[int] = mapped_column(ForeignKey("audit_alerts.id"), nullable=False, unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    opened_by: Mapped[str] = mapped_column(String(42), nullable=False)
    opened_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    due_at: Mapped[int] = mapped_column(BigInteger, nullable=False)  # the current step is due by
    escalations: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    escalated_at: Mapped[int | None] = mapped_column(BigInteger)
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)


class AuditCaseStep(Base):
    """One recorded step of a case (立案 / 初核 / 函询 / 暂存 / 了结), or a timer escalation."""

    __tablename__ = "audit_case_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_pk: Mapped[int] = mapped_column(ForeignKey("audit_cases.id"), nullable=False, index=True)
    step: Mapped[str] = mapped_column(String(16), nullable=False)
    member: Mapped[str] = mapped_column(String(42), nullable=False)
    note: Mapped[str] = mapped_column(Text, nullable=False)
    note_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)

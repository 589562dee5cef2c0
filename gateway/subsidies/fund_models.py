"""Tables of the fund half of a subsidy's life: public notices and objections, payee accounts,
payout batches and their lines, usage reports, claw-back orders and refunds.

The SubsidyLedger contract is the authority on every amount and status; these rows are the
gateway's index of what it sent (ids, documents, who and when) and of what never goes on-chain in
clear (the payee's bank account, kept encrypted in the document vault and here only as a keyed hash
and its last four characters). Money is in fen (分), integers throughout.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from chain.db import Base
from chain.journal import utcnow


class SubsidyNotice(Base):
    """A public notice (公示) of approved applications of one policy, opened on-chain."""

    __tablename__ = "subsidy_notices"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)  # on-chain notice id (0x…)
    policy_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    list_sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # the published list (documents service)
    list_digest: Mapped[str] = mapped_column(String(66), nullable=False)  # 0x + the same digest, as on-chain
    working_days: Mapped[int] = mapped_column(Integer, nullable=False)
    opened_at: Mapped[int] = mapped_column(BigInteger, nullable=False)  # block time
    ends_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    opened_by: Mapped[str] = mapped_column(String(42), nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class SubsidyNoticeEntry(Base):
    """One application listed on a notice, with the amount shown to the public."""

    __tablename__ = "subsidy_notice_entries"
    __table_args__ = (UniqueConstraint("notice_id", "application_id", name="uq_subsidy_notice_entries_line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    application_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    policy_id: Mapped[str] = mapped_column(String(66), nullable=False)
    applicant: Mapped[str] = mapped_column(String(66), nullable=False, index=True)  # keyed hash of the USCC
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # approved, fen


class SubsidyObjection(Base):
    """An objection (异议) against a noticed application, and its answer."""

    __tablename__ = "subsidy_objections"
    __table_args__ = (UniqueConstraint("notice_id", "number", name="uq_subsidy_objections_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    notice_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    number: Mapped[int] = mapped_column(Integer, nullable=False)  # on-chain objection id on the notice
    application_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    text_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    filed_by_kind: Mapped[str] = mapped_column(String(16), nullable=False)  # member | enterprise
    filed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    filed_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # open | dismissed | upheld
    answer_sha256: Mapped[str | None] = mapped_column(String(64))
    answered_by: Mapped[str | None] = mapped_column(String(42))
    answered_at: Mapped[int | None] = mapped_column(BigInteger)
    answer_tx_hash: Mapped[str | None] = mapped_column(String(66))


class PayeeAccount(Base):
    """A payee bank account an enterprise confirmed; a change closes the previous row (``replaced_at``)."""

    __tablename__ = "payee_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    applicant: Mapped[str] = mapped_column(String(66), nullable=False, index=True)  # keyed hash of the USCC
    account_hash: Mapped[str] = mapped_column(String(66), nullable=False)  # keyed hash (oracle.keyed.account_hash)
    account_tail: Mapped[str] = mapped_column(String(4), nullable=False)
    payee_name: Mapped[str] = mapped_column(String(200), nullable=False)
    bank_name: Mapped[str] = mapped_column(String(200), nullable=False)
    vault_sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # encrypted clear record in the vault
    confirmed_by: Mapped[str] = mapped_column(String(64), nullable=False)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    replaced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PayoutBatch(Base):
    """A bank batch finance exported; once the bank's return file is imported, its paid lines are
    recorded on-chain in one transaction (``tx_hash``)."""

    __tablename__ = "payout_batches"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # e.g. PB20270105-001
    chain_id: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)  # keccak(id), the on-chain batchId
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)  # exported | recorded | failed
    line_count: Mapped[int] = mapped_column(Integer, nullable=False)
    total: Mapped[int] = mapped_column(BigInteger, nullable=False)  # fen
    control_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    reexport_of: Mapped[str | None] = mapped_column(String(40))
    exported_by: Mapped[str] = mapped_column(String(42), nullable=False)
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    return_sha256: Mapped[str | None] = mapped_column(String(64))  # the imported return file (documents service)
    imported_by: Mapped[str | None] = mapped_column(String(42))
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    paid_lines: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    paid_total: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int | None] = mapped_column(BigInteger)


class PayoutBatchLine(Base):
    """One line of a payout batch: what was exported, and what the bank returned for it."""

    __tablename__ = "payout_batch_lines"
    __table_args__ = (UniqueConstraint("batch_id", "line_no", name="uq_payout_batch_lines_line"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[str] = mapped_column(String(40), nullable=False, index=True)
    line_no: Mapped[int] = mapped_column(Integer, nullable=False)
    application_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    policy_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    payee_account_id: Mapped[int] = mapped_column(Integer, nullable=False)
    account_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # exported, fen
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # exported | paid | failed | reexported
    returned_amount: Mapped[int | None] = mapped_column(BigInteger)
    bank_reference: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str | None] = mapped_column(String(200))
    paid_at: Mapped[int | None] = mapped_column(BigInteger)
    reexported_in: Mapped[str | None] = mapped_column(String(40))


class UseReport(Base):
    """An enterprise's report of how it used the money (资金使用), recorded on-chain."""

    __tablename__ = "subsidy_use_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # fen
    description: Mapped[str] = mapped_column(Text, nullable=False)
    receipts: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of document SHA-256s
    report_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    reported_at: Mapped[int] = mapped_column(BigInteger, nullable=False)


class ClawBack(Base):
    """A claw-back order (追回) of the policy department and the refunds recorded against it."""

    __tablename__ = "subsidy_claw_backs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    policy_id: Mapped[str] = mapped_column(String(66), nullable=False, index=True)
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    ordered_amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # fen
    refunded: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)  # fen recorded on-chain so far
    decision_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    ordered_by: Mapped[str] = mapped_column(String(42), nullable=False)
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # ordered | partly_refunded | refunded


class ClawBackRefund(Base):
    """Money refunded against a claw-back order, recorded on-chain with ``clawBack``."""

    __tablename__ = "subsidy_claw_back_refunds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)
    bank_reference: Mapped[str] = mapped_column(String(64), nullable=False)
    recorded_by: Mapped[str] = mapped_column(String(42), nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    recorded_at: Mapped[int] = mapped_column(BigInteger, nullable=False)

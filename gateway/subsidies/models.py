"""SQL tables of the subsidy front half: policies, applications with their materials and automatic
verification, reviews, recusals, the verification-agency pool and double-random draws.

The chain (``SubsidyLedger``, ``AgencyDraws``) is the authority; these rows are the gateway's index
of it plus the off-chain details the chain only holds as hashes (criteria, materials, opinions,
the field-by-field verification). Table and column names are stable: other modules (notices,
payouts, audit rules) read them.

Conventions
-----------
* ids: ``0x`` + 64 lower-case hex digits, exactly as on chain (``policy_id``, ``application_id``
  = ``applicationIdOf(policyId, applicant)``, ``draw_id``, ``agency_id``).
* money: integers in fen (分), columns ending ``_fen``.
* instants: unix seconds (block time of the transaction that recorded the step), columns ending
  ``_at`` of type BigInteger; ``created_at`` / ``updated_at`` are the gateway's own DateTimes.
* members: account addresses (checksummed) in columns ``*_by`` / ``reviewer``; departments by code.
* the applicant: ``uscc`` in clear here (off-chain), ``applicant`` = HMAC of the USCC as on chain.

``SubsidyApplication.status`` mirrors the contract's ``Status``: ``submitted``, ``under_review``,
``approved``, ``rejected``, then (set by the notice / payout modules) ``noticed``,
``partially_paid``, ``paid``; and ``pending`` while its submitting transaction is journaled but
not yet confirmed (not on chain yet: ignore such rows; ``applications.settle_pending`` finishes or
drops them). ``path`` says how it was decided: ``auto`` (秒批, by rule ``rule_version``),
``manual`` (three review levels) or ``enrolled`` (免申即享); ``auto_pending`` while the automatic
approval's transaction awaits confirmation. An enrolled
application is payable only once the enterprise confirmed its payee account
(``payee_confirmed_at`` set, ``payee_account_hash`` the keyed hash of the account).
"""

from __future__ import annotations

from datetime import datetime

import json
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, event
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapped, Session, mapped_column

from chain.db import Base
from chain.journal import utcnow

ID = 66  # 0x + 64 hex
ADDRESS = 42


class SubsidyPolicy(Base):
    """A published policy (发布) at its current version; earlier versions are in ``subsidy_policy_versions``."""

    __tablename__ = "subsidy_policies"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)  # policyId
    department: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    title: Mapped[str] = mapped_column(String(300), nullable=False)
    # the legal basis / application guide: a document in the documents service (anchored)
    legal_basis_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    guide_hash: Mapped[str] = mapped_column(String(ID), nullable=False)  # on-chain guideHash (the document's leaf)
    criteria: Mapped[str] = mapped_column(Text, nullable=False)  # JSON rule (see gateway.subsidies.policies)
    criteria_hash: Mapped[str] = mapped_column(String(ID), nullable=False)  # on-chain criteriaHash
    amount_rule: Mapped[str] = mapped_column(Text, nullable=False)  # JSON amount rule
    rule_version: Mapped[str] = mapped_column(String(ID), nullable=False)  # 秒批 rule version (bytes32 hex)
    budget_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    cap_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)  # per-enterprise cap
    opens_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    closes_at: Mapped[int] = mapped_column(BigInteger, nullable=False)  # exclusive
    notice_workdays: Mapped[int] = mapped_column(Integer, nullable=False)
    notice_period_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False)  # on-chain minimum
    payout_deadline_workdays: Mapped[int] = mapped_column(Integer, nullable=False)
    payout_deadline_seconds: Mapped[int] = mapped_column(BigInteger, nullable=False)
    no_application: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # 免申即享
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open")  # open | closed
    published_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    published_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    amended_at: Mapped[int | None] = mapped_column(BigInteger)
    closed_by: Mapped[str | None] = mapped_column(String(ADDRESS))
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)  # the publishing transaction
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                 onupdate=utcnow)


class SubsidyPolicyVersion(Base):
    """Every version of a policy's terms as published or amended, and its closing (版本记录)."""

    __tablename__ = "subsidy_policy_versions"
    __table_args__ = (UniqueConstraint("policy_id", "version", "action", name="uq_subsidy_policy_versions"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_policies.id"), nullable=False, index=True)
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    action: Mapped[str] = mapped_column(String(16), nullable=False)  # published | amended | closed
    terms: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: the whole policy as of this version
    reason: Mapped[str | None] = mapped_column(String(1000))
    by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class SubsidyPolicyMaterial(Base):
    """A material a policy requires, and the licence types that can stand in for it (申报鉴证减材)."""

    __tablename__ = "subsidy_policy_materials"
    __table_args__ = (UniqueConstraint("policy_id", "code", name="uq_subsidy_policy_materials"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_policies.id"), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    licence_types: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of licence type codes
    position: Mapped[int] = mapped_column(Integer, nullable=False)


class SubsidyApplication(Base):
    """An application (申报) or a no-application enrolment (免申即享), as filed and decided."""

    __tablename__ = "subsidy_applications"
    __table_args__ = (UniqueConstraint("policy_id", "uscc", name="uq_subsidy_applications_policy_uscc"),)

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)  # applicationId
    policy_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_policies.id"), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False, index=True)  # the policy's
    uscc: Mapped[str] = mapped_column(String(18), nullable=False, index=True)
    applicant: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)  # HMAC of the USCC
    enterprise_name: Mapped[str] = mapped_column(String(300), nullable=False)  # as declared / attested
    declared: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: the declared (pre-filled) fields
    requested_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    approved_fen: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    path: Mapped[str] = mapped_column(String(16), nullable=False)  # auto | manual | enrolled
    enrolled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # automatic verification (秒批): match | mismatch ; criteria_met: the policy's rules on attested facts
    verification: Mapped[str] = mapped_column(String(16), nullable=False)
    criteria_met: Mapped[bool] = mapped_column(Boolean, nullable=False)
    criteria_result: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: each condition, value, outcome
    rule_version: Mapped[str | None] = mapped_column(String(ID))  # set when auto-approved
    materials_hash: Mapped[str] = mapped_column(String(ID), nullable=False)  # on-chain materialsHash
    materials_required: Mapped[int] = mapped_column(Integer, nullable=False)
    materials_by_licence: Mapped[int] = mapped_column(Integer, nullable=False)  # saved (not uploaded)
    materials_uploaded: Mapped[int] = mapped_column(Integer, nullable=False)
    review_level: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # highest level passed
    review_due_level: Mapped[int | None] = mapped_column(Integer)  # the level awaited, None when decided
    review_deadline_at: Mapped[int | None] = mapped_column(BigInteger)  # deadline of the awaited level
    payee_account_hash: Mapped[str | None] = mapped_column(String(ID))  # keyed hash of the payee account
    payee_name: Mapped[str | None] = mapped_column(String(300))
    payee_confirmed_at: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    decided_at: Mapped[int | None] = mapped_column(BigInteger)
    decided_by: Mapped[str | None] = mapped_column(String(ADDRESS))
    submitted_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)  # operator / enrolling officer
    tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)  # submitting / enrolling transaction
    decision_tx_hash: Mapped[str | None] = mapped_column(String(ID))
    # the project the money is for (APP3: the same project / category / year claimed twice); the invoice and
    # contract numbers it relies on are rows of ``subsidy_application_numbers``
    project_name: Mapped[str | None] = mapped_column(String(300))
    project_category: Mapped[str | None] = mapped_column(String(64))
    project_year: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                 onupdate=utcnow)


class SubsidyMaterial(Base):
    """One required material of one application: satisfied by a licence reference, uploaded, or missing."""

    __tablename__ = "subsidy_materials"
    __table_args__ = (UniqueConstraint("application_id", "code", name="uq_subsidy_materials"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    policy_id: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    code: Mapped[str] = mapped_column(String(64), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    satisfied_by: Mapped[str] = mapped_column(String(16), nullable=False)  # licence | upload
    licence_id: Mapped[str | None] = mapped_column(String(ID))
    licence_type: Mapped[str | None] = mapped_column(String(32))
    licence_number: Mapped[str | None] = mapped_column(String(64))
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    document_leaf: Mapped[str | None] = mapped_column(String(ID))
    # a licence-backed material re-supplied as an upload after its licence lapsed: when (chain time, unix
    # seconds); the audit measures APP1's wait up to it
    resupplied_at: Mapped[int | None] = mapped_column(BigInteger)


class SubsidyVerification(Base):
    """One field of the automatic verification (秒批): declared against attested, with provenance."""

    __tablename__ = "subsidy_verifications"
    __table_args__ = (UniqueConstraint("application_id", "field", name="uq_subsidy_verifications"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    declared: Mapped[str | None] = mapped_column(Text)
    attested: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), nullable=False)  # match | format_only | mismatch | missing
    provenance: Mapped[str] = mapped_column(Text, nullable=False)  # JSON: source department, file, line, ...


class SubsidyReview(Base):
    """One review level (1 初审, 2 复审, 3 审定) as recorded on chain; the opinion is a stored document."""

    __tablename__ = "subsidy_reviews"
    __table_args__ = (UniqueConstraint("application_id", "level", name="uq_subsidy_reviews"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    policy_id: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    reviewer: Mapped[str] = mapped_column(String(ADDRESS), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    passed: Mapped[bool] = mapped_column(Boolean, nullable=False)
    amount_fen: Mapped[int] = mapped_column(BigInteger, nullable=False)
    opinion_sha256: Mapped[str] = mapped_column(String(64), nullable=False)  # the opinion in the documents service
    opinion_digest: Mapped[str] = mapped_column(String(ID), nullable=False)  # on-chain opinionHash
    due_since: Mapped[int] = mapped_column(BigInteger, nullable=False)  # when the level became due
    deadline_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reviewed_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    overdue: Mapped[bool] = mapped_column(Boolean, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)


class SubsidyRecusal(Base):
    """A reviewer's recusal (回避) from an application."""

    __tablename__ = "subsidy_recusals"
    __table_args__ = (UniqueConstraint("application_id", "reviewer", name="uq_subsidy_recusals"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    reviewer: Mapped[str] = mapped_column(String(ADDRESS), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    reason_sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    reason_digest: Mapped[str] = mapped_column(String(ID), nullable=False)  # on-chain reasonHash
    declared_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)


class VerificationAgency(Base):
    """A third-party verification agency (第三方核查机构) in a department's pool (on chain: AgencyDraws)."""

    __tablename__ = "subsidy_agencies"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)  # agencyId
    department: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(300), nullable=False)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    registered_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    registered_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)


class AgencyDraw(Base):
    """A double-random draw (双随机): an agency from the pool and applications to check, on chain."""

    __tablename__ = "subsidy_draws"

    id: Mapped[str] = mapped_column(String(ID), primary_key=True)  # drawId
    department: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    policy_id: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # requested | executed | expired
    candidates: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of agency ids (the pool snapshot)
    subjects: Mapped[str] = mapped_column(Text, nullable=False)  # JSON list of application ids
    picks: Mapped[int] = mapped_column(Integer, nullable=False)  # how many subjects to pick
    request_block: Mapped[int] = mapped_column(BigInteger, nullable=False)
    requested_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    requested_at: Mapped[int] = mapped_column(BigInteger, nullable=False)
    request_tx_hash: Mapped[str] = mapped_column(String(ID), nullable=False)
    seed: Mapped[str | None] = mapped_column(String(ID))
    agency_id: Mapped[str | None] = mapped_column(String(ID))
    picked: Mapped[str | None] = mapped_column(Text)  # JSON list of application ids
    executed_by: Mapped[str | None] = mapped_column(String(ADDRESS))
    executed_at: Mapped[int | None] = mapped_column(BigInteger)
    execute_tx_hash: Mapped[str | None] = mapped_column(String(ID))


class SubsidyPendingStep(Base):
    """A step whose transaction is sent but whose gateway record is not yet written: written before the
    transaction is sent, applied (``kind`` with ``payload``) and deleted once it is mined, dropped when
    the chain refused it. Rows here only while a request runs, or after a node stall until
    ``gateway.subsidies.policies.settle_steps`` finishes them."""

    __tablename__ = "subsidy_pending_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    purpose: Mapped[str] = mapped_column(String(200), nullable=False, index=True)  # the journal's purpose
    payload: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


# ---------------------------------------------------------------------------- data the audit points read
# (migration 0007): invoice / contract numbers, review openings, reviewers' declared identities, the edit
# log of application rows, performance commitments and reports, rectification / claw-back due dates.


class ApplicationNumber(Base):
    """An invoice (发票) or contract (合同) number an application relies on, as the applicant gave it
    (APP3: an invoice already funded by another application)."""

    __tablename__ = "subsidy_application_numbers"
    __table_args__ = (UniqueConstraint("application_id", "kind", "number", name="uq_subsidy_application_numbers"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # invoice | contract
    number: Mapped[str] = mapped_column(String(64), nullable=False, index=True)  # normalised (upper case, no spaces)


class ReviewOpening(Base):
    """When a reviewer first opened an application (first GET by a reviewer of its department, or an
    explicit "start review"): with the review's block time it gives the time spent (REV4)."""

    __tablename__ = "subsidy_review_openings"
    __table_args__ = (UniqueConstraint("application_id", "reviewer", name="uq_subsidy_review_openings"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    reviewer: Mapped[str] = mapped_column(String(ADDRESS), nullable=False, index=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    level: Mapped[int | None] = mapped_column(Integer)  # the level awaited when opened
    how: Mapped[str] = mapped_column(String(16), nullable=False)  # view | start
    opened_at: Mapped[int] = mapped_column(BigInteger, nullable=False)  # chain time (unix seconds)


class MemberIdentity(Base):
    """A member's conflicts-relevant identity (REV2): the keyed person hash of the officer behind the
    account (``party_hash`` of their ID number — the number itself is never stored) and the firms they
    worked for, declared by the member or their department's governor."""

    __tablename__ = "subsidy_member_identities"

    member: Mapped[str] = mapped_column(String(ADDRESS), primary_key=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    person_hash: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    former_employers: Mapped[str] = mapped_column(Text, nullable=False, default="[]")  # JSON list of USCCs
    declared_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow,
                                                  onupdate=utcnow)


class ApplicationEdit(Base):
    """One field of an application row changed by the gateway after submission (REV6): workflow steps
    (``kind`` step: the chain recorded them) and corrections (``kind`` edit: by a member, with a reason)."""

    __tablename__ = "subsidy_application_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(8), nullable=False)  # step | edit
    field: Mapped[str] = mapped_column(String(64), nullable=False)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    after_signoff: Mapped[bool] = mapped_column(Boolean, nullable=False)  # the decision was already recorded
    reason: Mapped[str | None] = mapped_column(String(1000))
    by: Mapped[str | None] = mapped_column(String(ADDRESS))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class PerformanceCommitment(Base):
    """A policy's performance commitment (绩效目标): the metric each funded firm commits to, its target,
    when the report is due and when the commitment period ends (USE3)."""

    __tablename__ = "subsidy_commitments"
    __table_args__ = (UniqueConstraint("policy_id", "metric", name="uq_subsidy_commitments"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    policy_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_policies.id"), nullable=False, index=True)
    metric: Mapped[str] = mapped_column(String(64), nullable=False)
    description: Mapped[str] = mapped_column(String(300), nullable=False)
    target: Mapped[int] = mapped_column(BigInteger, nullable=False)
    report_due: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD
    period_end: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD: stay and operate until
    set_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class PerformanceReport(Base):
    """A funded enterprise's report against a commitment (绩效报告)."""

    __tablename__ = "subsidy_performance_reports"
    __table_args__ = (UniqueConstraint("application_id", "commitment_id", name="uq_subsidy_performance_reports"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    commitment_id: Mapped[int] = mapped_column(Integer, ForeignKey("subsidy_commitments.id"), nullable=False)
    uscc: Mapped[str] = mapped_column(String(18), nullable=False)
    achieved: Mapped[int] = mapped_column(BigInteger, nullable=False)
    note: Mapped[str] = mapped_column(String(2000), nullable=False, default="")
    document_sha256: Mapped[str | None] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)


class Rectification(Base):
    """A rectification order (整改) or a claw-back order's terms (追回): what is due by when, and when it
    was done (USE4). A claw-back's row points at its ``subsidy_claw_backs`` order; ``done_at`` is the
    date of the refund that completed it."""

    __tablename__ = "subsidy_rectifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    application_id: Mapped[str] = mapped_column(String(ID), ForeignKey("subsidy_applications.id"), nullable=False,
                                                index=True)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)  # rectification | clawback
    claw_back_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    department: Mapped[str] = mapped_column(String(32), nullable=False)
    requirement: Mapped[str] = mapped_column(String(2000), nullable=False)
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    due_date: Mapped[str] = mapped_column(String(10), nullable=False)  # YYYY-MM-DD
    ordered_by: Mapped[str] = mapped_column(String(ADDRESS), nullable=False)
    ordered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    done_by: Mapped[str | None] = mapped_column(String(ADDRESS))
    done_note: Mapped[str | None] = mapped_column(String(2000))


# ---------------------------------------------------------------------------- the edit log (REV6)

#: ``session.info`` key under which a correction names its editor and reason ({"by": ..., "reason": ...});
#: changes flushed without it are workflow steps.
EDIT_CONTEXT = "subsidy_application_edit"
_NOT_LOGGED = {"updated_at", "created_at"}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


@event.listens_for(Session, "before_flush")
def _log_application_edits(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Every change of a submitted application row, field by field, into ``subsidy_application_edits``."""
    edit = session.info.get(EDIT_CONTEXT)
    for obj in list(session.deleted):
        if isinstance(obj, SubsidyApplication) and obj.status != "pending":  # a pending row was never on chain
            session.add(ApplicationEdit(application_id=obj.id, kind="edit" if edit else "step", field="(deleted)",
                                        before=_text({"policy_id": obj.policy_id, "uscc": obj.uscc,
                                                      "status": obj.status, "approved_fen": obj.approved_fen}),
                                        after=None, after_signoff=obj.decided_at is not None,
                                        reason=(edit or {}).get("reason"), by=(edit or {}).get("by")))
    for obj in list(session.dirty):
        if not isinstance(obj, SubsidyApplication):
            continue
        state = sa_inspect(obj)
        changes = []
        original: dict[str, Any] = {}
        for attr in state.mapper.column_attrs:
            hist = state.attrs[attr.key].history
            before = hist.deleted[0] if hist.deleted else (hist.unchanged[0] if hist.unchanged else None)
            original[attr.key] = before
            if hist.has_changes() and attr.key not in _NOT_LOGGED:
                after = hist.added[0] if hist.added else None
                if before != after and hist.deleted:
                    changes.append((attr.key, before, after))
        if not changes or original.get("status") == "pending":
            continue  # the submission itself is being completed
        for name, before, after in changes:
            session.add(ApplicationEdit(application_id=obj.id, kind="edit" if edit else "step", field=name,
                                        before=_text(before), after=_text(after),
                                        after_signoff=original.get("decided_at") is not None,
                                        reason=(edit or {}).get("reason"), by=(edit or {}).get("by")))

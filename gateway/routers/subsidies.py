"""Subsidies, front half: policies (发布), applications with reduced materials (申报鉴证减材), automatic
verification (秒批), no-application enrolment (免申即享), review (审核) with recusals, and the
verification-agency pool with double-random draws (双随机). Thin: the work is in gateway/subsidies/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from chain.keystore import KeystoreError
from gateway.context import GatewayContext
from gateway.deps import Caller, current_caller, get_context, require_enterprise, require_member
from gateway.errors import APIError
from gateway.subsidies import applications, audit_data, draws, materials, policies, reviews
from gateway.subsidies.policies import MaterialSpec, PolicyDraft, SubsidyError

router = APIRouter(tags=["subsidies"])
T = TypeVar("T")


def _run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    try:
        return fn(*args, **kwargs)
    except SubsidyError as exc:
        raise APIError(exc.status, exc.code, str(exc)) from None


def _key(ctx: GatewayContext, caller: Caller):
    try:
        return ctx.ledger.keyring.by_address(caller.subject)
    except KeystoreError:
        raise APIError(403, "key_not_held", f"this gateway does not hold the key of {caller.subject}") from None


# ---------------------------------------------------------------------------- bodies

class MaterialIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, examples=["business_licence_copy"])
    name: str = Field(min_length=1, max_length=200, examples=["营业执照复印件"])
    licence_types: list[str] = Field(default_factory=list, description="licence types that stand in for it")


class PolicyIn(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    legal_basis_sha256: str = Field(description="SHA-256 of the legal basis / guide stored with POST /documents")
    budget_fen: int = Field(gt=0)
    cap_fen: int = Field(gt=0, description="per-enterprise cap (fen)")
    opens_at: int = Field(gt=0, description="window start, unix seconds (inclusive)")
    closes_at: int = Field(gt=0, description="window end, unix seconds (exclusive)")
    notice_workdays: int = Field(ge=1, le=60)
    payout_deadline_workdays: int = Field(ge=1, le=250)
    criteria: dict[str, Any] = Field(default_factory=lambda: {"all": []},
                                     description="eligibility rule over attested facts (see README)")
    amount_rule: dict[str, Any] = Field(default_factory=lambda: {"kind": "requested"})
    materials: list[MaterialIn] = Field(default_factory=list)
    no_application: bool = False
    document_date: str | None = Field(None, description="the policy document's issue date (YYYY-MM-DD), when the "
                                                        "guide follows it (PUB1 measures the delay)")

    def draft(self) -> PolicyDraft:
        data = self.model_dump()
        data["materials"] = [MaterialSpec(**m) for m in data["materials"]]
        return PolicyDraft(**data)


class AmendIn(PolicyIn):
    reason: str = Field(min_length=1, max_length=1000)

    def draft(self) -> PolicyDraft:
        data = self.model_dump(exclude={"reason"})
        data["materials"] = [MaterialSpec(**m) for m in data["materials"]]
        return PolicyDraft(**data)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class ProjectIn(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=300, description="the project the money is for")
    category: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$", examples=["equipment"])
    year: int | None = Field(None, ge=2000, le=2100)
    invoice_numbers: list[str] = Field(default_factory=list, max_length=200, description="as on the invoices")
    contract_numbers: list[str] = Field(default_factory=list, max_length=200)


class ApplicationIn(BaseModel):
    requested_fen: int = Field(gt=0)
    declared: dict[str, Any] | None = Field(None, description="changes to the pre-filled fields, and the declared "
                                            "figures revenue_fen, tax_paid_fen, insured_staff (APP5)")
    uploads: dict[str, str] = Field(default_factory=dict, description="material code → SHA-256 of the upload")
    project: ProjectIn | None = Field(None, description="project, year, invoice and contract numbers (APP3)")


class CorrectionIn(BaseModel):
    changes: dict[str, Any] = Field(min_length=1, description="project_name, project_category, project_year, "
                                    "invoice_numbers, contract_numbers, enterprise_name, payee_name")
    reason: str | None = Field(None, min_length=1, max_length=1000, description="required after sign-off")


class IdentityIn(BaseModel):
    id_number: str = Field(min_length=18, max_length=18, description="resident ID number: hashed at once, "
                           "never stored")
    former_employers: list[str] = Field(default_factory=list, max_length=50, description="USCCs of past employers")


class CommitmentIn(BaseModel):
    metric: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,63}$", examples=["revenue_fen", "jobs"])
    description: str = Field("", max_length=300)
    target: int = Field(gt=0)
    report_due: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    period_end: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="stay and operate until")


class PerformanceIn(BaseModel):
    metric: str = Field(min_length=1, max_length=64)
    achieved: int = Field(ge=0)
    note: str = Field("", max_length=2000)
    document_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class RectificationIn(BaseModel):
    requirement: str = Field(min_length=1, max_length=2000)
    due_date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")


class DoneIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class PayeeIn(BaseModel):
    account_no: str = Field(min_length=6, max_length=64)
    payee_name: str = Field(min_length=1, max_length=200)
    bank_name: str = Field(min_length=1, max_length=200, examples=["中国工商银行福州分行"])


class EnrolIn(BaseModel):
    uscc: list[str] | None = Field(None, description="enrol only these (default: every eligible enterprise)")


class ReviewIn(BaseModel):
    level: int = Field(ge=1, le=3, description="1 first review, 2 re-review, 3 sign-off")
    passed: bool
    amount_fen: int = Field(ge=0, description="amount recommended (level 3: approved)")
    opinion: str = Field(min_length=1, max_length=20000)


class RecusalIn(BaseModel):
    reason: str = Field(min_length=1, max_length=20000)


class AgencyIn(BaseModel):
    name: str = Field(min_length=1, max_length=300)
    uscc: str = Field(min_length=18, max_length=18)


class DrawIn(BaseModel):
    policy_id: str
    picks: int = Field(ge=1, le=draws.MAX_ITEMS)
    subjects: list[str] | None = Field(None, description="application ids (default: the policy's applications)")


# ---------------------------------------------------------------------------- policies

@router.post("/subsidies/policies", status_code=201, summary="Publish a policy (POLICY member; its department's)")
def publish(body: PolicyIn, caller: Caller = Depends(require_member("policy")),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _run(policies.publish, ctx, _key(ctx, caller), caller.department or "", body.draft())
    return policies.summary(ctx, row, with_chain=True)


@router.get("/subsidies/policies", summary="Policies, by department and status")
def list_policies(department: str | None = Query(None), status: str | None = Query(None, pattern="^(open|closed)$"),
                  _: Caller = Depends(current_caller), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    now = ctx.ledger.chain.now()
    return [policies.summary(ctx, r, now=now) for r in policies.list_policies(ctx, department, status)]


@router.get("/subsidies/policies/{policy_id}", summary="A policy with its on-chain totals")
def get_policy(policy_id: str, _: Caller = Depends(current_caller), ctx: GatewayContext = Depends(get_context)) -> dict:
    return policies.summary(ctx, _run(policies.get, ctx, policy_id), with_chain=True)


@router.get("/subsidies/policies/{policy_id}/versions", summary="Every version of a policy, and its closing")
def policy_versions(policy_id: str, _: Caller = Depends(current_caller),
                    ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return _run(policies.versions, ctx, policy_id)


@router.post("/subsidies/policies/{policy_id}/amend", summary="Amend a policy (new version; POLICY member)")
def amend(policy_id: str, body: AmendIn, caller: Caller = Depends(require_member("policy")),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _run(policies.amend, ctx, _key(ctx, caller), policy_id, body.draft(), body.reason)
    return policies.summary(ctx, row, with_chain=True)


@router.post("/subsidies/policies/{policy_id}/close", summary="Close a policy to new applications (POLICY member)")
def close(policy_id: str, body: ReasonIn, caller: Caller = Depends(require_member("policy")),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    return policies.summary(ctx, _run(policies.close, ctx, _key(ctx, caller), policy_id, body.reason), with_chain=True)


@router.get("/subsidies/policies/{policy_id}/applications", summary="Applications of a policy (members)")
def policy_applications(policy_id: str, status: str | None = Query(None), _: Caller = Depends(require_member()),
                        ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return [applications.summary(r) for r in _run(applications.of_policy, ctx, policy_id, status)]


# ---------------------------------------------------------------------------- 免申即享

@router.get("/subsidies/policies/{policy_id}/eligible", summary="Eligible enterprises of a no-application policy")
def eligible(policy_id: str, _: Caller = Depends(require_member("policy")),
             ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return _run(applications.eligible, ctx, policy_id)


@router.post("/subsidies/policies/{policy_id}/enrolments", summary="Enrol the eligible enterprises (POLICY member)")
def enrol(policy_id: str, body: EnrolIn, caller: Caller = Depends(require_member("policy")),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(applications.enrol, ctx, _key(ctx, caller), policy_id, body.uscc)


# ---------------------------------------------------------------------------- enterprises

@router.get("/subsidies/policies/{policy_id}/prefill", summary="The application as the gateway pre-fills it")
def prefill(policy_id: str, caller: Caller = Depends(require_enterprise),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(applications.prefill, ctx, caller.subject, policy_id)


@router.post("/subsidies/policies/{policy_id}/applications", status_code=201,
             summary="Apply (enterprise): licences stand in for materials; 秒批 when everything matches")
def apply(policy_id: str, body: ApplicationIn, caller: Caller = Depends(require_enterprise),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    project = body.project.model_dump(exclude_none=True) if body.project else None
    row = _run(applications.submit, ctx, caller.subject, policy_id, body.requested_fen, body.declared, body.uploads,
               project)
    return applications.detail(ctx, row)


@router.get("/me/subsidies", summary="My applications and enrolments, with the action each needs")
def my_subsidies(caller: Caller = Depends(require_enterprise),
                 ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return [applications.summary(r) for r in applications.of_enterprise(ctx, caller.subject)]


@router.post("/me/subsidies/{application_id}/payee", summary="Confirm the payee account (kept as a keyed hash)")
def confirm_payee(application_id: str, body: PayeeIn, caller: Caller = Depends(require_enterprise),
                  ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _run(applications.confirm_payee, ctx, caller.subject, application_id, body.account_no, body.payee_name,
               body.bank_name)
    return applications.summary(row)


class ResupplyIn(BaseModel):
    document_sha256: str = Field(description="SHA-256 of the document uploaded with POST /documents")


@router.post("/me/subsidies/{application_id}/materials/{code}",
             summary="Re-supply a material whose licence no longer stands on chain, as an uploaded document")
def resupply_material(application_id: str, code: str, body: ResupplyIn, caller: Caller = Depends(require_enterprise),
                      ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(materials.resupply, ctx, caller.subject, application_id, code, body.document_sha256)


# ---------------------------------------------------------------------------- applications and review

@router.get("/subsidies/applications/{application_id}", summary="An application: materials, verification, reviews")
def get_application(application_id: str, caller: Caller = Depends(current_caller),
                    ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _run(applications.get, ctx, application_id)
    if caller.kind == "enterprise" and caller.subject != row.uscc:
        raise APIError(403, "not_applicant", "an enterprise sees only its own applications")
    if caller.kind == "member":  # a reviewer of the policy's department opening it starts the review clock
        audit_data.open_for_review(ctx, caller.subject, caller.department or "", caller.roles, row, "view")
    out = applications.detail(ctx, row)
    out["chain_status"] = applications.chain_status(ctx, row.id)
    out["record_consistency"] = applications.consistency(ctx, row)
    return out


@router.post("/subsidies/applications/{application_id}/reviews", status_code=201,
             summary="Record a review level (REVIEWER of the policy's department)")
def review(application_id: str, body: ReviewIn, caller: Caller = Depends(require_member("reviewer")),
           ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _run(reviews.record, ctx, _key(ctx, caller), caller.department or "", application_id, body.level,
               body.passed, body.amount_fen, body.opinion)
    return applications.detail(ctx, row)


@router.post("/subsidies/applications/{application_id}/recusals", status_code=201,
             summary="Declare a recusal (回避) from an application (REVIEWER)")
def recusal(application_id: str, body: RecusalIn, caller: Caller = Depends(require_member("reviewer")),
            ctx: GatewayContext = Depends(get_context)) -> dict:
    rec = _run(reviews.recuse, ctx, _key(ctx, caller), caller.department or "", application_id, body.reason)
    return {"application_id": rec.application_id, "reviewer": rec.reviewer, "department": rec.department,
            "reason_sha256": rec.reason_sha256, "reason_digest": rec.reason_digest, "declared_at": rec.declared_at,
            "tx_hash": rec.tx_hash}


@router.get("/subsidies/reviews/queue", summary="Applications awaiting review in my department, with deadlines")
def review_queue(caller: Caller = Depends(require_member("reviewer")),
                 ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return reviews.queue(ctx, caller.department or "", caller.subject)


@router.get("/subsidies/reviews/overdue", summary="Applications whose awaited review level is past its deadline")
def review_overdue(_: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return reviews.overdue(ctx)


@router.get("/subsidies/materials/saved", summary="Materials satisfied by licences instead of uploads (减材)")
def materials_saved(policy_id: str | None = Query(None), _: Caller = Depends(require_member()),
                    ctx: GatewayContext = Depends(get_context)) -> dict:
    return materials.saved(ctx, policy_id.lower() if policy_id else None)


# ---------------------------------------------------------------------------- agencies and draws

@router.post("/subsidies/agencies", status_code=201, summary="Register a verification agency in my department's pool")
def register_agency(body: AgencyIn, caller: Caller = Depends(require_member("policy")),
                    ctx: GatewayContext = Depends(get_context)) -> dict:
    return draws.agency_view(_run(draws.register_agency, ctx, _key(ctx, caller), caller.department or "",
                                  body.name, body.uscc))


@router.get("/subsidies/agencies", summary="Verification agencies, by department")
def list_agencies(department: str | None = Query(None), _: Caller = Depends(require_member()),
                  ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return [draws.agency_view(r) for r in draws.agencies(ctx, department)]


@router.post("/subsidies/agencies/{agency_id}/deactivate", summary="Remove an agency from future draws")
def deactivate_agency(agency_id: str, body: ReasonIn, caller: Caller = Depends(require_member("policy")),
                      ctx: GatewayContext = Depends(get_context)) -> dict:
    return draws.agency_view(_run(draws.deactivate_agency, ctx, _key(ctx, caller), agency_id, body.reason))


@router.post("/subsidies/draws", status_code=201, summary="Double-random draw (双随机): an agency and applications")
def new_draw(body: DrawIn, caller: Caller = Depends(require_member("policy")),
             ctx: GatewayContext = Depends(get_context)) -> dict:
    return draws.view(_run(draws.draw, ctx, _key(ctx, caller), caller.department or "", body.policy_id, body.picks,
                           body.subjects))


@router.post("/subsidies/draws/{draw_id}/execute", summary="Execute a requested draw (in a block after the request)")
def execute_draw(draw_id: str, caller: Caller = Depends(require_member("policy")),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    return draws.view(_run(draws.execute, ctx, _key(ctx, caller), draw_id))


@router.get("/subsidies/draws/{draw_id}", summary="A draw: pool snapshot, subjects, seed and pick")
def get_draw(draw_id: str, _: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> dict:
    return draws.view(_run(draws.get, ctx, draw_id))


@router.get("/subsidies/draws/{draw_id}/verify", summary="Re-compute a draw from the chain alone")
def verify_draw(draw_id: str, _: Caller = Depends(current_caller), ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(draws.verify, ctx, draw_id)


# ---------------------------------------------------------------------------- audit data

@router.post("/subsidies/applications/{application_id}/reviews/start", status_code=201,
             summary="Start reviewing an application: its time spent counts from now (REVIEWER of its department)")
def start_review(application_id: str, caller: Caller = Depends(require_member("reviewer")),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    row = _run(applications.get, ctx, application_id)
    return _run(audit_data.open_for_review, ctx, caller.subject, caller.department or "", caller.roles, row, "start")


@router.post("/subsidies/applications/{application_id}/corrections",
             summary="Correct off-chain fields of an application, logged with before / after (policy department)")
def correct_application(application_id: str, body: CorrectionIn, caller: Caller = Depends(require_member()),
                        ctx: GatewayContext = Depends(get_context)) -> dict:
    if not {"policy", "reviewer"} & set(caller.roles):
        raise APIError(403, "missing_role", "role policy or reviewer required", required=["policy", "reviewer"],
                       held=list(caller.roles))
    row = _run(audit_data.correct, ctx, caller.subject, caller.department or "", application_id, body.changes,
               body.reason)
    return applications.detail(ctx, row)


@router.get("/subsidies/applications/{application_id}/edits",
            summary="Every change of the application row after submission: steps and corrections (members)")
def application_edits(application_id: str, kind: str | None = Query(None, pattern="^(step|edit)$"),
                      _: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    row = _run(applications.get, ctx, application_id)
    return audit_data.edits(ctx, row.id, kind)


@router.put("/subsidies/members/{member}/identity",
            summary="Declare the person behind a member account (keyed hash of the ID number; the member or "
                    "their department's governor)")
def declare_identity(member: str, body: IdentityIn, caller: Caller = Depends(require_member()),
                     ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(audit_data.declare_identity, ctx, caller.subject, caller.department, caller.roles, member,
                body.id_number, body.former_employers)


@router.get("/subsidies/members/{member}/identity", summary="A member's declared identity (hash only)")
def get_identity(member: str, caller: Caller = Depends(require_member()),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    out = _run(audit_data.identity_of, ctx, member)
    if out["member"].lower() != caller.subject.lower() and not (
            "inspector" in caller.roles or ("governor" in caller.roles and caller.department == out["department"])):
        raise APIError(403, "not_own_identity", "the member, their department's governor or an inspector only")
    return out


@router.post("/subsidies/policies/{policy_id}/commitments", status_code=201,
             summary="Set a performance commitment of a policy (POLICY member of its department)")
def set_commitment(policy_id: str, body: CommitmentIn, caller: Caller = Depends(require_member("policy")),
                   ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(audit_data.set_commitment, ctx, caller.subject, caller.department or "", policy_id, body.metric,
                body.description, body.target, body.report_due, body.period_end)


@router.get("/subsidies/policies/{policy_id}/commitments", summary="A policy's performance commitments")
def list_commitments(policy_id: str, _: Caller = Depends(current_caller),
                     ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    _run(policies.get, ctx, policy_id)
    return audit_data.commitments(ctx, policy_id)


@router.post("/me/subsidies/{application_id}/performance", status_code=201,
             summary="Report performance against a commitment of my subsidy's policy (the enterprise)")
def report_performance(application_id: str, body: PerformanceIn, caller: Caller = Depends(require_enterprise),
                       ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(audit_data.report_performance, ctx, caller.subject, application_id, body.metric, body.achieved,
                body.note, body.document_sha256)


@router.post("/subsidies/applications/{application_id}/rectifications", status_code=201,
             summary="Order a rectification (整改) with a due date (POLICY member of the policy's department)")
def order_rectification(application_id: str, body: RectificationIn, caller: Caller = Depends(require_member("policy")),
                        ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(audit_data.order_rectification, ctx, caller.subject, caller.department or "", application_id,
                body.requirement, body.due_date)


@router.get("/subsidies/applications/{application_id}/rectifications",
            summary="Rectification and claw-back orders of an application, with due dates (members)")
def list_rectifications(application_id: str, _: Caller = Depends(require_member()),
                        ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    row = _run(applications.get, ctx, application_id)
    return audit_data.rectifications(ctx, row.id)


@router.post("/subsidies/rectifications/{rectification_id}/done",
             summary="Record a rectification as done (POLICY member of the ordering department)")
def rectification_done(rectification_id: int, body: DoneIn, caller: Caller = Depends(require_member("policy")),
                       ctx: GatewayContext = Depends(get_context)) -> dict:
    return _run(audit_data.complete_rectification, ctx, caller.subject, caller.department or "", rectification_id,
                body.note)

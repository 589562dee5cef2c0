"""Reduced materials (申报鉴证减材): each material a policy requires is satisfied by a reference to one
of the applicant's valid on-chain licences of a type that stands in for it, or else by a document the
enterprise uploaded (stored encrypted and anchored by the documents service). The figure reported is
how many materials were satisfied by licences instead of uploads: per application, per policy and
overall.

The applicant's licences are found on chain whichever department issued them
(:func:`gateway.subsidies.autoverify.licences_of`). A licence-backed material is re-checked against
the chain whenever the application is read (:func:`annotate`): a licence revoked, suspended or expired
since filing (or superseded by a renewal that is itself no longer valid) leaves the material no longer
satisfied, with the reason, until the enterprise re-supplies it as an uploaded document
(:func:`resupply`); the sign-off (review level 3) that would approve the application is refused
meanwhile (:func:`check_signoff`). The figure reported keeps what was recorded at filing (the chain's
``licenceRefs``). The audit (APP1, missing materials) reads when a licence stopped standing
(:func:`standing`: the block time of its suspension or revocation, or its expiry) and when the material
was re-supplied (``SubsidyMaterial.resupplied_at``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from eth_utils import keccak
from sqlalchemy import func, select

from chain.db import transaction
from gateway.context import GatewayContext
from gateway.documents.vault import VaultError
from gateway.services import documents
from gateway.subsidies.autoverify import HeldLicence, read_licences
from gateway.subsidies.models import SubsidyApplication, SubsidyMaterial, SubsidyPolicy
from gateway.subsidies.policies import MaterialSpec, SubsidyError, canonical

SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class MaterialPlan:
    code: str
    name: str
    licence_types: list[str]
    satisfied_by: str | None = None  # licence | upload | None (still needed)
    licence_id: str | None = None
    licence_type: str | None = None
    licence_number: str | None = None  # None: a licence another department issued (its fields are there)
    licence_issuer: str | None = None
    document_sha256: str | None = None
    document_leaf: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "name": self.name, "licence_types": self.licence_types,
               "satisfied_by": self.satisfied_by or "needs_upload", "licence_id": self.licence_id,
               "licence_type": self.licence_type, "licence_number": self.licence_number,
               "document_sha256": self.document_sha256, "document_leaf": self.document_leaf}
        if self.licence_issuer is not None:
            out["licence_issuer"] = self.licence_issuer
        return out


def plan(required: list[MaterialSpec], licences: list[HeldLicence]) -> list[MaterialPlan]:
    """Each required material matched with the first valid licence of a type that stands in for it."""
    out = []
    for m in required:
        p = MaterialPlan(code=m.code, name=m.name, licence_types=list(m.licence_types))
        for lic in licences:
            if lic.licence_type in m.licence_types:
                p.satisfied_by, p.licence_id, p.licence_type, p.licence_number = ("licence", lic.id, lic.licence_type,
                                                                                   lic.number)
                p.licence_issuer = lic.issuer_department
                break
        out.append(p)
    return out


def attach_uploads(ctx: GatewayContext, plans: list[MaterialPlan], uploads: dict[str, str], uscc: str) -> None:
    """Fill the materials no licence satisfies with the enterprise's uploaded documents; every such
    material must have one, and an upload for a material a licence satisfies is refused."""
    known = {p.code for p in plans}
    unknown = sorted(set(uploads) - known)
    if unknown:
        raise SubsidyError("unknown_material", f"the policy requires no material {unknown}")
    for p in plans:
        sha = uploads.get(p.code)
        if p.satisfied_by == "licence":
            if sha:
                raise SubsidyError("material_by_licence", f"material {p.code} is satisfied by licence "
                                   f"{p.licence_type} {p.licence_number or p.licence_id}: no upload needed", 422)
            continue
        if not sha:
            raise SubsidyError("material_missing", f"material {p.code} ({p.name}) needs an upload: no valid licence "
                               f"of type {p.licence_types or '-'} stands in for it")
        sha, leaf = _uploaded(ctx, p.code, sha, uscc)
        p.satisfied_by, p.document_sha256, p.document_leaf = "upload", sha, leaf


def _uploaded(ctx: GatewayContext, code: str, sha: str, uscc: str) -> tuple[str, str]:
    """(SHA-256, anchored leaf) of a document ``uscc`` uploaded, for material ``code``."""
    sha = str(sha).lower()
    if not SHA256.match(sha):
        raise SubsidyError("invalid_digest", f"material {code}: a document is named by its SHA-256 (64 hex)")
    try:
        _, uploaded_by = documents.owner_of(ctx, sha)
        leaf = documents.receipt(ctx, sha)["leaf"]
    except VaultError:
        raise SubsidyError("document_not_found", f"material {code}: no stored document {sha}; upload it with "
                           "POST /documents first", 404) from None
    if uploaded_by != uscc:
        raise SubsidyError("not_uploader", f"material {code}: document {sha} was not uploaded by {uscc}", 403)
    return sha, leaf


def materials_hash(policy_id: str, uscc_hash: str, plans: list[MaterialPlan]) -> bytes:
    """keccak256 of the canonical list of materials: each licence reference or uploaded document's leaf."""
    return keccak(canonical({"policy": policy_id, "applicant": uscc_hash,
                             "materials": [p.as_dict() for p in plans]}))


# ---------------------------------------------------------------------------- re-checking filed materials

MAX_RENEWALS = 5  # superseded -> successor hops followed when re-checking a licence
RESUPPLIABLE = ("submitted", "under_review")  # awaiting review: materials may be re-supplied
LAPSE_EVENTS = ("LicenceSuspended", "LicenceReinstated", "LicenceRevoked")
MAX_ID_FILTER = 50  # up to this many licences, the event query filters by id; beyond, it reads all lapse events


def _reason(status: str, rec: dict[str, Any]) -> str:
    dept = _code(rec.get("department"))
    if status in ("revoked", "suspended"):
        return f"the licence was {status} by {dept} (reason code {int(rec.get('reason') or 0)})"
    if status == "expired":
        return f"the licence expired at {int(rec.get('validUntil') or 0)} (unix seconds)"
    if status == "not_yet_valid":
        return f"the licence is valid only from {int(rec.get('validFrom') or 0)} (unix seconds)"
    if status == "none":
        return "the chain knows no such licence"
    return f"the licence is {status}"


def _code(value: Any) -> str:
    from chain.roles import bytes32_to_code

    return bytes32_to_code(value) if isinstance(value, (bytes, bytearray)) else str(value or "")


def licence_checks(ctx: GatewayContext, licence_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each licence's standing now on chain (batched reads): status, whether it still stands in for a
    material, and why not. A licence superseded by a renewal stands while its successor is valid."""
    ids = sorted({i.lower() for i in licence_ids})
    block = ctx.ledger.chain.head()
    records = read_licences(ctx, ids)
    successors: dict[str, str] = {}
    chase = {lid: lid for lid, got in records.items() if got["status"] == "superseded"}
    for _ in range(MAX_RENEWALS):
        nxt = {orig: "0x" + bytes(records[cur]["record"]["supersededBy"]).hex() for orig, cur in chase.items()
               if cur in records and records[cur]["status"] == "superseded"}
        if not nxt:
            break
        records.update(read_licences(ctx, sorted(set(nxt.values()) - set(records))))
        successors.update(nxt)
        chase = nxt
    out = {}
    for lid in ids:
        got = records.get(lid)
        if got is None:
            out[lid] = {"licence_id": lid, "status": "none", "valid": False, "block": block,
                        "reason": _reason("none", {})}
            continue
        rec, status = got["record"], got["status"]
        item: dict[str, Any] = {"licence_id": lid, "status": status, "valid": status == "valid", "block": block,
                                "issuer_department": _code(rec["department"]),
                                "valid_until": int(rec["validUntil"])}
        if status == "superseded" and lid in successors:
            succ = successors[lid]
            while succ in successors:
                succ = successors[succ]
            succ_status = records.get(succ, {}).get("status", "none")
            item["renewed_as"] = {"licence_id": succ, "status": succ_status}
            item["valid"] = succ_status == "valid"
            if not item["valid"]:
                item["reason"] = (f"the licence was renewed as {succ}, which is "
                                  f"{succ_status}: " + _reason(succ_status, records.get(succ, {}).get("record", {})))
        elif status != "valid":
            item["reason"] = _reason(status, rec)
        out[lid] = item
    return out


def _lapse_starts(ctx: GatewayContext, licence_ids: set[str], catch_up: bool) -> dict[str, int]:
    """Per licence: the block time its current suspension or revocation began (a ``LicenceSuspended`` or
    ``LicenceRevoked`` not followed by ``LicenceReinstated``), from the event index (brought up to the chain
    head first with ``catch_up``). A licence with no such event indexed is left out (its lapse time is
    unknown)."""
    from gateway.subsidies import trace

    if ctx.ledger.indexer is None or not licence_ids:
        return {}
    if catch_up:
        trace.catch_up(ctx)
    needles = sorted(licence_ids) if len(licence_ids) <= MAX_ID_FILTER else ()
    out: dict[str, int] = {}
    for e in trace.indexed_events(ctx, LAPSE_EVENTS, *needles):
        lid = e["args"].get("id")
        if e["contract"] != "LicenceRegistry" or lid not in licence_ids:
            continue
        if e["event"] == "LicenceReinstated":
            out.pop(lid, None)
        else:
            out.setdefault(lid, int(e["time"]))  # revoked while suspended: lapsed since the suspension
    return out


def standing(ctx: GatewayContext, licence_ids: list[str], catch_up: bool = True) -> dict[str, dict[str, Any]]:
    """:func:`licence_checks` with, for each licence that no longer stands, ``lapsed_at``: when it stopped
    standing (unix seconds, chain time) — the block time of the suspension or revocation (of the renewal
    it was superseded by, when that one no longer stands), or its ``validUntil`` once expired, whichever
    came first; None when the chain does not say (an event not indexed, a licence the chain does not
    know). ``lapsed_at`` is None for a licence that stands. The audit's APP1 measures from it. ``catch_up``:
    index up to the chain head first (not from inside the indexer's own listeners: the running gateway's
    indexer keeps the index current there)."""
    checks = licence_checks(ctx, licence_ids)
    lapsed = {lid: c.get("renewed_as", {}).get("licence_id", lid) for lid, c in checks.items() if not c["valid"]}
    final_checks = {f: checks[f] for f in lapsed.values() if f in checks}
    if set(lapsed.values()) - set(final_checks):  # renewals: their own validity and expiry
        final_checks.update(licence_checks(ctx, sorted(set(lapsed.values()) - set(final_checks))))
    starts = _lapse_starts(ctx, set(lapsed.values()), catch_up)
    for lid, check in checks.items():
        check["lapsed_at"] = None
        if lid not in lapsed:
            continue
        final = final_checks.get(lapsed[lid], {})
        candidates = [starts[lapsed[lid]]] if lapsed[lid] in starts else []
        until = int(final.get("valid_until") or 0)  # 0: no expiry
        if until and (final.get("status") == "expired" or (candidates and until < candidates[0])):
            candidates.append(until)  # expired (before it was suspended or revoked, if it was)
        check["lapsed_at"] = min(candidates) if candidates else None
    return checks


def annotate(ctx: GatewayContext, row: SubsidyApplication, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Re-check the application's licence-backed materials against the chain now: each such item gets
    ``licence_check`` and ``satisfied`` (False when its licence no longer stands and no document was
    re-supplied, with ``unsatisfied_reason``); every item gets ``satisfied``. Returns the summary, with
    whether a sign-off may approve it (None once it is no longer awaiting review)."""
    by_licence = [m for m in items if m.get("satisfied_by") == "licence" and m.get("licence_id")]
    checks = licence_checks(ctx, [m["licence_id"] for m in by_licence]) if by_licence else {}
    lapsed = []
    for m in items:
        if m.get("satisfied_by") == "licence" and m.get("licence_id"):
            check = checks[m["licence_id"].lower()]
            m["licence_check"] = check
            if m.get("licence_number") is None:
                m["off_chain_fields"] = (f"the licence number and document are held by the issuing department "
                                         f"({check.get('issuer_department') or '?'})")
            if check["valid"]:
                m["satisfied"] = True
            elif m.get("document_sha256"):
                m["satisfied"], m["resupplied"] = True, True
            else:
                m["satisfied"] = False
                m["unsatisfied_reason"] = check["reason"]
                lapsed.append(m["code"])
        else:
            m["satisfied"] = m.get("satisfied_by") == "upload"
    return {"checked_at_block": ctx.ledger.chain.head(), "licence_backed": len(by_licence),
            "no_longer_satisfied": lapsed, "all_satisfied": all(m["satisfied"] for m in items),
            "sign_off_allowed": not lapsed if row.status in RESUPPLIABLE else None}  # None: not awaiting review


def material_items(ctx: GatewayContext, application_id: str) -> list[dict[str, Any]]:
    """The application's materials as recorded at filing (and re-supplied since), in filing order."""
    with ctx.sessions() as s:
        return [{"code": m.code, "name": m.name, "satisfied_by": m.satisfied_by, "licence_id": m.licence_id,
                 "licence_type": m.licence_type, "licence_number": m.licence_number,
                 "document_sha256": m.document_sha256, "document_leaf": m.document_leaf,
                 "resupplied_at": m.resupplied_at}
                for m in s.scalars(select(SubsidyMaterial).where(SubsidyMaterial.application_id == application_id)
                                   .order_by(SubsidyMaterial.id))]


def check_signoff(ctx: GatewayContext, row: SubsidyApplication) -> None:
    """Refuse to approve (sign off) an application whose licence-backed material no longer stands on
    chain and was not re-supplied (409 ``licence_material_invalid``)."""
    items = material_items(ctx, row.id)
    summary = annotate(ctx, row, items)
    if summary["no_longer_satisfied"]:
        why = "; ".join(f"{m['code']}: {m['unsatisfied_reason']}" for m in items if m["code"] in
                        summary["no_longer_satisfied"])
        raise SubsidyError("licence_material_invalid", f"the sign-off would approve application {row.id} although "
                           f"a licence-backed material no longer stands ({why}); the enterprise must re-supply it "
                           f"(POST /me/subsidies/{row.id}/materials/CODE) or the application be rejected", 409)


def resupply(ctx: GatewayContext, uscc: str, application_id: str, code: str, sha256: str) -> dict[str, Any]:
    """The enterprise re-supplies a licence-backed material whose licence no longer stands, as a document
    it uploaded (stored and anchored by the documents service); the material is satisfied again. What was
    filed on chain (the materials hash, the licence references) is unchanged."""
    with ctx.sessions() as s:
        row = s.get(SubsidyApplication, str(application_id).lower())
    if row is None:
        raise SubsidyError("application_not_found", f"no application {application_id}", 404)
    if row.uscc != uscc:
        raise SubsidyError("not_applicant", "an enterprise re-supplies materials of its own applications only", 403)
    if row.status not in RESUPPLIABLE:
        raise SubsidyError("invalid_status", f"the application is {row.status}: its materials are settled", 409)
    items = {m["code"]: m for m in material_items(ctx, row.id)}
    item = items.get(code)
    if item is None:
        raise SubsidyError("unknown_material", f"the application has no material {code!r}", 404)
    if item["satisfied_by"] != "licence":
        raise SubsidyError("not_licence_material", f"material {code} was uploaded at filing, not a licence", 409)
    check = licence_checks(ctx, [item["licence_id"]])[item["licence_id"].lower()]
    if check["valid"]:
        raise SubsidyError("material_still_valid", f"material {code}: licence {item['licence_id']} still stands on "
                           "chain; nothing to re-supply", 409)
    sha, leaf = _uploaded(ctx, code, sha256, uscc)
    with transaction(ctx.sessions) as s:
        m = s.scalar(select(SubsidyMaterial).where(SubsidyMaterial.application_id == row.id,
                                                   SubsidyMaterial.code == code))
        m.document_sha256, m.document_leaf = sha, leaf
        m.resupplied_at = ctx.ledger.chain.now()  # chain time, as every step of the application
    items = material_items(ctx, row.id)
    summary = annotate(ctx, row, items)
    return {"application_id": row.id, "material_items": items, "materials_check": summary}


# ---------------------------------------------------------------------------- the figure

def _ratio(saved: int, required: int) -> float:
    return round(saved / required, 4) if required else 0.0


def saved(ctx: GatewayContext, policy_id: str | None = None) -> dict[str, Any]:
    """Materials required, satisfied by licences (saved) and uploaded: overall and per policy."""
    a = SubsidyApplication
    with ctx.sessions() as s:
        q = (select(a.policy_id, SubsidyPolicy.title, func.count(), func.sum(a.materials_required),
                    func.sum(a.materials_by_licence), func.sum(a.materials_uploaded))
             .join(SubsidyPolicy, SubsidyPolicy.id == a.policy_id).where(a.enrolled.is_(False), a.status != "pending")
             .group_by(a.policy_id, SubsidyPolicy.title).order_by(a.policy_id))
        if policy_id:
            q = q.where(a.policy_id == policy_id)
        rows = s.execute(q).all()
    per_policy = [{"policy_id": pid, "title": title, "applications": n, "materials_required": int(req or 0),
                   "materials_by_licence": int(lic or 0), "materials_uploaded": int(up or 0),
                   "saved_ratio": _ratio(int(lic or 0), int(req or 0))}
                  for pid, title, n, req, lic, up in rows]
    required = sum(p["materials_required"] for p in per_policy)
    by_licence = sum(p["materials_by_licence"] for p in per_policy)
    return {"applications": sum(p["applications"] for p in per_policy), "materials_required": required,
            "materials_by_licence": by_licence, "materials_uploaded": sum(p["materials_uploaded"] for p in per_policy),
            "saved_ratio": _ratio(by_licence, required), "policies": per_policy}

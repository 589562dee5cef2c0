"""Verification agencies and double-random draws (双随机) on the ``AgencyDraws`` contract.

A policy department registers third-party verification agencies in its pool. A draw picks, at
random, one agency of the pool and ``picks`` of the policy's applications for it to check: the
request (one transaction) fixes the pool snapshot and the subjects; the execution (a second
transaction, in a later block) takes its seed from the hash of the request's block. :func:`verify`
re-computes the pick from the chain alone — the stored inputs and the block hash — exactly as the
contract documents it, so anyone can check that the draw was what the seed gives.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from eth_abi import encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from sqlalchemy import select
from sqlalchemy.orm import Session

from chain.db import transaction
from chain.errors import ContractRevert
from chain.structs import call_struct
from gateway.context import GatewayContext
from gateway.subsidies import applications, policies
from gateway.subsidies.models import AgencyDraw, SubsidyApplication, VerificationAgency
from gateway.subsidies.policies import Mined, SubsidyError, applier, b32, canonical, hex32, send_step
from oracle.uscc import is_valid

MAX_ITEMS = 512
DRAWABLE = ("submitted", "under_review", "approved", "noticed", "partially_paid", "paid")


def _contract(ctx: GatewayContext):
    return ctx.ledger.contract("AgencyDraws")


def agency_id(uscc: str) -> bytes:
    """An agency's id: keccak256("agency:" + its USCC) (an organisation's public code)."""
    return keccak(text=f"agency:{uscc}")


# ---------------------------------------------------------------------------- the pool

def register_agency(ctx: GatewayContext, account: LocalAccount, department: str, name: str,
                    uscc: str) -> VerificationAgency:
    if not name or len(name) > 300:
        raise SubsidyError("invalid_name", "name must be 1-300 characters")
    if not is_valid(uscc):
        raise SubsidyError("invalid_uscc", f"{uscc!r} is not a valid unified social credit code")
    aid = agency_id(uscc)
    details = keccak(canonical({"name": name, "uscc": uscc}))
    send_step(ctx, account, _contract(ctx).functions.registerAgency(aid, details), f"register agency {hex32(aid)}",
              "agency_registered", {"agency_id": hex32(aid), "department": department, "name": name, "uscc": uscc,
                                    "by": account.address})
    return get_agency(ctx, hex32(aid))


@applier("agency_registered")
def _record_agency(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    s.add(VerificationAgency(id=p["agency_id"], department=p["department"], name=p["name"], uscc=p["uscc"],
                             active=True, registered_by=p["by"], registered_at=mined.block_timestamp,
                             tx_hash=mined.tx_hash))


def deactivate_agency(ctx: GatewayContext, account: LocalAccount, agency_id_hex: str,
                      reason: str) -> VerificationAgency:
    row = get_agency(ctx, agency_id_hex)
    if not reason or len(reason) > 1000:
        raise SubsidyError("reason_required", "removing an agency needs a reason (1-1000 characters)")
    send_step(ctx, account, _contract(ctx).functions.deactivateAgency(b32(row.id), keccak(text=reason)),
              f"deactivate agency {row.id}", "agency_deactivated", {"agency_id": row.id})
    return get_agency(ctx, row.id)


@applier("agency_deactivated")
def _record_deactivated(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    s.get(VerificationAgency, p["agency_id"]).active = False


def get_agency(ctx: GatewayContext, agency_id_hex: str) -> VerificationAgency:
    b32(agency_id_hex, "agency_id")
    with ctx.sessions() as s:
        row = s.get(VerificationAgency, agency_id_hex.lower())
    if row is None:
        raise SubsidyError("agency_not_found", f"no agency {agency_id_hex}", 404)
    return row


def agencies(ctx: GatewayContext, department: str | None = None) -> list[VerificationAgency]:
    with ctx.sessions() as s:
        q = select(VerificationAgency)
        if department:
            q = q.where(VerificationAgency.department == department)
        return list(s.scalars(q.order_by(VerificationAgency.registered_at, VerificationAgency.id)))


def agency_view(row: VerificationAgency) -> dict[str, Any]:
    return {"id": row.id, "department": row.department, "name": row.name, "uscc": row.uscc, "active": row.active,
            "registered_by": row.registered_by, "registered_at": row.registered_at, "tx_hash": row.tx_hash}


# ---------------------------------------------------------------------------- draws

def recompute(seed: bytes, candidates: list[bytes], subjects: list[bytes], picks: int) -> tuple[bytes, list[bytes]]:
    """The contract's pick, in Python: agency by keccak(seed, "agency"), subjects by a partial
    Fisher-Yates shuffle with keccak(seed, "subject", i)."""
    if not candidates:
        raise SubsidyError("empty_pool", "a draw needs at least one candidate agency")
    n = int.from_bytes(keccak(encode(["bytes32", "string"], [seed, "agency"])), "big")
    agency = candidates[n % len(candidates)]
    order = list(subjects)
    picked = []
    for i in range(picks):
        r = int.from_bytes(keccak(encode(["bytes32", "string", "uint256"], [seed, "subject", i])), "big")
        j = i + r % (len(order) - i)
        order[i], order[j] = order[j], order[i]
        picked.append(order[i])
    return agency, picked


def draw(ctx: GatewayContext, account: LocalAccount, department: str, policy_id: str, picks: int,
         subjects: list[str] | None = None) -> AgencyDraw:
    """Request a draw over ``subjects`` (default: every filed application of the policy), signed by the
    POLICY officer ``account``, and execute it in a later block. On a node that mines only on
    transactions (the embedded anvil, eth-tester) one empty block is mined first (``[subsidies]
    draw_mine_block``); on a network producing blocks on a timer (Besu QBFT) the draw may come back as
    ``requested`` when no block has followed yet, and :func:`execute` finishes it. Either way the seed
    is the hash of the request's block, unknown when the request was sent."""
    policy = policies.get(ctx, policy_id)
    if policy.department != department:
        raise SubsidyError("not_policy_department", f"policy {policy.id} belongs to {policy.department}: only its "
                           "department draws its checks", 403)
    if subjects is None:
        subjects = [a.id for a in applications.of_policy(ctx, policy.id) if a.status in DRAWABLE]
    subject_bytes = [b32(sid, "application_id") for sid in subjects]
    if not subject_bytes:
        raise SubsidyError("no_subjects", "the policy has no applications to draw from", 409)
    if len(subject_bytes) > MAX_ITEMS:
        raise SubsidyError("too_many_subjects", f"at most {MAX_ITEMS} subjects per draw")
    if not isinstance(picks, int) or not 1 <= picks <= len(subject_bytes):
        raise SubsidyError("invalid_picks", f"picks must be from 1 to {len(subject_bytes)} (the subjects)")
    with ctx.sessions() as s:
        known = set(s.scalars(select(SubsidyApplication.id).where(SubsidyApplication.policy_id == policy.id)))
    strangers = [sid for sid in subjects if sid.lower() not in known]
    if strangers:
        raise SubsidyError("unknown_subject", f"not applications of policy {policy.id}: {strangers[:3]}")
    draw_id = keccak(encode(["string", "bytes32", "bytes16"], ["draw", b32(policy.id), uuid.uuid4().bytes]))
    did = hex32(draw_id)
    send_step(ctx, account, _contract(ctx).functions.requestDraw(draw_id, b32(policy.id), subject_bytes, picks),
              f"request draw {did}", "draw_requested",
              {"draw_id": did, "department": department, "policy_id": policy.id, "by": account.address})
    for attempt in range(2):
        try:
            return execute(ctx, account, did)
        except ContractRevert as exc:
            if exc.error != "DrawNotReady":
                raise
        if attempt or not _mine_block(ctx):
            break
    return get(ctx, did)  # no block after the request's yet: execute later (POST .../execute)


@applier("draw_requested")
def _record_request(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    """The draw's inputs as the chain fixed them (pool snapshot, subjects, count)."""
    contract = _contract(ctx)
    d = call_struct(contract.functions.getDraw(b32(p["draw_id"])))
    candidates, subjects, _ = contract.functions.drawInputs(b32(p["draw_id"])).call()
    s.add(AgencyDraw(id=p["draw_id"], department=p["department"], policy_id=p["policy_id"], status="requested",
                     candidates=json.dumps([hex32(c) for c in candidates]),
                     subjects=json.dumps([hex32(x) for x in subjects]), picks=int(d["picks"]),
                     request_block=int(d["requestBlock"]), requested_by=p["by"], requested_at=mined.block_timestamp,
                     request_tx_hash=mined.tx_hash))


def _mine_block(ctx: GatewayContext) -> bool:
    """Mine one empty block on a node that mines only on transactions; False on any other chain."""
    chain = ctx.ledger.chain
    if ctx.settings.subsidies.draw_mine_block != "auto":
        return False
    if chain.kind == "memory":
        chain.w3.testing.mine(1)
        return True
    if chain.kind == "anvil":
        chain.w3.provider.make_request("evm_mine", [])
        return True
    return False


def execute(ctx: GatewayContext, account: LocalAccount, draw_id_hex: str) -> AgencyDraw:
    """Execute a requested draw (a separate transaction, in a later block than the request)."""
    row = get(ctx, draw_id_hex)
    if row.status == "executed":
        raise SubsidyError("already_executed", f"draw {row.id} is already executed", 409)
    if row.status == "expired":
        raise SubsidyError("draw_expired", f"draw {row.id} can no longer be executed: request a new draw", 409)
    if row.department != _department_of(ctx, account):
        raise SubsidyError("not_draw_department", f"draw {row.id} belongs to {row.department}", 403)
    contract = _contract(ctx)
    try:
        send_step(ctx, account, contract.functions.executeDraw(b32(row.id)), f"execute draw {row.id}",
                  "draw_executed", {"draw_id": row.id, "by": account.address})
    except ContractRevert as exc:
        if exc.error == "SeedUnavailable":  # more than 256 blocks since the request: it can never run
            with transaction(ctx.sessions) as s:
                s.get(AgencyDraw, row.id).status = "expired"
        raise
    return get(ctx, row.id)


@applier("draw_executed")
def _record_execution(s: Session, ctx: GatewayContext, p: dict[str, Any], mined: Mined) -> None:
    """The seed and the pick as the contract recorded them."""
    contract = _contract(ctx)
    d = call_struct(contract.functions.getDraw(b32(p["draw_id"])))
    _, _, picked = contract.functions.drawInputs(b32(p["draw_id"])).call()
    r = s.get(AgencyDraw, p["draw_id"])
    r.status, r.seed, r.agency_id = "executed", hex32(d["seed"]), hex32(d["agencyId"])
    r.picked = json.dumps([hex32(x) for x in picked])
    r.executed_by, r.executed_at, r.execute_tx_hash = p["by"], mined.block_timestamp, mined.tx_hash


def _department_of(ctx: GatewayContext, account: LocalAccount) -> str:
    from chain.roles import bytes32_to_code

    return bytes32_to_code(ctx.ledger.registry.functions.departmentOf(account.address).call())


def get(ctx: GatewayContext, draw_id_hex: str) -> AgencyDraw:
    b32(draw_id_hex, "draw_id")
    with ctx.sessions() as s:
        row = s.get(AgencyDraw, draw_id_hex.lower())
    if row is None:
        raise SubsidyError("draw_not_found", f"no draw {draw_id_hex}", 404)
    return row


def of_policy(ctx: GatewayContext, policy_id: str) -> list[AgencyDraw]:
    with ctx.sessions() as s:
        return list(s.scalars(select(AgencyDraw).where(AgencyDraw.policy_id == policy_id.lower())
                              .order_by(AgencyDraw.requested_at)))


def view(row: AgencyDraw) -> dict[str, Any]:
    return {"id": row.id, "department": row.department, "policy_id": row.policy_id, "status": row.status,
            "candidates": json.loads(row.candidates), "subjects": json.loads(row.subjects), "picks": row.picks,
            "request_block": row.request_block, "requested_by": row.requested_by, "requested_at": row.requested_at,
            "request_tx_hash": row.request_tx_hash, "seed": row.seed, "agency_id": row.agency_id,
            "picked": json.loads(row.picked) if row.picked else [], "executed_by": row.executed_by,
            "executed_at": row.executed_at, "execute_tx_hash": row.execute_tx_hash}


def verify(ctx: GatewayContext, draw_id_hex: str) -> dict[str, Any]:
    """Re-check a draw from the chain alone: the request block's hash gives the seed, the seed and the
    stored inputs give the pick; both must equal what the contract recorded (and the gateway's row)."""
    did = b32(draw_id_hex, "draw_id")
    contract = _contract(ctx)
    d = call_struct(contract.functions.getDraw(did))
    candidates, subjects, picked = contract.functions.drawInputs(did).call()
    if not d["executedAt"]:
        return {"draw_id": hex32(did), "executed": False, "valid": None, "reason": "the draw is not executed yet"}
    block_hash = bytes(ctx.ledger.chain.w3.eth.get_block(d["requestBlock"])["hash"])
    seed = keccak(encode(["bytes32", "bytes32"], [block_hash, did]))
    agency, mine = recompute(seed, [bytes(c) for c in candidates], [bytes(x) for x in subjects], d["picks"])
    checks = {"seed": seed == bytes(d["seed"]), "agency": agency == bytes(d["agencyId"]),
              "subjects": [bytes(p) for p in picked] == mine}
    try:
        row = get(ctx, hex32(did))
        checks["gateway_record"] = (row.agency_id == hex32(agency) and json.loads(row.picked or "[]")
                                    == [hex32(p) for p in mine])
    except SubsidyError:
        checks["gateway_record"] = False
    return {"draw_id": hex32(did), "executed": True, "valid": all(checks.values()), "checks": checks,
            "request_block": d["requestBlock"], "request_block_hash": hex32(block_hash), "seed": hex32(seed),
            "agency_id": hex32(agency), "picked": [hex32(p) for p in mine]}

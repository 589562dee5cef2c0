"""Health (public, no detail) and status (members): chain head, contracts, journal and indexer lag."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context, require_member

router = APIRouter(tags=["status"])


@router.get("/health", summary="Liveness probe: answers while the process serves requests")
def health() -> dict:
    return {"status": "ok"}


@router.get("/metrics", summary="Prometheus metrics (members with the operator role; use a bearer token)")
def metrics(request: Request, _: Caller = Depends(require_member("operator"))) -> Response:
    return request.app.state.metrics.render()


@router.get("/status", summary="Chain head, chain id, contract addresses, journal and indexer lag")
def status(_: Caller = Depends(require_member()), ctx: GatewayContext = Depends(get_context)) -> dict:
    return ctx.ledger.status()

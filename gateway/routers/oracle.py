"""The oracle: source departments push files; members query facts with their provenance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context, require_member
from gateway.errors import APIError
from oracle import service
from oracle.uscc import is_valid

router = APIRouter(prefix="/oracle", tags=["oracle"])
DATA_TYPES = ("ENTERPRISE_REGISTRY", "TAX_SUMMARY", "SOCIAL_INSURANCE", "BANK_RETURN", "UTILITY_USE", "BANK_FLOW")


def _uscc(uscc: str) -> str:
    if not is_valid(uscc):
        raise APIError(422, "invalid_uscc", f"{uscc!r} is not a valid unified social credit code")
    return uscc


@router.post("/files", status_code=201, summary="Push a source file (oracle members of its source department)")
async def push_file(file: UploadFile = File(...), data_type: str | None = Form(None),
                    observed_at: int | None = Form(None, description="unix seconds; default now"),
                    caller: Caller = Depends(require_member("oracle")),
                    ctx: GatewayContext = Depends(get_context)) -> dict:
    if data_type is not None and data_type not in DATA_TYPES:
        raise APIError(422, "unknown_data_type", f"data_type must be one of {', '.join(DATA_TYPES)}")
    raw = await file.read(ctx.settings.documents.max_bytes + 1)
    if len(raw) > ctx.settings.documents.max_bytes:
        raise APIError(413, "document_too_large", "the file exceeds the size limit")
    try:
        kind = data_type or service.parse_bytes(raw, file.filename or "upload", hmac_key=ctx.hmac_key).data_type
        department, _ = service.source_of(ctx.ledger, kind)
        if department != caller.department:
            raise APIError(403, "not_source_department",
                           f"{kind} is attested only by its source department {department} (一数一源)")
        report = service.ingest(ctx.ledger, ctx.hmac_key, raw, file.filename or "upload", data_type=kind,
                                observed_at=observed_at)
    except service.OracleError as exc:
        raise APIError(exc.status, exc.code, str(exc)) from None
    except (service.UnknownFileType, service.FileError) as exc:
        raise APIError(422, "unreadable_file", str(exc)) from None
    return report.as_dict()


@router.get("/facts/{uscc}", summary="Latest attested facts of an enterprise, with age and provenance")
def facts(uscc: str, max_age_seconds: int | None = Query(None, ge=0), _: Caller = Depends(require_member()),
          ctx: GatewayContext = Depends(get_context)) -> dict:
    return service.latest(ctx.ledger, _uscc(uscc), max_age_seconds)


@router.get("/facts/{uscc}/history", summary="Every attested fact of an enterprise, oldest first")
def history(uscc: str, data_type: str | None = Query(None), _: Caller = Depends(require_member()),
            ctx: GatewayContext = Depends(get_context)) -> list[dict]:
    return service.history(ctx.ledger, _uscc(uscc), data_type)


@router.get("/facts/{uscc}/conflicts", summary="Values changed since a time, and sources that disagree")
def conflicts(uscc: str, since: int = Query(0, ge=0), _: Caller = Depends(require_member()),
              ctx: GatewayContext = Depends(get_context)) -> dict:
    uscc = _uscc(uscc)
    return {"uscc": uscc, "changes": service.changes(ctx.ledger, uscc, since),
            "disagreements": service.disagreements(ctx.ledger, uscc)}


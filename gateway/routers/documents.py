"""Documents: upload (file or JSON), receipt, content, proof bundle, and public verification."""

from __future__ import annotations

import json
import re

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import Response

from chain.keystore import KeystoreError
from gateway.context import GatewayContext, department_signer
from gateway.deps import Caller, current_caller, get_context
from gateway.errors import APIError
from gateway.services import documents

router = APIRouter(tags=["documents"])
SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")


def _digest(sha256: str) -> str:
    if not SHA256.match(sha256):
        raise APIError(422, "invalid_digest", "a document is named by its SHA-256 digest: 64 hexadecimal characters")
    return sha256.lower()


def _uploader(ctx: GatewayContext, caller: Caller) -> tuple[str, str]:
    """(department whose batch anchors the document, uploader). A department that cannot anchor (no
    ISSUER/OPERATOR key held here, e.g. finance or the discipline commission) has its uploads anchored by
    the service department, as an enterprise's are; otherwise its batch could never be sent and would
    stall the batcher."""
    if caller.kind == "enterprise":
        return ctx.settings.gateway.service_department, caller.subject
    department = caller.department or ""
    try:
        department_signer(ctx.ledger, department)
    except KeystoreError:
        department = ctx.settings.gateway.service_department
    return department, caller.subject


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise APIError(413, "document_too_large", f"document exceeds the limit of {limit} bytes")
    return data


@router.post("/documents", status_code=201, summary="Upload a file; stored encrypted and queued for anchoring")
async def upload(file: UploadFile = File(...), caller: Caller = Depends(current_caller),
                 ctx: GatewayContext = Depends(get_context)) -> dict:
    content = await _read_limited(file, ctx.settings.documents.max_bytes)
    department, uploader = _uploader(ctx, caller)
    return documents.store(ctx, content, media_type=file.content_type or "application/octet-stream",
                           filename=file.filename, department=department, uploaded_by=uploader)


@router.post("/documents/json", status_code=201, summary="Upload a JSON document (stored as canonical JSON)")
async def upload_json(request: Request, caller: Caller = Depends(current_caller),
                      ctx: GatewayContext = Depends(get_context)) -> dict:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise APIError(415, "not_json", "send the document with Content-Type: application/json")
    body = await request.body()
    if len(body) > ctx.settings.documents.max_bytes:
        raise APIError(413, "document_too_large",
                       f"document exceeds the limit of {ctx.settings.documents.max_bytes} bytes")
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise APIError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(value, (dict, list)):
        raise APIError(422, "invalid_json", "a JSON document must be an object or an array")
    department, uploader = _uploader(ctx, caller)
    return documents.store(ctx, documents.canonical_json(value), media_type="application/json", filename=None,
                           department=department, uploaded_by=uploader)


def readable(sha256: str, caller: Caller = Depends(current_caller),
             ctx: GatewayContext = Depends(get_context)) -> str:
    """The path's digest, once the caller is the uploader, of the uploading department, or an inspector."""
    sha256 = _digest(sha256)
    department, uploader = documents.owner_of(ctx, sha256)
    if caller.subject == uploader or "inspector" in caller.roles:
        return sha256
    if caller.kind == "member" and caller.department == department:
        return sha256
    raise APIError(403, "not_document_owner", "only the uploading department, the uploader or an inspector may")


@router.get("/documents/{sha256}", summary="Receipt: digests, leaf, and once anchored its proof, root, tx, block")
def get_receipt(sha256: str = Depends(readable), ctx: GatewayContext = Depends(get_context)) -> dict:
    return documents.receipt(ctx, sha256)


@router.get("/documents/{sha256}/content", summary="The decrypted document (uploader, its department, inspectors)")
def get_content(sha256: str = Depends(readable), ctx: GatewayContext = Depends(get_context)) -> Response:
    return Response(ctx.vault.get(sha256), media_type=documents.receipt(ctx, sha256)["media_type"])


@router.get("/documents/{sha256}/bundle", summary="Proof bundle to check offline: alliance verify BUNDLE --rpc URL")
def get_bundle(sha256: str = Depends(readable), ctx: GatewayContext = Depends(get_context)) -> dict:
    return documents.bundle(ctx, sha256)


@router.post("/verify/document", summary="Public: verify a file against the chain (no login)")
async def verify_file(file: UploadFile = File(...), ctx: GatewayContext = Depends(get_context)) -> dict:
    content = await _read_limited(file, ctx.settings.documents.max_bytes)
    return documents.verify(ctx, content=content)


@router.get("/verify/document/{sha256}", summary="Public: verify a document by its SHA-256 digest (no login)")
def verify_digest(sha256: str, ctx: GatewayContext = Depends(get_context)) -> dict:
    return documents.verify(ctx, sha256=_digest(sha256))

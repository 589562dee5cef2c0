"""Documents: store (encrypted, content-addressed), queue for anchoring, receipts, proofs, verification."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from chain.db import transaction
from gateway.context import GatewayContext
from gateway.documents.vault import VaultError
from gateway.models import AnchorBatch, Document
from gateway.verification.documents import DocumentProof, verify_document
from gateway.verification.verdict import INVALID, VALID, Fragment

BUNDLE_FORMAT = "alliance-ledger/document-proof@1"


def canonical_json(value: Any) -> bytes:
    """The bytes a JSON document is stored and hashed as: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def store(ctx: GatewayContext, content: bytes, *, media_type: str, filename: str | None, department: str,
          uploaded_by: str) -> dict[str, Any]:
    """Store a document and queue its leaf for anchoring; the same bytes twice give the same receipt."""
    d = ctx.vault.put(content)
    try:
        with transaction(ctx.sessions) as s:
            if s.scalar(select(Document.id).where(Document.sha256 == d.sha256)) is None:
                s.add(Document(sha256=d.sha256, sm3=d.sm3, leaf=d.leaf, size=d.size, media_type=media_type[:200],
                               filename=(filename or None) and filename[:255], department=department,
                               uploaded_by=uploaded_by))
    except IntegrityError:
        pass  # a concurrent upload of the same bytes won the insert
    ctx.batcher.notify()
    return receipt(ctx, d.sha256)


def _load(ctx: GatewayContext, sha256: str) -> tuple[Document, AnchorBatch | None]:
    with ctx.sessions() as s:
        doc = s.scalar(select(Document).where(Document.sha256 == sha256.lower()))
        if doc is None:
            raise VaultError("document_not_found", f"no document with SHA-256 {sha256}")
        batch = s.get(AnchorBatch, doc.batch_id) if doc.batch_id else None
        return doc, batch


def receipt(ctx: GatewayContext, sha256: str) -> dict[str, Any]:
    """Digests, leaf and — once its batch is confirmed — proof path, root, transaction, block, time."""
    doc, batch = _load(ctx, sha256)
    out: dict[str, Any] = {"sha256": doc.sha256, "sm3": doc.sm3, "leaf": doc.leaf, "size": doc.size,
                           "media_type": doc.media_type, "filename": doc.filename, "department": doc.department,
                           "status": "pending"}
    if batch is not None and batch.status == "confirmed":
        out.update(status="anchored", root=batch.root, proof=json.loads(doc.proof or "[]"), batch_id=batch.id,
                   tx_hash=batch.tx_hash, block_number=batch.block_number, block_timestamp=batch.block_timestamp)
    return out


def owner_of(ctx: GatewayContext, sha256: str) -> tuple[str, str]:
    doc, _ = _load(ctx, sha256)
    return doc.department, doc.uploaded_by


def bundle(ctx: GatewayContext, sha256: str) -> dict[str, Any]:
    """A proof bundle anyone can check offline against any node: `alliance verify BUNDLE --rpc URL`."""
    r = receipt(ctx, sha256)
    if r["status"] != "anchored":
        raise VaultError("document_pending", f"document {sha256} is not anchored yet; try again shortly")
    return {"format": BUNDLE_FORMAT, "chain_id": ctx.ledger.chain.chain_id,
            "contracts": {"DocumentStore": ctx.ledger.contract("DocumentStore").address},
            "document": {k: r[k] for k in ("sha256", "sm3", "leaf", "root", "proof")},
            "anchor": {k: r[k] for k in ("tx_hash", "block_number", "block_timestamp")}}


def verify(ctx: GatewayContext, *, content: bytes | None = None, sha256: str | None = None) -> dict[str, Any]:
    """Verify a document by its bytes or its SHA-256 digest; the gateway's records are checked against the chain."""
    if content is not None:
        from gateway.documents.vault import digests

        sha256 = digests(content).sha256
    try:
        doc, batch = _load(ctx, sha256 or "")
    except VaultError:
        return {"status": INVALID, "valid": False, "failed": ["KnownDocument"], "sha256": sha256,
                "fragments": [{"name": "KnownDocument", "type": "DOCUMENT_STATUS", "status": INVALID,
                               "reason": "no document with these digests was anchored through this gateway",
                               "data": {}}]}
    if batch is None or batch.status != "confirmed":
        return {"status": "PENDING", "valid": False, "failed": [], "sha256": doc.sha256, "fragments": [
            {"name": "DocumentStoreIssued", "type": "DOCUMENT_STATUS", "status": "PENDING",
             "reason": "the document's batch is not anchored yet", "data": {}}]}
    proof = DocumentProof(sha256=doc.sha256, sm3=doc.sm3, leaf=doc.leaf, root=batch.root,
                          proof=tuple(json.loads(doc.proof or "[]")))
    verdict = verify_document(ctx.ledger.contract("DocumentStore"), proof, content)
    verdict.fragments.append(_record_consistency(ctx, batch))
    return {**verdict.to_dict(), "sha256": doc.sha256, "root": batch.root, "tx_hash": batch.tx_hash}


def _record_consistency(ctx: GatewayContext, batch: AnchorBatch) -> Fragment:
    """The gateway says this batch of ``count`` leaves was anchored by ``department``: the chain must agree.
    (Block numbers are not compared: a dev chain rebuilt from the journal mines the same
    transactions in other blocks.)"""
    from chain.roles import bytes32_to_code
    from chain.structs import call_struct

    store = ctx.ledger.contract("DocumentStore")
    root = bytes.fromhex(batch.root[2:])
    try:
        if not store.functions.isIssued(root).call():
            return Fragment("RecordConsistency", "RECORD_CONSISTENCY", INVALID,
                            f"tampering: the gateway records batch {batch.root} as anchored, the chain has no such root")
        on_chain = call_struct(store.functions.getBatch(root))
    except Exception as exc:  # noqa: BLE001
        return Fragment("RecordConsistency", "RECORD_CONSISTENCY", "ERROR", f"{type(exc).__name__}: {exc}")
    dept = bytes32_to_code(on_chain["department"])
    if on_chain["count"] != batch.count or dept != batch.department:
        return Fragment("RecordConsistency", "RECORD_CONSISTENCY", INVALID,
                        f"tampering: the gateway records {batch.count} leaves by {batch.department}, "
                        f"the chain {on_chain['count']} by {dept}")
    return Fragment("RecordConsistency", "RECORD_CONSISTENCY", VALID, "the gateway's record matches the chain")

"""Fragments for an anchored document (a file or a JSON document uploaded to the gateway)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gateway.documents.merkle import verify_proof
from gateway.documents.vault import digests, document_leaf
from gateway.verification.verdict import INVALID, SKIPPED, VALID, Verdict, run


@dataclass(frozen=True)
class DocumentProof:
    """What anyone needs to check a document against the chain, without the gateway."""

    sha256: str
    sm3: str
    leaf: str
    root: str
    proof: tuple[str, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "DocumentProof":
        try:
            return cls(sha256=str(data["sha256"]), sm3=str(data["sm3"]), leaf=str(data["leaf"]),
                       root=str(data["root"]), proof=tuple(str(p) for p in data["proof"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"document proof is missing {exc}") from None


def _b32(value: str) -> bytes:
    raw = bytes.fromhex(value[2:] if value.startswith("0x") else value)
    if len(raw) != 32:
        raise ValueError(f"{value!r} is not a 32-byte hash")
    return raw


def verify_document(store: Any, proof: DocumentProof, content: bytes | None = None) -> Verdict:
    """Check a document proof (and its bytes, when given) against the DocumentStore contract."""

    def digests_check():
        if content is None:
            return SKIPPED, "no file given; checked the digests in the proof only", {}
        d = digests(content)
        if d.sha256 != proof.sha256 or d.sm3 != proof.sm3:
            return INVALID, "the file's SHA-256/SM3 digests differ from the anchored ones", {
                "sha256": d.sha256, "sm3": d.sm3}
        return VALID, "SHA-256 and SM3 digests match", {}

    def leaf_check():
        leaf = document_leaf(bytes.fromhex(proof.sha256), bytes.fromhex(proof.sm3))
        if leaf != _b32(proof.leaf):
            return INVALID, "the leaf does not commit to these digests", {}
        if not verify_proof(leaf, [_b32(p) for p in proof.proof], _b32(proof.root)):
            return INVALID, "the Merkle proof does not lead from the leaf to the root", {}
        return VALID, f"leaf is in the batch with root {proof.root}", {}

    def issued_check():
        root = _b32(proof.root)
        if not store.functions.isIssued(root).call():
            return INVALID, f"root {proof.root} is not anchored in DocumentStore {store.address}", {}
        block = store.functions.getIssuedBlock(root).call()
        return VALID, f"anchored in block {block}", {"block_number": block}

    def revoked_check():
        for label, value in (("document", proof.leaf), ("batch", proof.root)):
            if store.functions.isRevoked(_b32(value)).call():
                reason = store.functions.revocationReason(_b32(value)).call()
                return INVALID, f"the {label} was revoked (reason code {reason})", {"reason_code": reason}
        return VALID, "not revoked", {}

    return Verdict([
        run("DocumentDigests", "DOCUMENT_INTEGRITY", digests_check),
        run("MerkleProof", "DOCUMENT_INTEGRITY", leaf_check),
        run("DocumentStoreIssued", "DOCUMENT_STATUS", issued_check),
        run("DocumentStoreRevoked", "DOCUMENT_STATUS", revoked_check),
    ])

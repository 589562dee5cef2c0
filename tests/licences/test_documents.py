"""Documents: upload (file or JSON), receipts, batch anchoring, encrypted storage, access, public
verification; and the vault's SM4 cipher."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path

import pytest

from gateway.documents.vault import MAGIC, DocumentVault, VaultError, digests
from gateway.services.documents import canonical_json
from tests.licences.helpers import LicenceGateway, error_of


def _content(label: str) -> bytes:
    return f"{label} 营业执照扫描件 {uuid.uuid4()}\n".encode() * 20


def _upload(lg: LicenceGateway, content: bytes, headers: dict, filename: str = "scan.pdf",
            media_type: str = "application/pdf") -> dict:
    response = lg.client.post("/documents", files={"file": (filename, content, media_type)}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_upload_receipt_anchor_and_content(lg: LicenceGateway) -> None:
    content = _content("anchor")
    receipt = _upload(lg, content, lg.admin("MARKET"))
    d = digests(content)
    assert receipt["status"] == "pending"
    assert (receipt["sha256"], receipt["sm3"], receipt["leaf"], receipt["size"]) == (d.sha256, d.sm3, d.leaf,
                                                                                      len(content))
    assert receipt["sha256"] == hashlib.sha256(content).hexdigest()
    assert (receipt["media_type"], receipt["filename"], receipt["department"]) == ("application/pdf", "scan.pdf",
                                                                                   "MARKET")
    assert "proof" not in receipt and "root" not in receipt
    # the same bytes again: the same receipt, stored once
    assert _upload(lg, content, lg.admin("MARKET")) == receipt
    pending = lg.client.get(f"/verify/document/{receipt['sha256']}").json()
    assert pending["status"] == "PENDING" and pending["valid"] is False
    error_of(lg.client.get(f"/documents/{receipt['sha256']}/bundle", headers=lg.admin("MARKET")), 409,
             "document_pending")

    anchored_ids = lg.ctx.batcher.flush()
    assert anchored_ids
    got = lg.client.get(f"/documents/{receipt['sha256']}", headers=lg.admin("MARKET"))
    assert got.status_code == 200, got.text
    anchored = got.json()
    assert anchored["status"] == "anchored"
    assert anchored["root"].startswith("0x") and len(anchored["root"]) == 66
    assert isinstance(anchored["proof"], list)
    assert anchored["tx_hash"].startswith("0x") and anchored["block_number"] > 0 and anchored["block_timestamp"] > 0
    store = lg.ctx.ledger.contract("DocumentStore")
    assert store.functions.isIssued(bytes.fromhex(anchored["root"][2:])).call()
    # uploading the same bytes after anchoring still gives the anchored receipt
    assert _upload(lg, content, lg.admin("MARKET")) == anchored

    # the content comes back as uploaded; on disk it is encrypted
    body = lg.client.get(f"/documents/{receipt['sha256']}/content", headers=lg.admin("MARKET"))
    assert body.status_code == 200 and body.content == content
    assert body.headers["content-type"].startswith("application/pdf")
    on_disk = lg.ctx.vault.path_of(receipt["sha256"])
    assert on_disk.is_relative_to(lg.ctx.settings.vault_dir)
    blob = on_disk.read_bytes()
    assert blob.startswith(MAGIC) and content not in blob and content[:40] not in blob

    # verification by file and by digest, without a token
    verdict = lg.client.post("/verify/document", files={"file": ("any-name.pdf", content)}).json()
    assert verdict["status"] == "VALID" and verdict["failed"] == [], verdict
    assert {f["name"] for f in verdict["fragments"]} >= {"DocumentDigests", "MerkleProof", "DocumentStoreIssued",
                                                          "DocumentStoreRevoked", "RecordConsistency"}
    assert lg.client.get(f"/verify/document/{receipt['sha256'].upper()}").json()["status"] == "VALID"
    other = lg.client.post("/verify/document", files={"file": ("scan.pdf", content + b"!")}).json()
    assert other["status"] == "INVALID" and other["failed"] == ["KnownDocument"]

    bundle = lg.client.get(f"/documents/{receipt['sha256']}/bundle", headers=lg.admin("MARKET")).json()
    assert bundle["format"] == "alliance-ledger/document-proof@1"
    assert bundle["document"]["root"] == anchored["root"] and bundle["anchor"]["tx_hash"] == anchored["tx_hash"]


def test_document_access(lg: LicenceGateway) -> None:
    content = _content("access")
    sha = _upload(lg, content, lg.admin("SCITECH"))["sha256"]
    for path in (f"/documents/{sha}", f"/documents/{sha}/content", f"/documents/{sha}/bundle"):
        error_of(lg.client.get(path, headers=lg.admin("MARKET")), 403, "not_document_owner")
    _, enterprise = lg.enterprise()
    error_of(lg.client.get(f"/documents/{sha}/content", headers=enterprise), 403, "not_document_owner")
    error_of(lg.client.get(f"/documents/{sha}/content"), 401, "token_missing")
    # the discipline inspector may read everything
    inspector = lg.client.get(f"/documents/{sha}/content", headers=lg.admin("DISCIPLINE"))
    assert inspector.status_code == 200 and inspector.content == content
    assert lg.client.get(f"/documents/{sha}", headers=lg.admin("DISCIPLINE")).status_code == 200


def test_enterprise_upload(lg: LicenceGateway) -> None:
    _, mine = lg.enterprise()
    _, theirs = lg.enterprise()
    content = _content("enterprise")
    receipt = _upload(lg, content, mine)
    assert receipt["department"] == lg.ctx.settings.gateway.service_department
    assert lg.client.get(f"/documents/{receipt['sha256']}/content", headers=mine).content == content
    error_of(lg.client.get(f"/documents/{receipt['sha256']}/content", headers=theirs), 403, "not_document_owner")
    lg.ctx.batcher.flush()
    assert lg.client.get(f"/documents/{receipt['sha256']}", headers=mine).json()["status"] == "anchored"


def test_json_document(lg: LicenceGateway) -> None:
    value = {"申请": "研发费用加计扣除", "amount": 120000, "items": [{"b": 2, "a": 1}], "id": str(uuid.uuid4())}
    response = lg.client.post("/documents/json", json=value, headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text
    receipt = response.json()
    canonical = canonical_json(value)
    assert receipt["sha256"] == hashlib.sha256(canonical).hexdigest()
    assert receipt["media_type"] == "application/json" and receipt["filename"] is None
    # the same value with other spacing and key order is the same document
    spaced = json.dumps(dict(reversed(list(value.items()))), indent=2, ensure_ascii=True).encode()
    again = lg.client.post("/documents/json", content=spaced,
                           headers={**lg.admin("MARKET"), "Content-Type": "application/json; charset=utf-8"})
    assert again.status_code == 201 and again.json()["sha256"] == receipt["sha256"]
    content = lg.client.get(f"/documents/{receipt['sha256']}/content", headers=lg.admin("MARKET"))
    assert content.content == canonical and content.json() == value
    error_of(lg.client.post("/documents/json", json=42, headers=lg.admin("MARKET")), 422, "invalid_json")
    lg.ctx.batcher.flush()
    verdict = lg.client.post("/verify/document", files={"file": ("v.json", canonical)}).json()
    assert verdict["status"] == "VALID"


def test_documents_of_departments_without_an_anchoring_key_are_anchored(lg: LicenceGateway) -> None:
    """FINANCE's and DISCIPLINE's members hold no ISSUER/OPERATOR role, so their departments cannot anchor a
    batch on chain; their uploads must still be anchored, and must not hold up everyone else's."""
    finance = _upload(lg, _content("finance"), lg.admin("FINANCE"), filename="bank-return.csv",
                      media_type="text/csv")
    discipline = _upload(lg, _content("discipline"), lg.admin("DISCIPLINE"), filename="evidence.pdf")
    market = _upload(lg, _content("market-after"), lg.admin("MARKET"))
    lg.ctx.batcher.flush()
    for receipt, department in ((finance, "FINANCE"), (discipline, "DISCIPLINE"), (market, "MARKET")):
        got = lg.client.get(f"/documents/{receipt['sha256']}", headers=lg.admin(department))
        assert got.status_code == 200, got.text
        assert got.json()["status"] == "anchored", (department, got.json())
        assert lg.client.get(f"/verify/document/{receipt['sha256']}").json()["status"] == "VALID"
    # the uploader still reads what it uploaded
    assert lg.client.get(f"/documents/{finance['sha256']}/content", headers=lg.admin("FINANCE")).status_code == 200


def test_document_altered_on_disk_is_refused(lg: LicenceGateway) -> None:
    content = _content("corrupt")
    sha = _upload(lg, content, lg.admin("MARKET"))["sha256"]
    path = lg.ctx.vault.path_of(sha)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0x01
    path.write_bytes(bytes(blob))
    response = lg.client.get(f"/documents/{sha}/content", headers=lg.admin("MARKET"))
    assert response.status_code >= 500 and response.json()["error"]["code"] == "document_corrupt"
    assert content not in response.content


# ---------------------------------------------------------------------------- the vault's ciphers


@pytest.mark.parametrize("cipher, cipher_id", [("sm4-gcm", 2), ("aes-256-gcm", 1)])
def test_vault_round_trip(tmp_path: Path, cipher: str, cipher_id: int) -> None:
    vault = DocumentVault(tmp_path / "vault", os.urandom(32), cipher, max_bytes=1024)
    content = "国密 SM4 加密存储 ".encode() * 10
    d = vault.put(content)
    blob = vault.path_of(d.sha256).read_bytes()
    assert blob[len(MAGIC)] == cipher_id and content not in blob
    assert vault.get(d.sha256) == content
    assert vault.put(content) == d and vault.path_of(d.sha256).read_bytes() == blob  # stored once
    # an AES vault reads SM4 objects and vice versa (the cipher id travels with the object)
    other = DocumentVault(tmp_path / "vault", vault.key, "aes-256-gcm" if cipher == "sm4-gcm" else "sm4-gcm")
    assert other.get(d.sha256) == content
    # a wrong key or a flipped bit is refused
    with pytest.raises(VaultError) as exc:
        DocumentVault(tmp_path / "vault", os.urandom(32), cipher).get(d.sha256)
    assert exc.value.code == "document_corrupt"
    tampered = bytearray(blob)
    tampered[len(MAGIC) + 13] ^= 0xFF
    vault.path_of(d.sha256).write_bytes(bytes(tampered))
    with pytest.raises(VaultError) as exc:
        vault.get(d.sha256)
    assert exc.value.code == "document_corrupt"
    with pytest.raises(VaultError) as exc:
        vault.put(b"x" * 1025)
    assert exc.value.code == "document_too_large"


def test_unknown_cipher_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        DocumentVault(tmp_path, os.urandom(32), "rot13")


def test_a_batch_that_cannot_be_anchored_does_not_block_the_others(lg: LicenceGateway) -> None:
    """A batch sealed for a department with no anchoring key here (as older gateways sealed them) keeps its
    error; recovery goes on with the other batches instead of failing on it every time (and at start)."""
    from gateway.models import AnchorBatch
    from gateway.services import documents

    stuck_sha = documents.store(lg.ctx, _content("stuck"), media_type="text/plain", filename=None,
                                department="DISCIPLINE", uploaded_by="0x" + "00" * 20)["sha256"]
    stuck = lg.ctx.batcher.seal("DISCIPLINE")
    ok_sha = _upload(lg, _content("ok"), lg.admin("MARKET"))["sha256"]
    ok = lg.ctx.batcher.seal("MARKET")
    assert lg.ctx.batcher.recover() == [ok]
    assert lg.client.get(f"/documents/{ok_sha}", headers=lg.admin("MARKET")).json()["status"] == "anchored"
    with lg.ctx.sessions() as s:
        batch = s.get(AnchorBatch, stuck)
        assert batch.status == "sealed" and "DISCIPLINE" in (batch.error or "")
    assert lg.client.get(f"/verify/document/{stuck_sha}").json()["status"] == "PENDING"
    with lg.ctx.sessions.begin() as s:  # leave the shared database without a stuck batch
        s.get(AnchorBatch, stuck).status = "failed"

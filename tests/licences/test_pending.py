"""A licence whose transaction is journaled but not yet confirmed keeps its document: it is written as
pending first, and settled once the journal's transaction is on chain (e.g. after a node restart)."""

from __future__ import annotations

import pytest

from chain.errors import TransactionPending
from gateway.documents import openattestation as oa
from gateway.services import licences as svc
from tests.licences.helpers import LicenceGateway, draft


def test_pending_licence_is_settled_after_reconcile(lg: LicenceGateway, keyring) -> None:
    ctx = lg.ctx
    d = svc.LicenceDraft(**draft())
    wrapped = oa.wrap_documents([svc.raw_document(ctx, d, "MARKET")])
    root = wrapped[0]["signature"]["merkleRoot"]
    fn = ctx.ledger.contract("LicenceRegistry").functions.issueBatch(
        bytes.fromhex(root), [svc._item(ctx, d, wrapped[0]["signature"]["targetHash"])])
    ids = svc._store_rows(ctx, [d], wrapped, "MARKET")
    with pytest.raises(TransactionPending):  # sent, but the caller stopped waiting for the receipt
        ctx.ledger.txm.transact(keyring.account("MARKET-admin"), fn, svc._purpose("0x" + root), wait=False)
    assert svc.get(ctx, ids[0]).status == "pending"
    # a retry of the same request is refused rather than issuing twice
    r = lg.client.post("/licences", json={**draft(), "number": d.number, "holder_uscc": d.holder_uscc},
                       headers=lg.admin("MARKET"))
    assert r.status_code == 409 and r.json()["error"]["code"] == "licence_exists"
    ctx.ledger.reconcile()  # what a restart does: the journal entry gets its receipt
    assert svc.settle_pending(ctx) == 1
    row = svc.get(ctx, ids[0])
    assert row.status == "valid" and row.tx_hash and row.block_number > 0 and row.issued_at > 0
    verdict = lg.client.get(f"/verify/licence/{row.id}").json()
    assert verdict["status"] == "VALID", verdict


def test_a_refused_transaction_leaves_no_pending_row(lg: LicenceGateway) -> None:
    body = draft("PATENT_CERTIFICATE")  # MARKET may not issue patents: the contract refuses
    r = lg.client.post("/licences", json=body, headers=lg.admin("MARKET"))
    assert r.status_code == 409 and r.json()["error"]["error"] == "NotAuthorisedForType"
    lid = "0x" + svc.licence_id(body["licence_type"], body["number"]).hex()
    with pytest.raises(svc.LicenceError):
        svc.get(lg.ctx, lid)

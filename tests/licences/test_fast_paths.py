"""The shortcuts of the bulk-issue service and of the verification route give exactly what the
general code paths give: the ``issueBatch`` calldata encoded by eth_abi is web3's, byte for byte;
the rows confirmed in one UPDATE are the rows, in order; the row a verdict reads through the
SQLite reader is the row as SQLAlchemy reads it, read again for every verdict; the struct
shortcut of ``chain.structs.call_struct`` agrees with its general unfolding, the verifier's licence-id
shortcut with ``oa.unsalt``."""

from __future__ import annotations

import os
from sqlalchemy import delete, update

from chain.db import transaction
from chain.structs import _named, call_struct
from gateway.documents import openattestation as oa
from gateway.models import Licence
from gateway.services import licences as svc
from tests.licences.helpers import LicenceGateway, draft


def _issue(lg: LicenceGateway, n: int = 1) -> list[dict]:
    response = lg.client.post("/licences/bulk", json={"licences": [draft() for _ in range(n)]},
                              headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text
    return response.json()["licences"]


def test_issue_batch_calldata_is_web3s(lg: LicenceGateway) -> None:
    ctx = lg.ctx
    drafts = [svc.LicenceDraft(**draft()) for _ in range(3)]
    wrapped = oa.wrap_documents([svc.raw_document(ctx, d, "MARKET") for d in drafts])
    root = bytes.fromhex(wrapped[0]["signature"]["merkleRoot"])
    items = [svc._item(ctx, d, w["signature"]["targetHash"]) for d, w in zip(drafts, wrapped)]
    contract = ctx.ledger.contract("LicenceRegistry")
    ours = svc.Calldata(contract, "issueBatch", (root, items))
    theirs = contract.functions.issueBatch(root, items)
    assert ours.address == theirs.address
    assert ours._encode_transaction_data() == theirs._encode_transaction_data()
    # random values of every field's full width, too
    items = [(os.urandom(32), os.urandom(32), os.urandom(32), os.urandom(32), 2**64 - 1 - i, i) for i in range(5)]
    assert svc.Calldata(contract, "issueBatch", (root, items)).data \
        == contract.functions.issueBatch(root, items)._encode_transaction_data()


def test_confirm_rows_confirms_pending_rows_only_and_returns_them_in_order(lg: LicenceGateway) -> None:
    ctx = lg.ctx
    drafts = [svc.LicenceDraft(**draft()) for _ in range(3)]
    wrapped = oa.wrap_documents([svc.raw_document(ctx, d, "MARKET") for d in drafts])
    ids = svc._store_rows(ctx, drafts, wrapped, "MARKET")
    with transaction(ctx.sessions) as s:  # one was settled meanwhile (the background task)
        s.execute(update(Licence).where(Licence.id == ids[1]).values(status="valid", tx_hash="0xsettled",
                                                                     block_number=7, issued_at=70))
    before = {lid: svc.get(ctx, lid).updated_at for lid in ids}
    rows = svc._confirm_rows(ctx, list(reversed(ids)) + ["0x" + "00" * 32], "0xabc", 9, 12345)
    assert [r.id if r else None for r in rows] == list(reversed(ids)) + [None]
    for lid in (ids[0], ids[2]):
        row = svc.get(ctx, lid)
        assert (row.status, row.tx_hash, row.block_number, row.issued_at) == ("valid", "0xabc", 9, 12345)
        assert row.updated_at >= before[lid]
    settled = svc.get(ctx, ids[1])
    assert (settled.status, settled.tx_hash, settled.block_number, settled.issued_at) == ("valid", "0xsettled", 7, 70)
    with transaction(ctx.sessions) as s:  # these rows are not on chain: leave none behind
        s.execute(delete(Licence).where(Licence.id.in_(ids)))


def test_verification_record_reads_the_row_each_time(lg: LicenceGateway) -> None:
    ctx = lg.ctx
    (licence,) = _issue(lg)
    lid = licence["id"]
    full = svc.record(ctx, lid)
    row = svc.verification_record(ctx, lid.upper().replace("0X", "0x"))
    assert [getattr(row, c) for c in svc.VERIFICATION_COLUMNS] == [getattr(full, c) for c in svc.VERIFICATION_COLUMNS]
    assert (svc._reader(ctx) is not None) == (lg.backend == "sqlite")
    with transaction(ctx.sessions) as s:  # committed by another connection: the next read sees it
        s.execute(update(Licence).where(Licence.id == lid).values(status="revoked"))
    try:
        assert svc.verification_record(ctx, lid).status == "revoked"
        verdict = lg.client.get(f"/verify/licence/{lid}").json()
        assert verdict["status"] == "INVALID" and "RecordConsistency" in verdict["failed"], verdict
    finally:
        with transaction(ctx.sessions) as s:
            s.execute(update(Licence).where(Licence.id == lid).values(status="valid"))
    assert lg.client.get(f"/verify/licence/{lid}").json()["status"] == "VALID"
    missing = "0x" + "ab" * 32
    try:
        svc.verification_record(ctx, missing)
    except svc.LicenceError as exc:
        assert exc.status == 404
    else:
        raise AssertionError("an unknown licence must not be found")
    assert lg.client.get(f"/verify/licence/{missing}").status_code == 404


def test_struct_and_licence_id_shortcuts_agree(lg: LicenceGateway) -> None:
    ctx = lg.ctx
    (licence,) = _issue(lg)
    contract = ctx.ledger.contract("LicenceRegistry")
    fn = contract.functions.getLicence(bytes.fromhex(licence["id"][2:]))
    assert call_struct(fn) == _named(fn.abi["outputs"][0], fn.call())  # the flat-struct path, the general one
    doc = svc.document(svc.get(ctx, licence["id"]))
    facts = svc.chain_facts(ctx)
    facts.wait_fresh()
    data = oa.unsalt(doc)
    with_data = facts.contracts_for([doc], data=[data])
    without = facts.contracts_for([doc])
    lid = bytes.fromhex(licence["id"][2:])
    for name in ("getLicence", "statusOf"):
        assert getattr(with_data.licences.functions, name)(lid).call() \
            == getattr(without.licences.functions, name)(lid).call()
    verdict = svc.verify_document(ctx, doc)
    assert verdict["status"] == "VALID", verdict


def test_licence_id_is_the_same_when_asked_again() -> None:
    first = svc.licence_id("BUSINESS_LICENCE", "X-1")
    assert svc.licence_id("BUSINESS_LICENCE", "X-1") == first != svc.licence_id("BUSINESS_LICENCE", "X-2")
    assert isinstance(first, bytes) and len(first) == 32  # bytes: immutable, safe to hand out again

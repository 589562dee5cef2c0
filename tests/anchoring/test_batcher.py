"""The batcher's durability and sealing rules on an in-process chain."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from chain.db import make_engine, session_factory
from chain.ledger import Ledger
from gateway.context import department_signer
from gateway.documents.batcher import Batcher
from gateway.models import AnchorBatch, Document
from gateway.services import documents
from tests.conftest import make_context, make_settings


@pytest.fixture
def ctx(tmp_path: Path, sqlite_url: str, alliance_spec, keyring):
    settings = make_settings(tmp_path, sqlite_url)
    ledger = Ledger.open(settings, alliance_spec, keyring, session_factory(make_engine(sqlite_url)))
    ledger.ensure_deployed()
    ledger.bootstrap()
    return make_context(settings, ledger)


def _store(ctx, n: int, department: str = "MARKET", prefix: str = "doc") -> list[str]:
    return [documents.store(ctx, f"{prefix} {i}".encode(), media_type="text/plain", filename=None,
                            department=department, uploaded_by="0x" + "00" * 20)["sha256"] for i in range(n)]


def test_a_sealed_batch_is_anchored_after_a_restart(ctx) -> None:
    digests = _store(ctx, 7)
    batch_id = ctx.batcher.seal("MARKET")  # the process "dies" here: sealed, never sent
    assert documents.receipt(ctx, digests[0])["status"] == "pending"
    fresh = Batcher(ctx.ledger, lambda d: department_signer(ctx.ledger, d))
    assert fresh.recover() == [batch_id]
    receipts = [documents.receipt(ctx, d) for d in digests]
    assert {r["status"] for r in receipts} == {"anchored"}
    assert len({r["root"] for r in receipts}) == 1
    assert all(documents.verify(ctx, sha256=d)["status"] == "VALID" for d in digests)


def test_a_root_already_on_chain_is_confirmed_not_sent_twice(ctx) -> None:
    _store(ctx, 3)
    batch_id = ctx.batcher.seal("MARKET")
    ctx.batcher.anchor(batch_id)
    with ctx.sessions.begin() as s:  # the process died after the transaction but before recording it
        s.get(AnchorBatch, batch_id).status = "sealed"
    from chain.journal import JournalEntry

    with ctx.sessions() as s:
        sent_before = len(s.scalars(select(JournalEntry).where(JournalEntry.purpose == f"anchor batch {batch_id}")).all())
    Batcher(ctx.ledger, lambda d: department_signer(ctx.ledger, d)).recover()
    with ctx.sessions() as s:
        assert s.get(AnchorBatch, batch_id).status == "confirmed"
        sent_after = len(s.scalars(select(JournalEntry).where(JournalEntry.purpose == f"anchor batch {batch_id}")).all())
    assert sent_before == sent_after == 1


def test_batches_are_sealed_per_department_and_by_size(ctx) -> None:
    ctx.batcher.batch_size = 4
    ctx.batcher.batch_seconds = 3600  # only the size limit applies
    _store(ctx, 9, "MARKET", "m")
    _store(ctx, 2, "IP", "p")
    anchored = ctx.batcher.flush(force=False)
    with ctx.sessions() as s:
        batches = [s.get(AnchorBatch, i) for i in anchored]
        pending = s.scalars(select(Document).where(Document.batch_id.is_(None))).all()
    assert [(b.department, b.count) for b in batches] == [("MARKET", 4), ("MARKET", 4)]
    assert sorted(d.department for d in pending) == ["IP", "IP", "MARKET"]
    ctx.batcher.flush(force=True)
    assert ctx.batcher.pending_count() == 0


def test_a_department_without_a_key_here_is_reported(ctx) -> None:
    from chain.keystore import KeystoreError

    with pytest.raises(KeystoreError, match="no issuer/operator key of department DISCIPLINE"):
        department_signer(ctx.ledger, "DISCIPLINE")

"""A race found by scripts/load_gateway.py (POST /licences/bulk answered 500 about one time in three
under load): `alliance up` runs ``settle_pending`` on every tick of the batcher loop, and it drops a
pending licence row that has no journal entry yet. ``issue`` commits the rows as pending BEFORE the
transaction manager journals the transaction (gas estimation and signing come in between), so a
tick landing in that window deletes the rows of a licence that is then issued on chain: the request
fails with AttributeError in ``_confirm_rows`` and the gateway has lost the salted document.
(In another file's code, gateway/services/licences.py; kept here as a reproduction until it is fixed.)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.db import make_engine, session_factory
from chain.ledger import Ledger
from gateway.models import Licence
from gateway.services import licences as svc
from tests.conftest import make_context, make_settings


@pytest.fixture
def ctx(tmp_path: Path, sqlite_url: str, alliance_spec, keyring):
    settings = make_settings(tmp_path, sqlite_url)
    ledger = Ledger.open(settings, alliance_spec, keyring, session_factory(make_engine(sqlite_url)))
    ledger.ensure_deployed()
    ledger.bootstrap()
    return make_context(settings, ledger)


def test_a_batcher_tick_during_an_issue_does_not_lose_the_licence(ctx, monkeypatch) -> None:
    txm = ctx.ledger.txm
    real_transact = txm.transact

    def tick_then_transact(*args, **kwargs):  # the batcher loop's tick lands after the rows were committed
        svc.settle_pending(ctx)
        return real_transact(*args, **kwargs)

    monkeypatch.setattr(txm, "transact", tick_then_transact)
    draft = svc.LicenceDraft(licence_type="BUSINESS_LICENCE", number="RACE-1", holder_uscc="91350100MA00000001",
                             holder_name="福州测试科技有限公司", valid_from="2024-01-01", valid_until="2034-12-31")
    account = ctx.ledger.keyring.account("MARKET-admin")
    (row,) = svc.issue(ctx, account, "MARKET", [draft])
    assert row.status == "valid"
    with ctx.sessions() as s:
        assert s.get(Licence, row.id) is not None

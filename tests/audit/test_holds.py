"""An alarm's hold through the contracts: the alert store raises an alarm on an application, the
commission's key places an AuditHolds hold, SubsidyLedger refuses the payout (PayoutHeld) while it
is held, a non-inspector cannot release it, and once an INSPECTOR releases it the payout goes through."""

from __future__ import annotations

import pytest

from audit import alerts as store
from audit import routing
from audit.findings import Level
from chain.errors import ContractRevert
from tests.audit.conftest import T0, finding
from tests.contracts.conftest import AppStatus, assert_reverts, h

P1 = h("policy 2026 R&D grant")
ACME, BETA = "91330100ACME00001X", "91330100BETA00002Y"


def test_the_hold_blocks_the_payout_until_an_inspector_releases_it(env, flow, signer, people, contracts) -> None:
    flow.publish(P1)
    app = flow.noticed(P1, ACME, amount=100_000_00)
    other = flow.noticed(P1, BETA, amount=100_000_00)
    app_hex = "0x" + app.hex()
    (aid,) = routing.process(env, [finding("PAY2", Level.ALARM, app_hex, amount_fen=100_000_00,
                                           holder={"value": "an individual", "source": {"department": "FINANCE"}})],
                             T0).new
    assert store.get(env.sessions, aid).hold_status == "placed"
    ledger = contracts["SubsidyLedger"].functions
    assert_reverts(ledger.recordPayout(app, h("batch 1"), 1, 100_000_00, h("bank 1")), "PayoutHeld", app,
                   sender=people["finance"])
    flow.pay(other, 100_000_00, line=2)  # only the held application is frozen

    for who in ("sci_policy", "finance", "com_officer"):
        with pytest.raises(ContractRevert) as exc:
            routing.release_hold(env, aid, signer(who), "I think it is fine")
        assert exc.value.error == "MissingRole"
    assert store.get(env.sessions, aid).hold_status == "placed"
    assert contracts["AuditHolds"].functions.isHeld(app).call()

    released = routing.release_hold(env, aid, signer("inspector"), "account holder verified with the bank")
    assert released["application_id"] == app_hex
    alert = store.get(env.sessions, aid)
    assert alert.hold_status == "released"
    assert [e.kind for e in store.events_of(env.sessions, alert)] == ["raised", "hold_placed", "disposition",
                                                                      "hold_released"]
    flow.pay(app, 100_000_00)
    assert flow.application(app)["status"] == AppStatus.PAID
    with pytest.raises(store.AlertError) as err:
        routing.release_hold(env, aid, signer("inspector"), "again")
    assert err.value.code == "no_active_hold"


def test_a_prompt_or_warning_never_holds_a_payout(env, flow, contracts) -> None:
    flow.publish(P1)
    app = flow.noticed(P1, ACME, amount=100_000_00)
    routing.process(env, [finding("PAY1", Level.WARNING, "0x" + app.hex()),
                          finding("PAY2", Level.PROMPT, "0x" + app.hex())], T0)
    assert not contracts["AuditHolds"].functions.isHeld(app).call()
    flow.pay(app, 100_000_00)

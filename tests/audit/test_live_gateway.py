"""End to end on a real node (anvil, as `alliance up` runs it): the gateway's event indexer runs in its
own thread with the audit listener subscribed exactly as ``alliance up`` does (``gateway/cli.py``
cmd_up: ``ledger.indexer.start()`` then ``ledger.indexer.subscribe(audit.service.event_listener(ctx))``).
An application filed through the API whose declared legal representative differs from the registry's
emits ``ApplicationSubmitted`` on chain; the indexer records it; the APP2 alert appears in the store —
no scan is called. The second application is evaluated over the live snapshot patched for it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from audit import alerts as store
from audit.findings import Level
from audit.routing import AuditEnv
from audit.service import event_listener, live_snapshot
from tests.subsidies.conftest import SubsidyGateway, subsidy_gateway_on_anvil


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsidyGateway]:
    for sg in subsidy_gateway_on_anvil(tmp_path_factory.mktemp("audit-live-anvil")):
        indexer = sg.ctx.ledger.indexer
        indexer.start()
        indexer.subscribe(event_listener(sg.ctx))  # as cmd_up wires it
        try:
            yield sg
        finally:
            indexer.stop()


def wait_for_alert(sg: SubsidyGateway, alert_id: str, timeout: float = 90) -> store.AuditAlert:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            return store.get(sg.ctx.sessions, alert_id)
        except store.AlertError:
            time.sleep(0.2)
    raise AssertionError(f"no alert {alert_id} within {timeout}s (indexer error: {sg.ctx.ledger.indexer.last_error})")


def test_an_application_through_the_api_raises_its_alert_through_the_indexer(running: SubsidyGateway) -> None:
    sg = running
    assert sg.ctx.ledger.chain.kind == "anvil"
    policy = sg.publish()
    live = live_snapshot(AuditEnv.from_context(sg.ctx))
    ids = []
    for declared in ("王五", "赵六"):
        _, headers = sg.applicant(legal_representative="李四")
        app = sg.applied(policy["id"], headers, declared={"legal_representative": declared})
        assert app["path"] == "manual"
        alert = wait_for_alert(sg, store.alert_id_of("APP2", "application", app["id"]))
        assert (alert.level, alert.condition, alert.application_id) == (Level.WARNING, "active", app["id"])
        assert "李四" in alert.facts and declared in alert.facts
        ids.append(app["id"])
    # the first event loaded the ledger in full; the later ones patched the live snapshot
    assert live.full_loads >= 1 and live.patches >= 1
    assert set(ids) <= set(live.snapshot.index("applications"))


def test_a_licence_revoked_under_an_application_awaiting_review_raises_app1_through_the_indexer(
        running: SubsidyGateway) -> None:
    """The licence registry's ``LicenceRevoked`` is an event APP1 concerns: the application whose material the
    licence stood in for gets its missing-material prompt with no scan called (its filing was evaluated
    before the revocation, so only the licence event can raise it)."""
    sg = running
    policy = sg.publish()
    _, headers = sg.applicant(legal_representative="李四")
    app = sg.applied(policy["id"], headers, declared={"legal_representative": "王五"})
    assert app["status"] == "submitted"  # awaits review
    wait_for_alert(sg, store.alert_id_of("APP2", "application", app["id"]))  # its filing was evaluated: no APP1
    with sg.ctx.sessions() as s:
        assert not s.query(store.AuditAlert).filter_by(point_id="APP1", subject_id=app["id"]).count()
    licence = {m["code"]: m for m in app["material_items"]}["business_licence"]["licence_id"]
    r = sg.client.post(f"/licences/{licence}/revoke", json={"reason_code": 7}, headers=sg.member("MARKET-admin"))
    assert r.status_code == 200, r.text
    alert = wait_for_alert(sg, store.alert_id_of("APP1", "application", app["id"]))
    assert (alert.level, alert.condition, alert.application_id) == (Level.PROMPT, "active", app["id"])
    assert alert.rule_version.startswith("APP1@2+")

"""AuditHolds on eth-tester: the discipline commission's alarm holds, counted per application
(several alerts may hold one application), released one alert at a time with a recorded reason,
refused for everyone but INSPECTOR members, and never placed twice for one alert."""

from __future__ import annotations

from typing import Any

import pytest

from chain.artifacts import load
from tests.contracts.conftest import (
    INSPECTOR,
    assert_reverts,
    bootstrap_subsidy_registry,
    deploy_subsidy,
    events,
    h,
    send,
    subsidy_people,
)

HOLD_FIELDS = ("evidenceHash", "releaseReasonHash", "placedAt", "releasedAt", "placedBy", "releasedBy")
ZERO = bytes(32)
APP, OTHER_APP = h("application A"), h("application B")
ALERT_1, ALERT_2 = h("alert PAY2-0001"), h("alert APP6-0002")


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return subsidy_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    """Overrides the conftest registry: the subsidy alliance."""
    return bootstrap_subsidy_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    return deploy_subsidy(w3, registry, people)


@pytest.fixture
def holds(module_contracts):
    return module_contracts["holds"]


def block_time(w3, receipt) -> int:
    return w3.eth.get_block(receipt.blockNumber).timestamp


def test_deployed_code_is_the_artifact(w3, holds, registry) -> None:
    assert w3.eth.get_code(holds.address).hex().removeprefix("0x") == load("AuditHolds").deployed_bytecode[2:]
    assert holds.functions.registry().call() == registry.address
    assert holds.functions.holdCounts().call() == [0, 0]
    assert not holds.functions.isHeld(APP).call()


def test_place_and_release_a_hold_with_events_and_records(w3, holds, people) -> None:
    f = holds.functions
    placed = send(f.placeHold(APP, ALERT_1, h("evidence pack 1")), people["inspector"])
    assert events(placed, holds, "HoldPlaced") == [
        {"applicationId": APP, "alertId": ALERT_1, "evidenceHash": h("evidence pack 1"), "activeHolds": 1,
         "by": people["inspector"]}]
    assert f.isHeld(APP).call() and f.activeHolds(APP).call() == 1
    assert not f.isHeld(OTHER_APP).call()
    assert dict(zip(HOLD_FIELDS, f.getHold(APP, ALERT_1).call())) == {
        "evidenceHash": h("evidence pack 1"), "releaseReasonHash": ZERO, "placedAt": block_time(w3, placed),
        "releasedAt": 0, "placedBy": people["inspector"], "releasedBy": "0x" + "0" * 40}

    released = send(f.releaseHold(APP, ALERT_1, h("explained: account verified")), people["inspector"])
    assert events(released, holds, "HoldReleased") == [
        {"applicationId": APP, "alertId": ALERT_1, "reasonHash": h("explained: account verified"), "activeHolds": 0,
         "by": people["inspector"]}]
    assert not f.isHeld(APP).call() and f.activeHolds(APP).call() == 0
    rec = dict(zip(HOLD_FIELDS, f.getHold(APP, ALERT_1).call()))
    assert rec["releaseReasonHash"] == h("explained: account verified")
    assert rec["releasedAt"] == block_time(w3, released) and rec["releasedBy"] == people["inspector"]
    assert f.holdCounts().call() == [1, 1]


def test_several_alerts_hold_one_application_until_the_last_is_released(holds, people) -> None:
    f, who = holds.functions, people["inspector"]
    send(f.placeHold(APP, ALERT_1, h("e1")), who)
    receipt = send(f.placeHold(APP, ALERT_2, h("e2")), who)
    assert events(receipt, holds, "HoldPlaced")[0]["activeHolds"] == 2
    send(f.placeHold(OTHER_APP, ALERT_1, h("e3")), who)  # the same alert may hold another application
    assert f.activeHolds(APP).call() == 2

    receipt = send(f.releaseHold(APP, ALERT_2, h("r2")), who)
    assert events(receipt, holds, "HoldReleased")[0]["activeHolds"] == 1
    assert f.isHeld(APP).call()
    send(f.releaseHold(APP, ALERT_1, h("r1")), who)
    assert not f.isHeld(APP).call()
    assert f.isHeld(OTHER_APP).call()
    assert f.holdCounts().call() == [3, 2]


def test_one_hold_per_alert_and_application_even_after_release(holds, people) -> None:
    f, who = holds.functions, people["inspector"]
    send(f.placeHold(APP, ALERT_1, h("e1")), who)
    assert_reverts(f.placeHold(APP, ALERT_1, h("e1 again")), "HoldExists", APP, ALERT_1, sender=who)
    send(f.releaseHold(APP, ALERT_1, h("r1")), who)
    assert_reverts(f.placeHold(APP, ALERT_1, h("e1 again")), "HoldExists", APP, ALERT_1, sender=who)
    assert not f.isHeld(APP).call()


def test_release_needs_an_active_hold_for_that_alert(holds, people) -> None:
    f, who = holds.functions, people["inspector"]
    assert_reverts(f.releaseHold(APP, ALERT_1, h("r")), "NoSuchHold", APP, ALERT_1, sender=who)
    placed = send(f.placeHold(APP, ALERT_1, h("e1")), who)
    # a hold for another alert of the same application is not this one
    assert_reverts(f.releaseHold(APP, ALERT_2, h("r")), "NoSuchHold", APP, ALERT_2, sender=who)
    released = send(f.releaseHold(APP, ALERT_1, h("r")), who)
    assert placed.blockNumber < released.blockNumber
    released_at = f.getHold(APP, ALERT_1).call()[3]
    assert_reverts(f.releaseHold(APP, ALERT_1, h("r")), "HoldAlreadyReleased", APP, ALERT_1, released_at, sender=who)
    assert_reverts(f.getHold(APP, ALERT_2), "NoSuchHold", APP, ALERT_2, sender=who, via=("call",))


@pytest.mark.parametrize("args", [(ZERO, ALERT_1, h("e")), (APP, ZERO, h("e")), (APP, ALERT_1, ZERO)])
def test_a_hold_needs_an_application_an_alert_and_evidence(holds, people, args) -> None:
    assert_reverts(holds.functions.placeHold(*args), "ZeroHash", sender=people["inspector"])


def test_a_release_needs_a_reason(holds, people) -> None:
    send(holds.functions.placeHold(APP, ALERT_1, h("e")), people["inspector"])
    assert_reverts(holds.functions.releaseHold(APP, ALERT_1, ZERO), "ZeroHash", sender=people["inspector"])


@pytest.mark.parametrize("who", ["outsider", "admin", "sci_policy", "sci_rev1", "com_officer", "finance", "operator"])
def test_only_the_discipline_commission_places_and_releases_holds(holds, people, who) -> None:
    f = holds.functions
    assert_reverts(f.placeHold(APP, ALERT_1, h("e")), "MissingRole", people[who], INSPECTOR, sender=people[who])
    send(f.placeHold(APP, ALERT_1, h("e")), people["inspector"])
    assert_reverts(f.releaseHold(APP, ALERT_1, h("r")), "MissingRole", people[who], INSPECTOR, sender=people[who])
    assert f.isHeld(APP).call()

"""AgencyDraws on eth-tester: each department's pool of verification agencies and double-random draws
(双随机) whose pick anyone can recompute from the request block's hash; refused for members without
POLICY, for another department's pool or draw, before the request's block has passed, and twice."""

from __future__ import annotations

from typing import Any

import pytest
from eth_abi import encode
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak

from chain.artifacts import load
from gateway.subsidies.draws import recompute
from tests.contracts.conftest import (
    COMMERCE,
    POLICY,
    SCIENCE,
    _ErrorTable,
    assert_reverts,
    bootstrap_subsidy_registry,
    deploy_contract,
    events,
    h,
    revert_data,
    send,
    subsidy_people,
)

DRAW_FIELDS = ("department", "policyId", "seed", "agencyId", "requestBlock", "requestedAt", "executedAt", "picks",
               "requestedBy", "executedBy")
POLICY_ID = h("policy 2026-01")
AGENCIES = [h(f"agency {n}") for n in range(4)]
SUBJECTS = [h(f"application {n}") for n in range(10)]


@pytest.fixture(scope="module")
def people(accounts: list[str]) -> dict[str, str]:
    return subsidy_people(accounts)


@pytest.fixture(scope="module")
def registry(w3, people):
    """Overrides the conftest registry: the subsidy alliance."""
    return bootstrap_subsidy_registry(w3, people)


@pytest.fixture(scope="module")
def module_contracts(w3, registry, people) -> dict[str, Any]:
    draws = deploy_contract(w3, "AgencyDraws", registry.address, sender=people["admin"])
    for agency in AGENCIES[:3]:
        send(draws.functions.registerAgency(agency, h(f"details {agency.hex()}")), people["sci_policy"])
    send(draws.functions.registerAgency(AGENCIES[3], h("commerce agency")), people["com_officer"])
    return {"draws": draws}


@pytest.fixture
def draws(module_contracts):
    return module_contracts["draws"]


def record(draws, draw_id: bytes) -> dict[str, Any]:
    return dict(zip(DRAW_FIELDS, draws.functions.getDraw(draw_id).call()))


def request(draws, people, draw_id: bytes, subjects=SUBJECTS, picks: int = 3, who: str = "sci_policy"):
    return send(draws.functions.requestDraw(draw_id, POLICY_ID, subjects, picks), people[who])


def test_deployed_code_is_the_artifact(w3, draws, registry) -> None:
    assert w3.eth.get_code(draws.address).hex().removeprefix("0x") == load("AgencyDraws").deployed_bytecode[2:]
    assert draws.functions.registry().call() == registry.address
    assert draws.functions.poolOf(SCIENCE).call() == AGENCIES[:3]
    assert draws.functions.poolOf(COMMERCE).call() == AGENCIES[3:]


def test_draw_is_recomputable_from_the_request_block_hash(w3, draws, people) -> None:
    draw_id = h("draw 1")
    receipt = request(draws, people, draw_id)
    (req,) = events(receipt, draws, "DrawRequested")
    assert req["candidates"] == AGENCIES[:3]  # the department's own pool only
    assert req["subjects"] == SUBJECTS and req["picks"] == 3 and req["requestBlock"] == receipt.blockNumber
    executed = send(draws.functions.executeDraw(draw_id), people["sci_policy"])
    assert executed.blockNumber > receipt.blockNumber
    (ev,) = events(executed, draws, "DrawExecuted")

    block_hash = bytes(w3.eth.get_block(receipt.blockNumber)["hash"])
    seed = keccak(encode(["bytes32", "bytes32"], [block_hash, draw_id]))
    agency, picked = recompute(seed, AGENCIES[:3], SUBJECTS, 3)
    assert ev["seed"] == seed and ev["agencyId"] == agency and ev["picked"] == picked
    assert len(set(picked)) == 3 and set(picked) <= set(SUBJECTS)
    # the contract's own pure function agrees with the Python one
    assert draws.functions.recompute(seed, AGENCIES[:3], SUBJECTS, 3).call() == [agency, picked]
    stored = record(draws, draw_id)
    assert stored["agencyId"] == agency and stored["executedBy"] == people["sci_policy"]
    assert draws.functions.drawInputs(draw_id).call() == [AGENCIES[:3], SUBJECTS, picked]


def test_different_seeds_spread_the_pick(draws) -> None:
    """Over many seeds every agency and every subject gets drawn (the pick is not stuck on one)."""
    agencies, subjects = set(), set()
    for n in range(40):
        agency, picked = recompute(h(f"seed {n}"), AGENCIES[:3], SUBJECTS, 2)
        agencies.add(agency)
        subjects.update(picked)
    assert agencies == set(AGENCIES[:3]) and subjects == set(SUBJECTS)


def test_execution_is_refused_in_the_request_block_and_twice(w3, draws, people) -> None:
    draw_id = h("draw 2")
    receipt = request(draws, people, draw_id, picks=1)
    try:  # a call on the request block's own state runs as that block: its hash is not known yet
        draws.functions.executeDraw(draw_id).call({"from": people["sci_policy"]}, block_identifier=receipt.blockNumber)
        raise AssertionError("executeDraw in the request's block did not revert")
    except TransactionFailed as exc:
        name, args = _ErrorTable(draws.abi).decode(revert_data(exc))
        assert (name, args) == ("DrawNotReady", (receipt.blockNumber, receipt.blockNumber))
    assert record(draws, draw_id)["executedAt"] == 0
    send(draws.functions.executeDraw(draw_id), people["sci_policy"])
    assert_reverts(draws.functions.executeDraw(draw_id), "AlreadyExecuted", draw_id, sender=people["sci_policy"])


def test_seed_unavailable_after_256_blocks(w3, draws, people) -> None:
    draw_id = h("draw stale")
    request(draws, people, draw_id, picks=1)
    w3.provider.ethereum_tester.mine_blocks(257)
    decoded = assert_reverts(draws.functions.executeDraw(draw_id), "SeedUnavailable", sender=people["sci_policy"])
    assert decoded[0] == record(draws, draw_id)["requestBlock"]


def test_refusals(draws, people) -> None:
    sci, com, op = people["sci_policy"], people["com_officer"], people["operator"]
    assert_reverts(draws.functions.registerAgency(h("x"), h("y")), "MissingRole", op, POLICY, sender=op)
    assert_reverts(draws.functions.registerAgency(AGENCIES[0], h("y")), "AgencyExists", AGENCIES[0], sender=sci)
    assert_reverts(draws.functions.registerAgency(bytes(32), h("y")), "ZeroId", sender=sci)
    assert_reverts(draws.functions.deactivateAgency(AGENCIES[0], h("r")), "NotAgencyDepartment", AGENCIES[0],
                   COMMERCE, sender=com)
    assert_reverts(draws.functions.deactivateAgency(h("none"), h("r")), "UnknownAgency", h("none"), sender=sci)
    assert_reverts(draws.functions.requestDraw(h("d"), POLICY_ID, SUBJECTS, 1), "MissingRole", op, POLICY, sender=op)
    assert_reverts(draws.functions.requestDraw(h("d"), POLICY_ID, SUBJECTS, 0), "InvalidPicks", 0, 10, sender=sci)
    assert_reverts(draws.functions.requestDraw(h("d"), POLICY_ID, SUBJECTS, 11), "InvalidPicks", 11, 10, sender=sci)
    assert_reverts(draws.functions.requestDraw(h("d"), POLICY_ID, SUBJECTS + SUBJECTS[:1], 1), "InvalidSubject",
                   SUBJECTS[0], sender=sci)
    assert_reverts(draws.functions.executeDraw(h("none")), "UnknownDraw", h("none"), sender=sci)
    request(draws, people, h("draw 3"), picks=1)
    assert_reverts(draws.functions.requestDraw(h("draw 3"), POLICY_ID, SUBJECTS, 1), "DrawExists", h("draw 3"),
                   sender=sci)
    assert_reverts(draws.functions.executeDraw(h("draw 3")), "NotDrawDepartment", h("draw 3"), COMMERCE, sender=com)


def test_deactivated_agency_leaves_the_pool_and_an_empty_pool_refuses(draws, people) -> None:
    sci, com = people["sci_policy"], people["com_officer"]
    receipt = send(draws.functions.deactivateAgency(AGENCIES[3], h("lapsed")), com)
    assert events(receipt, draws, "AgencyDeactivated")[0]["agencyId"] == AGENCIES[3]
    assert not draws.functions.getAgency(AGENCIES[3]).call()[3]
    assert_reverts(draws.functions.deactivateAgency(AGENCIES[3], h("again")), "AgencyInactive", AGENCIES[3],
                   sender=com)
    assert_reverts(draws.functions.requestDraw(h("d"), POLICY_ID, SUBJECTS, 1), "EmptyPool", COMMERCE, sender=com)
    send(draws.functions.deactivateAgency(AGENCIES[1], h("conflict")), sci)
    receipt = request(draws, people, h("draw 4"), picks=1)
    assert events(receipt, draws, "DrawRequested")[0]["candidates"] == [AGENCIES[0], AGENCIES[2]]

"""The front half on a real node (anvil, as `alliance up` runs it): a policy, an automatic and a
manual application, a review refused with the contract's own error decoded from the node, and a
double-random draw that runs at once (the gateway mines the block the seed needs) and re-checks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.licences.helpers import revert_of
from tests.subsidies.conftest import SubsidyGateway, new_uscc, subsidy_gateway_on_anvil


@pytest.fixture(scope="module")
def on_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SubsidyGateway]:
    yield from subsidy_gateway_on_anvil(tmp_path_factory.mktemp("subsidies-anvil"))


def test_front_half_on_anvil(on_anvil) -> None:
    sg = on_anvil
    assert sg.ctx.ledger.chain.kind == "anvil"
    policy = sg.publish()
    _, auto = sg.applicant()
    assert sg.applied(policy["id"], auto)["path"] == "auto"
    _, manual = sg.applicant()
    app = sg.applied(policy["id"], manual, declared={"legal_representative": "周九"})
    body = {"level": 1, "passed": True, "amount_fen": 100_000_00, "opinion": "同意"}
    response = sg.client.post(f"/subsidies/applications/{app['id']}/reviews", json=body,
                              headers=sg.member("SCITECH-rev1"))
    assert response.status_code == 201, response.text
    revert_of(sg.client.post(f"/subsidies/applications/{app['id']}/reviews", json={**body, "level": 2},
                             headers=sg.member("SCITECH-rev1")), "SameReviewer")
    response = sg.client.post("/subsidies/agencies", json={"name": "福建中审核查所", "uscc": new_uscc()},
                              headers=sg.member("SCITECH-admin"))
    assert response.status_code == 201, response.text
    draw = sg.draw(policy["id"], 1)
    assert draw["request_block"] < sg.ctx.ledger.chain.w3.eth.block_number
    verdict = sg.client.get(f"/subsidies/draws/{draw['id']}/verify", headers=sg.member("DISCIPLINE-admin")).json()
    assert verdict["valid"] is True and verdict["picked"] == draw["picked"]

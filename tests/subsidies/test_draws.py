"""The verification-agency pool and double-random draws (双随机) through the API: the draw is recorded
on chain in two transactions and re-computed from the chain alone; a tampered gateway record is
reported; refusals for members without POLICY, another department, an empty pool, bad input."""

from __future__ import annotations

import json

import pytest

from tests.gateway.helpers import error_of
from tests.licences.helpers import revert_of
from tests.subsidies.conftest import new_uscc


def register(sg, who: str = "SCITECH-admin", name: str | None = None):
    return sg.client.post("/subsidies/agencies", json={"name": name or "福建华审会计师事务所", "uscc": new_uscc()},
                          headers=sg.member(who))


def test_draw_is_recorded_and_recomputable(sg) -> None:
    agencies = []
    for n in range(3):
        response = register(sg, name=f"核查机构{n}")
        assert response.status_code == 201, response.text
        agencies.append(response.json())
    assert agencies[0]["department"] == "SCITECH" and agencies[0]["active"]
    policy = sg.publish()
    apps = []
    for _ in range(4):
        _, headers = sg.applicant()
        apps.append(sg.applied(policy["id"], headers)["id"])
    draw = sg.draw(policy["id"], 2)
    assert draw["status"] == "executed" and sorted(draw["subjects"]) == sorted(apps) and draw["picks"] == 2
    pool = [a["id"] for a in sg.client.get("/subsidies/agencies?department=SCITECH",
                                           headers=sg.member("SCITECH-admin")).json() if a["active"]]
    assert draw["candidates"] == pool and {a["id"] for a in agencies} <= set(pool)
    assert draw["agency_id"] in draw["candidates"]
    assert len(set(draw["picked"])) == 2 and set(draw["picked"]) <= set(apps)
    assert draw["request_tx_hash"] != draw["execute_tx_hash"]
    verdict = sg.client.get(f"/subsidies/draws/{draw['id']}/verify", headers=sg.enterprise(new_uscc())).json()
    assert verdict["valid"] is True and verdict["agency_id"] == draw["agency_id"]
    assert verdict["picked"] == draw["picked"]
    assert verdict["request_block"] == draw["request_block"]
    listed = sg.client.get(f"/subsidies/draws/{draw['id']}", headers=sg.member("DISCIPLINE-admin")).json()
    assert listed == draw

    # someone edits the gateway's record of the pick: the re-computation from the chain says so
    others = [a for a in draw["subjects"] if a not in draw["picked"]]
    with sg.ctx.sessions() as s:
        from gateway.subsidies.models import AgencyDraw

        row = s.get(AgencyDraw, draw["id"])
        row.picked = json.dumps(others[:2])
        s.commit()
    tampered = sg.client.get(f"/subsidies/draws/{draw['id']}/verify", headers=sg.member("DISCIPLINE-admin")).json()
    assert tampered["valid"] is False and tampered["checks"] == {"seed": True, "agency": True, "subjects": True,
                                                                 "gateway_record": False}


def test_chosen_subjects_and_refusals(sg) -> None:
    assert register(sg).status_code == 201
    policy = sg.publish()
    _, headers = sg.applicant()
    app = sg.applied(policy["id"], headers)["id"]
    draw = sg.draw(policy["id"], 1, subjects=[app])
    assert draw["picked"] == [app]
    error_of(sg.client.post(f"/subsidies/draws/{draw['id']}/execute", headers=sg.member("SCITECH-admin")), 409,
             "already_executed")
    pending = sg.requested_draw(policy["id"], 1)
    revert_of(sg.client.post(f"/subsidies/draws/{pending['id']}/execute", headers=sg.member("SCITECH-admin")),
              "DrawNotReady")  # no block after the request's yet
    error_of(sg.client.post(f"/subsidies/draws/{pending['id']}/execute", headers=sg.member("COMMERCE-admin")), 403,
             "not_draw_department")
    sg.mine()  # a block follows (on Besu: the next timer block)
    executed = sg.client.post(f"/subsidies/draws/{pending['id']}/execute", headers=sg.member("SCITECH-admin"))
    assert executed.status_code == 200 and executed.json()["status"] == "executed"
    assert sg.client.get(f"/subsidies/draws/{pending['id']}/verify", headers=sg.member("SCITECH-admin")).json()[
        "valid"] is True
    error_of(sg.client.post("/subsidies/draws", json={"policy_id": policy["id"], "picks": 2, "subjects": [app]},
                            headers=sg.member("SCITECH-admin")), 422, "invalid_picks")
    error_of(sg.client.post("/subsidies/draws", json={"policy_id": policy["id"], "picks": 1,
                                                      "subjects": ["0x" + "12" * 32]},
                            headers=sg.member("SCITECH-admin")), 422, "unknown_subject")
    error_of(sg.client.post("/subsidies/draws", json={"policy_id": policy["id"], "picks": 1},
                            headers=sg.member("SCITECH-clerk")), 403, "missing_role")
    error_of(sg.client.post("/subsidies/draws", json={"policy_id": policy["id"], "picks": 1},
                            headers=sg.member("COMMERCE-admin")), 403, "not_policy_department")
    empty = sg.publish()
    error_of(sg.client.post("/subsidies/draws", json={"policy_id": empty["id"], "picks": 1},
                            headers=sg.member("SCITECH-admin")), 409, "no_subjects")
    error_of(register(sg, who="SCITECH-clerk"), 403, "missing_role")
    error_of(sg.client.post("/subsidies/agencies", json={"name": "x", "uscc": "91350102000000000X"},
                            headers=sg.member("SCITECH-admin")), 422, "invalid_uscc")


def test_an_empty_pool_is_refused_by_the_contract(sg) -> None:
    policy = sg.publish(by="COMMERCE-admin")
    _, headers = sg.applicant()
    sg.applied(policy["id"], headers)
    for agency in sg.client.get("/subsidies/agencies?department=COMMERCE", headers=sg.member("COMMERCE-admin")).json():
        if agency["active"]:
            sg.client.post(f"/subsidies/agencies/{agency['id']}/deactivate", json={"reason": "x"},
                           headers=sg.member("COMMERCE-admin"))
    revert_of(sg.client.post("/subsidies/draws", json={"policy_id": policy["id"], "picks": 1},
                             headers=sg.member("COMMERCE-admin")), "EmptyPool")
    created = register(sg, who="COMMERCE-admin").json()
    revert_of(sg.client.post(f"/subsidies/agencies/{created['id']}/deactivate", json={"reason": "资质过期"},
                             headers=sg.member("SCITECH-admin")), "NotAgencyDepartment")
    draw = sg.draw(policy["id"], 1, by="COMMERCE-admin")
    assert draw["agency_id"] == created["id"]
    error_of(sg.client.post(f"/subsidies/draws/{draw['id']}/execute", headers=sg.member("SCITECH-admin")), 409,
             "already_executed")
    response = sg.client.post(f"/subsidies/agencies/{created['id']}/deactivate", json={"reason": "资质过期"},
                              headers=sg.member("COMMERCE-admin"))
    assert response.status_code == 200 and response.json()["active"] is False
    revert_of(sg.client.post(f"/subsidies/agencies/{created['id']}/deactivate", json={"reason": "again"},
                             headers=sg.member("COMMERCE-admin")), "AgencyInactive")


def test_a_draw_not_executed_within_256_blocks_expires(sg) -> None:
    assert register(sg).status_code == 201
    policy = sg.publish()
    _, headers = sg.applicant()
    sg.applied(policy["id"], headers)
    draw = sg.requested_draw(policy["id"], 1)
    sg.ctx.ledger.chain.w3.testing.mine(257)
    revert_of(sg.client.post(f"/subsidies/draws/{draw['id']}/execute", headers=sg.member("SCITECH-admin")),
              "SeedUnavailable")
    assert sg.client.get(f"/subsidies/draws/{draw['id']}", headers=sg.member("SCITECH-admin")).json()["status"] \
        == "expired"
    error_of(sg.client.post(f"/subsidies/draws/{draw['id']}/execute", headers=sg.member("SCITECH-admin")), 409,
             "draw_expired")
    assert sg.draw(policy["id"], 1)["status"] == "executed"  # a new draw runs


def test_subsidy_settings_are_checked_on_load(tmp_path) -> None:
    from chain.config import ConfigError, Settings, load_settings, render_config

    text = render_config(Settings(data_dir=tmp_path))
    assert 'draw_mine_block = "auto"' in text and "first_review_workdays = 5" in text
    (tmp_path / "config.toml").write_text(text.replace('draw_mine_block = "auto"', 'draw_mine_block = "always"'))
    with pytest.raises(ConfigError, match="draw_mine_block"):
        load_settings(tmp_path)
    (tmp_path / "config.toml").write_text(text.replace("signoff_workdays = 3", "signoff_workdays = 0"))
    with pytest.raises(ConfigError, match="review deadlines"):
        load_settings(tmp_path)

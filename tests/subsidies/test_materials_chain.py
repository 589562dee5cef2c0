"""Reduced materials from the chain (eth-tester): a licence this gateway never issued — written on chain
by another department's key, as its own gateway would, with no row in this gateway's licence table —
stands in for a material, found by the enterprise's keyed holder hash in the LicenceIssued events (the
event index, and the node's logs for the blocks the index has not reached); and a licence-backed
material is re-checked against the chain whenever the application is read: revoked after filing, it is
shown as no longer satisfied, the sign-off is refused until the enterprise re-supplies it."""

from __future__ import annotations

import os

from chain.roles import code_to_bytes32
from gateway.models import Licence
from gateway.services.licences import licence_id
from oracle.keyed import subject_hash
from tests.gateway.helpers import error_of

DAY = 86400


def _issue_on_chain(sg, uscc: str, licence_type: str = "BUSINESS_LICENCE", by: str = "MARKET-admin",
                    valid_until: int = 0) -> str:
    """Issue a licence straight on chain with ``by``'s key (another department's gateway would); this
    gateway keeps no row of it. Returns its id."""
    number = f"EXT-{os.urandom(6).hex()}"
    lid = licence_id(licence_type, number)
    target = os.urandom(32)
    item = (lid, code_to_bytes32(licence_type), subject_hash(sg.ctx.hmac_key, uscc), target, sg.now() - DAY,
            valid_until)
    fn = sg.ctx.ledger.contract("LicenceRegistry").functions.issueBatch(target, [item])
    sg.ctx.ledger.txm.transact(sg.ctx.ledger.keyring.account(by), fn, f"test issue {number}")
    return "0x" + lid.hex()


def _revoke_on_chain(sg, lid: str, reason: int = 7, by: str = "MARKET-admin") -> None:
    fn = sg.ctx.ledger.contract("LicenceRegistry").functions.revoke(bytes.fromhex(lid[2:]), reason)
    sg.ctx.ledger.txm.transact(sg.ctx.ledger.keyring.account(by), fn, f"test revoke {lid}")


def _prefill(sg, policy_id: str, headers: dict[str, str]) -> dict:
    response = sg.client.get(f"/subsidies/policies/{policy_id}/prefill", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_licence_issued_elsewhere_stands_in_for_a_material_from_the_index_and_from_the_unindexed_tail(sg) -> None:
    policy = sg.publish()
    uscc = sg.register(name="福州链上减材有限公司")
    headers = sg.enterprise(uscc)
    indexer = sg.ctx.ledger.indexer
    indexer.run_once()
    lid = _issue_on_chain(sg, uscc)  # after the index ran: only in the node's logs so far
    with sg.ctx.sessions() as s:
        assert s.get(Licence, lid) is None  # this gateway holds no record of it

    pre = _prefill(sg, policy["id"], headers)
    head = sg.ctx.ledger.chain.head()
    discovery = pre["licence_discovery"]
    assert discovery["head_block"] == head and discovery["indexed_to_block"] < head and discovery["lag_blocks"] > 0
    assert "behind the chain head" in discovery["note"]
    items = {m["code"]: m for m in pre["materials"]}
    assert items["business_licence"]["satisfied_by"] == "licence" and items["business_licence"]["licence_id"] == lid
    assert items["business_licence"]["licence_issuer"] == "MARKET"
    assert items["business_licence"]["licence_number"] is None  # the number stays with the issuing department
    assert items["high_tech"]["satisfied_by"] == "needs_upload"  # it holds no certificate
    (shown,) = pre["licences"]
    assert shown["id"] == lid and shown["source"] == "chain" and shown["chain_status"] == "valid"
    assert shown["issuer_department"] == "MARKET" and "held by the issuing department (MARKET)" in shown[
        "off_chain_fields"]

    indexer.run_once()  # the index catches up: found in chain_events now
    pre = _prefill(sg, policy["id"], headers)
    assert pre["licence_discovery"]["indexed_to_block"] == sg.ctx.ledger.chain.head()
    assert pre["licence_discovery"]["lag_blocks"] == 0 and "note" not in pre["licence_discovery"]
    assert [x["id"] for x in pre["licences"]] == [lid]

    # another enterprise's licence is not this one's, and a revoked one stands in for nothing
    other = sg.register()
    _issue_on_chain(sg, other, "HIGH_TECH_ENTERPRISE_CERTIFICATE", by="SCITECH-admin")
    _revoke_on_chain(sg, lid)
    pre = _prefill(sg, policy["id"], headers)
    assert pre["licences"] == [] and pre["materials_by_licence"] == 0
    assert {m["code"]: m["satisfied_by"] for m in pre["materials"]}["business_licence"] == "needs_upload"


def test_a_licence_revoked_after_filing_is_shown_unsatisfied_and_blocks_the_sign_off_until_resupplied(sg) -> None:
    policy = sg.publish()
    uscc = sg.register(name="福州吊销复核有限公司")
    headers = sg.enterprise(uscc)
    lid = _issue_on_chain(sg, uscc)
    high_tech = sg.licence(uscc, "HIGH_TECH_ENTERPRISE_CERTIFICATE", holder_name="福州吊销复核有限公司")  # this gateway's
    # a declared name that differs from the registry: people review it (no 秒批)
    app = sg.applied(policy["id"], headers, declared={"name": "福州吊销复核科技有限公司"})
    assert app["status"] == "submitted" and app["materials"]["by_licence"] == 2
    items = {m["code"]: m for m in app["material_items"]}
    assert items["business_licence"]["licence_id"] == lid and items["business_licence"]["satisfied"] is True
    assert items["high_tech"]["licence_number"] == high_tech["number"]
    assert app["materials_check"]["sign_off_allowed"] is True

    _revoke_on_chain(sg, lid, reason=7)  # the issuing department revokes, on its own gateway
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=sg.member("SCITECH-rev1")).json()
    items = {m["code"]: m for m in got["material_items"]}
    lapsed = items["business_licence"]
    assert lapsed["satisfied_by"] == "licence" and lapsed["satisfied"] is False  # as filed / as it stands now
    assert lapsed["licence_check"]["status"] == "revoked"
    assert lapsed["unsatisfied_reason"] == "the licence was revoked by MARKET (reason code 7)"
    assert items["high_tech"]["satisfied"] is True and items["audit_report"]["satisfied"] is True
    assert got["materials_check"]["no_longer_satisfied"] == ["business_licence"]
    assert got["materials_check"]["sign_off_allowed"] is False
    assert got["record_consistency"]["consistent"] is True  # what was filed on chain is unchanged

    opinion = {"passed": True, "amount_fen": 100_000_00, "opinion": "同意。"}
    for level in (1, 2):
        r = sg.client.post(f"/subsidies/applications/{app['id']}/reviews", json={**opinion, "level": level},
                           headers=sg.member(f"SCITECH-rev{level}"))
        assert r.status_code == 201, r.text
    r = sg.client.post(f"/subsidies/applications/{app['id']}/reviews", json={**opinion, "level": 3},
                       headers=sg.member("SCITECH-rev3"))
    error = error_of(r, 409, "licence_material_invalid")
    assert "business_licence" in error["message"] and "revoked by MARKET" in error["message"]
    assert sg.ctx.ledger.contract("SubsidyLedger").functions.reviewerOf(bytes.fromhex(app["id"][2:]), 3).call() \
        == "0x" + "00" * 20  # nothing was sent

    # re-supplying: only the applicant, only a lapsed licence material, only its own upload
    path = f"/me/subsidies/{app['id']}/materials/business_licence"
    other = sg.enterprise(sg.register())
    error_of(sg.client.post(path, json={"document_sha256": sg.upload(other)}, headers=other), 403, "not_applicant")
    error_of(sg.client.post(f"/me/subsidies/{app['id']}/materials/high_tech",
                            json={"document_sha256": sg.upload(headers)}, headers=headers), 409, "material_still_valid")
    error_of(sg.client.post(path, json={"document_sha256": sg.upload(other)}, headers=headers), 403, "not_uploader")
    r = sg.client.post(path, json={"document_sha256": sg.upload(headers, b"business licence scan")}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["materials_check"]["sign_off_allowed"] is True
    r = sg.client.post(f"/subsidies/applications/{app['id']}/reviews", json={**opinion, "level": 3},
                       headers=sg.member("SCITECH-rev3"))
    assert r.status_code == 201, r.text
    done = r.json()
    assert done["status"] == "approved"
    resupplied = {m["code"]: m for m in done["material_items"]}["business_licence"]
    assert resupplied["satisfied"] is True and resupplied["resupplied"] is True and resupplied["document_sha256"]


def test_a_renewed_licence_still_stands_and_a_rejection_needs_no_valid_material(sg) -> None:
    policy = sg.publish(materials=[{"code": "business_licence", "name": "营业执照",
                                    "licence_types": ["BUSINESS_LICENCE"]}])
    uscc = sg.register(name="福州换证科技有限公司")
    headers = sg.enterprise(uscc)
    old = sg.licence(uscc, holder_name="福州换证科技有限公司")
    r = sg.apply(policy["id"], headers, declared={"name": "福州换证有限公司"})
    assert r.status_code == 201, r.text
    app = r.json()
    renewal = {"licence_type": "BUSINESS_LICENCE", "number": f"R-{os.urandom(5).hex()}", "holder_uscc": uscc,
               "holder_name": "福州换证科技有限公司", "valid_from": "2025-01-01", "valid_until": "2035-12-31"}
    r = sg.client.post(f"/licences/{old['id']}/renew", json=renewal, headers=sg.member("MARKET-admin"))
    assert r.status_code == 201, r.text
    new_id = r.json()["licence"]["id"]
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=headers).json()
    (item,) = got["material_items"]
    assert item["licence_check"]["status"] == "superseded" and item["licence_check"]["renewed_as"] == {
        "licence_id": new_id, "status": "valid"}
    assert item["satisfied"] is True and got["materials_check"]["sign_off_allowed"] is True

    _revoke_on_chain(sg, new_id, reason=4)
    got = sg.client.get(f"/subsidies/applications/{app['id']}", headers=headers).json()
    (item,) = got["material_items"]
    assert item["satisfied"] is False and f"renewed as {new_id}, which is revoked" in item["unsatisfied_reason"]
    reject = {"passed": False, "amount_fen": 0, "opinion": "营业执照已吊销，不予通过。"}
    r = sg.client.post(f"/subsidies/applications/{app['id']}/reviews", json={**reject, "level": 1},
                       headers=sg.member("SCITECH-rev1"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "rejected"

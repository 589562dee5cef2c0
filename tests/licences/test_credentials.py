"""An enterprise's credentials: its own licences only, selective-disclosure presentations, and the
licence as a W3C Verifiable Credential 2.0 whose status is read live from the chain."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from tests.licences.helpers import LicenceGateway, error_of, new_uscc


@pytest.fixture(scope="module")
def holders(lg: LicenceGateway) -> dict:
    """Two enterprises with logins: A holds two licences (one from IP), B holds one."""
    a_uscc, a_headers = lg.enterprise()
    b_uscc, b_headers = lg.enterprise()
    a1 = lg.issue(holder_uscc=a_uscc, holder_name="甲方科技有限公司", secretRemark="内部备注A1-机密")
    a2 = lg.issue("IP", licence_type="PATENT_CERTIFICATE", holder_uscc=a_uscc, holder_name="甲方科技有限公司",
                  patentTitle="一种区块链证照核验方法")
    b1 = lg.issue(holder_uscc=b_uscc, holder_name="乙方贸易有限公司")
    return {"a": (a_uscc, a_headers, [a1, a2]), "b": (b_uscc, b_headers, [b1])}


def test_enterprise_sees_only_its_own_licences(lg: LicenceGateway, holders: dict) -> None:
    a_uscc, a_headers, a_out = holders["a"]
    response = lg.client.get("/me/licences", headers=a_headers)
    assert response.status_code == 200, response.text
    mine = response.json()
    assert {m["id"] for m in mine} == {o["licence"]["id"] for o in a_out}
    assert all(m["holder_uscc"] == a_uscc and m["chain_status"] == "valid" for m in mine)
    b_uscc, b_headers, b_out = holders["b"]
    assert [m["id"] for m in lg.client.get("/me/licences", headers=b_headers).json()] == [b_out[0]["licence"]["id"]]
    # an enterprise with no licences sees an empty list
    _, c_headers = lg.enterprise()
    assert lg.client.get("/me/licences", headers=c_headers).json() == []


def test_enterprise_reads_own_licence_but_not_anothers(lg: LicenceGateway, holders: dict) -> None:
    _, a_headers, a_out = holders["a"]
    _, _, b_out = holders["b"]
    own = a_out[0]["licence"]["id"]
    got = lg.client.get(f"/licences/{own}", headers=a_headers)
    assert got.status_code == 200 and got.json()["chain_status"] == "valid"
    assert lg.client.get(f"/licences/{own}/document", headers=a_headers).json() == a_out[0]["document"]
    other = b_out[0]["licence"]["id"]
    for path in (f"/licences/{other}", f"/licences/{other}/document", f"/licences/{other}/vc",
                 f"/licences/{other}/bundle"):
        error_of(lg.client.get(path, headers=a_headers), 403, "not_holder")
    # searching is for members
    error_of(lg.client.get("/licences", params={"holder_uscc": holders["b"][0]}, headers=a_headers),
             403, "forbidden_kind")
    error_of(lg.client.get("/me/licences", headers=lg.admin("MARKET")), 403, "forbidden_kind")


def test_presentation_hides_chosen_fields(lg: LicenceGateway, holders: dict) -> None:
    a_uscc, a_headers, a_out = holders["a"]
    lid1, lid2 = a_out[0]["licence"]["id"], a_out[1]["licence"]["id"]
    response = lg.client.post("/me/presentations", headers=a_headers, json={"licences": {
        lid1: ["holderName", "secretRemark"], lid2: []}})
    assert response.status_code == 200, response.text
    presentation = response.json()
    assert presentation["format"] == "alliance-ledger/presentation@1" and presentation["holder"] == a_uscc
    first, second = presentation["documents"]
    text = json.dumps(first, ensure_ascii=False)
    assert "甲方科技有限公司" not in text and "内部备注A1-机密" not in text
    assert len(first["privacy"]["obfuscatedData"]) == 2
    assert second == a_out[1]["document"]
    for doc in (first, second):
        verdict = lg.verify(doc)
        assert verdict["status"] == "VALID", verdict["failed"]
    disclosed = lg.verify(first)["disclosed"]
    assert "holderName" not in disclosed and "secretRemark" not in disclosed
    assert disclosed["number"] == a_out[0]["licence"]["number"]


def test_presentation_refusals(lg: LicenceGateway, holders: dict) -> None:
    _, a_headers, a_out = holders["a"]
    _, _, b_out = holders["b"]
    lid = a_out[0]["licence"]["id"]
    for protected in ("licenceType", "id", "issuerDepartment", "validUntilTimestamp"):
        error = error_of(lg.client.post("/me/presentations", headers=a_headers,
                                        json={"licences": {lid: ["holderName", protected]}}), 422, "field_required")
        assert protected in error["message"]
    error_of(lg.client.post("/me/presentations", headers=a_headers,
                            json={"licences": {b_out[0]["licence"]["id"]: ["holderName"]}}), 403, "not_holder")
    error_of(lg.client.post("/me/presentations", headers=a_headers, json={"licences": {lid: ["noSuchField"]}}),
             422, "unknown_field")
    error_of(lg.client.post("/me/presentations", headers=a_headers, json={"licences": {}}), 422, "empty_request")
    error_of(lg.client.post("/me/presentations", headers=a_headers, json={"licences": {"0xnope": []}}),
             422, "invalid_licence_id")
    error_of(lg.client.post("/me/presentations", headers=a_headers, json={"licences": {"0x" + "cd" * 32: []}}),
             404, "licence_not_found")
    error_of(lg.client.post("/me/presentations", headers=lg.admin("MARKET"), json={"licences": {lid: []}}),
             403, "forbidden_kind")


# ---------------------------------------------------------------------------- W3C VC 2.0


def _iso(value: str) -> datetime:
    assert value.endswith("Z"), value
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_verifiable_credential(lg: LicenceGateway) -> None:
    uscc, headers = lg.enterprise(new_uscc())
    out = lg.issue(holder_uscc=uscc, holder_name="丙方食品有限公司", valid_from="2025-03-01",
                   valid_until="2030-02-28", businessScope="食品销售")
    lid = out["licence"]["id"]
    response = lg.client.get(f"/licences/{lid}/vc", headers=headers)
    assert response.status_code == 200, response.text
    vc = response.json()
    assert vc["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert "VerifiableCredential" in vc["type"]
    assert vc["id"].endswith(lid)
    assert vc["issuer"]["id"].endswith("MARKET") and vc["issuer"]["name"]
    assert _iso(vc["validFrom"]).timestamp() == out["licence"]["valid_from"]
    assert _iso(vc["validUntil"]).timestamp() == out["licence"]["valid_until"]
    assert _iso(vc["validFrom"]) < _iso(vc["validUntil"])
    subject = vc["credentialSubject"]
    assert subject["id"] == f"urn:uscc:{uscc}"  # the subject is the enterprise, not the licence
    assert subject["name"] == "丙方食品有限公司" and subject["businessScope"] == "食品销售"
    assert subject["number"] == out["licence"]["number"] and subject["licenceType"] == "BUSINESS_LICENCE"

    status = vc["credentialStatus"]
    assert status["type"] and status["statusPurpose"]
    assert status["id"].startswith("http://testserver/") and status["id"].endswith(f"/licences/{lid}/status")
    live = lg.client.get(status["id"])  # no token: anyone holding the credential can check it
    assert live.status_code == 200, live.text
    assert (live.json()["id"], live.json()["status"], live.json()["valid"]) == (lid, "valid", True)

    assert lg.client.post(f"/licences/{lid}/suspend", json={"reason_code": 11},
                          headers=lg.admin("MARKET")).status_code == 200
    live = lg.client.get(status["id"]).json()
    assert (live["status"], live["valid"]) == ("suspended", False)
    # the credential itself does not change; its status does
    assert lg.client.get(f"/licences/{lid}/vc", headers=headers).json()["credentialStatus"] == status


def test_verifiable_credential_without_expiry(lg: LicenceGateway) -> None:
    out = lg.issue(valid_until=None)
    vc = lg.client.get(f"/licences/{out['licence']['id']}/vc", headers=lg.admin("IP")).json()
    assert "validUntil" not in vc and "validFrom" in vc

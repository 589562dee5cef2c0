"""A licence's life through the API: issue (one and in bulk), suspend, reinstate, revoke, renew, expiry;
and who may do each (the contract's authority checks, roles and kinds of login)."""

from __future__ import annotations

from collections import Counter

from gateway.documents import openattestation as oa
from tests.licences.helpers import LicenceGateway, draft, error_of, new_uscc, revert_of


def _status(lg: LicenceGateway, lid: str) -> dict:
    response = lg.client.get(f"/licences/{lid}", headers=lg.admin("MARKET"))
    assert response.status_code == 200, response.text
    return response.json()


def _verdict(lg: LicenceGateway, lid: str) -> dict:
    response = lg.client.get(f"/verify/licence/{lid}")
    assert response.status_code == 200, response.text
    return response.json()


def test_issue_one_returns_wrapped_document_valid_on_chain(lg: LicenceGateway) -> None:
    body = draft(registeredCapital="1000万元", legalRepresentative="张三")
    response = lg.client.post("/licences", json=body, headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text
    out = response.json()
    licence, document = out["licence"], out["document"]
    assert licence["number"] == body["number"] and licence["licence_type"] == "BUSINESS_LICENCE"
    assert licence["holder_uscc"] == body["holder_uscc"] and licence["issuer_department"] == "MARKET"
    assert licence["status"] == "valid" and licence["tx_hash"].startswith("0x")
    assert licence["verify_url"] == f"/v/{licence['id']}"
    # an OpenAttestation v2 wrapped document whose signature checks out, with salted fields
    assert document["version"] == "https://schema.openattestation.com/2.0/schema.json"
    assert set(document["signature"]) == {"type", "targetHash", "proof", "merkleRoot"}
    assert oa.verify_signature(document)
    data = oa.unsalt(document)
    assert data["id"] == licence["id"] and data["number"] == body["number"]
    assert data["registeredCapital"] == "1000万元" and data["legalRepresentative"] == "张三"
    assert "0x" + document["signature"]["targetHash"] == licence["target_hash"]
    # the chain's word
    assert _status(lg, licence["id"])["chain_status"] == "valid"
    public = lg.client.get(f"/licences/{licence['id']}/status")
    assert public.status_code == 200 and public.json()["status"] == "valid" and public.json()["valid"] is True
    assert _verdict(lg, licence["id"])["status"] == "VALID"
    # the stored document is the one returned
    stored = lg.client.get(f"/licences/{licence['id']}/document", headers=lg.admin("IP"))
    assert stored.status_code == 200 and stored.json() == document


def test_bulk_issue_120_in_three_transactions(lg: LicenceGateway) -> None:
    holder = new_uscc()
    bodies = [draft("FOOD_BUSINESS_PERMIT" if i % 3 == 0 else "BUSINESS_LICENCE", holder_uscc=holder,
                    holder_name=f"连锁门店{i}") for i in range(120)]
    response = lg.client.post("/licences/bulk", json={"licences": bodies}, headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["issued"] == 120 and len(out["licences"]) == 120
    assert len(out["transactions"]) == 3
    per_tx = Counter(item["tx_hash"] for item in out["licences"])
    assert sorted(per_tx.values()) == [20, 50, 50]
    per_root = Counter(item["merkle_root"] for item in out["licences"])
    assert sorted(per_root.values()) == [20, 50, 50]  # one Merkle batch per transaction
    assert [item["number"] for item in out["licences"]] == [b["number"] for b in bodies]
    # every one is recorded on chain in its batch (one log query rather than 120 calls) ...
    registry = lg.ctx.ledger.contract("LicenceRegistry")
    blocks = [item["block_number"] for item in out["licences"]]
    logs = registry.events.LicenceIssued().get_logs(from_block=min(blocks), to_block=max(blocks))
    on_chain = {"0x" + bytes(log["args"]["id"]).hex(): "0x" + bytes(log["args"]["merkleRoot"]).hex() for log in logs}
    assert {item["id"]: item["merkle_root"] for item in out["licences"]}.items() <= on_chain.items()
    # ... and valid now (first and last of each chunk)
    for index in (0, 49, 50, 99, 100, 119):
        assert lg.chain_status(out["licences"][index]["id"]) == "valid"
    # listing by holder finds all of them; a sample verifies end to end
    listed = lg.client.get("/licences", params={"holder_uscc": holder}, headers=lg.admin("MARKET"))
    assert listed.status_code == 200 and len(listed.json()) == 120
    for item in (out["licences"][0], out["licences"][77], out["licences"][119]):
        assert _verdict(lg, item["id"])["status"] == "VALID"


def test_suspend_reinstate_revoke(lg: LicenceGateway) -> None:
    lid = lg.issue()["licence"]["id"]
    market = lg.admin("MARKET")

    response = lg.client.post(f"/licences/{lid}/suspend", json={"reason_code": 7}, headers=market)
    assert response.status_code == 200, response.text
    assert response.json()["licence"]["status"] == "suspended"
    assert response.json()["licence"]["chain_status"] == "suspended"
    got = _status(lg, lid)
    assert (got["status"], got["chain_status"], got["reason_code"]) == ("suspended", "suspended", 7)
    verdict = _verdict(lg, lid)
    assert verdict["status"] == "INVALID" and verdict["valid"] is False
    assert verdict["failed"] == ["LicenceStatus"]
    # suspending twice is a contract refusal, not a silent success
    revert_of(lg.client.post(f"/licences/{lid}/suspend", json={"reason_code": 7}, headers=market),
              "InvalidTransition")

    response = lg.client.post(f"/licences/{lid}/reinstate", headers=market)
    assert response.status_code == 200, response.text
    got = _status(lg, lid)
    assert (got["status"], got["chain_status"], got["reason_code"]) == ("valid", "valid", None)
    assert _verdict(lg, lid)["status"] == "VALID"
    revert_of(lg.client.post(f"/licences/{lid}/reinstate", headers=market), "InvalidTransition")

    response = lg.client.post(f"/licences/{lid}/revoke", json={"reason_code": 3}, headers=market)
    assert response.status_code == 200, response.text
    got = _status(lg, lid)
    assert (got["status"], got["chain_status"], got["reason_code"]) == ("revoked", "revoked", 3)
    verdict = _verdict(lg, lid)
    assert verdict["status"] == "INVALID" and verdict["failed"] == ["LicenceStatus"]
    status_fragment = next(f for f in verdict["fragments"] if f["name"] == "LicenceStatus")
    assert status_fragment["data"] == {"status": "revoked", "reason_code": 3}

    error = revert_of(lg.client.post(f"/licences/{lid}/revoke", json={"reason_code": 3}, headers=market),
                      "AlreadyRevoked")
    assert error["args"]["id"] == lid
    revert_of(lg.client.post(f"/licences/{lid}/reinstate", headers=market), "InvalidTransition")
    revert_of(lg.client.post(f"/licences/{lid}/suspend", json={"reason_code": 1}, headers=market),
              "InvalidTransition")
    assert _status(lg, lid)["status"] == "revoked"  # the refusals left the record as it was


def test_reason_code_is_validated(lg: LicenceGateway) -> None:
    lid = lg.issue()["licence"]["id"]
    for bad in ({}, {"reason_code": 0}, {"reason_code": 70000}, {"reason_code": "x"}):
        error_of(lg.client.post(f"/licences/{lid}/revoke", json=bad, headers=lg.admin("MARKET")),
                 422, "invalid_request")
    assert lg.chain_status(lid) == "valid"


def test_renew_supersedes_the_old_licence(lg: LicenceGateway) -> None:
    old = lg.issue(valid_until="2025-12-31")["licence"]
    body = draft(holder_uscc=old["holder_uscc"], valid_from="2025-06-01", valid_until="2035-12-31")
    response = lg.client.post(f"/licences/{old['id']}/renew", json=body, headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text
    new = response.json()["licence"]
    assert new["supersedes"] == old["id"] and new["status"] == "valid"
    assert oa.unsalt(response.json()["document"])["supersedes"] == old["id"]

    got_old = _status(lg, old["id"])
    assert (got_old["status"], got_old["chain_status"], got_old["superseded_by"]) == (
        "superseded", "superseded", new["id"])
    assert _status(lg, new["id"])["chain_status"] == "valid"
    verdict = _verdict(lg, old["id"])
    assert verdict["status"] == "INVALID" and "LicenceStatus" in verdict["failed"]
    assert "RecordConsistency" not in verdict["failed"]
    assert _verdict(lg, new["id"])["status"] == "VALID"
    # the old licence cannot be renewed a second time
    revert_of(lg.client.post(f"/licences/{old['id']}/renew", json=draft(holder_uscc=old["holder_uscc"]),
                             headers=lg.admin("MARKET")), "InvalidTransition")


def test_renewal_must_keep_type_and_holder(lg: LicenceGateway) -> None:
    old = lg.issue()["licence"]
    rows = lg.licence_rows()
    other_holder = draft()
    error_of(lg.client.post(f"/licences/{old['id']}/renew", json=other_holder, headers=lg.admin("MARKET")),
             422, "renewal_mismatch")
    other_type = draft("FOOD_BUSINESS_PERMIT", holder_uscc=old["holder_uscc"])
    error_of(lg.client.post(f"/licences/{old['id']}/renew", json=other_type, headers=lg.admin("MARKET")),
             422, "renewal_mismatch")
    lg.assert_nothing_issued([other_holder, other_type], rows)
    assert lg.chain_status(old["id"]) == "valid"


def test_renewing_a_revoked_licence_is_refused(lg: LicenceGateway) -> None:
    old = lg.issue()["licence"]
    assert lg.client.post(f"/licences/{old['id']}/revoke", json={"reason_code": 9},
                          headers=lg.admin("MARKET")).status_code == 200
    rows = lg.licence_rows()
    body = draft(holder_uscc=old["holder_uscc"])
    revert_of(lg.client.post(f"/licences/{old['id']}/renew", json=body, headers=lg.admin("MARKET")),
              "InvalidTransition")
    lg.assert_nothing_issued([body], rows)
    assert _status(lg, old["id"])["status"] == "revoked"


def test_expiry(lg: LicenceGateway) -> None:
    # a licence whose whole validity lies in the past may be recorded (e.g. migrating history) ...
    out = lg.issue(valid_from="2019-01-01", valid_until="2020-12-31")
    lid = out["licence"]["id"]
    got = _status(lg, lid)
    assert got["chain_status"] == "expired"
    assert got["status"] == "valid"  # the gateway keeps the lifecycle status; expiry is derived from time
    # ... but it never verifies as valid
    verdict = _verdict(lg, lid)
    assert verdict["status"] == "INVALID"
    assert set(verdict["failed"]) == {"LicenceStatus", "LicenceValidity"}
    validity = next(f for f in verdict["fragments"] if f["name"] == "LicenceValidity")
    assert validity["reason"] == "expired"
    public = lg.client.get(f"/licences/{lid}/status").json()
    assert (public["status"], public["valid"]) == ("expired", False)

    # a licence that is valid from a future date is issued but not yet valid
    future = lg.issue(valid_from="2099-01-01", valid_until="2099-12-31")["licence"]["id"]
    assert lg.chain_status(future) == "not_yet_valid"
    verdict = _verdict(lg, future)
    assert verdict["status"] == "INVALID" and "LicenceValidity" in verdict["failed"]

    # the end before the start is refused before anything is written
    rows = lg.licence_rows()
    body = draft(valid_from="2026-01-01", valid_until="2025-01-01")
    error_of(lg.client.post("/licences", json=body, headers=lg.admin("MARKET")), 422, "invalid_validity")
    bad_date = draft(valid_from="2026-02-30")
    error_of(lg.client.post("/licences", json=bad_date, headers=lg.admin("MARKET")), 422, "invalid_date")
    lg.assert_nothing_issued([body, bad_date], rows)


def test_licence_without_expiry(lg: LicenceGateway) -> None:
    out = lg.issue(valid_until=None)
    assert out["licence"]["valid_until"] == 0
    assert _verdict(lg, out["licence"]["id"])["status"] == "VALID"


# ---------------------------------------------------------------------------- authority


def test_department_not_authorised_for_type(lg: LicenceGateway) -> None:
    rows = lg.licence_rows()
    body = draft("PATENT_CERTIFICATE")
    error = revert_of(lg.client.post("/licences", json=body, headers=lg.admin("MARKET")), "NotAuthorisedForType")
    assert error["args"] == {"licenceType": "PATENT_CERTIFICATE", "department": "MARKET"}
    assert "PATENT_CERTIFICATE" in error["message"] and "MARKET" in error["message"]
    lg.assert_nothing_issued([body], rows)
    # the authorised department may
    assert lg.issue("IP", licence_type="PATENT_CERTIFICATE")["licence"]["issuer_department"] == "IP"


def test_bulk_with_one_unauthorised_type_in_a_later_chunk_issues_nothing(lg: LicenceGateway) -> None:
    """All or nothing: an item the department may not issue, in the second chunk of 50, must not leave
    the first chunk issued."""
    rows = lg.licence_rows()
    bodies = [draft() for _ in range(50)] + [draft("PATENT_CERTIFICATE")]
    response = lg.client.post("/licences/bulk", json={"licences": bodies}, headers=lg.admin("MARKET"))
    error = revert_of(response, "NotAuthorisedForType")
    assert error["args"] == {"licenceType": "PATENT_CERTIFICATE", "department": "MARKET"}
    lg.assert_nothing_issued(bodies, rows)


def test_member_without_issuer_role(lg: LicenceGateway) -> None:
    rows = lg.licence_rows()
    body = draft()
    error = error_of(lg.client.post("/licences", json=body, headers=lg.admin("DISCIPLINE")), 403, "missing_role")
    assert error["required"] == ["issuer"]
    lid = lg.issue()["licence"]["id"]
    for path, payload in (("suspend", {"reason_code": 1}), ("revoke", {"reason_code": 1}), ("reinstate", None)):
        error_of(lg.client.post(f"/licences/{lid}/{path}", json=payload, headers=lg.admin("DISCIPLINE")),
                 403, "missing_role")
    lg.assert_nothing_issued([body], rows + 1)
    assert lg.chain_status(lid) == "valid"


def test_enterprise_may_not_issue(lg: LicenceGateway) -> None:
    uscc, headers = lg.enterprise()
    rows = lg.licence_rows()
    body = draft(holder_uscc=uscc)
    error_of(lg.client.post("/licences", json=body, headers=headers), 403, "forbidden_kind")
    error_of(lg.client.post("/licences/bulk", json={"licences": [body]}, headers=headers), 403, "forbidden_kind")
    lg.assert_nothing_issued([body], rows)


def test_no_token(lg: LicenceGateway) -> None:
    error_of(lg.client.post("/licences", json=draft()), 401, "token_missing")


def test_other_department_may_not_change_a_licence(lg: LicenceGateway) -> None:
    lid = lg.issue()["licence"]["id"]
    ip = lg.admin("IP")
    error = revert_of(lg.client.post(f"/licences/{lid}/revoke", json={"reason_code": 2}, headers=ip),
                      "NotIssuingDepartment")
    assert error["args"] == {"id": lid, "department": "IP"}
    revert_of(lg.client.post(f"/licences/{lid}/suspend", json={"reason_code": 2}, headers=ip), "NotIssuingDepartment")
    old = _status(lg, lid)
    revert_of(lg.client.post(f"/licences/{lid}/renew", json=draft(holder_uscc=old["holder_uscc"]), headers=ip),
              "NotIssuingDepartment")
    got = _status(lg, lid)
    assert (got["status"], got["chain_status"]) == ("valid", "valid")

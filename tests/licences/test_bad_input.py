"""Bad input: each refusal is a clear 4xx with a machine-readable code, and nothing is half-written
(no licence row, nothing on chain, no stored document)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from gateway.models import Document
from tests.licences.helpers import MAX_BYTES, LicenceGateway, draft, error_of


def _documents(lg: LicenceGateway) -> int:
    with lg.ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(Document)) or 0


def _post_raw(lg: LicenceGateway, path: str, content: bytes, content_type: str, department: str = "MARKET"):
    return lg.client.post(path, content=content, headers={**lg.admin(department), "Content-Type": content_type})


def test_malformed_json_body(lg: LicenceGateway) -> None:
    rows = lg.licence_rows()
    body = draft()
    broken = json.dumps(body)[:-5].encode()
    error = error_of(_post_raw(lg, "/licences", broken, "application/json"), 422, "invalid_request")
    assert error["problems"], error
    error_of(_post_raw(lg, "/licences/bulk", b"{\"licences\": [", "application/json"), 422, "invalid_request")
    error_of(_post_raw(lg, "/documents/json", b"{\"a\": ", "application/json"), 400, "invalid_json")
    error_of(lg.client.post("/verify/licence", content=b"{not json", headers={"Content-Type": "application/json"}),
             400, "invalid_json")
    lg.assert_nothing_issued([body], rows)


def test_non_json_body_to_a_json_endpoint(lg: LicenceGateway) -> None:
    rows, docs = lg.licence_rows(), _documents(lg)
    body = draft()
    error = error_of(_post_raw(lg, "/licences", json.dumps(body).encode(), "text/plain"), 422, "invalid_request")
    assert error["problems"][0]["field"] == "body"
    error_of(lg.client.post("/licences", data={"licence_type": "BUSINESS_LICENCE"}, headers=lg.admin("MARKET")),
             422, "invalid_request")
    error_of(_post_raw(lg, "/documents/json", b"{\"a\": 1}", "text/plain"), 415, "not_json")
    error_of(lg.client.post("/verify/licence", content=b"{}", headers={"Content-Type": "text/plain"}), 415, "not_json")
    lg.assert_nothing_issued([body], rows)
    assert _documents(lg) == docs


def test_not_a_wrapped_document(lg: LicenceGateway) -> None:
    for doc in ([1, 2], {"data": {}}, {"signature": {}}, "text"):
        error_of(lg.client.post("/verify/licence", json=doc), 422, "not_wrapped_document")


def test_oversize_uploads(lg: LicenceGateway) -> None:
    docs = _documents(lg)
    big = b"x" * (MAX_BYTES + 1)
    error_of(lg.client.post("/documents", files={"file": ("big.bin", big)}, headers=lg.admin("MARKET")),
             413, "document_too_large")
    big_json = json.dumps({"blob": "y" * MAX_BYTES}).encode()
    error_of(_post_raw(lg, "/documents/json", big_json, "application/json"), 413, "document_too_large")
    error_of(lg.client.post("/verify/document", files={"file": ("big.bin", big)}), 413, "document_too_large")
    error_of(lg.client.post("/verify/licence", content=big_json, headers={"Content-Type": "application/json"}),
             413, "document_too_large")
    error_of(lg.client.post("/verify/licence", files={"file": ("big.json", big_json)}), 413, "document_too_large")
    assert _documents(lg) == docs
    # exactly at the limit is accepted
    response = lg.client.post("/documents", files={"file": ("limit.bin", b"z" * MAX_BYTES)},
                              headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text


def test_empty_upload(lg: LicenceGateway) -> None:
    docs = _documents(lg)
    error_of(lg.client.post("/documents", files={"file": ("empty.bin", b"")}, headers=lg.admin("MARKET")),
             422, "document_empty")
    error_of(lg.client.post("/documents", headers=lg.admin("MARKET")), 422, "invalid_request")
    assert _documents(lg) == docs


def test_unknown_licence_type(lg: LicenceGateway) -> None:
    rows = lg.licence_rows()
    body = draft("NO_SUCH_LICENCE")
    error = error_of(lg.client.post("/licences", json=body, headers=lg.admin("MARKET")), 422, "unknown_licence_type")
    assert "BUSINESS_LICENCE" in error["message"]  # it tells the known ones
    lg.assert_nothing_issued([body], rows)


@pytest.mark.parametrize("change, code", [
    ({"holder_uscc": "91350100MA2Y0001XI"}, "invalid_uscc"),  # I is not in the USCC alphabet
    ({"number": "bad\nnumber"}, "invalid_number"),
    ({"fields": {"holderName": "override"}}, "invalid_field"),
    ({"fields": {"Capital": "x"}}, "invalid_field"),
    ({"fields": {"nested": {"a": 1}}}, "invalid_field"),
    ({"valid_from": "yesterday"}, "invalid_date"),
])
def test_invalid_draft_fields(lg: LicenceGateway, change: dict, code: str) -> None:
    rows = lg.licence_rows()
    body = {**draft(), **change}
    error_of(lg.client.post("/licences", json=body, headers=lg.admin("MARKET")), 422, code)
    lg.assert_nothing_issued([body], rows)


def test_missing_fields(lg: LicenceGateway) -> None:
    body = draft()
    del body["holder_name"]
    error = error_of(lg.client.post("/licences", json=body, headers=lg.admin("MARKET")), 422, "invalid_request")
    assert "holder_name" in error["message"]


def test_unknown_licence(lg: LicenceGateway) -> None:
    unknown = "0x" + "ab" * 32
    headers = lg.admin("MARKET")
    for path in (f"/licences/{unknown}", f"/licences/{unknown}/document", f"/licences/{unknown}/vc",
                 f"/licences/{unknown}/bundle"):
        error_of(lg.client.get(path, headers=headers), 404, "licence_not_found")
    for path in (f"/licences/{unknown}/status", f"/verify/licence/{unknown}", f"/v/{unknown}/bundle"):
        error_of(lg.client.get(path), 404, "licence_not_found")
    error_of(lg.client.get("/licences", params={"licence_type": "BUSINESS_LICENCE", "number": "nope"},
                           headers=headers), 404, "licence_not_found")
    error_of(lg.client.get("/verify/licence", params={"licence_type": "BUSINESS_LICENCE", "number": "nope"}),
             404, "licence_not_found")
    for path, payload in (("suspend", {"reason_code": 1}), ("revoke", {"reason_code": 1}), ("reinstate", None),
                          ("renew", draft())):
        error_of(lg.client.post(f"/licences/{unknown}/{path}", json=payload, headers=headers), 404,
                 "licence_not_found")
    page = lg.client.get(f"/v/{unknown}")
    assert page.status_code == 404 and "Licence not found" in page.text


@pytest.mark.parametrize("garbage", ["123", "0x1234", "0x" + "zz" * 32, "0x" + "ab" * 33])
def test_garbage_licence_id(lg: LicenceGateway, garbage: str) -> None:
    headers = lg.admin("MARKET")
    for path in (f"/licences/{garbage}", f"/licences/{garbage}/vc"):
        error_of(lg.client.get(path, headers=headers), 422, "invalid_licence_id")
    for path in (f"/licences/{garbage}/status", f"/verify/licence/{garbage}"):
        error_of(lg.client.get(path), 422, "invalid_licence_id")
    error_of(lg.client.post(f"/licences/{garbage}/revoke", json={"reason_code": 1}, headers=headers),
             422, "invalid_licence_id")


@pytest.mark.parametrize("garbage", ["abc", "0x" + "00" * 32, "g" * 64, "a" * 63])
def test_garbage_digest(lg: LicenceGateway, garbage: str) -> None:
    error_of(lg.client.get(f"/verify/document/{garbage}"), 422, "invalid_digest")
    error_of(lg.client.get(f"/documents/{garbage}", headers=lg.admin("MARKET")), 422, "invalid_digest")


def test_unknown_document(lg: LicenceGateway) -> None:
    error_of(lg.client.get(f"/documents/{'0' * 64}", headers=lg.admin("MARKET")), 404, "document_not_found")
    error_of(lg.client.get(f"/documents/{'0' * 64}/content", headers=lg.admin("MARKET")), 404, "document_not_found")
    verdict = lg.client.get(f"/verify/document/{'0' * 64}")
    assert verdict.status_code == 200 and verdict.json()["status"] == "INVALID"
    assert verdict.json()["failed"] == ["KnownDocument"]


def test_bulk_with_one_bad_item_issues_nothing(lg: LicenceGateway) -> None:
    rows = lg.licence_rows()
    bodies = [draft() for _ in range(5)]
    bodies[3]["holder_uscc"] = "not-a-uscc-at-all!"
    error_of(lg.client.post("/licences/bulk", json={"licences": bodies}, headers=lg.admin("MARKET")),
             422, "invalid_uscc")
    bodies[3] = draft("NO_SUCH_LICENCE")
    error_of(lg.client.post("/licences/bulk", json={"licences": bodies}, headers=lg.admin("MARKET")),
             422, "unknown_licence_type")
    lg.assert_nothing_issued(bodies, rows)


def test_bulk_limits(lg: LicenceGateway) -> None:
    error_of(lg.client.post("/licences/bulk", json={"licences": []}, headers=lg.admin("MARKET")),
             422, "invalid_request")
    error_of(lg.client.post("/licences/bulk", json={}, headers=lg.admin("MARKET")), 422, "invalid_request")


def test_duplicate_numbers_in_one_request(lg: LicenceGateway) -> None:
    rows = lg.licence_rows()
    bodies = [draft() for _ in range(3)]
    bodies.append({**draft(), "number": bodies[1]["number"]})
    error = error_of(lg.client.post("/licences/bulk", json={"licences": bodies}, headers=lg.admin("MARKET")),
                     422, "duplicate_in_request")
    assert bodies[1]["number"] in error["message"]
    lg.assert_nothing_issued(bodies, rows)
    # the same number under another licence type is another licence
    pair = [draft(number=bodies[0]["number"]), draft("FOOD_BUSINESS_PERMIT", number=bodies[0]["number"])]
    response = lg.client.post("/licences/bulk", json={"licences": pair}, headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text


def test_reissuing_an_existing_number(lg: LicenceGateway) -> None:
    first = lg.issue()["licence"]
    rows = lg.licence_rows()
    again = draft(number=first["number"])
    error = error_of(lg.client.post("/licences", json=again, headers=lg.admin("MARKET")), 409, "licence_exists")
    assert first["number"] in error["message"]
    fresh = draft()
    error_of(lg.client.post("/licences/bulk", json={"licences": [fresh, again]}, headers=lg.admin("MARKET")),
             409, "licence_exists")
    lg.assert_nothing_issued([fresh], rows)
    # renewing into an existing number is refused the same way
    error_of(lg.client.post(f"/licences/{first['id']}/renew", json={**again, "holder_uscc": first["holder_uscc"]},
                            headers=lg.admin("MARKET")), 409, "licence_exists")
    assert lg.chain_status(first["id"]) == "valid"

"""Public verification (no token): by document, by id, by number, the QR landing page and its proof
bundle; tampering with the gateway's database is reported, never verified as VALID; and the chain
facts kept between verdicts (gateway.verification.facts) never outlive the change that drops them."""

from __future__ import annotations

import copy
import json

import pytest

from gateway.documents import openattestation as oa
from tests.licences.helpers import LicenceGateway, error_of

LICENCE_FRAGMENTS = {"OpenAttestationHash", "LicenceRecord", "LicenceIssued", "LicenceStatus", "LicenceValidity",
                     "IssuerAuthority"}


def _set_salted(doc: dict, key: str, value: str) -> dict:
    """A copy of ``doc`` with the salted value of ``key`` replaced (salt and type kept)."""
    out = copy.deepcopy(doc)
    salt, kind, _ = out["data"][key].split(":", 2)
    out["data"][key] = f"{salt}:{kind}:{value}"
    return out


def test_verify_wrapped_document_without_token(lg: LicenceGateway) -> None:
    out = lg.issue(holder_name="鼓楼区样例餐饮有限公司", shopSign="闽味小馆")
    verdict = lg.verify(out["document"])
    assert verdict["status"] == "VALID" and verdict["valid"] is True and verdict["failed"] == []
    names = {f["name"] for f in verdict["fragments"]}
    assert LICENCE_FRAGMENTS <= names and len(verdict["fragments"]) >= 6
    assert all(f["status"] == "VALID" for f in verdict["fragments"]), verdict["fragments"]
    assert "RecordConsistency" in names  # the gateway holds this licence: its record is checked too
    assert verdict["disclosed"]["holderName"] == "鼓楼区样例餐饮有限公司"
    assert verdict["disclosed"]["shopSign"] == "闽味小馆"
    # as a multipart file too
    response = lg.client.post("/verify/licence", files={"file": ("licence.json", json.dumps(out["document"]))})
    assert response.status_code == 200 and response.json()["status"] == "VALID"


def test_tampered_document_is_invalid(lg: LicenceGateway) -> None:
    out = lg.issue(holder_name="原始名称有限公司")
    tampered = _set_salted(out["document"], "holderName", "冒名顶替有限公司")
    verdict = lg.verify(tampered)
    assert verdict["status"] == "INVALID"
    assert "OpenAttestationHash" in verdict["failed"]
    # a later expiry date written into a copy does not help either
    later = _set_salted(out["document"], "validUntil", "2099-12-31")
    verdict = lg.verify(later)
    assert verdict["status"] == "INVALID" and "OpenAttestationHash" in verdict["failed"]
    # nor does a forged signature block
    forged = copy.deepcopy(out["document"])
    forged["signature"]["targetHash"] = oa.digest(tampered)
    forged["signature"]["merkleRoot"] = forged["signature"]["targetHash"]
    forged["signature"]["proof"] = []
    forged["data"] = tampered["data"]
    verdict = lg.verify(forged)
    assert verdict["status"] == "INVALID"
    assert {"LicenceRecord", "LicenceIssued"} <= set(verdict["failed"])


def test_malformed_signature_is_an_error_not_valid(lg: LicenceGateway) -> None:
    doc = copy.deepcopy(lg.issue()["document"])
    doc["signature"]["targetHash"] = "zz"
    verdict = lg.verify(doc)
    assert verdict["status"] in ("INVALID", "ERROR") and verdict["valid"] is False


def test_verify_by_number_and_by_id(lg: LicenceGateway) -> None:
    licence = lg.issue()["licence"]
    by_number = lg.client.get("/verify/licence", params={"licence_type": "BUSINESS_LICENCE",
                                                         "number": licence["number"]})
    assert by_number.status_code == 200 and by_number.json()["status"] == "VALID"
    assert by_number.json()["disclosed"]["number"] == licence["number"]
    by_id = lg.client.get(f"/verify/licence/{licence['id']}")
    assert by_id.status_code == 200 and by_id.json()["status"] == "VALID"
    assert by_id.json()["disclosed"]["id"] == licence["id"]
    upper = lg.client.get(f"/verify/licence/0x{licence['id'][2:].upper()}")
    assert upper.status_code == 200 and upper.json()["status"] == "VALID"
    error_of(lg.client.get("/verify/licence", params={"licence_type": "BUSINESS_LICENCE"}), 422, "invalid_request")


def test_qr_landing_page_and_bundle(lg: LicenceGateway) -> None:
    out = lg.issue(holder_name="仓山区扫码验证有限公司", shopSign="码上验")
    lid = out["licence"]["id"]
    page = lg.client.get(f"/v/{lid}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "verdict VALID" in page.text and "有效 VALID" in page.text
    assert "仓山区扫码验证有限公司" in page.text and "码上验" in page.text and out["licence"]["number"] in page.text
    for name in LICENCE_FRAGMENTS:
        assert name in page.text
    assert f"/v/{lid}/bundle" in page.text

    bundle = lg.client.get(f"/v/{lid}/bundle")
    assert bundle.status_code == 200
    assert "attachment" in bundle.headers["content-disposition"]
    assert bundle.headers["content-disposition"].endswith(f'licence-{out["licence"]["number"]}.bundle.json"')
    body = bundle.json()
    assert body["format"] == "alliance-ledger/licence-proof@1"
    assert body["document"] == out["document"]
    assert body["contracts"]["LicenceRegistry"] == lg.ctx.ledger.contract("LicenceRegistry").address
    assert body["chain_id"] == lg.ctx.ledger.chain.chain_id
    assert body["anchor"]["tx_hash"] == out["licence"]["tx_hash"]

    # after revocation the page says so
    assert lg.client.post(f"/licences/{lid}/revoke", json={"reason_code": 5},
                          headers=lg.admin("MARKET")).status_code == 200
    page = lg.client.get(f"/v/{lid}")
    assert "verdict INVALID" in page.text and "revoked" in page.text


def test_page_escapes_fields(lg: LicenceGateway) -> None:
    out = lg.issue(holder_name="<script>alert(1)</script>有限公司")
    page = lg.client.get(f"/v/{out['licence']['id']}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_verify_form_page(lg: LicenceGateway) -> None:
    licence = lg.issue()["licence"]
    form = lg.client.get("/verify")
    assert form.status_code == 200 and "<form" in form.text
    found = lg.client.get("/verify", params={"licence_type": "BUSINESS_LICENCE", "number": licence["number"]})
    assert found.status_code == 200 and "verdict VALID" in found.text
    missing = lg.client.get("/verify", params={"licence_type": "BUSINESS_LICENCE", "number": "missing-number"})
    assert missing.status_code == 404 and "id='verdict'" not in missing.text


# ---------------------------------------------------------------------------- tampering with the database


def _consistency(verdict: dict) -> dict:
    return next(f for f in verdict["fragments"] if f["name"] == "RecordConsistency")


def test_db_status_edited_to_revoked_is_reported(lg: LicenceGateway) -> None:
    lid = lg.issue()["licence"]["id"]
    lg.sql("UPDATE licences SET status = 'revoked', reason_code = 1 WHERE id = :id", id=lid)
    verdict = lg.client.get(f"/verify/licence/{lid}").json()
    fragment = _consistency(verdict)
    assert fragment["status"] == "INVALID" and "tampering" in fragment["reason"] and "status" in fragment["reason"]
    assert verdict["status"] != "VALID" and verdict["valid"] is False
    assert "RecordConsistency" in verdict["failed"]


def test_db_status_edited_to_valid_is_reported(lg: LicenceGateway) -> None:
    lid = lg.issue()["licence"]["id"]
    assert lg.client.post(f"/licences/{lid}/revoke", json={"reason_code": 4},
                          headers=lg.admin("MARKET")).status_code == 200
    lg.sql("UPDATE licences SET status = 'valid', reason_code = NULL WHERE id = :id", id=lid)
    verdict = lg.client.get(f"/verify/licence/{lid}").json()
    assert verdict["status"] == "INVALID"
    assert {"LicenceStatus", "RecordConsistency"} <= set(verdict["failed"])
    # the status endpoint reads the chain, not the edited row
    assert lg.client.get(f"/licences/{lid}/status").json()["status"] == "revoked"
    assert lg.client.get(f"/licences/{lid}", headers=lg.admin("MARKET")).json()["chain_status"] == "revoked"


def test_db_validity_edited_is_reported(lg: LicenceGateway) -> None:
    licence = lg.issue(valid_until="2026-12-31")["licence"]
    lg.sql("UPDATE licences SET valid_until = :until WHERE id = :id", until=licence["valid_until"] + 10 * 365 * 86400,
           id=licence["id"])
    verdict = lg.client.get(f"/verify/licence/{licence['id']}").json()
    fragment = _consistency(verdict)
    assert fragment["status"] == "INVALID" and "validity period" in fragment["reason"]
    assert verdict["status"] != "VALID"


def test_db_wrapped_document_edited_is_reported(lg: LicenceGateway) -> None:
    out = lg.issue(holder_name="真实企业有限公司")
    doc = _set_salted(out["document"], "holderName", "伪造企业有限公司")
    lg.sql("UPDATE licences SET wrapped = :doc WHERE id = :id", doc=json.dumps(doc, ensure_ascii=False),
           id=out["licence"]["id"])
    verdict = lg.client.get(f"/verify/licence/{out['licence']['id']}").json()
    assert verdict["status"] == "INVALID" and "OpenAttestationHash" in verdict["failed"]
    page = lg.client.get(f"/v/{out['licence']['id']}")
    assert "verdict INVALID" in page.text


def test_db_anchor_batch_count_edited_is_reported(lg: LicenceGateway) -> None:
    content = b"anchor batch tampering test " + json.dumps(lg.issue()["licence"]).encode()
    response = lg.client.post("/documents", files={"file": ("t.txt", content)}, headers=lg.admin("MARKET"))
    assert response.status_code == 201, response.text
    sha = response.json()["sha256"]
    lg.ctx.batcher.flush()
    receipt = lg.client.get(f"/documents/{sha}", headers=lg.admin("MARKET")).json()
    assert receipt["status"] == "anchored"
    assert lg.client.get(f"/verify/document/{sha}").json()["status"] == "VALID"
    lg.sql("UPDATE anchor_batches SET count = count + 5 WHERE id = :id", id=receipt["batch_id"])
    verdict = lg.client.get(f"/verify/document/{sha}").json()
    fragment = _consistency(verdict)
    assert fragment["status"] == "INVALID" and "tampering" in fragment["reason"]
    assert verdict["status"] != "VALID" and verdict["valid"] is False
    file_verdict = lg.client.post("/verify/document", files={"file": ("t.txt", content)}).json()
    assert file_verdict["status"] != "VALID" and "RecordConsistency" in file_verdict["failed"]


# ---------------------------------------------------------------------------- chain facts kept between verdicts


def _revoke_on_chain(lg: LicenceGateway, lid: str, reason: int = 7) -> None:
    """Revoke through the contract directly, as another gateway of the department would: this
    gateway's API and database are not told."""
    from gateway.context import department_signer
    from gateway.services.licences import contracts

    lg.ctx.ledger.txm.transact(department_signer(lg.ctx.ledger, "MARKET"),
                               contracts(lg.ctx).licences.functions.revoke(bytes.fromhex(lid[2:]), reason),
                               f"test: revoke {lid} behind the gateway's back")


def _fragment(verdict: dict, name: str) -> dict:
    return next(f for f in verdict["fragments"] if f["name"] == name)


def test_kept_facts_are_dropped_when_the_chain_changes(lg: LicenceGateway) -> None:
    from gateway.services.licences import chain_facts

    out = lg.issue()
    lid, doc = out["licence"]["id"], out["document"]
    facts = chain_facts(lg.ctx)
    first = lg.client.get(f"/verify/licence/{lid}").json()
    assert first["status"] == "VALID" and first["as_of_block"] == lg.ctx.ledger.chain.head()
    key = (facts.licences.address, "statusOf", (bytes.fromhex(lid[2:]),))
    assert facts.contracts_for([doc]).licences.functions.statusOf(bytes.fromhex(lid[2:]))._answers[key] == 1
    assert bytes.fromhex(lid[2:]) in facts._records  # kept: the next verdict reads nothing but the head

    _revoke_on_chain(lg, lid)
    # without a refresh the kept record still answers (this is what the head check is for) ...
    assert facts.contracts_for([doc]).licences.functions.statusOf(bytes.fromhex(lid[2:]))._answers[key] == 1
    # ... a refresh reads the new block's LicenceRevoked log and drops it
    assert facts.wait_fresh() == lg.ctx.ledger.chain.head()
    assert bytes.fromhex(lid[2:]) not in facts._records
    assert facts.contracts_for([doc]).licences.functions.statusOf(bytes.fromhex(lid[2:]))._answers[key] == 3

    verdict = lg.client.get(f"/verify/licence/{lid}").json()
    assert verdict["status"] == "INVALID" and _fragment(verdict, "LicenceStatus")["data"]["status"] == "revoked"
    # the gateway's row still says valid: the chain (read live to be sure) disagrees with it
    assert "RecordConsistency" in verdict["failed"] and verdict["as_of_block"] is None
    assert lg.verify(doc)["status"] == "INVALID"


def test_revocation_is_seen_by_the_next_request(lg: LicenceGateway) -> None:
    out = lg.issue()
    lid = out["licence"]["id"]
    for _ in range(2):  # the second verdict comes from kept facts
        assert lg.client.get(f"/verify/licence/{lid}").json()["status"] == "VALID"
    assert lg.client.post(f"/licences/{lid}/suspend", json={"reason_code": 2},
                          headers=lg.admin("MARKET")).status_code == 200
    verdict = lg.client.get(f"/verify/licence/{lid}").json()
    assert verdict["status"] == "INVALID" and "LicenceStatus" in verdict["failed"]
    assert _fragment(verdict, "LicenceStatus")["data"]["status"] == "suspended"
    assert _fragment(verdict, "RecordConsistency")["status"] == "VALID"  # the row agrees: no live re-read
    assert verdict["as_of_block"] == lg.ctx.ledger.chain.head()
    assert lg.client.post(f"/licences/{lid}/reinstate", headers=lg.admin("MARKET")).status_code == 200
    assert lg.client.get(f"/verify/licence/{lid}").json()["status"] == "VALID"


def test_stale_facts_never_outvote_the_gateways_record(lg: LicenceGateway) -> None:
    """With a staleness allowance the kept facts may lag the chain; when the gateway's row then
    disagrees with them, the verdict is made again from live reads (here: the revocation is seen)."""
    from gateway.services.licences import chain_facts
    from gateway.verification.facts import ChainFacts

    out = lg.issue()
    lid = out["licence"]["id"]
    kept = vars(lg.ctx).get("_chain_facts")
    lenient = ChainFacts(chain_facts(lg.ctx), max_staleness_ms=3_600_000)
    vars(lg.ctx)["_chain_facts"] = lenient
    try:
        assert lg.client.get(f"/verify/licence/{lid}").json()["status"] == "VALID"
        refreshes = lenient.refreshes
        assert lg.client.post(f"/licences/{lid}/revoke", json={"reason_code": 5},
                              headers=lg.admin("MARKET")).status_code == 200
        verdict = lg.client.get(f"/verify/licence/{lid}").json()
        assert lenient.refreshes == refreshes  # within the allowance: no head check was made
        assert verdict["status"] == "INVALID" and _fragment(verdict, "LicenceStatus")["data"]["status"] == "revoked"
        assert _fragment(verdict, "RecordConsistency")["status"] == "VALID" and verdict["as_of_block"] is None
    finally:
        vars(lg.ctx)["_chain_facts"] = kept


def test_chain_going_back_drops_every_kept_fact(lg: LicenceGateway) -> None:
    from gateway.services.licences import chain_facts, warm_verification

    lid = lg.issue()["licence"]["id"]
    facts = chain_facts(lg.ctx)
    assert warm_verification(lg.ctx) >= 1 and bytes.fromhex(lid[2:]) in facts._records
    facts.block += 1000  # as if the node had restarted from an older state
    facts.refresh()
    assert facts.stats()["records"] == 0 and facts.block == lg.ctx.ledger.chain.head()
    assert lg.client.get(f"/verify/licence/{lid}").json()["status"] == "VALID"


def test_fast_path_answers_like_the_router_and_counts_in_metrics(lg: LicenceGateway) -> None:
    from gateway.services.licences import document, get, verify_document

    lid = lg.issue()["licence"]["id"]
    served = lg.client.get(f"/verify/licence/{lid}")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    direct = verify_document(lg.ctx, document(get(lg.ctx, lid)))
    assert served.json() == direct
    metrics = lg.client.app.state.metrics  # type: ignore[attr-defined]
    before = metrics.requests.labels("GET", "/verify/licence/{licence_id}", "200")._value.get()
    lg.client.get(f"/verify/licence/{lid}")
    assert metrics.requests.labels("GET", "/verify/licence/{licence_id}", "200")._value.get() == before + 1


# ---------------------------------------------------------------------------- the head check on a real node


@pytest.fixture(scope="module")
def anvil_ctx(tmp_path_factory: pytest.TempPathFactory, alliance_spec, keyring):
    from chain.config import NodeSettings
    from chain.db import make_engine, session_factory
    from chain.ledger import Ledger
    from chain.node import AnvilNode
    from gateway import db
    from tests.conftest import free_port, make_context, make_settings

    tmp = tmp_path_factory.mktemp("facts-anvil")
    node = AnvilNode(NodeSettings(port=free_port()), tmp / "node")
    node.start()
    try:
        url = f"sqlite:///{tmp / 'gateway.db'}"
        db.upgrade(url)
        ledger = Ledger.open(make_settings(tmp, url, rpc_url=node.url), alliance_spec, keyring,
                             session_factory(make_engine(url)))
        ledger.ensure_deployed()
        ledger.bootstrap()
        yield make_context(ledger.settings, ledger)
        ledger.close()
    finally:
        node.stop()


@pytest.mark.anvil
def test_event_loop_head_check_on_a_node_is_shared_and_sees_revocations(anvil_ctx, keyring) -> None:
    """On a plain http:// node the head check runs on the event loop (its own kept-alive
    connection): many waiting verdicts share one check, and a revocation mined before a verdict
    was asked is in it."""
    import asyncio

    from gateway.services import licences as svc
    from gateway.verification.facts import ChainFacts
    from gateway.verification.licences import verify_licence

    drafts = [svc.LicenceDraft("BUSINESS_LICENCE", f"FACTS-{i}", "91350100MA2Y0001XA", "福州测试科技有限公司",
                               "2026-01-01", "2031-12-31") for i in range(3)]
    rows = svc.issue(anvil_ctx, keyring.account("MARKET-admin"), "MARKET", drafts)
    docs = [svc.document(r) for r in rows]
    facts = ChainFacts(svc.contracts(anvil_ctx))
    assert facts._node is not None  # the event-loop path, not the worker-thread one

    async def verdicts() -> list[str]:
        await asyncio.gather(*(facts.await_fresh() for _ in range(50)))
        return [verify_licence(d, facts.contracts_for([d])).status for d in docs]

    assert asyncio.run(verdicts()) == ["VALID"] * 3
    assert 1 <= facts.refreshes <= 2 and facts.block == anvil_ctx.ledger.chain.head()
    assert facts.stats()["records"] == 3
    svc.revoke(anvil_ctx, keyring.account("MARKET-admin"), rows[1].id, 9)
    assert asyncio.run(verdicts()) == ["VALID", "INVALID", "VALID"]
    assert facts.block == anvil_ctx.ledger.chain.head() and facts.stats()["records"] == 3  # re-read, kept again

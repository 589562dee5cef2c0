"""Health, status and the API documentation."""

from __future__ import annotations

from tests.gateway.helpers import Gateway, error_of


def test_health_needs_no_token(gw: Gateway) -> None:
    response = gw.client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_status(gw: Gateway) -> None:
    ledger = gw.ctx.ledger
    ledger.indexer.run_once()
    response = gw.client.get("/status", headers=gw.admin("APPROVAL"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["chain_id"] == ledger.chain.chain_id
    assert body["node"]["kind"] == "memory"
    assert body["node"]["head"] == ledger.chain.head() > 0
    assert body["contracts"]["AllianceRegistry"] == ledger.registry.address
    assert body["deployment_problems"] == []
    assert body["journal"] == {"pending": 0}
    assert body["indexer"]["last_block"] == body["node"]["head"]
    assert body["indexer"]["lag_blocks"] == 0
    assert body["indexer"]["last_error"] is None


def test_status_needs_a_token(gw: Gateway) -> None:
    error_of(gw.client.get("/status"), 401, "token_missing")


def test_docs_and_openapi(gw: Gateway) -> None:
    docs = gw.client.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    spec = gw.client.get("/openapi.json")
    assert spec.status_code == 200
    body = spec.json()
    assert body["info"]["title"] == "Alliance Ledger gateway"
    for path in ("/health", "/status", "/auth/login", "/auth/logout", "/auth/me", "/alliance/members",
                 "/alliance/proposals", "/alliance/proposals/{proposal_id}/approve"):
        assert path in body["paths"], path
    assert "HTTPBearer" in body["components"]["securitySchemes"]


def test_unknown_path_and_method(gw: Gateway) -> None:
    error_of(gw.client.get("/no/such/thing"), 404, "not_found")
    error_of(gw.client.delete("/health"), 405, "method_not_allowed")


def test_metrics_for_operators(gw: Gateway) -> None:
    gw.client.get("/status", headers=gw.admin("APPROVAL"))
    response = gw.client.get("/metrics", headers=gw.admin("APPROVAL"))
    assert response.status_code == 200, response.text
    text = response.text
    assert 'alliance_http_requests_total{method="GET",route="/status",status="200"}' in text
    assert "alliance_journal_pending_transactions 0.0" in text
    assert "alliance_anchor_queue_documents" in text and "alliance_indexer_lag_blocks" in text
    assert "alliance_http_request_seconds_bucket" in text
    # MARKET's admin has no operator role; no token at all is a 401
    error_of(gw.client.get("/metrics", headers=gw.admin("MARKET")), 403, "missing_role")
    error_of(gw.client.get("/metrics"), 401, "token_missing")

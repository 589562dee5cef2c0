"""Prometheus metrics: requests, anchoring queue, journal and indexer lag.

Each app has its own registry (no process-global state), so two apps in one process, as in the
tests, keep separate figures.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from gateway.context import GatewayContext


class GatewayMetrics:
    def __init__(self, ctx: GatewayContext):
        self.ctx = ctx
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("alliance_http_requests_total", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("alliance_http_request_seconds", "HTTP request latency by route",
                                 ["method", "route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        Gauge("alliance_anchor_queue_documents", "documents waiting for a batch", registry=self.registry
              ).set_function(self._queue)
        Gauge("alliance_journal_pending_transactions", "journaled transactions not yet confirmed",
              registry=self.registry).set_function(self._journal)
        Gauge("alliance_indexer_lag_blocks", "blocks the event index is behind the chain head",
              registry=self.registry).set_function(self._indexer_lag)
        Gauge("alliance_chain_head_block", "the chain head as this gateway sees it",
              registry=self.registry).set_function(self._head)

    def _safe(self, fn: Callable[[], float]) -> float:
        try:
            return float(fn())
        except Exception:  # noqa: BLE001 - a metric must never fail the scrape
            return float("nan")

    def _queue(self) -> float:
        return self._safe(self.ctx.batcher.pending_count)

    def _journal(self) -> float:
        from chain.journal import open_count

        def count() -> int:
            with self.ctx.sessions() as s:
                return open_count(s, self.ctx.ledger.chain.chain_id)
        return self._safe(count)

    def _indexer_lag(self) -> float:
        indexer = self.ctx.ledger.indexer
        return self._safe(indexer.lag) if indexer else float("nan")

    def _head(self) -> float:
        return self._safe(self.ctx.ledger.chain.head)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI, ctx: GatewayContext) -> GatewayMetrics:
    metrics = GatewayMetrics(ctx)

    @app.middleware("http")
    async def _measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "unmatched")
            metrics.requests.labels(request.method, path, str(status)).inc()
            metrics.latency.labels(request.method, path).observe(time.perf_counter() - start)

    return metrics

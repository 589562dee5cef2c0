"""A lean ASGI path for the busiest public endpoint: ``GET /verify/licence/{licence_id}``.

QR codes and relying parties hit this route far more than any other. Through the full FastAPI
stack (route matching over every router, the metrics ``BaseHTTPMiddleware``, dependency
resolution, response validation) the framework costs about twice the verdict itself. This
middleware, placed in front of that stack, answers the *successful* case directly — the same
verdict from the same service function (:func:`gateway.services.licences.verify_document`), the
same JSON, the same head check, and counted in the same Prometheus series — and hands everything
else (a malformed id, an unknown licence, any error, any other method or path) to the normal
application, which answers exactly as it always has.
"""

from __future__ import annotations

import re
import time
from typing import Any

from gateway.services import licences as svc

PREFIX = "/verify/licence/"
ROUTE = "/verify/licence/{licence_id}"  # the FastAPI route's path: the metrics label
_LICENCE_ID = re.compile(r"0x[0-9a-fA-F]{64}\Z")


class VerifyFastPath:
    """ASGI middleware serving ``GET /verify/licence/{id}`` for licences this gateway holds."""

    def __init__(self, app: Any, context: Any, metrics: Any = None) -> None:
        self.app = app
        self.context = context
        self.metrics = metrics
        self._series: tuple[Any, Any] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "GET" or not path.startswith(PREFIX) \
                or not _LICENCE_ID.match(path, len(PREFIX)):
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        ctx = self.context
        try:
            await svc.chain_facts(ctx).await_fresh()  # shared head check, started after this request arrived
            row = svc.verification_record(ctx, path[len(PREFIX):])
            body = verdict_json(svc.verify_document(ctx, svc.document(row), fresh=True, row=row))
        except Exception:  # noqa: BLE001 - not found, a broken row, a node error: the full app answers
            await self.app(scope, receive, send)
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        if self.metrics is not None:
            try:
                if self._series is None:  # the same labelled children as labels(...) each time
                    self._series = (self.metrics.requests.labels("GET", ROUTE, "200"),
                                    self.metrics.latency.labels("GET", ROUTE))
                self._series[0].inc()
                self._series[1].observe(time.perf_counter() - start)
            except Exception:  # noqa: BLE001 - metrics never fail a request
                pass


def verdict_json(verdict: dict[str, Any]) -> bytes:
    """A verdict as compact UTF-8 JSON (orjson where installed; the stdlib for what it refuses)."""
    try:
        import orjson

        return orjson.dumps(verdict)
    except (ImportError, TypeError):  # orjson absent, or an integer beyond 64 bits
        import json

        return json.dumps(verdict, ensure_ascii=False, separators=(",", ":")).encode()

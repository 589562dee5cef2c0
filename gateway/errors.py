"""API errors: every refusal is a JSON body ``{"error": {"code", "message", ...}}`` with a 4xx/5xx."""

from __future__ import annotations

import logging
from typing import Any

import requests
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from chain.errors import ChainError, ContractRevert, NodeUnavailable, TransactionPending
from gateway.auth.tokens import TokenError
from gateway.documents.vault import VaultError

log = logging.getLogger(__name__)
VAULT_STATUS = {"document_not_found": 404, "document_pending": 409, "document_too_large": 413,
                "document_empty": 422, "document_corrupt": 500}


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, **details: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def _body(code: str, message: str, **details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **details}}


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api(_: Request, exc: APIError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message, **exc.details), status_code=exc.status)

    @app.exception_handler(VaultError)
    async def _vault(_: Request, exc: VaultError) -> JSONResponse:
        return JSONResponse(_body(exc.code, str(exc)), status_code=VAULT_STATUS.get(exc.code, 400))

    @app.exception_handler(TokenError)
    async def _token(_: Request, exc: TokenError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message), status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(ContractRevert)
    async def _revert(_: Request, exc: ContractRevert) -> JSONResponse:
        return JSONResponse(_body("contract_revert", f"the contract refused: {exc}", **exc.to_dict()),
                            status_code=409)

    @app.exception_handler(TransactionPending)
    async def _pending(_: Request, exc: TransactionPending) -> JSONResponse:
        return JSONResponse(_body(exc.code, str(exc), tx_hash=exc.tx_hash, journal_id=exc.journal_id),
                            status_code=202)

    @app.exception_handler(NodeUnavailable)
    async def _node(_: Request, exc: NodeUnavailable) -> JSONResponse:
        return JSONResponse(_body(exc.code, str(exc)), status_code=503)

    @app.exception_handler(requests.RequestException)
    async def _transport(_: Request, exc: requests.RequestException) -> JSONResponse:
        return JSONResponse(_body("node_unavailable", f"the chain node did not answer: {type(exc).__name__}"),
                            status_code=503)

    @app.exception_handler(ChainError)
    async def _chain(_: Request, exc: ChainError) -> JSONResponse:
        return JSONResponse(_body(exc.code, str(exc)), status_code=502)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ())), "problem": e.get("msg", "")}
                    for e in exc.errors()]
        first = problems[0] if problems else {"field": "", "problem": "invalid request"}
        return JSONResponse(_body("invalid_request", f"{first['field']}: {first['problem']}", problems=problems),
                            status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(_body("internal_error", "unexpected server error; it has been logged"), status_code=500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), status_code=exc.status_code)

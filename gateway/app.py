"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from gateway import errors, metrics, web
from gateway.context import GatewayContext
from gateway.routers import alliance, audit, auth, documents, funds, licences, oracle, pages, status, subsidies
from gateway.verification.asgi import VerifyFastPath


def create_app(context: GatewayContext) -> FastAPI:
    app = FastAPI(
        title="Alliance Ledger gateway",
        version="0.1.0",
        description="Permissioned ledger of a district's 14-department enterprise-service alliance: "
        "electronic licences and subsidy fund tracing. Every endpoint needs a bearer token "
        "from POST /auth/login, except /health and the public verification endpoints and pages.",
    )
    app.state.context = context
    errors.install(app)
    app.state.metrics = metrics.install(app, context)
    app.include_router(status.router)
    app.include_router(auth.router)
    app.include_router(alliance.router)
    app.include_router(documents.router)
    app.include_router(licences.router)
    app.include_router(oracle.router)
    app.include_router(subsidies.router)
    app.include_router(funds.router)
    app.include_router(audit.router)
    app.include_router(pages.router)
    web.install(app)  # the web pages of every role (gateway/web, gateway/routers/web_*.py) and /static
    # outermost: answers GET /verify/licence/{id} without the full stack (same verdict, same metrics)
    app.add_middleware(VerifyFastPath, context=context, metrics=app.state.metrics)
    return app

"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from gateway import errors, metrics
from gateway.context import GatewayContext
from gateway.routers import alliance, auth, documents, licences, oracle, pages, status


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
    app.include_router(pages.router)
    return app

"""Web pages for every role: server-rendered Jinja2 templates, a small static CSS/JS, zh/en catalogues.

Pages sit beside the API in the same gateway process. A page reads the gateway's own bearer token from
an HttpOnly, SameSite=Strict cookie and checks the caller exactly as the API does (``gateway.deps``);
every form carries a CSRF token. Nothing is loaded from the internet: the CSS, the JS and the charts
(inline SVG drawn on the server) are all served from here.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from gateway.web.render import render
from gateway.web.session import LoginRequired, WebRefusal

STATIC_DIR = Path(__file__).resolve().parent / "static"
log = logging.getLogger(__name__)


class WebErrorPages:
    """ASGI middleware: an unexpected error on a page (/web/...) is answered with an HTML 500 page instead of
    the API's JSON body (and logged). Other paths pass straight through, untouched."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith("/web"):
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            if started:
                raise
            log.exception("unexpected error on page %s %s", scope.get("method"), scope["path"])
            response = render(Request(scope), "error.html", {
                "status": 500, "code": "internal_error", "message": "unexpected server error; it has been logged"},
                status_code=500)
            await response(scope, receive, send)


WEB_ROUTERS = ("web_auth", "web_credentials", "web_licences", "web_alliance", "web_subsidies", "web_policy", "web_finance",
               "web_audit", "web_oracle")


def install(app: FastAPI) -> None:
    """Add the page routers, serve /static, and turn the pages' refusals into a login redirect or a 403 page."""
    import importlib

    for name in WEB_ROUTERS:
        app.include_router(importlib.import_module(f"gateway.routers.{name}").router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(WebErrorPages)

    @app.exception_handler(LoginRequired)
    async def _login(_: Request, exc: LoginRequired) -> RedirectResponse:
        from urllib.parse import quote

        response = RedirectResponse(f"/web/login?next={quote(exc.next_url, safe='/')}", status_code=303)
        if exc.clear_cookie:
            from gateway.web.session import clear_session

            clear_session(response)
        return response

    @app.exception_handler(WebRefusal)
    async def _refused(request: Request, exc: WebRefusal) -> HTMLResponse:
        return render(request, "error.html", {"status": exc.status, "code": exc.code, "message": exc.message},
                      status_code=exc.status, caller=exc.caller)

"""Web login and logout (members and enterprises, the gateway's own logins and tokens) and the home page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.context import GatewayContext
from gateway.deps import Caller, get_context
from gateway.errors import APIError
from gateway.routers.auth import LoginRequest, login as api_login
from gateway.services import users
from gateway.web.render import render
from gateway.web.session import (
    check_csrf,
    clear_session,
    form_with_csrf,
    logged_in,
    optional_caller,
    set_session,
)

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only a path on this gateway (never another site) may follow the login."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/web"


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/web", status_code=303)


@router.get("/web")
def home(request: Request, caller: Caller = Depends(logged_in)) -> HTMLResponse:
    return render(request, "home.html", caller=caller)


@router.get("/web/login")
def login_page(request: Request, next: str | None = None,
               caller: Caller | None = Depends(optional_caller)) -> Response:
    if caller is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next_url": _safe_next(next), "error": None, "username": ""})


@router.post("/web/login")
async def login_submit(request: Request, ctx: GatewayContext = Depends(get_context)) -> Response:
    form = await request.form()
    check_csrf(request, form.get("csrf"))
    username, password = str(form.get("username") or ""), str(form.get("password") or "")
    next_url = _safe_next(str(form.get("next") or ""))
    try:
        body = LoginRequest(username=username, password=password)
        # the API's own login: same password check, same member-activity check on chain, same token
        token = api_login(body, request, ctx)
    except APIError as exc:
        from gateway.web.i18n import Translator, language

        t = Translator(language(request))
        minutes = max(1, -(-int(exc.details.get("retry_after_seconds", 60)) // 60))
        message = t("auth.error." + exc.code, minutes=minutes) if t.has("auth.error." + exc.code) else exc.message
        return render(request, "login.html", {"next_url": next_url, "error": message, "username": username},
                      status_code=exc.status)
    except ValueError:  # pydantic: empty or over-long fields
        from gateway.web.i18n import Translator, language

        return render(request, "login.html", {"next_url": next_url, "username": username[:64],
                                              "error": Translator(language(request))("auth.error.bad_credentials")},
                      status_code=422)
    response = RedirectResponse(next_url, status_code=303)
    set_session(request, response, token.token, token.expires_at)
    return response


@router.post("/web/logout")
async def logout(request: Request, ctx: GatewayContext = Depends(get_context),
                 caller: Caller = Depends(logged_in)) -> Response:
    await form_with_csrf(request, caller)
    users.revoke_token(ctx.sessions, caller.jti, caller.exp)  # the token is dead even if the cookie survives
    response = RedirectResponse("/web/login", status_code=303)
    clear_session(response)
    return response

"""The web session: the gateway's own bearer token in a cookie, CSRF tokens, and the pages' role checks.

The cookie is HttpOnly (no script reads it) and SameSite=Strict (no other site's page sends it). Every
state-changing form also carries a CSRF token: with a session, an HMAC keyed by the session token itself
(so nobody without the cookie can compute it, and it needs no server state); before login, a random
value that must match a SameSite=Strict cookie (double submit).

A page admits a caller through the very checks the API uses: ``gateway.deps.current_caller`` (signature,
expiry, revocation, roles re-read from the chain) and ``require_member`` / ``require_enterprise``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials

from gateway.auth.tokens import TokenError
from gateway.context import GatewayContext
from gateway.deps import Caller, current_caller, get_context, require_enterprise, require_member
from gateway.errors import APIError

SESSION_COOKIE = "al_session"
CSRF_COOKIE = "al_csrf"
CSRF_FIELD = "csrf"


class LoginRequired(Exception):
    """No (valid) session: the page answers with a redirect to the login page."""

    def __init__(self, next_url: str, clear_cookie: bool = False):
        super().__init__(next_url)
        self.next_url = next_url
        self.clear_cookie = clear_cookie


class WebRefusal(Exception):
    """The caller may not see this page (or the form was forged): a 4xx page saying why."""

    def __init__(self, status: int, code: str, message: str, caller: Caller | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.caller = status, code, message, caller


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session(request: Request, response: Response, token: str, expires_at: int) -> None:
    import time

    response.set_cookie(SESSION_COOKIE, token, max_age=max(0, expires_at - int(time.time())), path="/",
                        httponly=True, samesite="strict", secure=_secure(request))


def clear_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def csrf_for_session(token: str) -> str:
    """The CSRF token of a session: HMAC-SHA256 keyed by the session token's digest."""
    key = hashlib.sha256(token.encode("ascii", "replace")).digest()
    return hmac.new(key, b"alliance-ledger web csrf", hashlib.sha256).hexdigest()


def login_csrf(request: Request) -> str:
    """The pre-login CSRF value: the cookie's if there is one, else a fresh one (set by ``render``)."""
    current = request.cookies.get(CSRF_COOKIE)
    if current and len(current) == 32:
        return current
    token = getattr(request.state, "new_login_csrf", None)
    if token is None:
        token = request.state.new_login_csrf = secrets.token_hex(16)
    return token


def csrf_token(request: Request) -> str:
    token = session_token(request)
    return csrf_for_session(token) if token else login_csrf(request)


def check_csrf(request: Request, submitted: str | None, caller: Caller | None = None) -> None:
    """Refuse a form whose CSRF token is missing or wrong (403 csrf_failed)."""
    token = session_token(request)
    expected = csrf_for_session(token) if token else request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, str(submitted)):
        raise WebRefusal(403, "csrf_failed", "the form's security token is missing or wrong: reload the page "
                         "and try again", caller)


def _next(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


def optional_caller(request: Request, ctx: GatewayContext = Depends(get_context)) -> Caller | None:
    """The logged-in caller, or None; checked exactly as the API checks a bearer token."""
    token = session_token(request)
    if not token:
        return None
    try:
        return current_caller(HTTPAuthorizationCredentials(scheme="Bearer", credentials=token), ctx)
    except TokenError:
        return None
    except APIError as exc:  # member_inactive: the chain no longer knows this member
        raise WebRefusal(exc.status, exc.code, exc.message) from None


def logged_in(request: Request, ctx: GatewayContext = Depends(get_context)) -> Caller:
    caller = optional_caller(request, ctx)
    if caller is None:
        raise LoginRequired(_next(request), clear_cookie=session_token(request) is not None)
    return caller


def member_page(*roles: str) -> Callable[..., Caller]:
    """A page dependency admitting the members the API's ``require_member(*roles)`` admits."""
    check = require_member(*roles)

    def dependency(caller: Caller = Depends(logged_in)) -> Caller:
        try:
            return check(caller)
        except APIError as exc:
            raise WebRefusal(exc.status, exc.code, exc.message, caller) from None

    return dependency


def enterprise_page(caller: Caller = Depends(logged_in)) -> Caller:
    """A page dependency admitting enterprises only (the API's ``require_enterprise``)."""
    try:
        return require_enterprise(caller)
    except APIError as exc:
        raise WebRefusal(exc.status, exc.code, exc.message, caller) from None


async def form_with_csrf(request: Request, caller: Caller | None = None):
    """The submitted form, after its CSRF token is checked."""
    form = await request.form()
    check_csrf(request, form.get(CSRF_FIELD), caller)
    return form

"""Rendering a page: the Jinja2 environment, the layout's navigation by role, filters, security headers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from gateway.deps import Caller
from gateway.web.i18n import LANG_COOKIE, LANGUAGES, Translator, language, requested_language

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
CST = timezone(timedelta(hours=8))
SECURITY_HEADERS = {
    # nothing from elsewhere, no inline script or style: the pages use /static only
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


def _when(value: Any, with_time: bool = True) -> str:
    """A Unix timestamp (or datetime) shown in China Standard Time."""
    if value in (None, "", 0):
        return "—"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    else:
        moment = datetime.fromtimestamp(int(value), timezone.utc)
    return moment.astimezone(CST).strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _yuan(value: Any) -> str:
    if value in (None, ""):
        return "—"
    try:
        return f"¥{float(value):,.2f}"
    except (TypeError, ValueError):
        return str(value)


def _short(value: Any, keep: int = 10) -> str:
    text = str(value or "")
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep + 2:]}"


ENV = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html", "svg"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(when=_when, day=lambda v: _when(v, False), yuan=_yuan, short=_short,
                   # a licence's valid_until is exclusive (the day after its last valid day)
                   last_day=lambda v: _when(int(v) - 86400, False) if v else "—")

# (path, message key, who sees it): "public", "any" (logged in), "enterprise", "member", or a member role
NAV: list[tuple[str, str, str]] = [
    ("/verify", "nav.verify", "public"),
    ("/web/credentials", "nav.credentials", "enterprise"),
    ("/web/subsidies", "nav.subsidies", "enterprise"),
    ("/web/licences", "nav.licences", "issuer"),
    ("/web/policies", "nav.policies", "policy"),
    ("/web/notices", "nav.notices", "any"),
    ("/web/reviews", "nav.reviews", "reviewer"),
    ("/web/payouts", "nav.payouts", "finance"),
    ("/web/alerts", "nav.alerts", "member"),
    ("/web/audit", "nav.audit", "inspector"),
    ("/web/trace", "nav.trace", "inspector"),
    ("/web/oracle", "nav.oracle", "oracle"),
    ("/web/alliance", "nav.alliance", "member"),
]


def nav_for(caller: Caller | None) -> list[tuple[str, str]]:
    items = []
    for path, key, who in NAV:
        if who == "public":
            items.append((path, key))
        elif caller is None:
            continue
        elif who == "any":
            items.append((path, key))
        elif who == "enterprise" and caller.kind == "enterprise":
            items.append((path, key))
        elif who == "member" and caller.kind == "member":
            items.append((path, key))
        elif caller.kind == "member" and who in caller.roles:
            items.append((path, key))
    return items


def lang_url(request: Request, lang: str) -> str:
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"] + [("lang", lang)]
    return f"{request.url.path}?{urlencode(query)}"


class Names:
    """Department, licence-type and data-source names in the page's language (from the alliance file;
    a code the file does not know is shown as itself)."""

    def __init__(self, request: Request, lang: str):
        context = getattr(request.app.state, "context", None)
        spec = context.ledger.spec if context is not None else None
        pick = (lambda item: item.name) if lang == "zh" else (lambda item: item.name_en)
        self._departments = {d.code: pick(d) for d in spec.departments} if spec else {}
        self._types = {lt.code: pick(lt) for lt in spec.licence_types} if spec else {}
        self._sources = {ds.code: pick(ds) for ds in spec.data_sources} if spec else {}

    def department(self, code: str | None) -> str:
        return self._departments.get(code or "", code or "—")

    def licence_type(self, code: str | None) -> str:
        return self._types.get(code or "", code or "—")

    def data_type(self, code: str | None) -> str:
        return self._sources.get(code or "", code or "—")


def render(request: Request, template: str, values: dict[str, Any] | None = None, *, status_code: int = 200,
           caller: Caller | None = None, headers: dict[str, str] | None = None) -> HTMLResponse:
    from gateway.web.session import CSRF_COOKIE, csrf_token

    lang = language(request)
    t = Translator(lang)
    csrf = csrf_token(request)
    body = ENV.get_template(template).render(
        request=request, t=t, lang=lang, languages=LANGUAGES, lang_url=lambda code: lang_url(request, code),
        caller=caller, nav=nav_for(caller), csrf=csrf, path=request.url.path, names=Names(request, lang),
        **(values or {}))
    response = HTMLResponse(body, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})
    if requested_language(request):
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", samesite="lax")
    new_csrf = getattr(request.state, "new_login_csrf", None)
    if new_csrf:
        response.set_cookie(CSRF_COOKIE, new_csrf, max_age=7200, path="/", httponly=True, samesite="strict",
                            secure=request.url.scheme == "https")
    return response

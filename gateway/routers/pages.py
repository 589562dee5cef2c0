"""Public web pages (no login): the QR-code landing page of a licence and a verification form."""

from __future__ import annotations

import html
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gateway.context import GatewayContext
from gateway.deps import get_context
from gateway.routers.licences import _lid
from gateway.services import licences as svc

router = APIRouter(tags=["pages"], include_in_schema=False)

STYLE = """body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;
color:#1b1f24}h1{font-size:1.4rem}.verdict{padding:1rem;border-radius:.5rem;font-size:1.2rem;font-weight:600}
.VALID{background:#e6f4ea;color:#137333}.INVALID,.ERROR{background:#fce8e6;color:#a50e0e}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.4rem;
text-align:left;vertical-align:top}.s-VALID{color:#137333}.s-INVALID,.s-ERROR{color:#a50e0e}.s-SKIPPED{color:#777}
form{margin:1rem 0;padding:1rem;border:1px solid #ddd;border-radius:.5rem}input,select,button{margin:.2rem}"""
LABELS = {"VALID": "有效 VALID", "INVALID": "无效 INVALID", "ERROR": "无法核验 ERROR"}


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(status_code=status_code,
                        content=f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>{html.escape(title)}</title>
<style>{STYLE}</style></head><body>{body}</body></html>""")


def _verdict_html(result: dict, bundle_url: str | None) -> str:
    status = result["status"]
    rows = "".join(
        f"<tr><td>{html.escape(f['name'])}</td><td class='s-{f['status']}'>{f['status']}</td>"
        f"<td>{html.escape(f['reason'])}</td></tr>" for f in result["fragments"])
    fields = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                     for k, v in result.get("disclosed", {}).items())
    link = f"<p><a href='{bundle_url}' download>下载证明包 Download proof bundle</a> — check it offline with " \
           f"<code>alliance verify BUNDLE --rpc URL</code></p>" if bundle_url else ""
    return (f"<div class='verdict {status}' id='verdict'>{LABELS.get(status, status)}</div>"
            f"<h2>核验项 Checks</h2><table id='checks'><tr><th>check</th><th>result</th><th>why</th></tr>{rows}</table>"
            f"<h2>披露字段 Disclosed fields</h2><table id='fields'>{fields}</table>{link}")


FORM = """<form method="post" action="/verify" enctype="multipart/form-data"><b>按文件核验 Verify a file</b><br>
<input type="file" name="file" accept=".json,application/json"><button>核验 Verify</button></form>
<form method="get" action="/verify"><b>按证照编号核验 Verify by licence number</b><br>
<input name="licence_type" placeholder="BUSINESS_LICENCE"><input name="number" placeholder="编号 number">
<button>核验 Verify</button></form>"""


@router.get("/v/{licence_id}")
def landing(licence_id: str, ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    """The page a licence's QR code opens: the verdict, each check and the disclosed fields."""
    try:
        row = svc.get(ctx, _lid(licence_id))
    except svc.LicenceError:
        return _page("未找到 Not found", f"<h1>未找到证照 Licence not found</h1><p>{html.escape(licence_id)}</p>{FORM}",
                     404)
    result = svc.verify_document(ctx, svc.document(row))
    title = f"{row.licence_type} {row.number}"
    return _page(title, f"<h1>电子证照核验 Licence verification</h1><p>{html.escape(title)}</p>"
                 + _verdict_html(result, f"/v/{row.id}/bundle")
                 + f"<p><img src='/v/{row.id}/qr.svg' alt='QR code of this page' width='160'></p>")


@router.get("/v/{licence_id}/bundle")
def landing_bundle(licence_id: str, ctx: GatewayContext = Depends(get_context)) -> JSONResponse:
    try:
        row = svc.get(ctx, _lid(licence_id))
    except svc.LicenceError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, status_code=exc.status)
    return JSONResponse(svc.bundle(ctx, row), headers={
        "Content-Disposition": f'attachment; filename="licence-{row.number}.bundle.json"'})


@router.get("/v/{licence_id}/qr.svg")
def landing_qr(licence_id: str, request: Request, ctx: GatewayContext = Depends(get_context)) -> Response:
    """The QR code to print on a licence: it opens this licence's verification page."""
    import io

    import segno

    try:
        row = svc.get(ctx, _lid(licence_id))
    except svc.LicenceError as exc:
        return JSONResponse({"error": {"code": exc.code, "message": str(exc)}}, status_code=exc.status)
    out = io.BytesIO()
    segno.make(str(request.base_url).rstrip("/") + f"/v/{row.id}", error="m").save(out, kind="svg", scale=4)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.get("/verify")
def verify_form(licence_type: str | None = None, number: str | None = None,
                ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    head = "<h1>电子证照核验 Licence verification</h1>"
    if not (licence_type and number):
        return _page("核验 Verify", head + FORM)
    try:
        row = svc.find(ctx, licence_type, number)
    except svc.LicenceError as exc:
        return _page("核验 Verify", head + f"<p class='s-INVALID'>{html.escape(str(exc))}</p>" + FORM, exc.status)
    result = svc.verify_document(ctx, svc.document(row))
    return _page("核验 Verify", head + _verdict_html(result, f"/v/{row.id}/bundle") + FORM)


@router.post("/verify")
async def verify_upload(request: Request, ctx: GatewayContext = Depends(get_context)) -> HTMLResponse:
    head = "<h1>电子证照核验 Licence verification</h1>"
    form = await request.form()
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return _page("核验 Verify", head + "<p class='s-INVALID'>请选择文件 choose a file</p>" + FORM)
    raw = await upload.read(ctx.settings.documents.max_bytes + 1)
    try:
        doc = json.loads(raw)
        if not isinstance(doc, dict) or "signature" not in doc:
            raise ValueError("not an OpenAttestation wrapped document")
    except (ValueError, UnicodeDecodeError) as exc:
        return _page("核验 Verify", head + f"<p class='s-INVALID'>{html.escape(str(exc))}</p>" + FORM)
    return _page("核验 Verify", head + _verdict_html(svc.verify_document(ctx, doc), None) + FORM)

"""The web channel's pages and static assets: the embeddable widget script and the demo page that embeds it."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from bot.web_security import error_response, own_origin

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS = ("widget.js", "demo.html", "demo.css", "favicon.svg")


def load_assets() -> dict[str, bytes]:
    """Read the static files once, when the app is built."""
    return {name: (STATIC_DIR / name).read_bytes() for name in ASSETS}


async def widget_js(request: Request) -> Response:
    """The embeddable widget: any page may load it (<script> needs no CORS, CORP must allow it)."""
    return Response(
        request.app.state.assets["widget.js"],
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


async def static_asset(request: Request) -> Response:
    name = request.path_params["name"]
    media = {"demo.css": "text/css; charset=utf-8", "favicon.svg": "image/svg+xml"}.get(name)
    if media is None:
        raise HTTPException(404)
    return Response(request.app.state.assets[name], media_type=media, headers={"Cache-Control": "public, max-age=300"})


def _documents_html(overview: list[dict]) -> str:
    items = []
    for doc in overview:
        label = f"{doc.get('department', '')} {doc.get('year', '')} 年{doc.get('kind', '')}（{len(doc.get('tables', []))} 张表）"
        items.append(f"<li>{html.escape(label)}</li>")
    return "\n".join(items) or "<li>（尚未载入文件）</li>"


async def demo_page(request: Request) -> Response:
    """The demo page, embedding the widget from `widget_endpoint` exactly as a third-party page would."""
    state = request.app.state
    endpoint = state.widget_endpoint or own_origin(request)
    if endpoint is None:
        return error_response(400, "bad_host", "请求的 Host 头无效。")
    csp = (
        f"default-src 'none'; script-src {endpoint}/widget.js; connect-src {endpoint}/api/; "
        "style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    page = (
        state.assets["demo.html"]
        .decode("utf-8")
        .replace("{{ENDPOINT}}", html.escape(endpoint))
        .replace("{{DOCUMENTS}}", _documents_html(state.assistant.overview()))
    )
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": csp, "Cache-Control": "no-cache"},
    )

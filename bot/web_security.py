"""The web channel's guards: allowed origins (CORS), request limits, the rate-limit reply, security headers.

Everything here is plain data and small classes handed to `bot.web.create_app`; nothing keeps state at import.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# What a browser may do cross-origin on the API: it only ever posts JSON.
CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Content-Type"
CORS_MAX_AGE = "600"

# Headers on every response; a route that sets its own (the demo page's CSP, the widget's CORP) keeps it.
BASE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'"),
    (b"cross-origin-resource-policy", b"same-origin"),
)

_NETLOC = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")


def error_response(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error shape of the API: a stable machine code and a Chinese sentence for people."""
    return JSONResponse({"error": error, "message": message}, status_code=status, headers=headers)


def own_origin(request: Request) -> str | None:
    """scheme://host[:port] of this server as the client addressed it, or None if the Host header is odd.

    Behind a proxy uvicorn's proxy-headers support sets the scheme from X-Forwarded-Proto, and the proxy
    passes the Host header through (see deploy/nginx.conf).
    """
    host = request.headers.get("host", "")
    if not _NETLOC.match(host):
        return None
    return f"{request.url.scheme}://{host}"


class OriginPolicy:
    """Which browser origins may call the API: this server's own origin plus `allowed` ("*" = any)."""

    def __init__(self, allowed: Iterable[str]) -> None:
        cleaned = {origin.strip().rstrip("/") for origin in allowed if origin.strip()}
        self.any = "*" in cleaned
        self.allowed = frozenset(cleaned - {"*"})

    def permits(self, origin: str, request: Request) -> bool:
        if self.any and origin != "null":
            return True
        return origin in self.allowed or origin == own_origin(request)

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        """Headers that let the browser hand the response to the calling page (the origin is already checked)."""
        if origin is None:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    def preflight_headers(self, origin: str) -> dict[str, str]:
        return {
            **self.cors_headers(origin),
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": CORS_HEADERS,
            "Access-Control-Max-Age": CORS_MAX_AGE,
        }


def origin_refused() -> JSONResponse:
    return error_response(403, "origin_not_allowed", "此网站未获授权调用预算问答接口，请联系管理员把它加入允许的来源。")


def rate_limited(seconds: int) -> JSONResponse:
    return error_response(
        429, "rate_limited", f"提问太频繁了，请 {seconds} 秒后再试。", headers={"Retry-After": str(seconds)}
    )


class BodyTooLarge(Exception):
    pass


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refusing (BodyTooLarge) as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class SecurityHeaders:
    """Pure ASGI middleware adding BASE_HEADERS to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in BASE_HEADERS if item[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

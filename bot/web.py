"""HTTP channel: the JSON API, the embeddable chat widget and its demo page, as one Starlette app.

`create_app(settings)` builds the app; the assistant is opened once in the lifespan and kept on
`app.state`. `main(settings, host, port)` serves it with uvicorn (`budgetbot serve`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config import Settings
from bot.exports import as_csv, as_xlsx, cited_rows
from bot.question_log import RATINGS
from bot.stores import open_limiter
from bot.web_openapi import SESSION_ID_PATTERN, openapi_document
from bot.web_pages import demo_page, load_assets, static_asset, widget_js
from bot.web_security import (
    BodyTooLarge,
    OriginPolicy,
    SecurityHeaders,
    error_response,
    origin_refused,
    rate_limited,
    read_body,
)

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 16 * 1024
_SESSION_ID = re.compile(SESSION_ID_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")
# The core keeps one conversation per session id for every channel; web ids get their own namespace so a
# browser cannot name (and so read or steer) a Telegram or CLI conversation.
SESSION_NAMESPACE = "web:"

Hook = Callable[[], Awaitable[Any]]


class InvalidQuestion(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(error)
        self.response = error_response(status, error, message)


def parse_question(body: bytes, max_chars: int) -> tuple[str, str | None]:
    """(question, session_id or None) from a request body, or InvalidQuestion with the 4xx to send."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError; deep nesting is a RecursionError
        raise InvalidQuestion(400, "invalid_json", "请求体不是有效的 JSON。") from None
    if not isinstance(payload, dict):
        raise InvalidQuestion(422, "invalid_request", '请求体应是 JSON 对象，例如 {"question": "三公经费多少"}。')
    question = payload.get("question")
    if question is None:
        raise InvalidQuestion(422, "missing_question", "缺少 question 字段。")
    if not isinstance(question, str):
        raise InvalidQuestion(422, "invalid_question", "question 应是文字（字符串）。")
    if not question.isascii() and _SURROGATE.search(question):  # "\ud800" parses but cannot be encoded back
        raise InvalidQuestion(422, "invalid_question", "问题里有无法识别的字符。")
    question = question.strip()
    if not question:
        raise InvalidQuestion(422, "empty_question", "问题不能为空。")
    if len(question) > max_chars:
        raise InvalidQuestion(
            422, "question_too_long", f"问题太长了（{len(question)} 字），请控制在 {max_chars} 字以内。"
        )
    session_id = payload.get("session_id")
    if session_id is not None and not (isinstance(session_id, str) and _SESSION_ID.fullmatch(session_id)):
        raise InvalidQuestion(
            422, "invalid_session_id", "session_id 应是 1 到 64 个字母、数字、下划线或连字符；新会话可省略它。"
        )
    return question, session_id


def _client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _guard(request: Request) -> tuple[Response | None, dict[str, str]]:
    """Origin check and rate limit shared by the API routes: (refusal or None, CORS headers for the reply)."""
    state = request.app.state
    origin = request.headers.get("origin")
    if origin is not None and not state.origins.permits(origin, request):
        return origin_refused(), {}
    wait = state.limiter.retry_after(_client_key(request))
    cors = state.origins.cors_headers(origin)
    if wait:
        refusal = rate_limited(wait)
        refusal.headers.update(cors)
        return refusal, cors
    return None, cors


async def ask(request: Request) -> Response:
    refusal, cors = _guard(request)
    if refusal is not None:
        return refusal
    state = request.app.state
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return error_response(415, "unsupported_media_type", "请以 JSON 提交（Content-Type: application/json）。", cors)
    try:
        question, session_id = parse_question(await read_body(request, state.max_body_bytes), state.max_question_chars)
    except BodyTooLarge:
        return error_response(413, "body_too_large", f"请求体过大，不能超过 {state.max_body_bytes} 字节。", cors)
    except InvalidQuestion as invalid:
        invalid.response.headers.update(cors)
        return invalid.response
    except ClientDisconnect:
        return Response(status_code=400)  # nobody is left to read it
    session_id = session_id or secrets.token_urlsafe(16)
    # The core is synchronous and takes a millisecond or two: calling it on the loop beats a thread hop.
    answer = state.assistant.answer(question, SESSION_NAMESPACE + session_id, _client_key(request), "web").to_dict()
    answer["session_id"] = session_id
    return JSONResponse(answer, headers={**cors, "Cache-Control": "no-store"})


_ANSWER_ID = re.compile(r"[A-Za-z0-9_-]{16,43}")
_EXPORTS = {"csv": ("text/csv; charset=utf-8", as_csv),
            "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", as_xlsx)}


def _logged(request: Request, answer_id: object) -> tuple[dict | None, Response | None]:
    """The logged answer a request names, or the error to send (the log switched off, an unknown id)."""
    log = request.app.state.assistant.question_log
    if log is None:
        return None, error_response(503, "log_disabled", "本服务没有开启问题记录（BUDGETBOT_LOG=off），无法反馈或导出。")
    entry = log.entry(answer_id) if isinstance(answer_id, str) and _ANSWER_ID.fullmatch(answer_id) else None
    if entry is None:
        return None, error_response(404, "unknown_answer", "找不到这个回答：编号不对，或记录已过保留期。")
    return entry, None


async def feedback(request: Request) -> Response:
    """👍 / 👎 (and an optional comment) on a logged answer."""
    refusal, cors = _guard(request)
    if refusal is not None:
        return refusal
    try:
        payload = json.loads(await read_body(request, request.app.state.max_body_bytes))
    except BodyTooLarge:
        return error_response(413, "body_too_large", "请求体过大。", cors)
    except (ValueError, RecursionError):
        return error_response(400, "invalid_json", "请求体不是有效的 JSON。", cors)
    except ClientDisconnect:
        return Response(status_code=400)
    if not isinstance(payload, dict) or payload.get("rating") not in RATINGS or not (
            payload.get("comment") is None or isinstance(payload.get("comment"), str)):
        return error_response(422, "invalid_feedback", '应为 {"answer_id": "…", "rating": "up" 或 "down", "comment": "可选"}。', cors)
    entry, problem = _logged(request, payload.get("answer_id"))
    if problem is not None:
        problem.headers.update(cors)
        return problem
    comment = _SURROGATE.sub("\ufffd", payload.get("comment") or "")
    request.app.state.assistant.question_log.feedback(entry["id"], payload["rating"], comment, "web")
    return JSONResponse({"status": "ok"}, headers={**cors, "Cache-Control": "no-store"})


async def answer_rows(request: Request) -> Response:
    """The rows an answer cites, as CSV or XLSX, for as long as the log keeps the answer."""
    refusal, cors = _guard(request)
    if refusal is not None:
        return refusal
    if request.path_params["format"] not in _EXPORTS:
        return error_response(404, "not_found", "只能导出 rows.csv 或 rows.xlsx。", cors)
    entry, problem = _logged(request, request.path_params["answer_id"])
    if problem is not None:
        problem.headers.update(cors)
        return problem
    media, write = _EXPORTS[request.path_params["format"]]
    body = write(cited_rows(request.app.state.assistant, entry["citations"]))
    name = f"budget-answer-{entry['id'][:8]}.{request.path_params['format']}"
    return Response(body, media_type=media, headers={
        **cors, "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


async def tables(request: Request) -> Response:
    refusal, cors = _guard(request)
    if refusal is not None:
        return refusal
    return JSONResponse({"documents": request.app.state.assistant.overview()}, headers=cors)


async def document_file(request: Request) -> Response:
    """A loaded PDF, so that a citation can open it at its page (/documents/NAME#page=N)."""
    path = request.app.state.assistant.source_path(request.path_params["name"])
    if path is None:
        return error_response(404, "not_found", "没有这份已加载的 PDF 文件。")
    return FileResponse(path, media_type="application/pdf", headers={"Content-Disposition": "inline"})


async def preflight(request: Request) -> Response:
    """CORS preflight for the API: allowed origins get the methods and headers, others a 403."""
    origin = request.headers.get("origin")
    if origin is None or not request.app.state.origins.permits(origin, request):
        return origin_refused()
    return Response(status_code=204, headers=request.app.state.origins.preflight_headers(origin))


async def healthz(request: Request) -> Response:
    """Alive, and which database it serves: `version` changes when a load replaces the file."""
    assistant = request.app.state.assistant
    return JSONResponse({"status": "ok", "documents": len(assistant.overview()), "version": assistant.version},
                        headers={"Cache-Control": "no-store"})


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


async def http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    headers = exc.headers if isinstance(exc, HTTPException) else None  # keeps Allow on a 405
    if status == 404:
        return error_response(404, "not_found", "没有这个地址。可用的接口见 /openapi.json。", headers)
    if status == 405:
        return error_response(405, "method_not_allowed", "这个地址不支持该请求方法。", headers)
    return error_response(status, "http_error", "请求无法处理。", headers)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "服务器内部错误，请稍后再试。")


def create_app(
    settings: Settings,
    assistant: Any = None,
    extra_routes: Sequence[BaseRoute] = (),
    on_startup: Iterable[Hook] = (),
    on_shutdown: Iterable[Hook] = (),
    *,
    widget_endpoint: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
) -> Starlette:
    """The web app. `assistant` defaults to `bot.live.LiveAssistant.open(settings)`, opened in the lifespan.

    `extra_routes` are mounted alongside (the Telegram webhook); `on_startup`/`on_shutdown` are awaited in
    the lifespan, shutdown hooks in reverse order. `widget_endpoint` is the public base URL the demo page
    loads the widget and API from (default: the origin the page itself was requested on).
    """
    startup_hooks, shutdown_hooks = tuple(on_startup), tuple(on_shutdown)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        state = app.state
        if state.assistant is None:
            from bot.live import LiveAssistant  # the core is only needed once the app starts

            state.assistant = LiveAssistant.open(settings)
        for hook in startup_hooks:
            await hook()
        try:
            yield
        finally:
            for hook in reversed(shutdown_hooks):
                await hook()
            state.assistant.finish()

    api = "/api/"
    routes: list[BaseRoute] = [
        Route("/", demo_page, methods=["GET"]),
        Route(api + "ask", ask, methods=["POST"]),
        Route(api + "feedback", feedback, methods=["POST"]),
        Route(api + "answers/{answer_id}/rows.{format:str}", answer_rows, methods=["GET"]),
        Route(api + "tables", tables, methods=["GET"]),
        Route(api + "{path:path}", preflight, methods=["OPTIONS"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"]),
        Route("/widget.js", widget_js, methods=["GET"]),
        Route("/static/{name}", static_asset, methods=["GET"]),
        Route("/documents/{name}", document_file, methods=["GET"]),
        *extra_routes,
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )
    state = app.state
    state.assistant = assistant
    state.origins = OriginPolicy(settings.allowed_origins)
    state.limiter = open_limiter(settings)
    state.max_question_chars = settings.max_question_chars
    state.max_body_bytes = max_body_bytes
    state.widget_endpoint = widget_endpoint.rstrip("/") if widget_endpoint else None
    state.openapi = openapi_document(settings.max_question_chars, max_body_bytes, settings.rate_limit_per_minute)
    state.assets = load_assets()
    return app


def app_from_env() -> Starlette:
    """Factory for running under another ASGI server: `uvicorn --factory bot.web:app_from_env`."""
    settings = Settings.from_env()
    return create_app(settings, widget_endpoint=settings.public_url)


def main(settings: Settings, host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> int:
    """Serve the API, widget and demo page with uvicorn until interrupted.

    The database is checked (and built from the bundled sources if needed) before the server starts, so
    a problem is one line, not a failed start-up. Several workers share sessions and the rate limit in
    Redis (BUDGETBOT_REDIS_URL) or else in a SQLite file (BUDGETBOT_SESSIONS, default .cache/sessions.sqlite)."""
    import os

    import uvicorn

    from bot.live import LiveAssistant
    from bot.web_limits import server_options

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    options = server_options(settings, host, port)
    if workers <= 1:
        app = create_app(settings, LiveAssistant.open(settings), widget_endpoint=settings.public_url)
        uvicorn.run(app, **options)
        return 0
    LiveAssistant.open(settings)  # builds the database and the caches once, before the workers start
    if not settings.redis_url:
        os.environ.setdefault("BUDGETBOT_SESSIONS", str(settings.sessions_path or settings.cache_dir / "sessions.sqlite"))
    os.environ["BUDGETBOT_WORKERS"] = str(workers)
    uvicorn.run("bot.web:app_from_env", factory=True, workers=workers, **options)
    return 0

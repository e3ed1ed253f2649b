"""Telegram webhook mode: the update route, mounted on the web app so one server serves both.

Follows python-telegram-bot's `examples/customwebhookbot/starlettebot.py`: the route checks Telegram's
secret token and puts `Update.de_json(...)` on `application.update_queue`; the web app's lifespan
starts the `Application` and registers the webhook.
"""

from __future__ import annotations

import hmac
import json
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

from bot.config import Settings
from bot.telegram_bot import ALLOWED_UPDATES, set_commands
from bot.web_security import BodyTooLarge, read_body

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # a text message update is a few KB; Telegram caps message text at 4,096 characters


def webhook_routes(application: Application, settings: Settings) -> list[Route]:
    """The POST route Telegram calls, at the path of `TELEGRAM_WEBHOOK_URL`, checking the secret token."""
    secret = (settings.telegram_webhook_secret or "").encode()
    path = urlsplit(settings.telegram_webhook_url or "").path or "/telegram"

    async def telegram_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return Response(status_code=403)
        try:
            data = json.loads(await read_body(request, MAX_UPDATE_BYTES))
            update = Update.de_json(data, application.bot) if isinstance(data, dict) else None
        except BodyTooLarge:
            return Response(status_code=413)
        except ClientDisconnect:
            return Response(status_code=400)
        except (ValueError, TypeError, KeyError, RecursionError):
            update = None
        if update is None:
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response()

    return [Route(path, telegram_update, methods=["POST"])]


def webhook_app(settings: Settings, assistant: Any, application: Application) -> Starlette:
    """The web app (`bot.web.create_app`) with the webhook route; registers the webhook on start-up."""
    from bot.web import create_app

    async def startup() -> None:
        await application.initialize()
        await set_commands(application)
        await application.bot.set_webhook(
            settings.telegram_webhook_url,
            secret_token=settings.telegram_webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
        await application.start()

    async def shutdown() -> None:
        await application.stop()
        await application.shutdown()

    routes = webhook_routes(application, settings)
    return create_app(settings, assistant, extra_routes=routes, on_startup=[startup], on_shutdown=[shutdown])


def serve_webhook(settings: Settings, assistant: Any, application: Application, host: str, port: int) -> int:
    """Serve the web app with the webhook on host:port (behind a reverse proxy) until interrupted."""
    import uvicorn

    from bot.web_limits import server_options

    app = webhook_app(settings, assistant, application)
    uvicorn.run(app, **server_options(settings, host, port))
    return 0

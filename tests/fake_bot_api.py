"""A stand-in for the Telegram Bot API on 127.0.0.1, for end-to-end tests of the bot.

It serves `/bot<token>/<method>` the way Telegram does: parameters as a query string, form-encoded
or JSON body; answers `{"ok": true, "result": ...}` or `{"ok": false, "error_code", "description"}`;
`getUpdates` long-polls and confirms updates by `offset`; `sendMessage` checks HTML parse mode, the
4096-character limit and 64-byte `callback_data` like Telegram. Every request is recorded per bot
token, and tests await the requests they expect with `FakeBot.wait_for`.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
SUPPORTED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
}  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")
_ROUTE = re.compile(r"/bot([^/]+)/([A-Za-z]+)")
# Each fake bot gets its own block of user ids, so conversations (sessions keyed by chat id) held by
# a shared assistant never meet across tests.
_USER_ID_BLOCKS = itertools.count(1_000_000, 1000)


class ApiError(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The text a client would show for an HTML-mode message; ApiError where Telegram refuses it."""
    out: list[str] = []
    open_tags: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            match = _TAG.match(text, i)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: Unexpected character '<' at offset {i}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in SUPPORTED_TAGS:
                raise ApiError(400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" at offset {i}')
            if not closing:
                open_tags.append(name)
            elif not open_tags or open_tags.pop() != name:
                raise ApiError(400, f'Bad Request: can\'t parse entities: Unmatched end tag "{name}" at offset {i}')
            i = match.end()
        elif char == "&":
            match = _ENTITY.match(text, i)
            if match is None:
                raise ApiError(400, f"Bad Request: can't parse entities: Unexpected character '&' at offset {i}")
            out.append(html.unescape(match.group()))
            i = match.end()
        elif char == ">":
            raise ApiError(400, f"Bad Request: can't parse entities: Unexpected character '>' at offset {i}")
        else:
            out.append(char)
            i += 1
    if open_tags:
        raise ApiError(400, f"Bad Request: can't parse entities: Can't find end tag corresponding to {open_tags[-1]!r}")
    return "".join(out)


def _entities(text: str) -> list[dict]:
    """Telegram-style entities (UTF-16 offsets) for a leading /command and @mentions."""
    found = []
    for match in re.finditer(r"(?<![A-Za-z0-9_])(/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?|@[A-Za-z0-9_]{5,})", text):
        kind = "bot_command" if match.group().startswith("/") else "mention"
        if kind == "bot_command" and match.start() != 0:
            continue
        offset = utf16_len(text[: match.start()])
        found.append({"type": kind, "offset": offset, "length": utf16_len(match.group())})
    return found


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Fields of a multipart/form-data body: files as bytes (with `<name>_filename`), the rest as text."""
    from email.parser import BytesParser
    from email.policy import HTTP

    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, Any] = {}
    for part in message.iter_parts():
        name, filename = part.get_param("name", header="content-disposition"), part.get_filename()
        payload = part.get_payload(decode=True)
        if filename is not None:
            fields[name], fields[f"{name}_filename"] = payload, filename
        else:
            fields[name] = payload.decode("utf-8")
    return fields


@dataclass
class Recorded:
    """One request a bot made: the method and its parameters as sent (strings, JSON as text)."""

    method: str
    params: dict[str, Any]
    content_type: str = ""
    result: Any = None  # what the server answered

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)

    def json(self, key: str) -> Any:
        value = self.params.get(key)
        return json.loads(value) if isinstance(value, str) else value


@dataclass
class FakeBot:
    """The server-side state of one bot token: its identity, pending updates and chats."""

    token: str
    username: str
    user_ids: range = field(default_factory=lambda: range(start := next(_USER_ID_BLOCKS), start + 1000))
    requests: list[Recorded] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    chats: dict[int, dict] = field(default_factory=dict)
    messages: dict[tuple[int, int], dict] = field(default_factory=dict)
    failures: dict[str, list[ApiError]] = field(default_factory=dict)
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _update_ids: Any = field(default_factory=lambda: itertools.count(1))
    _message_ids: Any = field(default_factory=lambda: itertools.count(1000))
    _callback_ids: Any = field(default_factory=lambda: itertools.count(1))

    @property
    def id(self) -> int:
        return int(self.token.split(":")[0])

    @property
    def user(self) -> dict:
        return {"id": self.id, "is_bot": True, "first_name": "预算助手", "username": self.username}

    # ---- what a test does -------------------------------------------------------------------
    async def queue(self, update: dict) -> int:
        if "update_id" not in update:
            update = {"update_id": next(self._update_ids), **update}
        async with self.changed:
            self.updates.append(update)
            self.changed.notify_all()
        return update["update_id"]

    def chat(self, chat_id: int, kind: str | None = None) -> dict:
        kind = kind or ("private" if chat_id > 0 else "supergroup")
        chat = {"id": chat_id, "type": kind}
        chat.update({"first_name": "用户"} if kind == "private" else {"title": "预算科工作群"})
        self.chats[chat_id] = chat
        return chat

    def text_update(
        self, text: str, *, user_id: int | None = None, chat_id: int | None = None, chat_type: str | None = None,
        reply_to: dict | None = None,
    ) -> dict:  # fmt: skip
        """An update as if `user_id` (default `user_ids[0]`) wrote `text` in `chat_id` (default: their private chat)."""
        user_id = self.user_ids[0] if user_id is None else user_id
        chat = self.chat(chat_id if chat_id is not None else user_id, chat_type)
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id, "is_bot": False, "first_name": "张三", "language_code": "zh-hans"},
            "text": text,
        }
        if entities := _entities(text):
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        return {"update_id": next(self._update_ids), "message": message}

    async def send_text(self, text: str, **kwargs: Any) -> int:
        """Queue `text_update(text, ...)` for the bot's next getUpdates; returns its update id."""
        return await self.queue(self.text_update(text, **kwargs))

    async def tap(self, sent: Recorded, data: str, *, user_id: int | None = None) -> int:
        """Queue a callback query as if `user_id` tapped the button with `data` under message `sent`."""
        message = self.messages[(int(sent["chat_id"]), sent.result["message_id"])]
        return await self.queue({
            "callback_query": {
                "id": f"cb{next(self._callback_ids)}",
                "from": {"id": self.user_ids[0] if user_id is None else user_id, "is_bot": False, "first_name": "张三"},
                "chat_instance": f"ci{message['chat']['id']}",
                "message": message,
                "data": data,
            }
        })  # fmt: skip

    def fail_next(self, method: str, code: int, description: str) -> None:
        """Make the next call of `method` fail like Telegram would."""
        self.failures.setdefault(method, []).append(ApiError(code, description))

    def calls(self, method: str, where: Callable[[Recorded], bool] | None = None, **match: Any) -> list[Recorded]:
        """The requests of `method` whose parameters equal `match` (compared as text) and satisfy `where`."""
        return [
            r for r in self.requests
            if r.method == method and all(str(r.get(k)) == str(v) for k, v in match.items()) and (not where or where(r))
        ]  # fmt: skip

    async def wait_for(
        self, method: str, count: int = 1, *, where: Callable[[Recorded], bool] | None = None, timeout: float = 10,
        **match: Any,
    ) -> list[Recorded]:  # fmt: skip
        """Wait until the bot made `count` such calls and return them all; fail listing what it did send.

        `timeout` only keeps a broken test from hanging; no test depends on how long anything takes.
        """

        async def enough() -> list[Recorded]:
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.calls(method, where, **match)) >= count)
            return self.calls(method, where, **match)

        try:
            return await asyncio.wait_for(enough(), timeout)
        except TimeoutError:
            made = [(r.method, r.params) for r in self.requests if r.method != "getUpdates"]
            raise AssertionError(f"expected {count} {method} {match}; the bot sent {made}") from None

    # ---- what the server does ---------------------------------------------------------------
    async def call(self, method: str, params: dict[str, Any], content_type: str, closing: asyncio.Event) -> Any:
        if method == "getUpdates":
            return await self._get_updates(params, closing)
        record = Recorded(method, params, content_type)
        try:
            if self.failures.get(method):
                raise self.failures[method].pop(0)
            handler = getattr(self, f"_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            record.result = handler(params)
            return record.result
        finally:
            async with self.changed:
                self.requests.append(record)
                self.changed.notify_all()

    async def _get_updates(self, params: dict[str, Any], closing: asyncio.Event) -> list[dict]:
        offset, timeout = int(params.get("offset") or 0), float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        async with self.changed:
            if offset > 0:  # confirms every update before `offset`
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            self.requests.append(Recorded("getUpdates", params))
            self.changed.notify_all()
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.updates or closing.is_set()), timeout)
            except TimeoutError:
                pass
            return self.updates[:limit]

    def _getMe(self, params: dict) -> dict:
        return {**self.user, "can_join_groups": True, "can_read_all_group_messages": False,
                "supports_inline_queries": False}  # fmt: skip

    def _deleteWebhook(self, params: dict) -> bool:
        return True

    def _setWebhook(self, params: dict) -> bool:
        return True

    def _setMyCommands(self, params: dict) -> bool:
        commands = json.loads(params["commands"]) if isinstance(params["commands"], str) else params["commands"]
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command["command"]) or not 1 <= len(command["description"]) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        return True

    def _answerCallbackQuery(self, params: dict) -> bool:
        if len(params.get("text") or "") > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    def _sendMessage(self, params: dict) -> dict:
        chat = self.chats.get(int(params["chat_id"]))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": self.user}
        self._set_text(message, params)
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _send_file(self, params: dict, kind: str) -> dict:
        """sendDocument / sendPhoto: the file arrives as multipart bytes (kept in params for the test)."""
        if not isinstance(params.get(kind), bytes) or not params[kind]:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        chat = self.chats.get(int(params["chat_id"]))
        if chat is None:
            raise ApiError(400, "Bad Request: chat not found")
        file = {"file_id": f"{kind}-{len(params[kind])}", "file_unique_id": f"u{len(params[kind])}",
                "file_size": len(params[kind])}
        if kind == "photo":  # Telegram answers with the sizes it made of the picture
            file = [{**file, "width": 900, "height": 200}]
        message = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": self.user,
                   kind: file}
        if params.get("caption"):
            message["caption"] = params["caption"]
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    def _sendDocument(self, params: dict) -> dict:
        return self._send_file(params, "document")

    def _sendPhoto(self, params: dict) -> dict:
        return self._send_file(params, "photo")

    def _editMessageText(self, params: dict) -> dict:
        message = self.messages.get((int(params["chat_id"]), int(params["message_id"])))
        if message is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        before = dict(message)
        self._set_text(message, params)
        if message == before:
            raise ApiError(400, "Bad Request: message is not modified")
        return message

    @staticmethod
    def _set_text(message: dict, params: dict) -> None:
        text = params.get("text") or ""
        shown = parse_html(text) if str(params.get("parse_mode", "")).upper() == "HTML" else text
        if not shown.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(shown) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        message["text"] = shown
        message.pop("reply_markup", None)
        if params.get("reply_markup"):
            markup = params["reply_markup"]
            markup = json.loads(markup) if isinstance(markup, str) else markup
            for row in markup.get("inline_keyboard", []):
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                        raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            message["reply_markup"] = markup


class FakeBotApi:
    """The HTTP/1.1 server (asyncio streams, keep-alive): one `FakeBot` per token, made with `new_bot`."""

    def __init__(self) -> None:
        self.bots: dict[str, FakeBot] = {}
        self.closing = asyncio.Event()
        self.port: int | None = None
        self._tokens = itertools.count(100001)
        self._connections: set[asyncio.Task] = set()

    @property
    def base_url(self) -> str:
        """What `TELEGRAM_BASE_URL` should be: the bot token follows it, then /method."""
        return f"http://127.0.0.1:{self.port}/bot"

    def new_bot(self, username: str = "budget_test_bot") -> FakeBot:
        bot = FakeBot(token=f"{next(self._tokens)}:TEST-token_{len(self.bots)}", username=username)
        self.bots[bot.token] = bot
        return bot

    async def _respond(self, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        path, _, query = target.partition("?")
        route = _ROUTE.fullmatch(path)
        bot = self.bots.get(route.group(1)) if route else None
        if bot is None:
            return 401 if route else 404, {"ok": False, "error_code": 401 if route else 404,
                                           "description": "Unauthorized" if route else "Not Found"}  # fmt: skip
        params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
        content_type = headers.get("content-type", "")
        try:
            if content_type.startswith("application/json") and body:
                params.update(json.loads(body))
            elif content_type.startswith("application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode(), keep_blank_values=True))
            elif content_type.startswith("multipart/form-data"):
                params.update(_multipart(content_type, body))
            elif body:
                raise ApiError(400, "Bad Request: unsupported request body")
            result = await bot.call(route.group(2), params, content_type, self.closing)
        except ApiError as exc:
            return exc.code, {"ok": False, "error_code": exc.code, "description": exc.description}
        return 200, {"ok": True, "result": result}

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._connections.add(asyncio.current_task())
        try:
            while request_line := await reader.readline():
                method, target, _ = request_line.decode("latin-1").split(" ", 2)
                headers = {}
                while (line := await reader.readline()).strip():
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length") or 0))
                if method not in ("GET", "POST") or "chunked" in headers.get("transfer-encoding", ""):
                    status, payload = 400, {"ok": False, "error_code": 400, "description": "Bad Request"}
                else:
                    status, payload = await self._respond(target, headers, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                writer.write(
                    f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(data)}\r\n\r\n".encode() + data
                )
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.discard(asyncio.current_task())
            writer.close()

    @classmethod
    @asynccontextmanager
    async def running(cls):
        """Serve on an ephemeral 127.0.0.1 port for the duration of the block."""
        api = cls()
        server = await asyncio.start_server(api._connection, "127.0.0.1", 0)
        api.port = server.sockets[0].getsockname()[1]
        try:
            yield api
        finally:
            api.closing.set()  # pending long polls return at once
            server.close()
            for task in list(api._connections):
                task.cancel()
            await asyncio.gather(*api._connections, return_exceptions=True)
            await server.wait_closed()

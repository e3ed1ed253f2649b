"""Connection limits the HTTP server holds without a proxy in front.

uvicorn's h11 parser bounds a request head (`max_header_bytes`); this protocol adds what uvicorn lacks:
a deadline for a whole request to arrive (idle, header-dribbling and body-dribbling sockets are closed),
a cap on open connections per client address and in all, and one log line a few seconds when it refuses.
When all connections are taken, the oldest one that has not sent a byte (a half-open socket) is closed to make
room for the new one; only when none has been silent for `_SILENT_GRACE` seconds is the new one refused, with a
JSON 503, and closed at once, so it holds no file descriptor.

The server runs on asyncio's own loop, not uvloop: libuv accepts one connection per loop iteration, so under load
the accept queue fills with waiting sockets and a new visitor waits seconds before being read at all.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter
from dataclasses import dataclass

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("budgetbot.web")

_FD_RESERVE = 64  # descriptors kept for the database, logs and the listening socket
_LOG_EVERY = 10.0  # seconds between two "refused" log lines
_SILENT_GRACE = 1.0  # a connection silent this long since it opened may be closed to make room
_WAITING = (h11.IDLE, h11.SEND_BODY)  # the client has not finished sending its request


def _raw_response(status: str, body: str, extra: str = "") -> bytes:
    data = body.encode("utf-8")
    head = (f"HTTP/1.1 {status}\r\ncontent-type: application/json; charset=utf-8\r\n"
            f"content-length: {len(data)}\r\nconnection: close\r\n{extra}\r\n")
    return head.encode("ascii") + data


BUSY = _raw_response(
    "503 Service Unavailable",
    '{"error":"server_busy","message":"服务器连接已满，请稍后再试。"}', "retry-after: 5\r\n")
TIMED_OUT = _raw_response(
    "408 Request Timeout", '{"error":"request_timeout","message":"请求发送得太慢，连接已关闭。"}')


@dataclass(frozen=True)
class ConnectionLimits:
    max_header_bytes: int = 16 * 1024
    request_timeout: float = 10.0  # from connect (or the last response) until the request has fully arrived
    keep_alive_timeout: int = 5
    max_connections: int = 1000
    max_per_client: int = 64
    trusted: frozenset[str] = frozenset({"127.0.0.1"})  # the reverse proxy: many clients, one address

    def trusts(self, address: str) -> bool:
        return address in self.trusted or "*" in self.trusted

    def fitted_to_descriptors(self) -> "ConnectionLimits":
        """These limits with `max_connections` lowered to what the process's file-descriptor limit allows."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        room = soft - _FD_RESERVE if soft != resource.RLIM_INFINITY else self.max_connections
        if room >= self.max_connections:
            return self
        log.warning("文件描述符上限 %s 只容得下 %s 个连接（设置为 %s）；请提高 LimitNOFILE", soft, max(room, 1),
                    self.max_connections)
        return ConnectionLimits(self.max_header_bytes, self.request_timeout, self.keep_alive_timeout,
                                max(room, 1), min(self.max_per_client, max(room, 1)), self.trusted)


class _Refusals:
    """Counts refused connections and logs them at most once every _LOG_EVERY seconds."""

    def __init__(self) -> None:
        self.pending: Counter[str] = Counter()
        self.logged = 0.0

    def note(self, reason: str) -> None:
        self.pending[reason] += 1
        now = time.monotonic()
        if now - self.logged >= _LOG_EVERY:
            log.warning("拒绝连接：%s", "，".join(f"{why} {n} 次" for why, n in self.pending.items()))
            self.pending.clear()
            self.logged = now


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request deadline and connection caps (one event loop per process)."""

    limits: ConnectionLimits | None = None  # set by `install`; a worker process reads its settings itself
    open_by_client: Counter[str] = Counter()
    open_total = 0
    silent: dict["GuardedH11Protocol", float] = {}  # open, not a byte received yet: when each opened, oldest first
    refusals = _Refusals()

    @classmethod
    def install(cls, limits: ConnectionLimits) -> None:
        cls.limits = limits.fitted_to_descriptors()

    @classmethod
    def _limits(cls) -> ConnectionLimits:
        if cls.limits is None:
            from bot.config import Settings
            cls.install(Settings.from_env().connection_limits())
        return cls.limits

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        limits = self._limits()
        peer = transport.get_extra_info("peername")
        self._peer = peer[0] if isinstance(peer, tuple) else "unix"
        self._deadline: asyncio.TimerHandle | None = None
        self._counted = self._began = False
        cls = type(self)
        reason = None
        if not limits.trusts(self._peer) and cls.open_by_client[self._peer] >= limits.max_per_client:
            reason = f"{self._peer} 的连接数已满"
        elif cls.open_total >= limits.max_connections and not cls._close_oldest_silent():
            reason = "连接总数已满"
        if reason:
            cls.refusals.note(reason)
            transport.write(BUSY)
            transport.close()
            return
        self._counted = self._began = True
        GuardedH11Protocol.open_total += 1
        cls.open_by_client[self._peer] += 1
        cls.silent[self] = time.monotonic()
        super().connection_made(transport)
        self._arm()

    @classmethod
    def _close_oldest_silent(cls) -> bool:
        """Close the connection that has been open longest without sending a byte, if that is over the grace."""
        oldest = next(iter(cls.silent), None)
        if oldest is None or time.monotonic() - cls.silent[oldest] < _SILENT_GRACE:
            return False
        cls.refusals.note("关闭一直不发数据的连接")
        oldest._release()
        oldest.transport.close()
        return True

    def _release(self) -> None:
        """Stop counting this connection (once)."""
        type(self).silent.pop(self, None)
        if not self._counted:
            return
        self._counted = False
        GuardedH11Protocol.open_total -= 1
        counts = type(self).open_by_client
        counts[self._peer] -= 1
        if counts[self._peer] <= 0:
            del counts[self._peer]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._began:
            return  # refused: uvicorn never saw it
        self._release()
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        type(self).silent.pop(self, None)
        self._partial = True
        super().data_received(data)
        if self.conn.their_state not in _WAITING:
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state in _WAITING:
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._partial = False
        self._deadline = self.loop.call_later(self._limits().request_timeout, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.conn.their_state not in _WAITING:
            return
        if self._partial and self.conn.their_state is h11.IDLE:  # part of a head arrived: say why it closes
            self.transport.write(TIMED_OUT)
        self.transport.close()  # an idle connection just closes; a body still arriving ends the request


def server_options(settings, host: str, port: int) -> dict:
    """uvicorn's settings for a service facing clients directly: h11 with a bounded head and this protocol."""
    GuardedH11Protocol.install(settings.connection_limits())
    limits = GuardedH11Protocol.limits
    return dict(host=host, port=port, http="bot.web_limits:GuardedH11Protocol",
                h11_max_incomplete_event_size=limits.max_header_bytes, timeout_keep_alive=limits.keep_alive_timeout,
                backlog=2048, loop="asyncio", proxy_headers=True, server_header=False, log_level="info")

"""Per-client rate limits: a token bucket per client, in this process or in a SQLite file all workers share.

`per_minute` requests a minute, bursts up to the same number; `per_minute <= 0` turns the limit off.
`retry_after(client)` takes one token: 0 if allowed, else whole seconds until a token is available.
Redis's shared limit (`bot.redis_state`) runs the same bucket as a script inside Redis.
"""

from __future__ import annotations

import math
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from bot.sessions import Throttled


def take(tokens: float, seen: float, now: float, capacity: float, per_second: float) -> tuple[float, int]:
    """One request against a bucket holding `tokens` at time `seen`: (tokens left, seconds to wait or 0)."""
    tokens = min(capacity, tokens + max(0.0, now - seen) * per_second)
    if tokens >= 1.0:
        return tokens - 1.0, 0
    return tokens, max(1, math.ceil((1.0 - tokens) / per_second))


class RateLimiter:
    """Buckets in this process, used from the event loop only (no lock). At most `max_clients` buckets are
    kept; the least recently seen are forgotten first (a forgotten client starts with a full bucket)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic, max_clients: int = 50_000) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.clock = clock
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, client: str) -> int:
        if self.capacity <= 0:
            return 0
        now = self.clock()
        tokens, seen = self._buckets.pop(client, (self.capacity, now))
        tokens, wait = take(tokens, seen, now, self.capacity, self.per_second)
        self._buckets[client] = (tokens, now)
        if len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        return wait


class SqliteRateLimiter:
    """Buckets in a SQLite file, so that the limit holds across the workers of one machine.

    A bucket update is one short transaction; if the file stays locked for more than `timeout` seconds the
    request is counted against this process's own bucket instead (its share of the rate), and that is logged.
    """

    def __init__(self, path: Path, per_minute: int, workers: int, timeout: float = 0.05,
                 clock: Callable[[], float] = time.time) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.clock = clock
        self._local = RateLimiter(max(1, per_minute // max(1, workers)) if per_minute > 0 else 0)
        self._warning = Throttled()
        self._path = path
        self._conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("CREATE TABLE IF NOT EXISTS buckets (client TEXT PRIMARY KEY, tokens REAL, seen REAL)")
        except sqlite3.OperationalError:
            pass  # another worker is creating it; the first request retries
        self._taken = 0

    def retry_after(self, client: str) -> int:
        if self.capacity <= 0:
            return 0
        now = self.clock()
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                row = self._conn.execute("SELECT tokens, seen FROM buckets WHERE client = ?", (client,)).fetchone()
                tokens, wait = take(*(row or (self.capacity, now)), now, self.capacity, self.per_second)
                self._conn.execute("INSERT OR REPLACE INTO buckets VALUES (?, ?, ?)", (client, tokens, now))
                self._taken += 1
                if self._taken % 1000 == 0:  # buckets full again for a minute are the same as no bucket
                    self._conn.execute("DELETE FROM buckets WHERE seen < ?", (now - 60.0,))
            return wait
        except sqlite3.Error as error:
            self._warning.warn("限流文件 %s 暂时不可用（%s）：改用本进程的限额", self._path, error)
            return self._local.retry_after(client)

"""Sessions and the per-client rate limit in Redis, shared by every worker on every machine.

Each operation is one round trip (a Lua script where it must be atomic) with a short socket timeout.
When Redis cannot be reached the stores fall back to this process's own memory for `cooldown` seconds,
log one line, and try Redis again: an outage costs context and exactness of the limit, never a hang.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TypeVar

import redis

from bot.rate_limits import RateLimiter
from bot.sessions import PER_OWNER, TTL, MemorySessionStore, Throttled

T = TypeVar("T")

# KEYS: session, owner's set. ARGV: state, ttl, per_owner. An owner's oldest sessions beyond the quota go.
_PUT_SESSION = """
local now = redis.call('TIME')[1]
local ttl, quota = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
redis.call('ZADD', KEYS[2], now, KEYS[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
local extra = redis.call('ZCARD', KEYS[2]) - quota
if extra > 0 then
  for _, key in ipairs(redis.call('ZRANGE', KEYS[2], 0, extra - 1)) do redis.call('DEL', key) end
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, extra - 1)
end
redis.call('EXPIRE', KEYS[2], ttl)
"""

# KEYS: bucket. ARGV: capacity, tokens per second. Redis's own clock, so machines need not agree on time.
_TAKE_TOKEN = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local capacity, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local held = redis.call('HMGET', KEYS[1], 'tokens', 'seen')
local tokens = tonumber(held[1]) or capacity
local seen = tonumber(held[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - seen) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.max(1, math.ceil((1 - tokens) / rate)) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'seen', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return wait
"""


class RedisState:
    """One client for the stores of a process, and what to do while Redis is away."""

    def __init__(self, url: str, prefix: str = "budgetbot:", timeout: float = 0.5, cooldown: float = 5.0) -> None:
        self.client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self.prefix = prefix
        self.cooldown = cooldown
        self._down_until = 0.0
        self._warning = Throttled()

    def call(self, action: Callable[[], T], fallback: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            return fallback()
        try:
            return action()
        except (redis.RedisError, OSError) as error:
            self._down_until = time.monotonic() + self.cooldown
            self._warning.warn("Redis 不可用（%s）：%s 秒内改用本进程的会话和限流", error, self.cooldown)
            return fallback()


class RedisSessionStore:
    """Sessions with a TTL in Redis; at most `per_owner` per owner. Kept locally too while Redis is away."""

    def __init__(self, state: RedisState, ttl: float = TTL, per_owner: int = PER_OWNER) -> None:
        self._state, self._ttl, self._per_owner = state, int(ttl), per_owner
        self._put = state.client.register_script(_PUT_SESSION)
        self._local = MemorySessionStore(ttl=ttl, per_owner=per_owner)

    def _key(self, session_id: str) -> str:
        return f"{self._state.prefix}session:{session_id}"

    def get(self, session_id: str) -> dict:
        def read() -> dict:
            data = self._state.client.get(self._key(session_id))
            return json.loads(data) if data else {}
        return self._state.call(read, lambda: self._local.get(session_id))

    def put(self, session_id: str, state: dict, owner: str = "") -> None:
        text = json.dumps(state, ensure_ascii=False)
        keys = [self._key(session_id), f"{self._state.prefix}owner:{owner}"]
        self._state.call(lambda: self._put(keys=keys, args=[text, self._ttl, self._per_owner]),
                         lambda: self._local.put(session_id, state, owner))


class RedisRateLimiter:
    """The token bucket of `bot.rate_limits`, kept in Redis so that it holds across all workers and machines."""

    def __init__(self, state: RedisState, per_minute: int) -> None:
        self._state = state
        self.capacity = per_minute
        self._take = state.client.register_script(_TAKE_TOKEN)
        self._local = RateLimiter(per_minute)

    def retry_after(self, client: str) -> int:
        if self.capacity <= 0:
            return 0
        key = f"{self._state.prefix}rate:{client}"
        return self._state.call(lambda: int(self._take(keys=[key], args=[self.capacity, self.capacity / 60.0])),
                                lambda: self._local.retry_after(client))

"""Where shared state lives, chosen by the settings: Redis when BUDGETBOT_REDIS_URL is set, a SQLite file
when several workers on one machine share BUDGETBOT_SESSIONS, else this process's memory."""

from __future__ import annotations

import sqlite3
from functools import cache

from bot.config import ConfigError, Settings
from bot.rate_limits import RateLimiter, SqliteRateLimiter
from bot.sessions import MemorySessionStore, SessionStore, SqliteSessionStore


@cache
def _redis(url: str):
    from bot.redis_state import RedisState  # the redis client is only imported where it is configured

    return RedisState(url)


def open_sessions(settings: Settings) -> SessionStore:
    if settings.redis_url:
        from bot.redis_state import RedisSessionStore

        return RedisSessionStore(_redis(settings.redis_url))
    if settings.sessions_path:
        try:
            settings.sessions_path.parent.mkdir(parents=True, exist_ok=True)
            return SqliteSessionStore(settings.sessions_path)
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(f"BUDGETBOT_SESSIONS：{settings.sessions_path} 不能用作会话文件"
                              f"（{getattr(error, 'strerror', None) or error}）") from None
    return MemorySessionStore()


def open_limiter(settings: Settings):
    """The per-client limit of the web API (requests a minute, `settings.rate_limit_per_minute`)."""
    if settings.redis_url:
        from bot.redis_state import RedisRateLimiter

        return RedisRateLimiter(_redis(settings.redis_url), settings.rate_limit_per_minute)
    if settings.sessions_path:
        path = settings.sessions_path.with_name(settings.sessions_path.stem + "-limits.sqlite")
        try:
            return SqliteRateLimiter(path, settings.rate_limit_per_minute, settings.workers)
        except (OSError, sqlite3.Error) as error:
            raise ConfigError(f"BUDGETBOT_SESSIONS：旁边的限流文件 {path} 不能用（{error}）") from None
    return RateLimiter(settings.rate_limit_per_minute)

"""Settings read once from the environment (and an optional env file), with typed defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from db.paths import KNOWLEDGE_DIR, PROJECT_ROOT, SOURCES_DIR  # noqa: F401  (db/ never imports bot/)
DEFAULT_DB = PROJECT_ROOT / "db" / "budget.sqlite"
LOG_NAME = "questions.sqlite"  # the question log's default: beside the database (db/questions.sqlite)
DEFAULT_TELEGRAM_URL = "https://api.telegram.org/bot"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse KEY=VALUE lines (blank lines and # comments ignored, optional quotes stripped)."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


class ConfigError(Exception):
    """A setting that cannot be used: the message is one Chinese line naming the variable or file."""


def _split_ids(name: str, text: str) -> frozenset[int]:
    parts = [part.strip() for part in text.replace("，", ",").split(",") if part.strip()]
    bad = [part for part in parts if not part.lstrip("-").isdigit()]
    if bad:
        raise ConfigError(f"{name} 应是用逗号分隔的 Telegram 数字用户 ID（例如 123456,789012），"
                          f"“{bad[0]}”不是；用户名无法用作白名单")
    return frozenset(int(part) for part in parts)


def _number(env: dict[str, str], name: str, default: float, kind: type = int, minimum: float = 0):
    """env[name] as an int (or float) of at least `minimum`, or ConfigError naming the variable."""
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or value < minimum:
        what = "整数" if kind is int else "数字"
        raise ConfigError(f"{name} 应是不小于 {minimum:g} 的{what}，收到“{text}”")
    return value


def _log_path(text: str, db_path: Path) -> Path | None:
    if text.lower() in ("off", "none", "0", "false", "no"):
        return None
    return Path(text) if text else db_path.with_name(LOG_NAME)


def _redis_url(url: str) -> str | None:
    if url and not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"BUDGETBOT_REDIS_URL 应以 redis://、rediss:// 或 unix:// 开头，收到“{url}”")
    return url or None


def _env_file(path: Path) -> dict[str, str]:
    try:
        return read_env_file(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"BUDGETBOT_ENV_FILE：无法读取 {path}（{getattr(error, 'strerror', None) or error}）") from None


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB
    sources_dir: Path = SOURCES_DIR
    knowledge_dir: Path = KNOWLEDGE_DIR
    cache_dir: Path = PROJECT_ROOT / ".cache"
    sessions_path: Path | None = None  # a SQLite file shared by several processes; None keeps sessions in memory
    telegram_token: str | None = None
    telegram_base_url: str = DEFAULT_TELEGRAM_URL
    telegram_allowed_users: frozenset[int] = field(default_factory=frozenset)
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_user_rate: int = 20  # questions a minute per Telegram user (a burst of 5 is allowed)
    allowed_origins: tuple[str, ...] = ()
    public_url: str | None = None  # where browsers reach the service (the demo page's widget address)
    max_question_chars: int = 500
    rate_limit_per_minute: int = 600
    redis_url: str | None = None  # sessions and the rate limit shared by every worker and machine
    workers: int = 1  # server processes on this machine (set by `budgetbot serve --workers` for its workers)
    log_path: Path | None = None  # the question log (its own SQLite file); None: nothing is recorded
    log_days: int = 90  # questions older than this are pruned
    log_rows: int = 1_000_000  # and never more than this many
    log_salt: str | None = None  # the key users are hashed with; default: a random one kept in the log file
    max_connections: int = 1000
    max_connections_per_client: int = 64
    request_timeout: float = 10.0

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Environment over BUDGETBOT_ENV_FILE over defaults; tests pass `environ` directly."""
        env = dict(os.environ if environ is None else environ)
        env_file = env.get("BUDGETBOT_ENV_FILE")
        if env_file:
            env = {**_env_file(Path(env_file)), **env}
        origins = tuple(o.strip() for o in env.get("BUDGETBOT_ALLOWED_ORIGINS", "").split(",") if o.strip())
        return cls(
            db_path=Path(env.get("BUDGETBOT_DB", DEFAULT_DB)),
            sources_dir=Path(env.get("BUDGETBOT_SOURCES", SOURCES_DIR)),
            cache_dir=Path(env.get("BUDGETBOT_CACHE", PROJECT_ROOT / ".cache")),
            sessions_path=Path(env["BUDGETBOT_SESSIONS"]) if env.get("BUDGETBOT_SESSIONS") else None,
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_base_url=env.get("TELEGRAM_BASE_URL") or DEFAULT_TELEGRAM_URL,
            telegram_allowed_users=_split_ids("TELEGRAM_ALLOWED_USERS", env.get("TELEGRAM_ALLOWED_USERS", "")),
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            telegram_user_rate=_number(env, "TELEGRAM_USER_RATE", 20, minimum=1),
            allowed_origins=origins,
            public_url=env.get("BUDGETBOT_PUBLIC_URL") or None,
            max_question_chars=_number(env, "BUDGETBOT_MAX_QUESTION_CHARS", 500, minimum=1),
            rate_limit_per_minute=_number(env, "BUDGETBOT_RATE_LIMIT", 600),
            redis_url=_redis_url(env.get("BUDGETBOT_REDIS_URL", "").strip()),
            workers=_number(env, "BUDGETBOT_WORKERS", 1, minimum=1),
            log_path=_log_path(env.get("BUDGETBOT_LOG", "").strip(), Path(env.get("BUDGETBOT_DB", DEFAULT_DB))),
            log_days=_number(env, "BUDGETBOT_LOG_DAYS", 90, minimum=1),
            log_rows=_number(env, "BUDGETBOT_LOG_ROWS", 1_000_000, minimum=100),
            log_salt=env.get("BUDGETBOT_LOG_SALT") or None,
            max_connections=_number(env, "BUDGETBOT_MAX_CONNECTIONS", 1000, minimum=1),
            max_connections_per_client=_number(env, "BUDGETBOT_MAX_CONNECTIONS_PER_CLIENT", 64, minimum=1),
            request_timeout=_number(env, "BUDGETBOT_REQUEST_TIMEOUT", 10.0, float, minimum=0.1),
        )

    def connection_limits(self, trusted: str | None = None):
        """The HTTP server's limits; the proxies FORWARDED_ALLOW_IPS trusts are not capped per client."""
        from bot.web_limits import ConnectionLimits

        proxies = (trusted if trusted is not None else os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")).split(",")
        return ConnectionLimits(request_timeout=self.request_timeout, max_connections=self.max_connections,
                                max_per_client=self.max_connections_per_client,
                                trusted=frozenset(p.strip() for p in proxies if p.strip()))

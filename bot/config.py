"""Settings read once from the environment (and an optional env file), with typed defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from db.paths import KNOWLEDGE_DIR, PROJECT_ROOT, SOURCES_DIR  # noqa: F401  (db/ never imports bot/)
DEFAULT_DB = PROJECT_ROOT / "db" / "budget.sqlite"
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


def _split_ids(text: str) -> frozenset[int]:
    return frozenset(int(part) for part in text.replace("，", ",").split(",") if part.strip())


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

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        """Environment over BUDGETBOT_ENV_FILE over defaults; tests pass `environ` directly."""
        env = dict(os.environ if environ is None else environ)
        env_file = env.get("BUDGETBOT_ENV_FILE")
        if env_file:
            env = {**read_env_file(Path(env_file)), **env}
        origins = tuple(o.strip() for o in env.get("BUDGETBOT_ALLOWED_ORIGINS", "").split(",") if o.strip())
        return cls(
            db_path=Path(env.get("BUDGETBOT_DB", DEFAULT_DB)),
            sources_dir=Path(env.get("BUDGETBOT_SOURCES", SOURCES_DIR)),
            cache_dir=Path(env.get("BUDGETBOT_CACHE", PROJECT_ROOT / ".cache")),
            sessions_path=Path(env["BUDGETBOT_SESSIONS"]) if env.get("BUDGETBOT_SESSIONS") else None,
            telegram_token=env.get("TELEGRAM_BOT_TOKEN") or None,
            telegram_base_url=env.get("TELEGRAM_BASE_URL") or DEFAULT_TELEGRAM_URL,
            telegram_allowed_users=_split_ids(env.get("TELEGRAM_ALLOWED_USERS", "")),
            telegram_webhook_url=env.get("TELEGRAM_WEBHOOK_URL") or None,
            telegram_webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET") or None,
            telegram_user_rate=int(env.get("TELEGRAM_USER_RATE", 20)),
            allowed_origins=origins,
            public_url=env.get("BUDGETBOT_PUBLIC_URL") or None,
            max_question_chars=int(env.get("BUDGETBOT_MAX_QUESTION_CHARS", 500)),
            rate_limit_per_minute=int(env.get("BUDGETBOT_RATE_LIMIT", 600)),
        )

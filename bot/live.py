"""The assistant a long-running server holds: it follows the database file when a load replaces it.

`budgetbot ingest` replaces the database file atomically; a server that opened the old file would serve
it until restarted. `LiveAssistant` looks at the file at most once every `every` seconds, opens a new
file in a background thread while the old one keeps answering, and then switches. Conversations carry
over (the session store is shared). A new file that cannot be opened is logged and the old one kept.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from bot.config import Settings
from bot.core import Assistant
from bot.stores import open_sessions

log = logging.getLogger("budgetbot.live")


def _identity(path) -> tuple | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size


class LiveAssistant:
    """Answers like `Assistant` (every attribute is the current one's) and switches to a replaced database."""

    def __init__(self, settings: Settings, current: Assistant, every: float = 1.0) -> None:
        self._settings = settings
        self._current = current
        self._identity = _identity(settings.db_path)
        self._every = every
        self._checked = time.monotonic()
        self._opening = False

    @classmethod
    def open(cls, settings: Settings) -> "LiveAssistant":
        return cls(settings, Assistant.open(settings, open_sessions(settings)))

    @property
    def current(self) -> Assistant:
        now = time.monotonic()
        if now - self._checked >= self._every and not self._opening:
            self._checked = now
            identity = _identity(self._settings.db_path)
            if identity is not None and identity != self._identity:
                self._opening = True
                threading.Thread(target=self._switch, args=(identity,), name="reopen-database", daemon=True).start()
        return self._current

    def _switch(self, identity: tuple) -> None:
        try:
            fresh = Assistant(self._settings.db_path, self._current.lexicon, self._settings.cache_dir,
                              self._current.sessions, self._current.question_log)
            old, self._current, self._identity = self._current, fresh, identity
            log.info("数据库已更新：%s → %s（%s 份文件）", old.version, fresh.version, len(fresh.catalogs))
            with old.lock:  # an answer still reading the old file finishes first
                old.conn.close()
        except Exception as error:  # a half-written or foreign file: keep serving what works
            self._identity = identity
            log.warning("无法打开新的数据库 %s（%s）：继续使用版本 %s", self._settings.db_path, error,
                        self._current.version)
        finally:
            self._opening = False

    def wait_until_current(self, timeout: float = 30.0) -> bool:
        """Block until a switch under way is done (tests and tools); True if the file is the one served."""
        deadline = time.monotonic() + timeout
        self._checked = 0.0
        self.current  # noqa: B018  (starts a switch if the file changed)
        while self._opening and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._identity == _identity(self._settings.db_path)

    def __getattr__(self, name: str):
        return getattr(self.current, name)

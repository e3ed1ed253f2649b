"""The question log: what people asked, how it was understood and answered, and their feedback.

Its own SQLite file (BUDGETBOT_LOG; never the knowledge base). Users are stored only as a keyed hash
(HMAC-SHA256 with a salt kept in the file or given in BUDGETBOT_LOG_SALT), never as a name, phone number
or Telegram id. Writes go through a queue to one writer thread, so logging never slows or fails an
answer; the file is pruned to `days` and `rows` as it is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import secrets
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from bot.sessions import Throttled

log = logging.getLogger("budgetbot.log")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    id TEXT PRIMARY KEY, time REAL NOT NULL, channel TEXT NOT NULL, user TEXT NOT NULL,
    question TEXT NOT NULL, status TEXT NOT NULL, text TEXT NOT NULL,
    query TEXT NOT NULL,      -- JSON: the typed query of each clause (Query.describe())
    unknown TEXT NOT NULL,    -- JSON: words not understood
    documents TEXT NOT NULL,  -- JSON: documents cited
    figures TEXT NOT NULL,    -- JSON: the answer's figures
    citations TEXT NOT NULL,  -- JSON: the answer's citations (the rows an export reads)
    elapsed_ms REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_time ON entries(time);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY, time REAL NOT NULL, channel TEXT NOT NULL, rating TEXT NOT NULL, comment TEXT
);

"""
ENTRY_FIELDS = ("id", "time", "channel", "user", "question", "status", "text", "query", "unknown", "documents",
                "figures", "citations", "elapsed_ms")
JSON_FIELDS = ("query", "unknown", "documents", "figures", "citations")
RATINGS = ("up", "down")
MAX_COMMENT = 500
_INSERT_ENTRIES = ("INSERT OR REPLACE INTO entries SELECT "
                   + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(len(ENTRY_FIELDS))) + " FROM json_each(?)")
_RECENT = 2000  # entries kept in memory until written, and a while after, for feedback and exports


class QuestionLog:
    def __init__(self, path: Path, days: int = 90, rows: int = 1_000_000, salt: str | None = None) -> None:
        self.path, self.days, self.rows = path, days, rows
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = self._connect()
        conn.executescript(SCHEMA)
        kept = conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        if kept is None:
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('salt', ?)", (secrets.token_hex(32),))
            kept = conn.execute("SELECT value FROM meta WHERE key = 'salt'").fetchone()
        conn.close()
        self._salt = (salt or kept[0]).encode()
        self._recent: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=20_000)
        self._written = self.dropped = 0
        self._warning = Throttled(log)
        self._reader = threading.local()
        threading.Thread(target=self._write_forever, name="question-log", daemon=True).start()

    def _connect(self, timeout: float = 30.0) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def user_key(self, owner: str) -> str:
        """The stored form of a user, chat or client address: a keyed hash, not reversible without the salt."""
        return hmac.new(self._salt, owner.encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:20]

    def record(self, entry: dict) -> None:
        """Queue one answered question (ENTRY_FIELDS, user already hashed); never raises, never waits."""
        self.record_later(entry["id"], lambda: entry)

    def record_later(self, answer_id: str, build: Callable[[], dict]) -> None:
        """Queue an entry that `build` makes when the writer (or a feedback or export) first needs it, so the
        answer's own path only queues; `build` must not depend on anything that changes afterwards."""
        with self._lock:
            self._recent[answer_id] = build
            while len(self._recent) > _RECENT:
                self._recent.popitem(last=False)
        self._put(("entry", (answer_id, build)))

    def _built(self, answer_id: str, build: Callable[[], dict]) -> dict:
        entry = build()
        with self._lock:
            if answer_id in self._recent:
                self._recent[answer_id] = entry
        return entry

    def feedback(self, answer_id: str, rating: str, comment: str | None, channel: str) -> bool:
        """Record 👍/👎 (and an optional comment) for a logged answer; False when no such answer is logged."""
        if rating not in RATINGS or self.entry(answer_id) is None:
            return False
        comment = (comment or "").strip()[:MAX_COMMENT] or None
        self._put(("feedback", (answer_id, time.time(), channel, rating, comment)))
        return True

    def entry(self, answer_id: str) -> dict | None:
        """A logged answer by its id (JSON fields decoded), from memory or the file."""
        with self._lock:
            found = self._recent.get(answer_id)
        if callable(found):
            return self._built(answer_id, found)
        if found is not None:
            return found
        try:
            conn = getattr(self._reader, "conn", None) or self._connect(timeout=0.2)
            self._reader.conn = conn
            row = conn.execute(f"SELECT {', '.join(ENTRY_FIELDS)} FROM entries WHERE id = ?", (answer_id,)).fetchall()
        except sqlite3.Error as error:
            self._warning.warn("问题日志 %s 暂时读不了（%s）", self.path, error)
            return None
        if not row:
            return None
        entry = dict(zip(ENTRY_FIELDS, row[0]))
        return {**entry, **{k: json.loads(entry[k]) for k in JSON_FIELDS}}

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written (tests, the report, shutdown)."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._queue.unfinished_tasks

    def _put(self, item: tuple) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1
            self._warning.warn("问题日志 %s 写入积压：至今丢弃 %s 条记录", self.path, self.dropped)

    def _write_forever(self) -> None:
        conn = None
        while True:
            batch = [self._queue.get()]
            while len(batch) < 1000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                conn = conn or self._connect()
                self._write(conn, batch)
            except sqlite3.Error as error:
                self._warning.warn("问题日志 %s 写不进去（%s）：%s 条记录丢失", self.path, error, len(batch))
                conn = None
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, conn: sqlite3.Connection, batch: list[tuple]) -> None:
        """One transaction for the batch. The entries go in as one JSON array through a single statement: the
        sqlite3 module gives up the GIL for every step of executemany, and with the answering thread busy each
        step would wait a switch interval to get it back (the queue then backs up under load)."""
        entries = [self._built(*item) for kind, item in batch if kind == "entry"]
        rows = json.dumps([[json.dumps(e[k], ensure_ascii=False, default=str) if k in JSON_FIELDS else e[k]
                            for k in ENTRY_FIELDS] for e in entries], ensure_ascii=False)
        feedback = [item for kind, item in batch if kind == "feedback"]
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(_INSERT_ENTRIES, (rows,))
            conn.executemany("INSERT OR REPLACE INTO feedback VALUES (?, ?, ?, ?, ?)", feedback)  # the latest word counts
            self._written += len(batch)
            if self._written >= 1000:
                self._written = 0
                self._prune(conn)

    def _prune(self, conn: sqlite3.Connection) -> None:
        """Entries older than `days` go, and all but the newest `rows` (rowids grow with every insert)."""
        conn.execute("DELETE FROM entries WHERE time < ?", (time.time() - self.days * 86400,))
        conn.execute("DELETE FROM entries WHERE rowid <= (SELECT max(rowid) FROM entries) - ?", (self.rows,))
        conn.execute("DELETE FROM feedback WHERE answer_id NOT IN (SELECT id FROM entries)")


def open_log(settings) -> QuestionLog | None:
    """The log the settings ask for, or None (BUDGETBOT_LOG=off). A file that cannot be used is one warning
    line: the assistant answers without recording (a read-only knowledge base must still serve)."""
    if settings.log_path is None:
        return None
    try:
        return QuestionLog(settings.log_path, settings.log_days, settings.log_rows, settings.log_salt)
    except (OSError, sqlite3.Error) as error:
        log.warning("BUDGETBOT_LOG：%s 不能用作问题日志（%s）：不记录问题；设为 off 可不再提示",
                    settings.log_path, getattr(error, "strerror", None) or error)
        return None

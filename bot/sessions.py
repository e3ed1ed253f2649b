"""Conversation context per session id, behind a small store interface.

Every store is bounded: sessions expire after `ttl` seconds, and one owner (a browser's address, a
Telegram chat) holds at most `per_owner` sessions, so one client cannot push everyone else's out.
Memory serves one process; SQLite serves several processes on one machine (`--workers`); Redis
(`bot.redis_state`) serves several machines.
"""

from __future__ import annotations

import itertools
import json
import logging
import queue
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol

log = logging.getLogger("budgetbot.sessions")

TTL = 6 * 3600.0
PER_OWNER = 200


class SessionStore(Protocol):
    def get(self, session_id: str) -> dict: ...
    def put(self, session_id: str, state: dict, owner: str = "") -> None: ...


class Throttled:
    """A warning logged at most once every `every` seconds (a failing store would otherwise flood the log)."""

    def __init__(self, logger: logging.Logger = log, every: float = 10.0) -> None:
        self.logger, self.every, self.last = logger, every, -every

    def warn(self, message: str, *args) -> None:
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.logger.warning(message, *args)


class MemorySessionStore:
    """In-process store: least recently used sessions go first past `capacity`, or past `per_owner` of one owner."""

    def __init__(self, capacity: int = 10_000, ttl: float = TTL, per_owner: int = PER_OWNER) -> None:
        self._items: OrderedDict[str, tuple[float, str, dict]] = OrderedDict()
        self._owners: dict[str, OrderedDict[str, None]] = {}
        self._capacity, self._ttl, self._per_owner = capacity, ttl, per_owner
        self._lock = threading.Lock()

    def get(self, session_id: str) -> dict:
        with self._lock:
            item = self._items.get(session_id)
            if item is None or time.monotonic() - item[0] > self._ttl:
                self._drop(session_id)
                return {}
            self._items.move_to_end(session_id)
            return dict(item[2])

    def put(self, session_id: str, state: dict, owner: str = "") -> None:
        with self._lock:
            previous = self._items.get(session_id)
            if previous is not None and previous[1] != owner:
                self._drop(session_id)
            self._items[session_id] = (time.monotonic(), owner, dict(state))
            self._items.move_to_end(session_id)
            mine = self._owners.setdefault(owner, OrderedDict())
            mine[session_id] = None
            mine.move_to_end(session_id)
            while len(mine) > self._per_owner:
                self._drop(next(iter(mine)))
            while len(self._items) > self._capacity:
                self._drop(next(iter(self._items)))

    def __len__(self) -> int:
        return len(self._items)

    def _drop(self, session_id: str) -> None:
        item = self._items.pop(session_id, None)
        if item is None:
            return
        mine = self._owners.get(item[1])
        if mine is not None:
            mine.pop(session_id, None)
            if not mine:
                del self._owners[item[1]]


class SqliteSessionStore:
    """Sessions in a SQLite file, so that several server processes on one machine share them.

    Never blocks the caller for long. A write is tried at once without waiting for a lock (committed before
    the answer goes out, so a follow-up on another worker sees it); when another process holds the file,
    it is queued for a writer thread instead and read back from memory meanwhile. A read that finds the
    file locked for more than `read_timeout` seconds answers without context and logs why. The file is
    pruned as it is written: expired sessions, owners over their quota, the oldest beyond `max_rows`.
    """

    def __init__(self, path: Path, ttl: float = TTL, per_owner: int = PER_OWNER, max_rows: int = 50_000,
                 read_timeout: float = 0.2) -> None:
        self._path, self._ttl, self._per_owner, self._max_rows = path, ttl, per_owner, max_rows
        self._read_timeout = read_timeout
        self._local = threading.local()
        self._pending: dict[str, tuple[int, dict]] = {}  # queued, not yet committed: read back from here
        self._serial = itertools.count()
        self._lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue(maxsize=10_000)
        self._written = 0
        self._warning = Throttled()
        conn = self._open(timeout=5.0)
        conn.execute("PRAGMA journal_mode=WAL")
        columns = {row[1] for row in conn.execute("PRAGMA table_info(sessions)")}
        if columns and "owner" not in columns:  # a file of an earlier version: its sessions are not worth keeping
            conn.execute("DROP TABLE sessions")
        conn.execute("CREATE TABLE IF NOT EXISTS sessions "
                     "(id TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, touched REAL NOT NULL)")
        conn.execute("CREATE INDEX IF NOT EXISTS sessions_owner ON sessions(owner, touched)")
        conn.execute("CREATE INDEX IF NOT EXISTS sessions_touched ON sessions(touched)")
        conn.close()
        threading.Thread(target=self._write_forever, name="session-writer", daemon=True).start()

    def _open(self, timeout: float) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection (reads wait at most `read_timeout` for a lock, writes not at all)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open(timeout=self._read_timeout)
        return conn

    def get(self, session_id: str) -> dict:
        with self._lock:
            if session_id in self._pending:
                return dict(self._pending[session_id][1])
        try:
            conn = self._connection()
            conn.execute(f"PRAGMA busy_timeout = {int(self._read_timeout * 1000)}")
            rows = conn.execute("SELECT state FROM sessions WHERE id = ? AND touched > ?",
                                (session_id, time.time() - self._ttl)).fetchall()  # all: no read left open
        except sqlite3.Error as error:
            self._warning.warn("会话文件 %s 暂时读不了（%s）：这次回答不带上下文", self._path, error)
            return {}
        return json.loads(rows[0][0]) if rows else {}

    def put(self, session_id: str, state: dict, owner: str = "") -> None:
        row = (session_id, owner, json.dumps(state, ensure_ascii=False), time.time())
        with self._lock:
            queued = session_id in self._pending  # an older write still queued: this one must follow it
        if not queued:
            try:
                conn = self._connection()
                conn.execute("PRAGMA busy_timeout = 0")
                self._write(conn, [row])
                return
            except sqlite3.Error:
                pass  # locked by another process: the writer thread waits for it instead
        serial = next(self._serial)
        with self._lock:
            self._pending[session_id] = (serial, dict(state))
        try:
            self._queue.put_nowait((serial, row))
        except queue.Full:
            self._warning.warn("会话文件 %s 写入积压，丢弃一次会话更新", self._path)
            self._settled([(serial, row)])

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued write is committed (tests, shutdown); False if that took too long."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        return not self._queue.unfinished_tasks

    def _write(self, conn: sqlite3.Connection, rows: list[tuple]) -> None:
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO sessions VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                             "owner = excluded.owner, state = excluded.state, touched = excluded.touched "
                             "WHERE excluded.touched >= sessions.touched", rows)
            for owner in {row[1] for row in rows}:
                conn.execute("DELETE FROM sessions WHERE owner = ? AND id NOT IN (SELECT id FROM sessions "
                             "WHERE owner = ? ORDER BY touched DESC LIMIT ?)", (owner, owner, self._per_owner))
            with self._lock:
                self._written += len(rows)
                due, self._written = self._written >= 1000, self._written % 1000
            if due:
                conn.execute("DELETE FROM sessions WHERE touched < ?", (time.time() - self._ttl,))
                conn.execute("DELETE FROM sessions WHERE id IN "
                             "(SELECT id FROM sessions ORDER BY touched DESC LIMIT -1 OFFSET ?)", (self._max_rows,))

    def _write_forever(self) -> None:
        conn = None
        while True:
            batch = [self._queue.get()]
            while len(batch) < 500:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                conn = conn or self._open(timeout=30.0)
                self._write(conn, [row for _, row in batch])
            except sqlite3.Error as error:
                self._warning.warn("会话文件 %s 写不进去（%s）：%s 次会话更新丢失", self._path, error, len(batch))
                conn = None
            finally:
                self._settled(batch)
                for _ in batch:
                    self._queue.task_done()

    def _settled(self, batch) -> None:
        """Forget the pending copies these writes were for (not a newer one queued since)."""
        with self._lock:
            for serial, row in batch:
                if self._pending.get(row[0], (None,))[0] == serial:
                    del self._pending[row[0]]

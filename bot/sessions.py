"""Conversation context per session id, behind a small store interface."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol


class SessionStore(Protocol):
    def get(self, session_id: str) -> dict: ...
    def put(self, session_id: str, state: dict) -> None: ...


class MemorySessionStore:
    """In-process store: least recently used sessions are dropped past `capacity` or after `ttl` seconds."""

    def __init__(self, capacity: int = 10_000, ttl: float = 6 * 3600) -> None:
        self._items: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._capacity = capacity
        self._ttl = ttl
        self._lock = threading.Lock()

    def get(self, session_id: str) -> dict:
        with self._lock:
            item = self._items.get(session_id)
            if item is None or time.monotonic() - item[0] > self._ttl:
                self._items.pop(session_id, None)
                return {}
            self._items.move_to_end(session_id)
            return dict(item[1])

    def put(self, session_id: str, state: dict) -> None:
        with self._lock:
            self._items[session_id] = (time.monotonic(), dict(state))
            self._items.move_to_end(session_id)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)


class SqliteSessionStore:
    """Sessions in a SQLite file, so that several server processes (uvicorn workers) share them."""

    def __init__(self, path: Path, ttl: float = 6 * 3600) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._ttl = ttl
        self._local = threading.local()
        with self._connection() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sessions (id TEXT PRIMARY KEY, state TEXT NOT NULL, touched REAL NOT NULL)")

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:  # one connection per thread; WAL lets processes read while one writes
            conn = sqlite3.connect(self._path, timeout=5, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def get(self, session_id: str) -> dict:
        row = self._connection().execute(
            "SELECT state FROM sessions WHERE id = ? AND touched > ?", (session_id, time.time() - self._ttl)
        ).fetchone()
        return json.loads(row[0]) if row else {}

    def put(self, session_id: str, state: dict) -> None:
        conn = self._connection()
        now = time.time()
        conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?)", (session_id, json.dumps(state, ensure_ascii=False), now))
        if hash(session_id) % 1000 == 0:  # now and then, forget expired sessions
            conn.execute("DELETE FROM sessions WHERE touched < ?", (now - self._ttl,))

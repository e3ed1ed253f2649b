"""Conversation context per session id, behind a small store interface."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
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

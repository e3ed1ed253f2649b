"""Session stores and rate limits: bounded, never blocking, shared between workers (SQLite) and machines (Redis)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest

from bot.rate_limits import SqliteRateLimiter
from bot.sessions import MemorySessionStore, SqliteSessionStore
from tests.hostile import free_port, server_process

FOLLOW_UP = ("局本级预算多少", "那大数据中心呢？", "1359.80")  # the follow-up's figure needs the first question


def test_one_owner_cannot_push_everyone_else_out_of_memory():
    store = MemorySessionStore(capacity=1000, per_owner=50)
    for n in range(300):
        store.put(f"victim-{n}", {"n": n}, owner=f"client-{n}")
    for n in range(10_001):
        store.put(f"flood-{n}", {"n": n}, owner="attacker")
    assert all(store.get(f"victim-{n}") == {"n": n} for n in range(300))
    assert store.get("flood-10000") == {"n": 10_000} and store.get("flood-0") == {}
    assert len(store) == 350


def test_memory_store_is_bounded_in_all():
    store = MemorySessionStore(capacity=100, per_owner=10)
    for n in range(5000):
        store.put(f"s{n}", {"n": n}, owner=f"o{n}")
    assert len(store) == 100 and store.get("s4999") == {"n": 4999}


def test_sqlite_store_bounded_per_owner_and_in_all(tmp_path):
    store = SqliteSessionStore(tmp_path / "s.sqlite", per_owner=20, max_rows=500)
    for n in range(3000):
        store.put(f"s{n}", {"n": n}, owner="attacker" if n % 2 else f"client-{n}")
    assert store.flush()
    conn = sqlite3.connect(tmp_path / "s.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM sessions WHERE owner = 'attacker'").fetchone()[0] == 20
    assert conn.execute("SELECT COUNT(*) FROM sessions").fetchone()[0] <= 520  # pruned every 1,000 writes
    assert store.get("s2999") == {"n": 2999} and store.get("s2998") == {"n": 2998}


def test_a_locked_session_file_delays_no_answer(tmp_path, settings, assistant):
    """Another process holds the file's write lock: puts queue, gets read them back, nothing raises;
    when the lock goes, the queued state reaches the file."""
    from bot.core import Assistant
    from bot.lexicon import load_lexicon

    path = tmp_path / "s.sqlite"
    store = SqliteSessionStore(path)
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time\n"
        f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.readline()")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assistant = Assistant(settings.db_path, load_lexicon(settings.knowledge_dir), settings.cache_dir, store)
        done = threading.Event()
        answers = []

        def converse() -> None:
            answers.append(assistant.answer(FOLLOW_UP[0], "locked-session"))
            answers.append(assistant.answer(FOLLOW_UP[1], "locked-session"))
            done.set()

        threading.Thread(target=converse, daemon=True).start()
        assert done.wait(20), "an answer waited for the other process's lock"
        assert FOLLOW_UP[2] in answers[1].text
    finally:
        holder.communicate("\n", timeout=10)
    assert store.flush()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM sessions WHERE id = 'locked-session'").fetchone()[0] == 1


def test_a_damaged_session_file_costs_context_not_the_answer(tmp_path, caplog):
    path = tmp_path / "s.sqlite"
    store = SqliteSessionStore(path)
    store.put("a", {"x": 1})
    assert store.get("a") == {"x": 1}
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if name.exists():
            name.write_bytes(b"not a database " * 512)
    assert store.get("a") == {}
    store.put("b", {"y": 2})  # queued, then dropped by the writer with a log line; never raised here
    assert "会话文件" in caplog.text


def test_an_unusable_session_file_at_start_is_one_line(tmp_path):
    from bot.config import ConfigError, Settings
    from bot.stores import open_sessions

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"\x00garbage" * 100)
    for path in (junk, tmp_path / "a-file" / "sessions.sqlite"):
        (tmp_path / "a-file").write_text("not a folder")
        with pytest.raises(ConfigError, match="BUDGETBOT_SESSIONS"):
            open_sessions(Settings.from_env({"BUDGETBOT_SESSIONS": str(path)}))


def test_the_rate_limit_holds_across_workers_sharing_a_file(tmp_path):
    now = [1000.0]
    workers = [SqliteRateLimiter(tmp_path / "limits.sqlite", per_minute=6, workers=2, clock=lambda: now[0])
               for _ in range(2)]
    waits = [workers[n % 2].retry_after("client") for n in range(8)]
    assert waits[:6] == [0] * 6 and all(w > 0 for w in waits[6:])
    assert workers[1].retry_after("other") == 0
    now[0] += 10  # one token every 10 s
    assert workers[0].retry_after("client") == 0 and workers[1].retry_after("client") > 0


def test_a_locked_limit_file_falls_back_to_the_workers_share(tmp_path):
    path = tmp_path / "limits.sqlite"
    limiter = SqliteRateLimiter(path, per_minute=10, workers=2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        waits = [limiter.retry_after("c") for _ in range(7)]
    finally:
        holder.rollback()
    assert waits[:5] == [0] * 5 and waits[5] > 0  # 10 a minute over 2 workers: 5 here


# ---------------------------------------------------------------- Redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("没有 redis-server：Redis 测试跳过（tests/run.sh 能装时会装）")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0", process
    process.terminate()
    process.wait(timeout=10)


def _env(settings, redis_url: str, **extra) -> dict[str, str]:
    return {"BUDGETBOT_DB": str(settings.db_path), "BUDGETBOT_CACHE": str(settings.cache_dir),
            "BUDGETBOT_REDIS_URL": redis_url, **extra}


def test_a_conversation_started_on_one_server_continues_on_another(settings, assistant, redis_url, tmp_path):
    url, _ = redis_url
    env = _env(settings, url, BUDGETBOT_RATE_LIMIT="0")
    with server_process(env, tmp_path / "a.log") as (a, _), server_process(env, tmp_path / "b.log") as (b, _):
        first = httpx.post(a + "/api/ask", json={"question": FOLLOW_UP[0]}, timeout=10).json()
        follow = httpx.post(b + "/api/ask", json={"question": FOLLOW_UP[1], "session_id": first["session_id"]},
                            timeout=10).json()
        assert FOLLOW_UP[2] in follow["text"]


@pytest.mark.parametrize("store", ["redis", "sqlite"])
def test_the_rate_limit_and_conversations_hold_exactly_across_four_workers(settings, assistant, request, tmp_path,
                                                                            store):
    if store == "redis":
        env = _env(settings, request.getfixturevalue("redis_url")[0], BUDGETBOT_RATE_LIMIT="12")
    else:  # one machine without Redis: a SQLite file beside the cache
        env = {"BUDGETBOT_DB": str(settings.db_path), "BUDGETBOT_CACHE": str(settings.cache_dir),
               "BUDGETBOT_SESSIONS": str(tmp_path / "sessions.sqlite"), "BUDGETBOT_RATE_LIMIT": "12"}
    with server_process(env, tmp_path / "w.log", workers=4) as (base, _):
        statuses = []
        session = None
        for n in range(20):
            with httpx.Client(base_url=base, timeout=10) as fresh:  # a new connection: any worker may take it
                body = {"question": FOLLOW_UP[n % 2]} if session is None else {"question": FOLLOW_UP[1], "session_id": session}
                response = fresh.post("/api/ask", json=body)
                statuses.append(response.status_code)
                if response.status_code == 200 and session is None:
                    session = response.json()["session_id"]
                elif response.status_code == 200:
                    assert FOLLOW_UP[2] in response.json()["text"]  # the conversation held, whichever worker
    assert statuses.count(200) == 12
    assert set(statuses[12:]) == {429}


def test_redis_going_away_mid_load_degrades_without_a_hang(settings, assistant, tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("没有 redis-server")
    port = free_port()
    redis_process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    time.sleep(0.3)
    env = _env(settings, f"redis://127.0.0.1:{port}/0", BUDGETBOT_RATE_LIMIT="0")
    try:
        with server_process(env, tmp_path / "r.log") as (base, _):
            with httpx.Client(base_url=base, timeout=10) as http:
                assert http.post("/api/ask", json={"question": "三公经费多少"}).status_code == 200
                redis_process.kill()
                redis_process.wait()
                replies = [http.post("/api/ask", json={"question": "三公经费多少"}) for _ in range(20)]
                assert [r.status_code for r in replies] == [200] * 20
                first = http.post("/api/ask", json={"question": FOLLOW_UP[0]}).json()
                follow = http.post("/api/ask", json={"question": FOLLOW_UP[1], "session_id": first["session_id"]}).json()
                assert FOLLOW_UP[2] in follow["text"]  # kept in this worker's memory meanwhile
        assert "Redis 不可用" in (tmp_path / "r.log").read_text(encoding="utf-8")
    finally:
        redis_process.kill()

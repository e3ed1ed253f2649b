"""Loads and start-ups under hostile conditions, through real `budgetbot` processes: concurrent ingests,
killed ingests' leftovers, files that are not files, a table repeated 10,000 times, bad sources, bad settings,
and read-only or full locations. Each fails safely with one Chinese line and loses nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT
from tests.conftest import FIXTURE, MALFORMED, SEED
from tests.hostile import server_process

OTHER = FIXTURE.with_name("nanyang-2023-budget.txt")  # another department-year than FIXTURE's


def budgetbot(env: dict[str, str], *args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **env}, cwd=PROJECT_ROOT, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    assert "Traceback" not in stderr and len(lines) == 1, stderr
    return lines[0]


def sources(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT source_file FROM documents")}


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    return {"BUDGETBOT_DB": str(tmp_path / "kb.sqlite"), "BUDGETBOT_CACHE": str(tmp_path / "cache")}


def test_concurrent_ingests_never_lose_a_document(env, tmp_path):
    db = Path(env["BUDGETBOT_DB"])
    for round_no in range(3):
        db.unlink(missing_ok=True)
        assert budgetbot(env, "ingest", str(SEED)).returncode == 0
        os.chmod(db, 0o644)
        runs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", str(path)], env={**os.environ, **env},
                                 cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for path in (OTHER, FIXTURE)]
        outputs = [r.communicate(timeout=120) for r in runs]
        assert [r.returncode for r in runs] == [0, 0], outputs
        assert sources(db) == {SEED.name, OTHER.name, FIXTURE.name}, f"round {round_no}"
        assert db.stat().st_mode & 0o777 == 0o644


def test_a_killed_ingests_leftovers_are_removed_by_the_next(env):
    db = Path(env["BUDGETBOT_DB"])
    assert budgetbot(env, "ingest", str(SEED)).returncode == 0
    leftovers = [db.with_name(db.name + ".k1ll3d.tmp"), db.with_name(db.name + ".k1ll3d.tmp-journal")]
    for leftover in leftovers:
        leftover.write_bytes(b"\0" * 4096)
    assert budgetbot(env, "ingest", str(FIXTURE)).returncode == 0
    assert not any(p.exists() for p in leftovers)
    assert sorted(p.name for p in db.parent.iterdir() if ".tmp" in p.name) == []


def test_a_fifo_and_a_device_are_refused_without_reading(env, tmp_path):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero")):
        result = budgetbot(env, "ingest", str(path), timeout=60)  # reading either would hang or exhaust memory
        assert result.returncode == 1 and "不是普通文件" in result.stderr


def test_an_oversized_file_is_refused_before_it_is_read(env, tmp_path):
    huge = tmp_path / "huge.pdf"
    with huge.open("wb") as handle:  # sparse: 101 MiB without using the disk
        handle.truncate(101 * 2**20)
    result = budgetbot(env, "ingest", str(huge))
    assert result.returncode == 1 and "文件太大" in result.stderr and "上限 100 MB" in result.stderr


def test_a_table_repeated_ten_thousand_times_is_refused_and_the_real_document_stays(env, tmp_path):
    db = Path(env["BUDGETBOT_DB"])
    assert budgetbot(env, "ingest", str(FIXTURE)).returncode == 0
    before = db.read_bytes()
    lines = FIXTURE.read_text(encoding="utf-8").split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == "## 部门收入总体情况表")
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))
    pasted = tmp_path / FIXTURE.name  # the same name: it would replace the real document
    pasted.write_text("\n".join(lines[:end] + lines[start:end] * 10_000 + lines[end:]), encoding="utf-8")
    result = budgetbot(env, "ingest", str(pasted))
    assert result.returncode == 1 and "又出现了一遍" in result.stderr
    assert db.read_bytes() == before


def test_a_bad_source_file_does_not_stop_a_start_when_a_database_exists(env, tmp_path, settings, assistant):
    folder = tmp_path / "sources"
    shutil.copytree(settings.sources_dir, folder)
    env = {**env, "BUDGETBOT_SOURCES": str(folder)}
    assert budgetbot(env, "ask", "三公经费多少").returncode == 0  # builds the database from the sources
    shutil.copy(MALFORMED / "empty.txt", folder / "zz-broken.txt")
    result = budgetbot(env, "ask", "三公经费多少")
    assert result.returncode == 0 and "万元" in result.stdout
    assert "继续使用现有数据库" in one_line(result.stderr)
    with server_process(env, tmp_path / "serve.log") as (base, _):
        import httpx

        assert httpx.post(base + "/api/ask", json={"question": "三公经费多少"}, timeout=10).status_code == 200
    shutil.rmtree(folder)  # the folder gone altogether
    result = budgetbot(env, "ask", "三公经费多少")
    assert result.returncode == 0 and "继续使用现有数据库" in one_line(result.stderr)


def test_no_database_and_no_sources_is_one_line(env, tmp_path):
    result = budgetbot({**env, "BUDGETBOT_SOURCES": str(tmp_path / "nowhere")}, "ask", "三公经费多少")
    assert result.returncode == 2 and "nowhere" in one_line(result.stderr)


@pytest.mark.parametrize("name, value", [
    ("TELEGRAM_ALLOWED_USERS", "123,@alice"),
    ("BUDGETBOT_RATE_LIMIT", "600/min"),
    ("BUDGETBOT_MAX_QUESTION_CHARS", "-5"),
    ("BUDGETBOT_REQUEST_TIMEOUT", "soon"),
    ("BUDGETBOT_REDIS_URL", "localhost:6379"),
    ("BUDGETBOT_ENV_FILE", "/nonexistent/budgetbot.env"),
])
def test_a_malformed_setting_is_one_line_naming_it(env, name, value):
    for command in (("ask", "三公经费多少"), ("serve", "--port", "1")):
        result = budgetbot({**env, name: value}, *command)
        assert result.returncode == 2 and name in one_line(result.stderr)


def test_unwritable_cache_and_sessions_locations(env, tmp_path, settings, assistant):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    base = {"BUDGETBOT_DB": str(settings.db_path)}
    result = budgetbot({**base, "BUDGETBOT_CACHE": str(blocker / "cache")}, "ask", "三公经费多少")
    assert result.returncode == 0 and "万元" in result.stdout and "缓存" in result.stderr
    assert "Traceback" not in result.stderr
    result = budgetbot({**env, **base, "BUDGETBOT_SESSIONS": str(blocker / "s.sqlite")}, "ask", "三公经费多少")
    assert result.returncode == 2 and "BUDGETBOT_SESSIONS" in one_line(result.stderr)


def test_a_database_location_that_cannot_be_written_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    env = {"BUDGETBOT_DB": str(blocker / "kb.sqlite"), "BUDGETBOT_CACHE": str(tmp_path / "cache")}
    for command in (("ingest", str(SEED)), ("ask", "三公经费多少")):
        result = budgetbot(env, *command)
        line = one_line(result.stderr)
        assert result.returncode in (1, 2) and "a-file" in line and "无法读取文件" not in line


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MiB tmpfs (root and mount(2) needed; skipped elsewhere)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("不能挂载 tmpfs：磁盘已满、只读的测试跳过")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_fails_the_load_in_one_line_and_keeps_the_database(small_disk, tmp_path):
    env = {"BUDGETBOT_DB": str(small_disk / "kb.sqlite"), "BUDGETBOT_CACHE": str(tmp_path / "cache")}
    assert budgetbot(env, "ingest", str(SEED)).returncode == 0
    before = (small_disk / "kb.sqlite").read_bytes()
    (small_disk / "filler").write_bytes(b"\0" * (2 * 2**20 - len(before) - 64 * 1024))
    result = budgetbot(env, "ingest", str(FIXTURE))
    line = one_line(result.stderr)
    assert result.returncode == 1 and "无法写入" in line and "无法读取文件" not in line
    assert (small_disk / "kb.sqlite").read_bytes() == before
    assert not [p for p in small_disk.iterdir() if ".tmp" in p.name]
    ask = budgetbot(env, "ask", "三公经费多少")
    assert ask.returncode == 0 and "万元" in ask.stdout


def test_a_read_only_disk_still_answers_and_refuses_loads_in_one_line(small_disk, tmp_path):
    env = {"BUDGETBOT_DB": str(small_disk / "kb.sqlite"), "BUDGETBOT_CACHE": str(tmp_path / "cache")}
    assert budgetbot(env, "ingest", str(SEED)).returncode == 0
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)]).returncode == 0
    ask = budgetbot(env, "ask", "三公经费多少")
    assert ask.returncode == 0 and "万元" in ask.stdout
    result = budgetbot(env, "ingest", str(FIXTURE))
    line = one_line(result.stderr)
    assert result.returncode in (1, 2) and "无法写入" in line and "Read-only" in line


def test_a_running_server_switches_to_a_replaced_database(env, tmp_path):
    import httpx

    assert budgetbot(env, "ingest", str(SEED)).returncode == 0
    with server_process(env, tmp_path / "serve.log") as (base, _):
        before = httpx.get(base + "/healthz").json()
        assert before["documents"] == 1
        assert budgetbot(env, "ingest", str(FIXTURE)).returncode == 0
        for _ in range(300):
            now = httpx.get(base + "/healthz").json()
            if now["version"] != before["version"]:
                break
            time.sleep(0.1)
        assert now["documents"] == 2 and now["version"] != before["version"]
        answer = httpx.post(base + "/api/ask", json={"question": "青山市农业技术推广站预算多少"}).json()
        assert "8054457.70" in answer["text"]
    assert "数据库已更新" in (tmp_path / "serve.log").read_text(encoding="utf-8")

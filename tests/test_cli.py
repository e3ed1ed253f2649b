"""The budgetbot command line: real subprocesses on a real database file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.cli import COMMANDS
from bot.config import PROJECT_ROOT
from tests.conftest import MALFORMED, SEED


def run(settings, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BUDGETBOT_DB": str(settings.db_path), "BUDGETBOT_CACHE": str(settings.cache_dir)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, text=True, env=env, timeout=120)


def test_ingest_audit_tables(settings, assistant):
    assert run(settings, "ingest").returncode == 0
    audit = run(settings, "audit")
    assert audit.returncode == 0 and "✘ 不符" in audit.stdout and "✔ 通过" in audit.stdout
    tables = run(settings, "tables")
    assert "项目支出预算表\t17 行" in tables.stdout


def test_a_skipped_table_is_reported_and_strict_refuses_it(settings, assistant):
    result = run(settings, "ingest", str(MALFORMED / "non-numeric-amount.txt"))
    assert result.returncode == 0 and "跳过表" in result.stdout and "第 336 行" in result.stdout and "12O.50" in result.stdout
    strict = run(settings, "ingest", "--strict", str(MALFORMED / "non-numeric-amount.txt"))
    assert strict.returncode == 1 and "第 336 行" in strict.stderr and "Traceback" not in strict.stderr


def test_a_folder_loads_what_it_can_and_exits_non_zero_for_the_rest(settings, assistant, tmp_path):
    folder = tmp_path / "city"
    folder.mkdir()
    (folder / "good.txt").write_bytes(SEED.read_bytes())
    (folder / "empty.txt").write_bytes(b"")
    (folder / "fake.pdf").write_bytes(b"not a pdf at all")
    result = run(settings, "ingest", str(folder))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "已加载 good.txt" in result.stdout and "empty.txt" in result.stderr and "不是 PDF" in result.stderr
    assert "加载 1 份" in result.stdout and "失败 2 份" in result.stdout
    again = run(settings, "ingest", str(folder / "good.txt"))
    assert "未改变 good.txt" in again.stdout  # same content: not read again


def test_ask_json_and_jsonl(settings, assistant):
    answer = json.loads(run(settings, "ask", "--json", "三公经费多少").stdout)
    assert set(answer) >= {"status", "text", "figures", "citations", "suggestions", "options"}
    lines = run(settings, "ask", "--jsonl", stdin='局本级预算多少\n那大数据中心呢？\n{"question": "三公", "session_id": "x"}\n').stdout
    answers = [json.loads(line) for line in lines.splitlines()]
    assert len(answers) == 3 and "1359.80" in answers[1]["text"] and "4.30" in answers[2]["text"]


def test_jsonl_survives_lone_surrogates_and_answers_every_later_line(settings, assistant):
    stdin = '{"question": "\\ud800三公\\udfff经费", "session_id": "\\udc80"}\n{"question": "\\udfff"}\n三公经费多少\n'
    result = run(settings, "ask", "--jsonl", stdin=stdin)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and "Traceback" not in result.stderr
    assert len(answers) == 3 and "4.30" in answers[2]["text"]


def test_chat_answers_and_shows_the_source(settings, assistant):
    out = run(settings, "chat", stdin="三公经费多少\n/source\n/quit\n").stdout
    assert "4.30" in out and "一般公共预算“三公”经费支出情况表 ·" in out and "第465行" in out


def test_explain_shows_how_an_answer_was_reached(settings, assistant):
    explained = json.loads(run(settings, "ask", "--explain", "大数据中心的三公经费").stdout)
    assert explained["tokens"] and explained["query"]["operation"] == "value"
    assert {e["name"] for e in explained["query"]["mentions"]} >= {"南阳市政务大数据中心", "“三公”经费"}


def test_every_command_has_help_and_is_in_the_readme():
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    for name, func in COMMANDS.items():
        assert func.__doc__, name
        assert f"budgetbot {name}" in readme, name


def test_the_bundled_sample_is_the_default_only_until_the_user_loads_a_document(settings, tmp_path):
    from tests.conftest import FIXTURE

    fresh = settings.__class__(**{**vars(settings), "db_path": tmp_path / "own.sqlite"})
    assert run(fresh, "ingest", str(FIXTURE)).returncode == 0
    for command in (("tables",), ("audit",), ("ask", "三公经费多少")):
        result = run(fresh, *command)
        assert "南阳" not in result.stdout, (command, result.stdout[:200])
    assert "青山市农业农村局" in run(fresh, "tables").stdout

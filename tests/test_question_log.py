"""The question log, feedback, exports and the staff report: real files, a real server, a seeded log."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
import time
from decimal import Decimal

import httpx
import pytest

from bot.config import Settings
from bot.question_log import QuestionLog
from bot.report import gather, since_seconds
from tests.web_server import serve


@pytest.fixture(scope="module")
def base(assistant):
    with serve(Settings.from_env({"BUDGETBOT_RATE_LIMIT": "0"}), assistant) as url:
        yield url


def ask(base: str, question: str) -> dict:
    response = httpx.post(base + "/api/ask", json={"question": question}, timeout=10)
    assert response.status_code == 200
    return response.json()


def test_every_answer_is_logged_with_its_query_and_no_raw_identifier(base, assistant):
    answer = ask(base, "中标公司是哪家")
    telegram = assistant.answer("三公经费多少", "tg:987654321", "tg:987654321", "telegram")
    log = assistant.question_log
    assert log.flush()
    raw = log.path.read_bytes() + b"".join(p.read_bytes() for p in log.path.parent.glob(log.path.name + "-wal"))
    assert b"127.0.0.1" not in raw and b"987654321" not in raw
    conn = sqlite3.connect(log.path)
    row = conn.execute("SELECT channel, user, status, unknown, query FROM entries WHERE id = ?", (answer["id"],)).fetchone()
    assert row[0] == "web" and len(row[1]) == 20 and row[2] == "not_found"
    assert "中标公司" in json.loads(row[3]) and json.loads(row[4])[0]["operation"]
    logged = conn.execute("SELECT channel, documents, figures FROM entries WHERE id = ?", (telegram.id,)).fetchone()
    assert logged[0] == "telegram" and json.loads(logged[2])[0]["value"] == telegram.figures[0].value


def test_feedback_round_trip_and_its_errors(base, assistant):
    answer = ask(base, "三公经费多少")
    post = lambda body: httpx.post(base + "/api/feedback", json=body, timeout=10)  # noqa: E731
    assert post({"answer_id": answer["id"], "rating": "up"}).status_code == 200
    assert post({"answer_id": answer["id"], "rating": "down", "comment": "没回答我的问题"}).status_code == 200
    assert post({"answer_id": "x" * 22, "rating": "up"}).json()["error"] == "unknown_answer"
    assert post({"answer_id": answer["id"], "rating": "meh"}).status_code == 422
    assert post({"answer_id": answer["id"], "rating": "up", "comment": 5}).status_code == 422
    assert assistant.question_log.flush()
    rows = sqlite3.connect(assistant.question_log.path).execute(
        "SELECT rating, comment FROM feedback WHERE answer_id = ?", (answer["id"],)).fetchall()
    assert rows == [("down", "没回答我的问题")]  # the latest word on an answer counts


def test_the_rows_behind_an_answer_export_exactly(base, assistant):
    answer = ask(base, "信息安全事务预算多少")
    response = httpx.get(f"{base}/api/answers/{answer['id']}/rows.csv", timeout=10)
    assert response.status_code == 200 and response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    cited = answer["citations"][0]
    mine = [r for r in rows if r["表"] == cited["table"] and r["行号"] == str(cited["line"])]
    stored = {c: v for c, v in assistant.conn.execute(
        "SELECT f.column, f.value FROM facts f JOIN tables t ON t.id = f.table_id WHERE t.name = ? AND f.line = ?",
        (cited["table"], cited["line"]))}
    assert {r["栏目"]: r["内容"] for r in mine if r["类型"] == "金额"} == stored
    codes = [r["内容"] for r in mine if r["类型"] == "文字" and r["内容"].isdigit()]
    printed = [c for c in json.loads(assistant.conn.execute(
        "SELECT r.cells FROM rows r JOIN tables t ON t.id = r.table_id WHERE t.name = ? AND r.line = ?",
        (cited["table"], cited["line"])).fetchone()[0]) if c.strip().isdigit()]
    assert codes == printed and any(c.startswith("0") for c in codes)  # 类/款 codes such as "01" keep their zero
    assert all(r["单位"] == "万元" for r in mine if r["类型"] == "金额") and all(r["文件"] == cited["document"] for r in mine)
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(httpx.get(f"{base}/api/answers/{answer['id']}/rows.xlsx", timeout=10).content))
    sheet = [row for row in book.active.iter_rows(values_only=True)]
    amounts = {r[7]: r[8] for r in sheet[1:] if r[9] == "金额" and r[3] == cited["table"]}
    assert {k: Decimal(str(v)).quantize(Decimal("0.01")) for k, v in amounts.items()} == {k: Decimal(v) for k, v in stored.items()}
    assert all(isinstance(r[8], str) for r in sheet[1:] if r[9] == "文字")
    assert httpx.get(f"{base}/api/answers/{'y' * 22}/rows.csv").status_code == 404
    assert httpx.get(f"{base}/api/answers/{answer['id']}/rows.pdf").status_code == 404


def test_without_a_log_feedback_is_refused_clearly(settings, assistant):
    from bot.core import Assistant
    from bot.lexicon import load_lexicon

    silent = Assistant(settings.db_path, load_lexicon(settings.knowledge_dir), settings.cache_dir)
    with serve(Settings.from_env({}), silent) as url:
        answer = httpx.post(url + "/api/ask", json={"question": "三公经费多少"}).json()
        refused = httpx.post(url + "/api/feedback", json={"answer_id": answer["id"], "rating": "up"})
    assert refused.status_code == 503 and refused.json()["error"] == "log_disabled"


def test_an_unusable_log_location_costs_the_log_not_the_answer(settings, assistant, tmp_path, caplog):
    from bot.question_log import open_log

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert open_log(Settings.from_env({"BUDGETBOT_LOG": str(blocker / "q.sqlite")})) is None
    assert "不能用作问题日志" in caplog.text
    assert Settings.from_env({"BUDGETBOT_LOG": "off"}).log_path is None


def test_the_log_is_pruned_to_its_retention(tmp_path):
    log = QuestionLog(tmp_path / "q.sqlite", days=1, rows=500)
    now = time.time()
    for n in range(2000):
        log.record(_entry(f"id{n:05d}", now - (3 * 86400 if n < 100 else 0), "web", "answered", []))
    assert log.flush()
    count = sqlite3.connect(tmp_path / "q.sqlite").execute("SELECT COUNT(*), MIN(time) FROM entries").fetchone()
    assert count[0] <= 1500 and count[1] >= now - 86400  # pruned every 1,000 writes: old ones first, then the cap


def _entry(answer_id: str, when: float, channel: str, status: str, unknown: list[str], question: str = "三公经费多少",
           elapsed: float = 1.0) -> dict:
    return {"id": answer_id, "time": when, "channel": channel, "user": "u", "question": question, "status": status,
            "text": "回答", "query": [], "unknown": unknown, "documents": [], "figures": [], "citations": [],
            "elapsed_ms": elapsed}


def test_the_report_counts_match_a_seeded_log(tmp_path):
    rng = random.Random(7)
    log = QuestionLog(tmp_path / "q.sqlite")
    now = time.time()
    expected_status, expected_words, expected_down, expected_questions = {}, {}, 0, {}
    for n in range(600):
        status = rng.choice(["answered", "answered", "clarify", "not_found"])
        words = rng.sample(["中标公司", "牌子", "合同"], rng.randint(0, 2))
        question = rng.choice(["三公经费多少", "三公经费多少？", "基本支出多少", "项目有哪些"])
        old = n % 10 == 0  # outside the window
        log.record(_entry(f"a{n:04d}", now - (9 * 86400 if old else rng.uniform(0, 6 * 86400)),
                          rng.choice(["web", "telegram"]), status, words, question, elapsed=n))
        if not old:
            expected_status[status] = expected_status.get(status, 0) + 1
            for word in words:
                expected_words[word] = expected_words.get(word, 0) + 1
            key = question.rstrip("？")
            expected_questions[key] = expected_questions.get(key, 0) + 1
            if n % 7 == 0:
                log.feedback(f"a{n:04d}", "down", "数字不对", "web")
                expected_down += 1
    assert log.flush()
    report = gather(tmp_path / "q.sqlite", since_seconds("7d"))
    assert report["total"] == 540 and report["statuses"] == expected_status
    assert dict(report["not_understood"]) == expected_words
    assert {q.rstrip("？"): n for q, n in report["most_asked"]} == expected_questions  # width and punctuation fold
    assert len(report["down"]) == expected_down and all(d["comment"] == "数字不对" for d in report["down"])
    assert report["slowest"][0][2] == max(n for n in range(600) if n % 10)
    assert sum(n for _, n in report["per_day"]) == 540


def test_report_command_formats(tmp_path):
    import subprocess
    import sys

    from bot.config import PROJECT_ROOT

    log = QuestionLog(tmp_path / "questions.sqlite")
    log.record(_entry("only-one-entry-aaaa", time.time(), "web", "not_found", ["中标公司"], "中标公司是哪家"))
    log.feedback("only-one-entry-aaaa", "down", "<script>x</script>", "web")
    assert log.flush()
    env = {"BUDGETBOT_DB": str(tmp_path / "budget.sqlite"), "PATH": "/usr/bin:/bin"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "bot.cli", "report", *a], capture_output=True,  # noqa: E731
                                    env=env, cwd=PROJECT_ROOT, timeout=60)
    text = run().stdout.decode()
    assert "共 1 个问题" in text and "中标公司" in text and "<script>x</script>" in text
    page = run("--format", "html").stdout.decode()
    assert page.startswith("<!doctype html>") and "&lt;script&gt;" in page and "<script>" not in page
    table = list(csv.reader(io.StringIO(run("--format", "csv").stdout.decode("utf-8-sig"))))
    assert ["没听懂的词", "中标公司", "1", ""] in table
    assert run("--since", "soon").returncode == 2


def test_browse_metadata_describes_real_tables_and_its_queries_run(assistant):
    from bot.browse import metadata

    described = metadata("budget")["databases"]["budget"]
    for table, info in described["tables"].items():
        columns = {r[1] for r in assistant.conn.execute(f"PRAGMA table_info({table})")}
        assert columns and set(info["columns"]) <= columns, table
    for query in described["queries"].values():
        rows = assistant.conn.execute(query["sql"]).fetchall()
        assert rows, query["title"]

"""The Telegram channel end to end: the real PTB Application, its real HTTP client and the real answering
core, against a fake Bot API server on 127.0.0.1 (tests/fake_bot_api.py). A test queues updates the way
Telegram would deliver them and asserts on the request bodies the bot sent back.
"""

from __future__ import annotations

import asyncio
import json
import os
import io
import re
import sqlite3
import signal
import sys
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
import pytest
from telegram.ext import AIORateLimiter

from bot.answer import Answer, Citation
from bot.config import PROJECT_ROOT, Settings
from bot.telegram_bot import (
    ALLOWED_UPDATES,
    COMMANDS,
    UserRateLimit,
    build_application,
    main,
)
from bot.telegram_render import (
    APOLOGY,
    EXAMPLE_QUESTIONS,
    HELP,
    NOT_TEXT,
    RATE_NOTICE,
    UNKNOWN_COMMAND,
    Line,
    answer_lines,
    to_messages,
)
from bot.telegram_webhook import webhook_app
from tests.fake_bot_api import FakeBot, FakeBotApi, Recorded, parse_html

THREE_PUBLIC_TABLE = "一般公共预算“三公”经费支出情况表"
GOLDEN = Path(__file__).parent / "data" / "questions.jsonl"


class Recording:
    """The real core, recording what it was asked; `scripted` replaces the answer to given questions
    (only the split test uses it: no real answer comes near Telegram's 4096 characters)."""

    def __init__(self, core) -> None:
        self.core = core
        self.asked: list[tuple[str, str]] = []
        self.answers: dict[str, Answer] = {}  # the latest answer per session id
        self.scripted: dict[str, Answer] = {}

    def answer(self, question: str, session_id: str, owner: str = "", channel: str = "") -> Answer:
        self.asked.append((question, session_id))
        answer = self.scripted.get(question) or self.core.answer(question, session_id, owner, channel)
        self.answers[session_id] = answer
        return answer

    @property
    def question_log(self):
        return self.core.question_log

    @property
    def by_source(self):
        return self.core.by_source

    @property
    def conn(self):
        return self.core.conn

    def last_answer(self, session_id: str) -> Answer | None:
        return self.core.last_answer(session_id)

    def overview(self) -> list[dict]:
        return self.core.overview()


@pytest.fixture
def recording(assistant) -> Recording:
    """The session's real core (tests/conftest.py), wrapped to record this test's questions."""
    return Recording(assistant)


@pytest.fixture
async def api():
    async with FakeBotApi.running() as api:
        yield api


@asynccontextmanager
async def polling_bot(api: FakeBotApi, assistant, env: dict | None = None, **options):
    """The bot as `run_polling` runs it (post_init, then polling), on a fresh token of the fake API."""
    fake = api.new_bot()
    settings = Settings.from_env({"TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": api.base_url, **(env or {})})
    application = build_application(settings, assistant, **options)
    async with application:
        await application.post_init(application)
        await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)  # as run_polling in main()
        await application.start()
        try:
            yield fake
        finally:
            await application.updater.stop()
            await application.stop()


@pytest.fixture
async def start_bot(api, recording):
    """Start a bot with extra environment or `build_application` options; stopped after the test."""
    async with AsyncExitStack() as stack:

        async def start(env: dict | None = None, **options) -> FakeBot:
            return await stack.enter_async_context(polling_bot(api, recording, env, **options))

        yield start


@pytest.fixture
async def bot(start_bot) -> FakeBot:
    return await start_bot()


def shown(sent: Recorded) -> str:
    """The message as a Telegram client shows it: the fake server's parse of the HTML that was sent."""
    return (sent.result or {}).get("text", "")


TOOLS = re.compile(r"^(up|dn|xl|r1|r2):")


def buttons(sent: Recorded) -> list[dict]:
    """The question buttons of a message (the 👍 / 👎 / 下载数据 row under an answer left out)."""
    markup = sent.json("reply_markup")
    every = [button for row in markup["inline_keyboard"] for button in row] if markup else []
    return [b for b in every if not TOOLS.match(b.get("callback_data", ""))]


def tool_buttons(sent: Recorded) -> dict[str, str]:
    markup = sent.json("reply_markup")
    every = [button for row in markup["inline_keyboard"] for button in row] if markup else []
    return {b["text"]: b["callback_data"] for b in every if TOOLS.match(b.get("callback_data", ""))}


async def test_polls_like_telegram_and_answers_a_plain_question(bot, assistant, recording):
    user = bot.user_ids[0]
    await bot.send_text("三公经费多少")
    [sent] = await bot.wait_for("sendMessage", chat_id=user)
    assert sent.content_type == "application/x-www-form-urlencoded"  # what PTB 22 really sends
    assert sent["parse_mode"] == "HTML"
    assert "4.30" in shown(sent) and THREE_PUBLIC_TABLE in shown(sent)
    assert isinstance(sent["reply_markup"], str)  # a JSON string inside the form
    assert [b["text"] for b in buttons(sent)] == assistant.last_answer(f"tg:{user}").suggestions
    assert recording.asked == [("三公经费多少", f"tg:{user}")]
    assert [r.method for r in bot.requests][:3] == ["getMe", "setMyCommands", "deleteWebhook"]
    polls = bot.calls("getUpdates")
    assert polls[0]["timeout"] == "10" and json.loads(polls[0]["allowed_updates"]) == ["message", "callback_query"]
    await bot.wait_for("getUpdates", offset=2)  # the next poll confirms update 1
    commands = [c["command"] for c in bot.calls("setMyCommands")[0].json("commands")]
    assert commands == ["start", "help", "tables", "source"]


async def test_follow_up_uses_the_chat_session(bot, recording):
    await bot.send_text("局本级预算多少")
    [first] = await bot.wait_for("sendMessage")
    await bot.send_text("那大数据中心呢？")
    _, follow_up = await bot.wait_for("sendMessage", count=2)
    assert "430.83" in shown(first)
    assert "大数据中心" in shown(follow_up) and "1359.80" in shown(follow_up)
    assert {session for _, session in recording.asked} == {f"tg:{bot.user_ids[0]}"}


async def test_clarify_offers_buttons_and_a_tap_answers(bot, assistant, recording):
    await bot.send_text("一般行政管理事务多少钱")
    [clarify] = await bot.wait_for("sendMessage")
    expected = assistant.last_answer(f"tg:{bot.user_ids[0]}")
    assert expected.status == "clarify", f"the core should ask which of 2010302/2013702 is meant: {expected.text}"
    options, keys = expected.options, buttons(clarify)
    assert [b["text"] for b in keys] == [*options, *expected.suggestions] and len(options) >= 2
    assert all(len(b["callback_data"].encode()) <= 64 for b in keys)  # short keys, not the option text
    await bot.tap(clarify, keys[0]["callback_data"])
    [ack] = await bot.wait_for("answerCallbackQuery")
    assert ack.get("text") is None  # answered, so the button stops spinning
    _, reply = await bot.wait_for("sendMessage", count=2)
    assert recording.asked[-1] == (options[0], f"tg:{bot.user_ids[0]}")
    assert shown(reply).startswith(f"问：{options[0]}\n")
    assert assistant.last_answer(f"tg:{bot.user_ids[0]}").figures[0].value in shown(reply)


async def test_start_greets_with_example_buttons(bot):
    await bot.send_text("/start")
    [greeting] = await bot.wait_for("sendMessage")
    assert "您好" in shown(greeting)
    examples = buttons(greeting)
    assert [b["text"] for b in examples] == list(EXAMPLE_QUESTIONS)
    await bot.tap(greeting, examples[0]["callback_data"])
    _, reply = await bot.wait_for("sendMessage", count=2)
    assert shown(reply).startswith(f"问：{EXAMPLE_QUESTIONS[0]}") and "4.30" in shown(reply)


async def test_help_tables_and_what_is_not_a_question(bot, assistant, recording):
    location = bot.text_update("")
    del location["message"]["text"]
    location["message"]["location"] = {"latitude": 33.0, "longitude": 112.5}
    await bot.send_text("/help")
    await bot.send_text("/tables")
    await bot.queue(location)
    await bot.send_text("/nonsense")
    help_, tables, not_text, unknown = await bot.wait_for("sendMessage", count=4)
    assert shown(help_) == HELP
    for document in assistant.overview():
        assert document["document"] in shown(tables)
        assert all(table["title"] in shown(tables) for table in document["tables"])
    assert shown(not_text) == NOT_TEXT and shown(unknown) == UNKNOWN_COMMAND
    assert recording.asked == []


async def test_source_cites_document_table_row_and_line(bot, assistant):
    await bot.send_text("/source")
    await bot.send_text("三公经费多少")
    await bot.send_text("/source")
    empty, _, source = await bot.wait_for("sendMessage", count=3)
    assert "先问一个问题" in shown(empty)
    last = assistant.last_answer(f"tg:{bot.user_ids[0]}")
    assert last.citations
    for citation in last.citations:
        assert f"文件：{citation.document}" in shown(source)
        assert f"表：{citation.table}" in shown(source)
        assert f"行：{citation.row}" in shown(source)
        assert f"原文第 {citation.line} 行" in shown(source)


async def test_html_in_the_question_reaches_the_core_intact(bot, recording):
    question = "<b>三公</b> & 经费多少"
    await bot.send_text(question)
    [sent] = await bot.wait_for("sendMessage")
    assert recording.asked == [(question, f"tg:{bot.user_ids[0]}")]  # not escaped, not stripped
    assert "4.30" in shown(sent)  # and the reply was valid HTML for Telegram


def test_html_is_escaped_both_in_answers_and_echoed_questions():
    answer = Answer("answered", "A <b>x</b> & y\n1 < 2 > 0", citations=[Citation("d.txt", "表<1>&", "行", 3)])
    [message] = to_messages(answer_lines(answer, asked="<i>问</i> & 答"))
    assert "<b>问：&lt;i&gt;问&lt;/i&gt; &amp; 答</b>" in message
    assert parse_html(message).splitlines() == ["问：<i>问</i> & 答", "A <b>x</b> & y", "1 < 2 > 0",
                                                "来源：《表<1>&》（/source 查看完整出处）"]  # fmt: skip


async def test_long_answer_is_split_at_line_boundaries(bot, recording):
    question = "列出所有项目的全部明细"
    lines = [f"· 第{n}项 <项目> & 说明：{n}.00 万元" for n in range(400)]
    recording.scripted[question] = Answer("answered", "\n".join(lines), suggestions=["有几个项目"])
    await bot.send_text(question)
    await bot.send_text("/help")  # replies come in order: every part is in once the help text is
    await bot.wait_for("sendMessage", where=lambda r: shown(r) == HELP)
    *parts, _ = bot.calls("sendMessage")
    # the fake server refuses HTML it cannot parse and texts over 4096 characters, so each part passed
    assert len(parts) >= 2
    assert "\n".join(shown(p) for p in parts).splitlines() == lines  # whole lines, in order, none lost
    assert [bool(buttons(p)) for p in parts] == [False] * (len(parts) - 1) + [True]


def test_split_keeps_lines_and_tags_whole():
    lines = [Line("标题", "b")] + [Line(f"第{i}行 & <x>") for i in range(1000)] + [Line("长" * 5000, "i")]
    messages = to_messages(lines)
    assert all(len(m.encode("utf-16-le")) // 2 <= 4096 for m in messages)
    assert "".join(parse_html(m).replace("\n", "") for m in messages) == "".join(line.text for line in lines)


async def test_allow_list_refuses_others_politely(start_bot, recording):
    staff = 7  # the users of fake bots are numbered from 1_000_000
    bot = await start_bot(env={"TELEGRAM_ALLOWED_USERS": f"{staff}，8"})
    stranger = bot.user_ids[0]
    await bot.send_text("三公经费多少", user_id=stranger)
    await bot.send_text("三公经费多少", user_id=staff)
    [answer] = await bot.wait_for("sendMessage", chat_id=staff)
    [refusal] = bot.calls("sendMessage", chat_id=stranger)
    assert "抱歉" in shown(refusal) and str(stranger) in shown(refusal) and "4.30" not in shown(refusal)
    assert "4.30" in shown(answer)
    await bot.tap(answer, buttons(answer)[0]["callback_data"], user_id=stranger)
    [alert] = await bot.wait_for("answerCallbackQuery")
    assert alert["show_alert"] == "true" and "抱歉" in alert["text"]
    assert [session for _, session in recording.asked] == [f"tg:{staff}"]


async def test_group_answers_only_when_addressed(bot, recording):
    group_id = -bot.user_ids[0]
    group = {"chat_id": group_id, "chat_type": "supergroup"}
    await bot.send_text("三公经费多少", **group)
    await bot.send_text("/help@some_other_bot", **group)
    mention = await bot.send_text("@budget_test_bot 三公经费多少", **group)
    [first] = await bot.wait_for("sendMessage", chat_id=group_id)
    assert "4.30" in shown(first)
    assert first.json("reply_parameters")["message_id"]  # it quotes the question it answers
    await bot.send_text("局本级预算多少", user_id=bot.user_ids[1], reply_to=first.result, **group)
    await bot.send_text("/tables@budget_test_bot", **group)
    await bot.send_text("那大数据中心呢@Budget_Test_Bot", **group)
    _, reply, tables, follow_up = await bot.wait_for("sendMessage", count=4, chat_id=group_id)
    assert "430.83" in shown(reply) and "部门收支总体情况表" in shown(tables) and "1359.80" in shown(follow_up)
    assert len(bot.calls("sendMessage")) == 4  # nothing for the two messages not addressed to the bot
    assert [q for q, _ in recording.asked] == ["三公经费多少", "局本级预算多少", "那大数据中心呢"]  # mentions stripped
    assert mention


async def test_rate_limit_notices_once(start_bot):
    bot = await start_bot(user_limit=UserRateLimit(per_minute=0, burst=2))
    for _ in range(4):
        await bot.send_text("三公经费多少")
    other = bot.user_ids[1]
    await bot.send_text("三公经费多少", user_id=other)
    await bot.wait_for("sendMessage", chat_id=other)  # updates are handled in order: the first four are done
    texts = [shown(r) for r in bot.calls("sendMessage", chat_id=bot.user_ids[0])]
    assert len(texts) == 3 and "4.30" in texts[1] and texts[2] == RATE_NOTICE


def test_user_rate_limit_refills():
    now = [0.0]
    limit = UserRateLimit(per_minute=6, burst=1, clock=lambda: now[0])
    assert [limit.check(1), limit.check(1), limit.check(1), limit.check(2)] == ["ok", "notify", "drop", "ok"]
    now[0] += 10  # one token every ten seconds
    assert [limit.check(1), limit.check(1)] == ["ok", "notify"]


async def test_error_handler_apologises_and_keeps_running(bot):
    bot.fail_next("sendMessage", 400, "Bad Request: can't parse entities")
    await bot.send_text("三公经费多少")
    [_, apology] = await bot.wait_for("sendMessage", count=2)
    assert shown(apology) == APOLOGY
    await bot.send_text("三公经费多少")
    assert "4.30" in shown((await bot.wait_for("sendMessage", count=3))[-1])


async def test_expired_button(bot):
    await bot.send_text("三公经费多少")
    [sent] = await bot.wait_for("sendMessage")
    await bot.tap(sent, "q999")
    [ack] = await bot.wait_for("answerCallbackQuery")
    assert "过期" in ack["text"]


async def test_webhook_mode_through_the_web_app(api, assistant):
    fake = api.new_bot()
    env = {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/hook",
        "TELEGRAM_WEBHOOK_SECRET": "s3cret-_token",
    }
    settings = Settings.from_env(env)
    application = build_application(settings, assistant)
    assert application.updater is None
    app = webhook_app(settings, assistant, application)
    async with app.router.lifespan_context(app):
        [hook] = fake.calls("setWebhook")
        assert hook["url"] == env["TELEGRAM_WEBHOOK_URL"] and hook["secret_token"] == env["TELEGRAM_WEBHOOK_SECRET"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.org") as client:
            update = fake.text_update("三公经费多少")
            for wrong in ({}, {"X-Telegram-Bot-Api-Secret-Token": "guess"}):
                assert (await client.post("/telegram/hook", json=update, headers=wrong)).status_code == 403
            headers = {"X-Telegram-Bot-Api-Secret-Token": env["TELEGRAM_WEBHOOK_SECRET"]}
            for junk in (b"{", b"[]", b'{"message": {}}', b"[" * 100_000):
                assert (await client.post("/telegram/hook", content=junk, headers=headers)).status_code == 400
            huge = b'{"update_id": 1, "message": {"text": "' + b"a" * (20 * 2**20) + b'"}}'
            assert (await client.post("/telegram/hook", content=huge, headers=headers)).status_code == 413
            assert (await client.post("/telegram/hook", json=update, headers=headers)).status_code == 200
            [sent] = await fake.wait_for("sendMessage")
            assert (await client.get("/healthz")).status_code == 200  # the web app is served alongside
    assert "4.30" in shown(sent)
    assert not fake.calls("getUpdates") and fake.calls("setMyCommands")


async def test_golden_questions_show_the_core_answer(start_bot, recording):
    """Every question of tests/data/questions.jsonl, in its own chat after its context: Telegram shows
    exactly the text of the answer the core gave, and its options and suggestions as buttons."""
    rows = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    bot = await start_bot(rate_limiter=AIORateLimiter(overall_max_rate=0, group_max_rate=0),
                          user_limit=UserRateLimit(burst=100))  # fmt: skip
    for row, chat in zip(rows, bot.user_ids):
        for question in [*row["context"], row["question"]]:
            await bot.send_text(question, user_id=chat)
    await bot.wait_for("sendMessage", count=sum(len(row["context"]) + 1 for row in rows), timeout=60)
    wrong = []
    for row, chat in zip(rows, bot.user_ids):
        answer, sent = recording.answers[f"tg:{chat}"], bot.calls("sendMessage", chat_id=chat)[-1]
        text = parse_html("\n".join(line.html() for line in answer_lines(answer)))
        keys = [*(answer.options if answer.status == "clarify" else []), *answer.suggestions]
        if shown(sent) != text or [b["text"] for b in buttons(sent)] != keys:
            wrong.append((row["id"], row["question"], shown(sent)))
    assert not wrong
    assert len(recording.asked) == sum(len(row["context"]) + 1 for row in rows)


def test_missing_token_exits_2_with_one_line(capsys):
    assert main(Settings.from_env({})) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN" in err and "Traceback" not in err
    webhook = {"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/hook"}
    assert main(Settings.from_env(webhook)) == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in capsys.readouterr().err


def test_deploy_docs_are_honest():
    """The env example documents every variable bot/config.py reads and loads as is; the guide names
    every Telegram variable and command."""
    example = PROJECT_ROOT / "deploy" / "budgetbot.env.example"
    guide = (PROJECT_ROOT / "deploy" / "TELEGRAM.md").read_text(encoding="utf-8")
    names = set(re.findall(r'(?:env\.get\(|_number\(env, )"([A-Z_]+)"', (PROJECT_ROOT / "bot" / "config.py").read_text(encoding="utf-8")))
    documented = set(re.findall(r"^#? ?([A-Z_]+)=", example.read_text(encoding="utf-8"), re.MULTILINE))
    assert names and names <= documented
    assert all(name in guide for name in names if name.startswith("TELEGRAM_"))
    assert all(f"/{command}" in guide for command, _ in COMMANDS)
    settings = Settings.from_env({"BUDGETBOT_ENV_FILE": str(example)})
    assert settings.telegram_token and settings.telegram_webhook_url is None


async def test_budgetbot_telegram_serves_until_interrupted(api, settings, assistant):
    """`python -m bot.cli telegram` in a child process: polls the fake API, answers, stops cleanly on SIGINT."""
    fake = api.new_bot()
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_BASE_URL": api.base_url,
        "BUDGETBOT_DB": str(settings.db_path),  # built by the session's assistant
        "BUDGETBOT_CACHE": str(settings.cache_dir),
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "telegram", env=env, cwd=PROJECT_ROOT, stderr=asyncio.subprocess.PIPE
    )
    await fake.send_text("三公经费多少")
    replied = asyncio.ensure_future(fake.wait_for("sendMessage", timeout=60))
    await asyncio.wait([replied, asyncio.ensure_future(child.wait())], return_when=asyncio.FIRST_COMPLETED)
    if child.returncode is None:
        child.send_signal(signal.SIGINT)
    _, err = await child.communicate()
    if not replied.done():
        replied.cancel()
        pytest.fail(f"budgetbot telegram exited early ({child.returncode}): {err.decode()}")
    [sent] = replied.result()
    assert "4.30" in shown(sent)
    assert child.returncode == 0, err.decode()
    assert "Traceback" not in err.decode() and fake.token not in err.decode()


async def test_feedback_and_export_buttons_under_an_answer(bot, assistant):
    await bot.send_text("三公经费多少")
    [sent] = await bot.wait_for("sendMessage")
    tools = tool_buttons(sent)
    assert set(tools) == {"👍", "👎", "下载数据"}
    answer_id = tools["👍"].split(":", 1)[1]
    await bot.tap(sent, tools["👎"])
    [_, why] = await bot.wait_for("sendMessage", count=2)
    assert "哪里不对" in shown(why)
    reason = next(b for row in why.json("reply_markup")["inline_keyboard"] for b in row if b["text"] == "数字不对")
    await bot.tap(why, reason["callback_data"])
    await bot.wait_for("answerCallbackQuery", count=2)
    prompt = bot.messages[(int(why["chat_id"]), why.result["message_id"])]
    await bot.send_text("出国经费应该是 0", reply_to=prompt)  # a free-text comment: a reply to the prompt
    [*_, thanks] = await bot.wait_for("sendMessage", count=3)
    assert shown(thanks) == "谢谢反馈！"
    await bot.tap(sent, tools["下载数据"])
    [document] = await bot.wait_for("sendDocument")
    from openpyxl import load_workbook

    sheet = list(load_workbook(io.BytesIO(document["document"])).active.iter_rows(values_only=True))
    assert document["document_filename"].endswith(".xlsx") and sheet[0][0] == "文件"
    assert any(r[8] is not None and str(r[8]).startswith("4.3") and r[9] == "金额" for r in sheet[1:])
    log = assistant.question_log
    assert log.flush()
    rows = sqlite3.connect(log.path).execute("SELECT rating, comment, channel FROM feedback WHERE answer_id = ?",
                                             (answer_id,)).fetchall()
    assert rows == [("down", "出国经费应该是 0", "telegram")]  # the latest word counts


async def test_a_ranking_of_more_than_three_comes_with_a_chart_picture(bot):
    from bot.charts import cjk_font

    if cjk_font() is None:
        pytest.skip("没有中文字体：图表图片不发送")
    await bot.send_text("项目支出前五名")
    [sent] = await bot.wait_for("sendMessage")
    [photo] = await bot.wait_for("sendPhoto")
    assert photo["photo"][:8] == b"\x89PNG\r\n\x1a\n" and "条形图" in photo["caption"]
    assert all(label in photo["caption"] for label in re.findall(r"\d\. (.+?)：", shown(sent)))

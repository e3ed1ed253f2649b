"""Telegram channel: a python-telegram-bot v22 `Application` over the shared answering core.

`build_application(settings, assistant)` wires the handlers; `main(settings)` runs long polling,
or, when `TELEGRAM_WEBHOOK_URL` is set, serves the webhook from the web app (`bot.telegram_webhook`).
Everything the bot says about the budget comes from `assistant.answer()`, rendered by
`bot.telegram_render`.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.answer import CLARIFY
from bot.charts import cjk_font, describe, png
from bot.config import Settings
from bot.exports import as_xlsx, cited_rows
from bot.telegram_render import (
    APOLOGY,
    EMPTY,
    EXAMPLE_QUESTIONS,
    EXPIRED,
    GREETING,
    HELP,
    NOT_TEXT,
    RATE_NOTICE,
    REFUSAL,
    TOO_LONG,
    UNKNOWN_COMMAND,
    Line,
    answer_lines,
    overview_lines,
    source_lines,
    to_messages,
)

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
COMMANDS = (
    ("start", "开始使用，查看示例问题"),
    ("help", "使用说明"),
    ("tables", "查看已载入的预算表"),
    ("source", "查看上一个回答的完整出处"),
)
MAX_STORED_BUTTONS = 200  # per chat; older buttons answer "已过期"
FEEDBACK_REASONS = {"r1": "数字不对", "r2": "没回答我的问题"}
THANKS = "谢谢反馈！"
WHY_DOWN = "哪里不对？点一下原因，或者直接回复这条消息写几句，帮我们改进。"

MISSING_TOKEN = "错误：未设置环境变量 TELEGRAM_BOT_TOKEN（向 @BotFather 申请机器人后获得）。"
MISSING_SECRET = "错误：设置了 TELEGRAM_WEBHOOK_URL，但未设置环境变量 TELEGRAM_WEBHOOK_SECRET。"


class UserRateLimit:
    """Token bucket per user id: `burst` questions at once, refilled at `per_minute`.

    `check` says "ok", "notify" (first refusal of a streak: tell the user once) or "drop".
    """

    def __init__(self, per_minute: float = 20, burst: int = 5, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_minute / 60
        self.burst = burst
        self.clock = clock
        self._buckets: dict[int, tuple[float, float, bool]] = {}  # user id -> (tokens, stamp, noticed)

    def check(self, user_id: int) -> str:
        now = self.clock()
        tokens, stamp, noticed = self._buckets.get(user_id, (self.burst, now, False))
        tokens = min(self.burst, tokens + (now - stamp) * self.per_second)
        if tokens >= 1:
            self._buckets[user_id] = (tokens - 1, now, False)
            self._forget_full(now)
            return "ok"
        self._buckets[user_id] = (tokens, now, True)
        return "drop" if noticed else "notify"

    def _forget_full(self, now: float) -> None:
        if len(self._buckets) > 10_000:  # users whose bucket has refilled need no entry
            full = [u for u, (t, s, _) in self._buckets.items() if t + (now - s) * self.per_second >= self.burst]
            for user_id in full:
                del self._buckets[user_id]


def session_id(chat_id: int) -> str:
    return f"tg:{chat_id}"


def _addressed_to_bot(message: Message | None, username: str, bot_id: int) -> bool:
    """Private chats always; in groups only a mention, a reply to the bot, or a command for it."""
    if message is None:
        return False
    if message.chat.type == ChatType.PRIVATE:
        return True
    reply = message.reply_to_message
    if reply is not None and reply.from_user is not None and reply.from_user.id == bot_id:
        return True
    for entity, text in message.parse_entities([MessageEntity.MENTION, MessageEntity.BOT_COMMAND]).items():
        if entity.type == MessageEntity.MENTION and text[1:].lower() == username.lower():
            return True
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            target = text.partition("@")[2]
            if not target or target.lower() == username.lower():
                return True
    return False


def _remember_questions(chat_data: dict, questions: Sequence[str]) -> list[str]:
    """Store button questions per chat under short keys (Telegram allows 64 bytes of callback_data)."""
    stored: dict[str, str] = chat_data.setdefault("buttons", {})
    counter = chat_data.get("button_counter", 0)
    keys = []
    for question in questions:
        counter += 1
        keys.append(f"q{counter}")
        stored[keys[-1]] = question
    chat_data["button_counter"] = counter
    for old in list(stored)[: max(0, len(stored) - MAX_STORED_BUTTONS)]:
        del stored[old]
    return keys


def _keyboard(chat_data: dict, questions: Sequence[str], answer_id: str | None = None,
              exportable: bool = False) -> InlineKeyboardMarkup | None:
    """Question buttons, then (under an answer) 👍 / 👎 and, when it cites rows, the spreadsheet button."""
    keys = _remember_questions(chat_data, questions)
    rows = [[InlineKeyboardButton(q, callback_data=k)] for q, k in zip(questions, keys)]
    if answer_id:
        tools = [InlineKeyboardButton("👍", callback_data=f"up:{answer_id}"),
                 InlineKeyboardButton("👎", callback_data=f"dn:{answer_id}")]
        if exportable:
            tools.append(InlineKeyboardButton("下载数据", callback_data=f"xl:{answer_id}"))
        rows.append(tools)
    return InlineKeyboardMarkup(rows) if rows else None


async def _send(
    message: Message, lines: list[Line], markup: InlineKeyboardMarkup | None = None, *, quote: bool = False
) -> None:
    """Send lines as one or more HTML messages; the keyboard goes under the last one."""
    chunks = to_messages(lines)
    for n, chunk in enumerate(chunks):
        await message.reply_text(
            chunk,
            parse_mode=ParseMode.HTML,
            reply_markup=markup if n == len(chunks) - 1 else None,
            do_quote=quote and n == 0,
        )


async def _answer(message: Message, context: ContextTypes.DEFAULT_TYPE, question: str, *, tapped: bool) -> None:
    answer = context.bot_data["assistant"].answer(question, session_id(message.chat.id), f"tg:{message.chat.id}",
                                                  "telegram")
    buttons = answer.options if answer.status == CLARIFY else []
    logged = context.bot_data["assistant"].question_log is not None
    markup = _keyboard(context.chat_data, [*buttons, *answer.suggestions], answer.id if logged else None,
                       bool(answer.citations))
    lines = answer_lines(answer, asked=question if tapped else None)
    await _send(message, lines, markup, quote=not tapped and message.chat.type != ChatType.PRIVATE)
    if answer.chart and len(answer.chart["bars"]) > 3:  # a picture reads faster than many lines
        picture = png(answer.chart, cjk_font())
        if picture is not None:
            await message.reply_photo(picture, caption=describe(answer.chart)[:1000])


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Runs before every handler: group addressing, the allow-list, the per-user rate limit."""
    query, user = update.callback_query, update.effective_user
    if user is None or (query is None and not _addressed_to_bot(update.message, context.bot.username, context.bot.id)):
        raise ApplicationHandlerStop
    allowed: frozenset[int] = context.bot_data["settings"].telegram_allowed_users
    verdict = context.bot_data["user_limit"].check(user.id)  # refusals count too: no one floods the bot
    if verdict == "ok" and allowed and user.id not in allowed:
        verdict = "refuse"
    if verdict == "ok":
        return
    notice = {"refuse": REFUSAL.format(user_id=user.id), "notify": RATE_NOTICE}.get(verdict)
    if query is not None:
        await query.answer(notice, show_alert=notice is not None)
    elif notice is not None and update.message is not None:
        await update.message.reply_text(notice, do_quote=update.message.chat.type != ChatType.PRIVATE)
    raise ApplicationHandlerStop


def _comment_target(chat_data: dict, message: Message) -> str | None:
    """The answer a message comments on: a reply to the "哪里不对？" prompt under a 👎."""
    reply = message.reply_to_message
    return chat_data.get("comment_prompts", {}).get(reply.message_id) if reply is not None else None


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.message
    commented = _comment_target(context.chat_data, message)
    log = context.bot_data["assistant"].question_log
    if commented and log is not None and log.feedback(commented, "down", message.text, "telegram"):
        await message.reply_text(THANKS)
        return
    pattern = re.compile(rf"@{re.escape(context.bot.username)}(?![A-Za-z0-9_])", re.IGNORECASE)
    question = pattern.sub(" ", message.text).strip()
    limit = context.bot_data["settings"].max_question_chars
    if not question and message.text.strip():  # only the mention: nothing to ask
        await message.reply_text(EMPTY)
    elif len(question) > limit:
        await message.reply_text(TOO_LONG.format(limit=limit))
    else:
        await _answer(message, context, question, tapped=False)


async def on_tool(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The buttons under an answer: 👍, 👎 (then why), and the rows behind it as a spreadsheet."""
    query = update.callback_query
    action, _, answer_id = query.data.partition(":")
    assistant = context.bot_data["assistant"]
    log = assistant.question_log
    entry = log.entry(answer_id) if log is not None else None
    if entry is None:
        await query.answer(EXPIRED)
        return
    if action == "xl":
        await query.answer()
        rows = cited_rows(assistant, entry["citations"])
        await query.message.reply_document(as_xlsx(rows), filename=f"budget-answer-{answer_id[:8]}.xlsx",
                                           caption=f"回答所依据的 {len(rows)} 个单元格（含出处、页码）")
        return
    rating, comment = ("up", None) if action == "up" else ("down", FEEDBACK_REASONS.get(action))
    log.feedback(answer_id, rating, comment, "telegram")
    await query.answer(THANKS)
    if action == "dn":
        reasons = [[InlineKeyboardButton(text, callback_data=f"{key}:{answer_id}")] for key, text in FEEDBACK_REASONS.items()]
        prompt = await query.message.reply_text(WHY_DOWN, reply_markup=InlineKeyboardMarkup(reasons))
        prompts: dict[int, str] = context.chat_data.setdefault("comment_prompts", {})
        prompts[prompt.message_id] = answer_id
        for old in list(prompts)[: max(0, len(prompts) - MAX_STORED_BUTTONS)]:
            del prompts[old]


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    question = context.chat_data.get("buttons", {}).get(query.data) if context.chat_data is not None else None
    await query.answer(None if question else EXPIRED)
    if question and isinstance(query.message, Message):
        await _answer(query.message, context, question, tapped=True)


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    examples = _keyboard(context.chat_data, EXAMPLE_QUESTIONS)
    await _send(update.message, [Line(text) for text in GREETING.splitlines()], examples)


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send(update.message, [Line(text) for text in HELP.splitlines()])


async def on_tables(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await _send(update.message, overview_lines(context.bot_data["assistant"].overview()))


async def on_source(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    last = context.bot_data["assistant"].last_answer(session_id(update.message.chat.id))
    await _send(update.message, source_lines(last))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    is_command = update.message.text is not None and update.message.text.startswith("/")
    await update.message.reply_text(UNKNOWN_COMMAND if is_command else NOT_TEXT)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failing update with its id, apologise to the user, keep running."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("error while handling update %s", update_id, exc_info=context.error)
    chat = update.effective_chat if isinstance(update, Update) else None
    if chat is not None:
        try:
            await context.bot.send_message(chat.id, APOLOGY)
        except TelegramError:
            log.warning("could not send the apology for update %s", update_id, exc_info=True)


async def set_commands(application: Application) -> None:
    """Publish the command menu (also the `post_init` hook of polling mode)."""
    await application.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


def build_application(
    settings: Settings,
    assistant: Any,
    *,
    user_limit: UserRateLimit | None = None,
    rate_limiter: BaseRateLimiter | None = None,
) -> Application:
    """The bot with all handlers; without an updater when a webhook URL is configured.

    `user_limit` is the per-user question limit, `rate_limiter` keeps within Telegram's own flood
    limits (default: PTB's `AIORateLimiter`, 30 messages a second, 20 a minute per group).
    """
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_base_url)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=1))
        .post_init(set_commands)
    )
    if settings.telegram_webhook_url:
        builder = builder.updater(None)
    application = builder.build()
    user_limit = user_limit or UserRateLimit(per_minute=settings.telegram_user_rate)
    application.bot_data.update(assistant=assistant, settings=settings, user_limit=user_limit)
    application.add_handler(TypeHandler(Update, gate), group=-1)
    for name, callback in (("start", on_start), ("help", on_help), ("tables", on_tables), ("source", on_source)):
        application.add_handler(CommandHandler(name, callback, filters=filters.UpdateType.MESSAGE))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, on_text))
    application.add_handler(CallbackQueryHandler(on_tool, pattern=r"^(up|dn|xl|r1|r2):"))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(MessageHandler(filters.UpdateType.MESSAGE, on_other))
    application.add_error_handler(on_error)
    return application


def main(settings: Settings, host: str = "127.0.0.1", port: int = 8000) -> int:
    """Run the Telegram bot: long polling, or the webhook on host:port if TELEGRAM_WEBHOOK_URL is set."""
    if not settings.telegram_token:
        print(MISSING_TOKEN, file=sys.stderr)
        return 2
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
        print(MISSING_SECRET, file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines carry the token in the URL
    from bot.live import LiveAssistant  # opened once here, not at import

    assistant = LiveAssistant.open(settings)
    application = build_application(settings, assistant)
    if not settings.telegram_webhook_url:
        application.run_polling(allowed_updates=ALLOWED_UPDATES)
        return 0
    from bot.telegram_webhook import serve_webhook

    return serve_webhook(settings, assistant, application, host, port)

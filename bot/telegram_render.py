"""What the Telegram bot says: answers as HTML (escaped, split under 4096 characters), its fixed texts.

Every line is escaped plain text, optionally wrapped in one tag that opens and closes on that
line, so a message can be split at any line boundary without breaking the HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from telegram.constants import MessageLimit

from bot.answer import Answer

MAX_MESSAGE = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted by Telegram in UTF-16 code units
MAX_SOURCE_TABLES = 5  # tables named under an answer; /source lists every citation

# ---- what the bot says besides answers ------------------------------------------------------
EXAMPLE_QUESTIONS = ("三公经费多少", "局本级预算多少", "大数据中心项目有哪些", "一般行政管理事务多少钱")
GREETING = (
    "您好！我是部门预算公开问答助手，回答预算公开文件里的数字问题，并注明每个数字的出处。\n"
    "可以直接提问，也可以点下面的示例问题："
)
HELP = (
    "直接发送问题即可，例如“三公经费多少”。可以接着追问，比如先问“局本级预算多少”，再问“那大数据中心呢？”。\n"
    "\n"
    "/tables 查看已载入的预算表\n"
    "/source 查看上一个回答的完整出处（文件、表、行、原文行号）\n"
    "/help 显示本说明\n"
    "\n"
    "在群里，请 @我、回复我的消息，或使用命令，我才会回答。"
)
REFUSAL = "抱歉，这个助手目前只对内部工作人员开放。如需使用，请联系管理员，并告知您的用户 ID：{user_id}。"
RATE_NOTICE = "您提问有点快了，请稍等片刻再问。"
APOLOGY = "抱歉，处理这条消息时出了点问题，请稍后再试。"
TOO_LONG = "问题太长了（超过 {limit} 字），请精简后再问。"
EMPTY = "请在 @我 之后写上您的问题，例如“三公经费多少”。"
NOT_TEXT = "目前只能回答文字问题，请用文字提问。"
UNKNOWN_COMMAND = "不认识这个命令，发送 /help 查看用法。"
EXPIRED = "这个按钮已过期，请重新提问。"


@dataclass(frozen=True)
class Line:
    """One line of a message: raw text plus an optional tag (b, i, code) around all of it."""

    text: str
    tag: str | None = None

    def html(self) -> str:
        body = escape(self.text, quote=False)
        return f"<{self.tag}>{body}</{self.tag}>" if self.tag and body else body


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def answer_lines(answer: Answer, asked: str | None = None) -> list[Line]:
    """The answer text, and any cited table it does not name; `asked` echoes a question tapped on a button."""
    lines = [Line(f"问：{asked}", "b")] if asked else []
    lines += [Line(text) for text in (answer.text.strip() or "（没有内容）").splitlines()]
    text = answer.text
    unnamed = list(dict.fromkeys(c.table for c in answer.citations if c.table not in text and c.document not in text))
    if unnamed:
        shown = "、".join(f"《{t}》" for t in unnamed[:MAX_SOURCE_TABLES])
        more = f"等 {len(unnamed)} 张表" if len(unnamed) > MAX_SOURCE_TABLES else ""
        lines.append(Line(f"来源：{shown}{more}（/source 查看完整出处）", "i"))
    return lines


def source_lines(answer: Answer | None) -> list[Line]:
    """The full provenance of an answer for /source: each citation and each figure."""
    if answer is None:
        return [Line("还没有可以溯源的回答，先问一个问题吧。")]
    if not answer.citations and not answer.figures:
        return [Line("上一个回答没有引用具体数据。")]
    lines = [Line("上一个回答的出处", "b")]
    for n, c in enumerate(answer.citations, 1):
        lines.append(Line(f"{n}. 文件：{c.document}"))
        lines.append(Line(f"   表：{c.table}"))
        if c.row:
            lines.append(Line(f"   行：{c.row}"))
        if c.page is not None:
            lines.append(Line(f"   原文第 {c.page} 页"))
        elif c.line is not None:
            lines.append(Line(f"   原文第 {c.line} 行"))
    if answer.figures:
        lines += [Line(""), Line("数字", "b")]
    for f in answer.figures:
        where = "，".join(
            part
            for part in (
                f"表《{f.table}》" if f.table else "",
                f"行“{f.row}”" if f.row else "",
                f"列“{f.column}”" if f.column else "",
                f"原文第 {f.line} 行" if f.line is not None else "",
                f"计算：{f.formula}" if f.formula else "",
            )
            if part
        )
        lines.append(Line(f"• {f.value} {f.unit}" + (f"：{where}" if where else "")))
    return lines


def overview_lines(documents: Sequence[dict]) -> list[Line]:
    """What /tables shows: each loaded document and its tables with unit and row count."""
    if not documents:
        return [Line("目前没有载入任何预算文件。")]
    lines = [Line("已载入的预算公开文件", "b")]
    for doc in documents:
        title = f"{doc.get('department', '')} {doc.get('year', '')}年{doc.get('kind', '')}".strip()
        lines += [Line(""), Line(title, "b"), Line(f"文件：{doc.get('document', '')}")]
        for n, table in enumerate(doc.get("tables", []), 1):
            details = "，".join(
                part
                for part in (
                    f"单位：{table['unit']}" if table.get("unit") else "",
                    f"{table['rows']} 行" if table.get("rows") is not None else "",
                )
                if part
            )
            name = table.get("title") or table.get("name", "")
            lines.append(Line(f"{n}. {name}" + (f"（{details}）" if details else "")))
    return lines


def _split_line(line: Line, limit: int) -> Iterable[Line]:
    """Cut one over-long line into pieces that each render within `limit`."""
    piece = ""
    for char in line.text:
        if piece and utf16_len(Line(piece + char, line.tag).html()) > limit:
            yield Line(piece, line.tag)
            piece = ""
        piece += char
    if piece:
        yield Line(piece, line.tag)


def to_messages(lines: Iterable[Line], limit: int = MAX_MESSAGE) -> list[str]:
    """Pack lines into HTML messages of at most `limit` UTF-16 units, splitting only between lines."""
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        for piece in _split_line(line, limit) if utf16_len(line.html()) > limit else (line,):
            html = piece.html()
            extra = utf16_len(html) + (1 if current else 0)
            if current and size + extra > limit:
                messages.append("\n".join(current).strip("\n"))
                current, size = [], 0
                extra = utf16_len(html)
            if current or html:  # no blank line at the top of a message
                current.append(html)
                size += extra
    if current:
        messages.append("\n".join(current).strip("\n"))
    return [m for m in messages if m]

"""`budgetbot report`: what people asked and where the assistant fell short, from the question log.

Sections: questions per channel and day; answered / clarify / not_found rates; the most asked questions;
the words most often not understood (the lexicon's to-do list); every 👎 with its question, answer and
comment; the slowest answers. As text, CSV (one row per section line) or one self-contained HTML page.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import time
import unicodedata
from collections import Counter
from datetime import datetime
from html import escape
from pathlib import Path

from bot.charts import svg

_SINCE = re.compile(r"^(\d+)\s*([dhw])$")
TOP = 20


def since_seconds(text: str) -> float:
    """'7d' / '24h' / '2w' in seconds; ValueError for anything else."""
    match = _SINCE.match(text.strip().lower())
    if match is None:
        raise ValueError(f"--since 应写成 7d、24h 或 2w 这样，收到“{text}”")
    return int(match[1]) * {"h": 3600, "d": 86400, "w": 7 * 86400}[match[2]]


def _key(question: str) -> str:
    """Questions that differ only in width, case, spaces or punctuation count as one."""
    text = unicodedata.normalize("NFKC", question).lower()
    return re.sub(r"[\s\W_]+", "", text) or text.strip()


def gather(path: Path, since: float, now: float | None = None) -> dict:
    """Every section of the report, as plain data (the tests compare it with a seeded log)."""
    now = time.time() if now is None else now
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, time, channel, question, status, text, unknown, elapsed_ms FROM entries "
                            "WHERE time >= ? ORDER BY time", (now - since,)).fetchall()
        downs = conn.execute("SELECT e.time, e.channel, e.question, e.text, f.comment FROM feedback f JOIN entries e "
                             "ON e.id = f.answer_id WHERE f.rating = 'down' AND e.time >= ? ORDER BY e.time",
                             (now - since,)).fetchall()
        ups = conn.execute("SELECT COUNT(*) FROM feedback f JOIN entries e ON e.id = f.answer_id "
                           "WHERE f.rating = 'up' AND e.time >= ?", (now - since,)).fetchone()[0]
    finally:
        conn.close()
    per_day = Counter((datetime.fromtimestamp(t).strftime("%Y-%m-%d"), channel) for _, t, channel, *_ in rows)
    statuses = Counter(row[4] for row in rows)
    asked: Counter[str] = Counter()
    shown: dict[str, str] = {}
    for row in rows:
        asked[_key(row[3])] += 1
        shown.setdefault(_key(row[3]), row[3])
    unknown = Counter(word for row in rows for word in json.loads(row[6]))
    slowest = sorted(rows, key=lambda r: -r[7])[:10]
    return {
        "total": len(rows), "per_day": sorted(per_day.items()), "statuses": dict(statuses), "ups": ups,
        "most_asked": [(shown[k], n) for k, n in asked.most_common(TOP)],
        "not_understood": unknown.most_common(TOP * 2),
        "down": [{"time": t, "channel": c, "question": q, "answer": a, "comment": m} for t, c, q, a, m in downs],
        "slowest": [(r[3], r[2], r[7]) for r in slowest],
    }


def _rate(report: dict, status: str) -> str:
    n = report["statuses"].get(status, 0)
    return f"{n}（{n / report['total']:.1%}）" if report["total"] else "0"


def as_text(report: dict, since: str) -> str:
    lines = [f"最近 {since} 共 {report['total']} 个问题：答出 {_rate(report, 'answered')}，"
             f"反问 {_rate(report, 'clarify')}，未找到 {_rate(report, 'not_found')}；👍 {report['ups']}，👎 {len(report['down'])}。",
             "", "每天各渠道的问题数："]
    lines += [f"  {day}  {channel}  {n}" for (day, channel), n in report["per_day"]] or ["  （无）"]
    lines += ["", "问得最多的问题："] + [f"  {n:>5}  {q}" for q, n in report["most_asked"]]
    lines += ["", "最常没听懂的词（可加进词库）："] + [f"  {n:>5}  {w}" for w, n in report["not_understood"]]
    lines += ["", "👎 的回答："]
    for d in report["down"]:
        lines += [f"  {datetime.fromtimestamp(d['time']):%m-%d %H:%M} [{d['channel']}] 问：{d['question']}",
                  f"      答：{d['answer'][:160]}", f"      意见：{d['comment'] or '（未说明）'}"]
    lines += ["", "最慢的回答："] + [f"  {ms:>8.1f} ms  [{c}] {q}" for q, c, ms in report["slowest"]]
    return "\n".join(lines) + "\n"


def as_csv(report: dict) -> bytes:
    buffer = io.StringIO()
    out = csv.writer(buffer, lineterminator="\r\n")
    out.writerow(["部分", "项", "值", "说明"])
    for status in ("answered", "clarify", "not_found"):
        out.writerow(["状态", status, report["statuses"].get(status, 0), ""])
    out.writerows(["每天各渠道", f"{day} {channel}", n, ""] for (day, channel), n in report["per_day"])
    out.writerows(["问得最多", q, n, ""] for q, n in report["most_asked"])
    out.writerows(["没听懂的词", w, n, ""] for w, n in report["not_understood"])
    out.writerows(["👎", d["question"], d["comment"] or "", d["answer"]] for d in report["down"])
    out.writerows(["最慢", q, f"{ms:.1f}", c] for q, c, ms in report["slowest"])
    return buffer.getvalue().encode("utf-8-sig")


def _bars(pairs: list[tuple[str, int]], unit: str) -> str:
    return svg({"unit": unit, "bars": [{"label": str(k), "value": str(v)} for k, v in pairs]}) if len(pairs) > 1 else ""


def as_html(report: dict, since: str) -> str:
    """One page with inline styles and SVG charts: nothing to fetch, fine to mail."""
    days = Counter()
    for (day, _), n in report["per_day"]:
        days[day] += n

    def table(head: list[str], rows: list[list]) -> str:
        cells = "".join(f"<tr>{''.join(f'<td>{escape(str(c))}</td>' for c in row)}</tr>" for row in rows)
        return f"<table><tr>{''.join(f'<th>{escape(h)}</th>' for h in head)}</tr>{cells}</table>"

    summary = (f"共 {report['total']} 个问题：答出 {_rate(report, 'answered')}，反问 {_rate(report, 'clarify')}，"
               f"未找到 {_rate(report, 'not_found')}；👍 {report['ups']}，👎 {len(report['down'])}。")
    parts = [
        "<!doctype html><html lang='zh-CN'><meta charset='utf-8'><title>预算问答使用报告</title>",
        "<style>body{font:15px/1.5 system-ui,'Noto Sans CJK SC',sans-serif;max-width:900px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccd;padding:3px 8px;text-align:left}"
        "th{background:#eef3fa}h2{margin-top:1.5em}</style>",
        f"<h1>预算问答使用报告（最近 {escape(since)}）</h1><p>{escape(summary)}</p>",
        "<h2>每天的问题数</h2>", _bars(sorted(days.items()), "个"),
        table(["日期", "渠道", "问题数"], [[d, c, n] for (d, c), n in report["per_day"]]),
        "<h2>问得最多的问题</h2>", _bars(report["most_asked"][:10], "次"),
        table(["问题", "次数"], [[q, n] for q, n in report["most_asked"]]),
        "<h2>最常没听懂的词（词库待办）</h2>", table(["词", "次数"], [[w, n] for w, n in report["not_understood"]]),
        "<h2>👎 的回答</h2>",
        table(["时间", "渠道", "问题", "回答", "意见"],
              [[f"{datetime.fromtimestamp(d['time']):%Y-%m-%d %H:%M}", d["channel"], d["question"], d["answer"][:300],
                d["comment"] or "（未说明）"] for d in report["down"]]),
        "<h2>最慢的回答</h2>", table(["用时（毫秒）", "渠道", "问题"], [[f"{ms:.1f}", c, q] for q, c, ms in report["slowest"]]),
        "</html>",
    ]
    return "\n".join(parts)

"""Run a question set against the assistant: accuracy per kind, and traceability of every number."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from bot.answer import Answer
from bot.trace import decimal_or_none, unverified

_NUMBER = re.compile(r"(?<![\d.])\d[\d,]*(?:\.\d+)?")
# identifiers, not figures: years, line numbers, list ordinals, codes
_IDENTIFIERS = re.compile(r"(?<![\d.])(?:19|20)\d{2}(?=年|\)|）|$|\s|[^\d])|第\s*\d+\s*(?:行|组|个)|^\s*\d+\.\s|(?<![\d.])\d{3,22}(?![\d.,]|\s*(?:万元|元|%|个|辆|台))|[（(]\d+[)）]|\d+[、.](?=\D)")


@dataclass
class Result:
    question: dict
    answer: Answer
    problems: list[str] = field(default_factory=list)


@dataclass
class Report:
    results: list[Result]

    @property
    def accuracy(self) -> float:
        return sum(not r.problems for r in self.results) / len(self.results) if self.results else 0.0

    @property
    def untraceable(self) -> list[Result]:
        return [r for r in self.results if any(p.startswith("未溯源") for p in r.problems)]

    def summary(self) -> str:
        by_kind, ok = Counter(), Counter()
        for r in self.results:
            by_kind[r.question["kind"]] += 1
            ok[r.question["kind"]] += not r.problems
        lines = [f"{kind}\t{ok[kind]}/{n}" for kind, n in sorted(by_kind.items())]
        lines.append(f"总计\t{sum(ok.values())}/{len(self.results)}（{self.accuracy:.1%}）；未溯源数字的回答：{len(self.untraceable)}")
        for r in self.results:
            if r.problems:
                lines.append(f"✘ {r.question['id']} {r.question['question']!r}: {'; '.join(r.problems)} → {r.answer.text[:120]!r}")
        return "\n".join(lines)


def load_questions(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def untraced_numbers(answer: Answer) -> list[str]:
    """Numbers in the text that no figure of the answer backs (identifiers excluded)."""
    backed = {decimal_or_none(f.value) for f in answer.figures}
    text = _IDENTIFIERS.sub(" ", answer.text)
    missing = []
    for match in _NUMBER.finditer(text):
        value = decimal_or_none(match.group(0))
        if value is not None and value not in backed:
            missing.append(match.group(0))
    return missing


SAME_AMOUNT = {"元": Decimal(10000), "亿元": Decimal("0.0001")}  # an amount in 元 or 亿元, read as the 万元 keys print


def check(question: dict, answer: Answer, conn=None) -> list[str]:
    problems = []
    if answer.status != question["status"]:
        problems.append(f"状态 {answer.status} ≠ {question['status']}")
    values = {decimal_or_none(f.value) for f in answer.figures}
    values |= {v / SAME_AMOUNT[f.unit] for f in answer.figures  # 714600.00 元 is the 71.46 (万元) a key prints
               if f.unit in SAME_AMOUNT and (v := decimal_or_none(f.value)) is not None}
    for expected in question.get("figures", []):
        if decimal_or_none(expected) not in values:
            problems.append(f"缺少数字 {expected}")
    text = unicodedata.normalize("NFKC", answer.text)
    for item in question.get("items", []):
        if unicodedata.normalize("NFKC", item) not in text:  # 办公室（机关党委） is 办公室(机关党委)
            problems.append(f"缺少“{item}”")
    tables = question.get("table") or []
    if tables and not any(c.table in tables for c in answer.citations):
        problems.append(f"未引用 {tables[0]}")
    if question["status"] == "not_found" and answer.figures:
        problems.append("范围外的问题给出了数字")
    untraced = untraced_numbers(answer)
    if untraced:
        problems.append(f"未溯源的数字 {untraced}")
    wrong = unverified(conn, answer) if conn is not None else []
    if wrong:
        problems.append(f"未溯源：与存储或公式不符 {wrong}")
    return problems


def evaluate(assistant, questions: list[dict]) -> Report:
    results = []
    for question in questions:
        session = f"eval-{uuid.uuid4().hex}"
        for earlier in question.get("context", []):
            assistant.answer(earlier, session)
        answer = assistant.answer(question["question"], session)
        results.append(Result(question, answer, check(question, answer, assistant.conn)))
    return Report(results)

"""Patterns over the disclosure's own prose (情况说明 sentences, narrative labels, indicator values).

Executors read stored sentences through these helpers; none of them looks at the question.
"""

from __future__ import annotations

import re

_CHANGE = re.compile(r"增加|增长|减少|下降|持平|相比|比上年|增减")
CHANGE = re.compile(r"增加|增长|减少|下降|持平|相比|比上年|增减|较|^比|同比|占")  # a clause stating a change or share
LABEL_TAIL = re.compile(r"((?:19|20)\d{2}年度?|本年|今年|预算数?|财政拨款|年初|数|为|是|共计?|合计|总额|总计|安排|拨款)+$")  # what follows a name before its number
_DELTA = re.compile(r"增加|减少|增长|下降")
_DOWN = re.compile(r"减少|下降")
_SENTENCE_END = re.compile(r"(?<=[。；;])")
_NUMBERED = re.compile(r"^[（(][一二三四五六七八九十]+[)）]")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_TOTAL_COUNT = re.compile(r"共有|共计|合计|总数|总量")
_LISTING = re.compile(r"包括[:：]?(.+?)(?:等[^、,，;；。]*)?[。;；]?$")


def names_another_year(label: str, year: int) -> bool:
    """A narrative label that names a year other than the document's (2025年公务接待费预算)."""
    return any(int(y) != year for y in re.findall(r"((?:19|20)\d{2})年", label))


def states_change(text: str) -> bool:
    """Whether a sentence or label speaks of a change against another year."""
    return bool(_CHANGE.search(text))


def is_delta(label: str) -> bool:
    """A narrative number that is a change (比上年增加 28.94), not a level."""
    return bool(_DELTA.search(label))


def is_decrease(label: str) -> bool:
    return bool(_DOWN.search(label))


def sentences(paragraph: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def reason_in(paragraph: str) -> str | None:
    """The sentence of a paragraph that gives a reason (主要原因：…)."""
    return next((s for s in sentences(paragraph) if "原因" in s), None)


def is_numbered(text: str) -> bool:
    """A paragraph that is an item of a numbered list ((一) …)."""
    return bool(_NUMBERED.match(text))


def numbers(text: str) -> list[str]:
    return _NUMBER.findall(text)


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text))


def is_total_count(label: str) -> bool:
    """A narrative count that is a total (本部门共有车辆, 合计), not one kind of it."""
    return bool(_TOTAL_COUNT.search(label))


def counts(sentence: str, counter: str) -> bool:
    """Whether a sentence states a number of `counter` (2辆, 9台)."""
    return bool(re.search(rf"\d+\s*{re.escape(counter)}", sentence))


def lists_kind(sentence: str, noun: str) -> bool:
    """Whether a sentence enumerates things of a kind (包括：办公室、…等科室)."""
    return bool(re.search(rf"包括.+、.+等{re.escape(noun)}", sentence))


def enumeration(sentence: str) -> list[str]:
    """The items a sentence enumerates after 包括, or [] when it lists fewer than two."""
    listing = _LISTING.search(sentence)
    if not listing or "、" not in listing.group(1):
        return []
    return [item.strip() for item in listing.group(1).split("、") if item.strip()]

"""Normalise what users type: width, traditional characters, numerals, years, typos, units."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field

import opencc

_T2S = opencc.OpenCC("t2s")
_CN_DIGITS = {c: str(i) for i, c in enumerate("〇一二三四五六七八九")} | {"零": "0"}
_CN_YEAR = re.compile(r"([〇零一二三四五六七八九]{2,4})\s*年")
_SHORT_YEAR = re.compile(r"(?<!\d)(\d{2})\s*年(?!代|度?[0-9])")
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?:\s*年|(?![\d.]|\s*(?:多|余)?\s*(?:万|亿|元|千|%)))")  # 2000万 is an amount
_CN_COUNT = re.compile(r"(前|第|排前)([一二两三四五六七八九十百]{1,4})")
_CN_MONEY = re.compile(r"([零一二两三四五六七八九十百千]+[万亿][零一二两三四五六七八九十百千]+)(元|块)")  # 四万三千块 → 43000元
_CN_AMOUNT = re.compile(r"([零一二两三四五六七八九十百千]{1,6})(多?(?:万|亿|元|个|项|辆|台))")  # 一千七百九十多万 → 1790多万
_UNIT = re.compile(r"(亿元|万元|千元|元|亿|万)(?!.*(亿元|万元|千元|元))")
_PUNCT = re.compile(r"[\s\u3000]+")
_NOT_UNIT = re.compile(r"(?:别|不要|不用)(?:说|用|给)?(?:亿元|万元|千元|元)")
MAX_CHARS = 500


@dataclass
class Normalized:
    text: str  # simplified, half-width, typos fixed, years as digits
    years: list[int] = field(default_factory=list)
    unit: str | None = None  # 元 | 万元 | 亿元 when the user asked for one


def _cn_year(match: re.Match) -> str:
    digits = "".join(_CN_DIGITS[c] for c in match.group(1))
    return f"{digits}年" if len(digits) == 4 else match.group(0)


def _cn_count(match: re.Match) -> str:
    import cn2an  # 0.2 s to import: only when a question has a Chinese ordinal (前三, 第二)

    try:
        return f"{match.group(1)}{cn2an.cn2an(match.group(2).replace('两', '二'), 'normal')}"
    except (ValueError, KeyError, IndexError):
        return match.group(0)


def _cn_amount(match: re.Match) -> str:
    """一千七百九十多万 → 1790多万, 四万三千块 → 43000元; what cn2an cannot read stays as typed."""
    if match.group(1) in ("一", "万", "千", "百"):  # 一个, 一项: not a quantity worth converting
        return match.group(0)
    import cn2an  # see _cn_count

    try:
        number = cn2an.cn2an(match.group(1).replace("两", "二"), "normal")
    except (ValueError, KeyError, IndexError):  # cn2an raises KeyError on some malformed numerals
        return match.group(0)
    return f"{number}{'元' if match.group(2) == '块' else match.group(2)}"


@lru_cache(maxsize=8)
def _english_pattern(words: tuple[str, ...]) -> re.Pattern:
    """English words and phrases as whole words, longest first ("and" is not inside "standard"), also in the
    plural (official cars); group 1 is the word as listed."""
    if not words:
        return re.compile("(?!)")
    return re.compile(r"(?<![a-z])(" + "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)) + r")(?:s|es)?(?![a-z])")


def normalize(question: str, typos: dict[str, str], english: dict[str, str]) -> Normalized:
    text = question[:MAX_CHARS]  # the core refuses longer questions; this only bounds the work
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    text = unicodedata.normalize("NFKC", text)
    text = _T2S.convert(text)
    text = _PUNCT.sub(" ", text).strip()
    text = _english_pattern(tuple(english)).sub(lambda m: english[m.group(1)], text.lower())
    for typo, meant in typos.items():
        text = text.replace(typo, meant)
    text = _CN_YEAR.sub(_cn_year, text)
    text = _SHORT_YEAR.sub(lambda m: f"20{m.group(1)}年", text)
    text = _CN_COUNT.sub(_cn_count, text)
    text = _CN_AMOUNT.sub(_cn_amount, _CN_MONEY.sub(_cn_amount, text))
    text = re.sub(r"(\d|几)个亿", r"\1亿元", re.sub(r"(?<![分哪])(?<!分为)(?<!分成)(多少|几)块(钱)?", r"\1元", text))  # 多少块 → 多少元 (分几块, 分为哪几块 stay), 几个亿 → 几亿元
    years = [int(y) for y in _YEAR.findall(text)]
    asked = _NOT_UNIT.sub("", text)  # 多少元（别说万元）: the unit said not to use is not asked
    unit_match = _UNIT.search(asked) if re.search(r"(多少|换|转|折合|用|是)(亿元|万元|千元|元|亿|万)|(亿元|万元|千元|元)(是|表示|呢|$)", asked) else None
    unit = None
    if unit_match:
        unit = {"亿": "亿元", "万": "万元"}.get(unit_match.group(1), unit_match.group(1))
    return Normalized(text=text, years=years, unit=unit)

"""From a normalised question to what it asks: linked entities, intent, years, unit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.catalog import Catalog, Entity, norm
from bot.lexicon import Lexicon
from bot.normalize import Normalized

FUZZY_CUTOFF = 80  # rapidfuzz score (0-100) below which a token links to nothing
_PLACE = re.compile(r"([\u4e00-\u9fa5]{2,4}?(?:市|省|县|区))")
_NUMBER = re.compile(r"(?<![\d.])(\d{3,22})(?![\d.])")


@dataclass
class Mention:
    entity: Entity
    text: str
    start: int
    score: float  # 100 for an exact alias, the rapidfuzz score otherwise


@dataclass
class Parse:
    text: str
    intent: str | None
    mentions: list[Mention] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    unit: str | None = None
    out_of_scope: str | None = None
    tokens: list[str] = field(default_factory=list)
    top: int | None = None  # 前N / 第N

    def of(self, *kinds: str) -> list[Entity]:
        return [m.entity for m in self.mentions if m.entity.kind in kinds]


def link(text: str, catalog: Catalog, tokens: list[str]) -> list[Mention]:
    """Exact alias matches, longest first and non-overlapping; then fuzzy for leftover tokens."""
    key = norm(text)
    candidates: list[tuple[int, int, Entity, str]] = []
    for entity in catalog.entities:
        for alias in entity.aliases:
            if len(alias) < 2 or (alias.isdigit() and len(alias) < 3):
                continue
            for match in re.finditer(re.escape(alias), key):
                if alias.isdigit() and (key[match.end():match.end() + 1].isdigit() or key[max(0, match.start() - 1):match.start()].isdigit()):
                    continue
                candidates.append((match.start(), match.end(), entity, alias))
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0], _kind_rank(c[2].kind)))
    taken: list[tuple[int, int]] = []
    mentions: list[Mention] = []
    for start, end, entity, alias in candidates:
        if any(start < e and s < end for s, e in taken):
            if any(s == start and e == end for s, e in taken) and mentions and mentions[-1].start == start:
                mentions.append(Mention(entity, alias, start, 100))  # same words, another entity: ambiguous
            continue
        taken.append((start, end))
        mentions.append(Mention(entity, alias, start, 100))
    if not mentions:
        aliases = {alias: entity for entity in catalog.entities for alias in entity.aliases if len(alias) >= 4 and not alias.isdigit()}
        for token in tokens:
            if len(token) < 3 or token.isdigit():
                continue
            best = process.extractOne(norm(token), list(aliases), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF)
            if best is not None:
                mentions.append(Mention(aliases[best[0]], token, key.find(norm(token)), best[1]))
                break
    mentions.sort(key=lambda m: m.start)
    return mentions


def _kind_rank(kind: str) -> int:
    return ["measure", "project", "unit", "func", "econ", "row", "term"].index(kind) if kind in (
        "measure", "project", "unit", "func", "econ", "row", "term") else 9


def understand(normalized: Normalized, catalog: Catalog, lexicon: Lexicon, tokens: list[str]) -> Parse:
    text = normalized.text
    parse = Parse(text=text, intent=None, years=normalized.years, unit=normalized.unit, tokens=tokens)
    parse.mentions = link(text, catalog, tokens)
    for name, pattern in lexicon.intents:
        if pattern.search(text):
            parse.intent = name
            break
    top = re.search(r"(?:前|第|排前)(\d+)", text)
    if top:
        parse.top = int(top.group(1))
    covered = "".join(m.text for m in parse.mentions)
    rest = text
    for m in parse.mentions:
        rest = rest.replace(m.text, " ")
    if lexicon.out_of_scope.search(text):
        parse.out_of_scope = "本公开文件只有预算数，没有决算、执行进度、人员或与预算无关的信息。"
    other_years = [y for y in parse.years if y != catalog.year and not (parse.intent in ("change", "why") and y < catalog.year)]
    if other_years:
        parse.out_of_scope = f"这里只有 {catalog.year} 年的预算，没有 {other_years[0]} 年的数据。"
    places = [p for p in _PLACE.findall(rest) if p not in catalog.department and p not in covered]
    if places:
        parse.out_of_scope = f"这里只有{catalog.department}的预算，没有{places[0]}相关部门的数据。"
    return parse

"""Which loaded documents a question is about: the departments and years it names, else the conversation's.

A department is named by its full name, by its name without the city (公安局), by one of its
units or by the name its tables print. A name inside a longer name of another department does
not count for it, and the city alone names every department of the city, so it only narrows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.catalog import Catalog, shortens

_HAN = re.compile(r"[\u4e00-\u9fa5]{2,}")
_NOT_A_NAME = "本我你您这那该全各其此某贵"  # 本局, 你们局, 这个局: no name
_CITY_BEFORE = re.compile(r"([\u4e00-\u9fa5]{2,3}[市县区])$")
MAX_NAME = 16  # characters of a department's name as people type it


@dataclass(frozen=True)
class Scope:
    """The main document of a question and, for questions across documents, all of them (newest last)."""

    main: Catalog | None
    documents: tuple[Catalog, ...] = ()
    candidates: tuple[Catalog, ...] = ()  # when main is None: the documents the question may mean
    unknown: str | None = None  # when main is None: a department named that is not loaded
    said: tuple[tuple[int, int], ...] = ()  # where the text names a department (the names are not items to link)


class NameIndex:
    """The loaded departments' names said shorter, by their last character, built once."""

    def __init__(self, catalogs: list[Catalog], ends: tuple[str, ...], across: re.Pattern | None = None,
                 particles: tuple[str, ...] = ()) -> None:
        self.ends = frozenset(ends)
        self.across = across or re.compile(r"(?!)")  # no across words: never across
        self.particles = particles
        self.unknown_ends = tuple(e for e in ("局", "委员会", "厅", "办公室") if e[-1] in self.ends)
        self.by_end: dict[str, list[tuple[str, Catalog]]] = {}
        for catalog in catalogs:
            for name in catalog.said_shorter:
                self.by_end.setdefault(name[-1:], []).append((name, catalog))

    def fits(self, short: str) -> list[Catalog]:
        return list(dict.fromkeys(c for name, c in self.by_end.get(short[-1], ()) if shortens(short, frozenset((name,)))))


def _named(text: str, catalogs: list[Catalog], index: NameIndex | None) -> tuple[list[Catalog], list[Catalog]]:
    """The departments the text names, in order, and the candidates of a shortening several departments fit
    (管理局: 应急管理局, 市场监督管理局 …), which then name none of them."""
    spans: list[tuple[int, int, Catalog]] = []
    for catalog in catalogs:
        for name in catalog.department_names:
            if len(name) >= 2:
                spans.extend((m.start(), m.start() + len(name), catalog) for m in re.finditer(re.escape(name), text)
                             if not _other_city(text, m.start(), catalog))  # 深圳市交通运输局 is not 广州's
    ambiguous: list[Catalog] = []
    for start, end, fits in _shortenings(text, spans, index):  # 卫健委, 南阳市审批局: a shortening of one name
        fits = [c for c in fits if not _other_city(text, start, c)]
        if len({c.department for c in fits}) == 1:
            spans.extend((start, end, c) for c in fits)
        elif not ambiguous:
            ambiguous = fits
    kept = [s for s in spans if not any(o[2].department != s[2].department and o[0] <= s[0] and s[1] <= o[1]
                                        and (o[1] - o[0]) > (s[1] - s[0]) for o in spans)]
    return kept, ambiguous


def _same_city(spans: list[tuple[int, int, Catalog]]) -> list[tuple[int, int, Catalog]]:
    """统计局、气象局、信访局三家: a name several cities' departments share means the one in the city of
    the names that are not shared."""
    by_place: dict[tuple[int, int], list[Catalog]] = {}
    for s, e, c in spans:
        by_place.setdefault((s, e), []).append(c)
    sure = [cs[0].doc["city"] for cs in by_place.values() if len({c.department for c in cs}) == 1]
    if not sure:
        return spans
    city = max(set(sure), key=sure.count)
    return [(s, e, c) for s, e, c in spans
            if len({d.department for d in by_place[(s, e)]}) == 1 or c.doc["city"] == city]


def _other_city(text: str, start: int, catalog: Catalog) -> bool:
    """The text names another city right before (or at the start of) a department's name."""
    city = _CITY_BEFORE.search(text[:start + (text[start:start + 1] in "市县区")])
    if city and city.group(1)[0] in _NOT_A_NAME:
        return False  # 本市, 我市, 全市
    return bool(city) and bool(catalog.city_names) and city.group(1) not in catalog.city_names and not any(
        city.group(1).endswith(n) for n in catalog.city_names)


def unknown_department(text: str, index: NameIndex | None) -> str | None:
    """A department the text names that is not loaded (广州市教育局, 机关事务管理局): said so, never another's
    figures. Only at the start of a phrase, never 本局, 你们局, 全局 or 2024年全局."""
    if index is None:
        return None
    for run in _HAN.finditer(text):
        if run.start() > 0 and text[run.start() - 1].isdigit():
            continue  # 2024年全局…: a year, not a name
        for end in range(run.start() + 3, run.end() + 1):
            body = text[run.start():end]
            for particle in index.particles:
                body = body.removeprefix(particle)
            if (body.endswith(index.unknown_ends) and len(body) >= 3 and body[0] not in _NOT_A_NAME
                    and not body.startswith(("本市", "我市", "全市")) and not index.fits(body)):
                return body
    return None


def _shortenings(text: str, spans: list[tuple[int, int, Catalog]], index: NameIndex | None):
    """(start, end, departments it fits) for the longest shortening at each place, unless a name found covers it
    (苏州审计局 is 苏州市审计局, though 审计局 alone would name every 审计局 loaded)."""
    if index is None:
        return
    for run in _HAN.finditer(text):
        start = run.start()
        while start < run.end() - 1:
            before = text[run.start():start]
            if before and not (_CITY_BEFORE.search(before) or before.endswith(index.particles + ("的",))):
                start += 1  # a name starts a phrase: after a city or a particle, not inside a word (洛阳市 is not 阳市)
                continue
            for end in range(min(run.end(), start + MAX_NAME), start + 1, -1):
                if text[end - 1] in index.ends and not any(s <= start and end <= e for s, e, _ in spans):
                    fits = index.fits(text[start:end])
                    if fits:
                        yield start, end, fits
                        start = end - 1
                        break
            start += 1


def _latest(catalogs: list[Catalog]) -> list[Catalog]:
    """One document per department: its newest year."""
    newest: dict[str, Catalog] = {}
    for c in catalogs:
        if c.department not in newest or c.year > newest[c.department].year:
            newest[c.department] = c
    return list(newest.values())


def _departments(named: list[Catalog], catalogs: list[Catalog], years: list[int]) -> Scope:
    """公安局和信访局的人员经费: each department named, in the year asked or its newest."""
    dated = [c for c in named if c.year in years]
    chosen = [next((c for c in dated if c.department == d), None)
              or max((c for c in catalogs if c.department == d), key=lambda c: c.year)
              for d in dict.fromkeys(c.department for c in named)]
    return Scope(chosen[0], tuple(chosen))


def _in_both_years(pool: list[Catalog], years: list[int], current: int | None) -> list[Catalog]:
    """2024年比2023年 naming no department: the one loaded in both years (the conversation's, if it is)."""
    both = {c.department for c in pool if sum(d.department == c.department and d.year in years for d in pool) >= 2}
    here = next((c.department for c in pool if c.doc_id == current and c.department in both), None)
    if here or len(both) == 1:
        return [c for c in pool if c.department == (here or next(iter(both)))]
    return pool


def _two_years(pool: list[Catalog], years: list[int]) -> Scope | None:
    """One department in two of the years named: the older and the newer document."""
    loaded = sorted({c.year for c in pool if c.year in years})
    if len({c.department for c in pool}) != 1 or len(loaded) < 2:
        return None
    pair = sorted((c for c in pool if c.year in loaded[-2:]), key=lambda c: c.year)
    return Scope(pair[-1], tuple(pair))


def _one(pool: list[Catalog], years: list[int], current: int | None) -> Scope:
    """One document: the only one, the conversation's, or None to ask which."""
    dated = [c for c in pool if c.year in years] or pool
    if len(dated) == 1:
        return Scope(dated[0])
    here = next((c for c in dated if c.doc_id == current), None)
    if here is not None:
        return Scope(here)
    return Scope(dated[0] if len({(c.department, c.year) for c in dated}) == 1 else None)


def resolve(text: str, years: list[int], catalogs: list[Catalog], current: int | None, index: NameIndex | None = None) -> Scope:
    """The documents `text` is about; `main` None when several are loaded and nothing says which."""
    in_city = [c for c in catalogs if any(n in text for n in c.city_names)] or catalogs
    spans, ambiguous = _named(text, catalogs, index)  # a department named in full counts whatever city the text also names
    if not spans and ambiguous:
        return Scope(None, candidates=tuple(_latest(ambiguous)))
    if not spans and len(catalogs) > 1 and current is None:
        unknown = unknown_department(text, index)
        if unknown:
            return Scope(None, unknown=unknown)
    places = {(s, e) for s, e, _ in spans}
    if len(places) == 1 and len({c.department for _, _, c in spans}) > 1:  # 审计局 with 苏州's and 烟台's loaded
        return Scope(None, candidates=tuple(_latest([c for _, _, c in spans])))
    spans = _same_city(spans)
    units = {u["name"] for c in catalogs for u in c.units if not (u["is_department"] or u["is_own"])}
    said = tuple(sorted({(s, e) for s, e, _ in spans if text[s:e] not in units}))  # a unit's name is linked as the unit
    return replace(_scope(text, years, catalogs, current, spans, in_city, index), said=said)


def _scope(text: str, years: list[int], catalogs: list[Catalog], current: int | None, spans, in_city,
           index: NameIndex | None = None) -> Scope:
    named = list(dict.fromkeys(c for _, _, c in sorted(spans, key=lambda s: s[0])))
    departments = set(c.department for c in named)
    if len(departments) >= 2:
        return _departments(named, catalogs, years)
    pool = [c for c in catalogs if c.department in departments] if departments else in_city
    if not departments and len(set(years)) >= 2:
        pool = _in_both_years(pool, years, current)
    pair = _two_years(pool, years)
    if pair is not None:  # 2024年比2023年增长多少
        return pair
    if not departments and index is not None and index.across.search(text) and len({c.department for c in pool}) >= 2:
        everyone = _latest(pool)  # 哪个部门三公经费最多
        return Scope(everyone[0], tuple(everyone))
    return _one(pool, years, current)

"""From a normalised question to the names it says: linked entities (exact, then fuzzy), years, unit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from rapidfuzz import fuzz, process

from bot.catalog import NAME_RUN, Catalog, Entity, abbreviates, norm
from bot.lexicon import Lexicon
from bot.normalize import Normalized

FUZZY_CUTOFF = 80  # rapidfuzz score (0-100) below which a token links to nothing
FUZZY_MARGIN = 5  # a fuzzy name must beat the runner-up by this much, else it is no link
BIGRAM_CUTOFF = 0.65  # share of character pairs a name and the question have in common
_KIND_ORDER = ("measure", "project", "unit", "func", "econ", "gov_econ", "row", "indicator", "term")  # who keeps shared words
_BEFORE_KIND = re.compile(r"[\u4e00-\u9fa5]{2,10}?(?:项目|经费)")  # 外包项目按服务清单…: the words before 项目 name it
_PLACE = re.compile(r"([\u4e00-\u9fa5]{2,4}?(?:市|省|县|区))(?![别域分间])")  # 有啥区别 names no 区
_ORGANISATION = re.compile(r"[\u4e00-\u9fa5]{2,4}?[市省县区][\u4e00-\u9fa5]{1,12}?(?:局|委员会|委|厅|办公室|政府|中心)")


@dataclass
class Mention:
    entity: Entity
    text: str
    start: int
    score: float  # 100 for an exact alias, the rapidfuzz score otherwise
    alternates: list[Entity] = field(default_factory=list)  # other things the same words name


@dataclass
class Parse:
    text: str
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
    position = 0
    while position < len(key):  # every name found at each position, so overlapping longer ones compete
        match = catalog.alias_pattern.search(key, position)
        if match is None:
            break
        for length in range(len(key) - match.start(), 1, -1):
            alias = key[match.start():match.start() + length]
            for entity in catalog.entities_by_alias.get(alias, ()):
                if not (alias.isdigit() and (key[match.start() + length:match.start() + length + 1].isdigit())):
                    candidates.append((match.start(), match.start() + length, entity, alias))
        position = match.start() + 1
    candidates.sort(key=lambda c: (-(c[1] - c[0]), c[0], _kind_rank(c[2].kind)))
    taken: list[tuple[int, int]] = []
    mentions: list[Mention] = []
    for start, end, entity, alias in candidates:
        if (start, end) in taken:
            primary = next(m for m in mentions if m.start == start and len(m.text) == end - start)
            primary.alternates.append(entity)  # the same words name another thing too
            continue
        if any(start < e and s < end for s, e in taken):
            continue
        taken.append((start, end))
        mentions.append(Mention(entity, alias, start, 100))
    if not mentions:
        mentions = _fuzzy(key, catalog, tokens)
    mentions.sort(key=lambda m: m.start)
    return mentions


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}


def _fuzzy(key: str, catalog: Catalog, tokens: list[str]) -> list[Mention]:
    """No exact name: a typo'd token (rapidfuzz ratio), else the name holding most of the question's words."""
    aliases = catalog.fuzzy_aliases
    residue = catalog.lexicon.phrases.link_noise.sub("", key)
    bare = catalog.lexicon.phrases.kind_words.sub("", residue)
    if len(bare) >= 2 and len({e.name for e in catalog.entities if bare in norm(e.name)}) >= 2:
        return []  # part of several names (信息系统, 离退休): a question to ask back, not a typo to fix
    for token in tokens:
        if len(token) < 3 or token.isdigit():
            continue
        found = process.extract(norm(token), aliases.keys(), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=2)
        if found and (len(found) == 1 or found[0][1] - found[1][1] >= FUZZY_MARGIN or aliases[found[0][0]] is aliases[found[1][0]]):
            return [Mention(aliases[found[0][0]], token, max(key.find(norm(token)), 0), found[0][1])]
    typos = process.extract(residue, aliases.keys(), scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=2) if len(residue) >= 4 else []
    if typos and (len(typos) == 1 or typos[0][1] - typos[1][1] >= FUZZY_MARGIN or aliases[typos[0][0]] is aliases[typos[1][0]]):
        return [Mention(aliases[typos[0][0]], residue, max(key.find(residue), 0), typos[0][1])]  # 大树据中心 → 大数据中心
    found = _covering(residue, key, catalog)
    for phrase in ([] if found else _BEFORE_KIND.findall(residue)):
        found = _covering(phrase, key, catalog)
        if found:
            break
    return found or _distinctive(residue, key, catalog)


def _distinctive(residue: str, key: str, catalog: Catalog) -> list[Mention]:
    """The one name that shares a run of at least NAME_RUN characters with the question, when no
    other name shares as long a run (为啥要花钱搞精神文明建设 → 精神文明建设专项经费)."""
    index = catalog.names_by_run
    near = {id(e): e for i in range(len(residue) - NAME_RUN + 1) for e in index.get(residue[i:i + NAME_RUN], ())}
    best: dict[int, tuple[int, str, Entity]] = {}
    for entity in near.values():
        name = norm(entity.name)
        match = SequenceMatcher(None, residue, name).find_longest_match(0, len(residue), 0, len(name))
        if match.size >= NAME_RUN and match.size > best.get(id(entity), (0,))[0]:
            best[id(entity)] = (match.size, residue[match.a:match.a + match.size], entity)
    ranked = sorted(best.values(), key=lambda b: -b[0])
    if not ranked or (len(ranked) > 1 and ranked[1][0] == ranked[0][0]):
        return []
    size, said, entity = ranked[0]
    return [Mention(entity, said, max(key.find(said), 0), round(100 * size / len(norm(entity.name)), 1))]


def _covering(residue: str, key: str, catalog: Catalog) -> list[Mention]:
    """The one name that shares most of the residue's character pairs, clearly ahead of the next."""
    aliases = catalog.fuzzy_aliases
    grams = _bigrams(residue)
    if len(grams) < 3:
        return []

    def coverage(alias: str) -> float:
        alias_grams = catalog.alias_bigrams[alias]
        shared = len(grams & alias_grams)
        return max(shared / len(grams), shared / max(len(alias_grams), 1) if len(alias) >= 6 else 0)

    near = set().union(*(catalog.aliases_by_bigram.get(g, ()) for g in grams))
    if not near:
        return []
    per_entity: dict[int, tuple[float, str]] = {}  # the best alias of each entity, so two names of one thing do not tie
    for alias in sorted(near):
        score = coverage(alias)
        if score > per_entity.get(id(aliases[alias]), (-1.0, ""))[0]:
            per_entity[id(aliases[alias])] = (score, alias)
    scored = sorted(per_entity.values(), reverse=True)
    (best_score, best), runner_up = scored[0], scored[1][0] if len(scored) > 1 else 0
    if best_score >= BIGRAM_CUTOFF and best_score - runner_up >= 0.1:
        match = SequenceMatcher(None, residue, best).find_longest_match(0, len(residue), 0, len(best))
        said = residue[match.a:match.a + match.size]
        return [Mention(aliases[best], said, max(key.find(said), 0), round(best_score * 100, 1))]
    return []


def _kind_rank(kind: str) -> int:
    return _KIND_ORDER.index(kind) if kind in _KIND_ORDER else len(_KIND_ORDER)


def understand(normalized: Normalized, catalog: Catalog, lexicon: Lexicon, tokens: list[str],
               loaded: frozenset[str] = frozenset()) -> Parse:
    """Link the names a question says and note what puts it outside the document; `loaded` holds
    the department names and years (as text) of every loaded document, which are never outside."""
    text = normalized.text
    parse = Parse(text=text, years=list(normalized.years), unit=normalized.unit, tokens=tokens)
    parse.mentions = link(text, catalog, tokens)
    top = re.search(r"(?:前|第|排前|最(?:[大小多少高低贵]|便宜)的?)(\d+)", text)
    if top:
        parse.top = int(top.group(1))
    _shortened_department(parse, catalog)
    parse.out_of_scope = _outside(parse, catalog, lexicon, loaded)
    return parse


def _shortened_department(parse: Parse, catalog: Catalog) -> None:
    """南阳市审批局: the department, shortened, named as the department."""
    department = getattr(catalog, "department_entity", None)
    if department is None or parse.of("unit"):
        return
    for short in _ORGANISATION.findall(parse.text):
        if abbreviates(norm(short), norm(catalog.department)):
            parse.mentions.append(Mention(department, short, parse.text.find(short), 90))


def _outside(parse: Parse, catalog: Catalog, lexicon: Lexicon, loaded: frozenset[str]) -> str | None:
    """Why the question is outside this document: a kind of question disclosures never answer, a year
    not loaded, another place or body; None when it is not."""
    text = parse.text
    unnamed = text
    for m in parse.mentions:  # 绩效工资是多少 names an item; its 工资 asks no one's pay
        unnamed = unnamed.replace(m.text, " ")
    if not parse.of("indicator"):  # 决算真实性 is a target, not a 决算 question
        message = next((message for pattern, message in lexicon.out_of_scope if pattern.search(unnamed)), None)
        if message:
            return message
    other_years = [y for y in parse.years if y not in (catalog.year, catalog.year - 1) and str(y) not in loaded]
    if other_years:
        return f"这里只有 {catalog.year} 年的预算，没有 {other_years[0]} 年的数据。"
    other = _other_body(parse, catalog, loaded)
    return f"这里只有{catalog.department}的预算，没有“{other}”的数据。" if other else None


def _other_body(parse: Parse, catalog: Catalog, loaded: frozenset[str]) -> str | None:
    """A place or organisation the question names that is neither this department, its units, a
    linked name (河南省 of 河南省社会保险信息系统维护项目) nor another loaded document."""
    covered = "".join(m.text for m in parse.mentions)
    rest = parse.text
    for name in [m.text for m in parse.mentions] + sorted(loaded, key=len, reverse=True):
        rest = rest.replace(name, " ")
    places = [p for p in _PLACE.findall(rest) if p not in catalog.department and p not in covered
              and not any(p[-k:] in m.entity.name for k in (3, len(p)) for m in parse.mentions)]  # 目和河南省: its 河南省
    known = [norm(n) for n in loaded] + [norm(catalog.department)] + [norm(u["name"]) for u in catalog.units] + [
        norm(t["department"]) for t in catalog.tables.values() if t["department"]]
    bodies = [o for o in _ORGANISATION.findall(parse.text)
              if not any(norm(o) in k or k in norm(o) or abbreviates(norm(o), k) for k in known)]
    return (bodies or places or [None])[0]


_FILLER = frozenset("的了吗呢啊吧呀嘛么是有和与及或在把被给对从到为请问下我你他它这那还也都就个些几多少什么怎哪啥要想看查最里")


def not_understood(parse: Parse) -> list[str]:
    """Words the question says that nothing understood: runs of single characters the segmenter could not
    join into a known word, outside every linked name, split at filler characters (the lexicon's to-do list)."""
    linked = "".join(m.text for m in parse.mentions)
    words, run = [], ""
    for token in [*parse.tokens, ""]:
        if len(token) == 1 and "\u4e00" <= token <= "\u9fff" and token not in _FILLER and token not in linked:
            run += token
            continue
        if len(run) >= 2:
            words.append(run)
        run = ""
    return list(dict.fromkeys(words))

"""From linked mentions and operator cues to a `Query`.

The operation is chosen by score over the cues of knowledge/operators.toml; the operands get
their roles from where the cue words stand; row sets, order, bounds and the other slots come
from the role words of the same file. The other readers of the question are the steps before
this one (normalising, linking, choosing the documents, the follow-up rules); executors never see it.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.catalog import Catalog, Entity, class_field, norm
from bot.lexicon import Lexicon
from bot.listings import PARTS
from bot.query import Bounds, Operand, Ordering, Query, RowSet
from bot.render import show
from bot.understand import Mention, Parse

TOTALS = ("收支总计", "本年收入合计", "本年支出合计")  # measures that are the budget's totals
WHOLE = TOTALS[0]  # the whole budget, when a question names no whole
PROJECTS = "项目支出"  # the measure a unit's bare 项目 names (局本级的项目多少)
# The role words of knowledge/operators.toml [roles] this parser reads (checked at start-up).
ROLES = ("among", "amount_words", "asks_amount", "asks_what", "code_words", "compared_with", "last_year", "count_noun", "counted", "each", "econ_scheme",
         "exclude", "func_scheme", "gov_scheme", "joined", "largest", "levels", "name_filter", "narrative_counts",
         "in_whole", "kind_of", "ordered_total", "projects", "projects_counted", "pronoun", "share_noise", "share_split", "names", "single_rows", "smallest", "subordinate", "summed", "table", "times_of",
         "total_words", "unit_rows", "units_word", "whole_order", "whole_words", "within")
_YEAR = re.compile(r"(?:19|20)\d{2}\s*年?")
_NTH = re.compile(r"第(\d+)")
_DENIED = re.compile(r"(?:而不是|不是|并非|不算|不含|不包括)[^，,。;；()（）]*[)）]")  # a parenthesis that says what is not meant
_CODE = re.compile(r"(?<!\d)\d{3,7}(?!\d)")
_AMOUNT_OR_YEAR = re.compile(r"[\d.]+\s*(?:万元|亿元|千元|元|万|亿|年|%)?")
_STATED = re.compile(r"(?<![\d.])(\d+\.\d+|\d+(?=多?\s*(?:万元|亿元|元|万|%)))多?\s*(万元|亿元|元|万|%)?(?![\d.])")  # 1790多万
_FIGURES = ("value", "sum", "difference", "ratio", "share", "previous")  # 去年…多少 asks last year's figure of these
_OVER_ROWS = ("list", "count", "rank", "average", "sum", "check", "share")  # operations that may read a row set
_PARTS = re.compile(r"和|与|及|、")
_DESCRIBING = ("describe", "reason", "definition")
_CONTENT = re.compile(r"[\u4e00-\u9fa5]{2,}")


def choose_operation(text: str, lexicon: Lexicon) -> tuple[str, float, tuple[str, ...]]:
    """(operation, its score, runners-up): each operation scores its strongest cue in `text`."""
    scores: dict[str, tuple[float, int]] = {}
    for name, cue, weight in lexicon.operators.cues:
        match = cue.search(text)
        if match:
            best = scores.get(name, (0.0, 0))
            scores[name] = max(best, (weight, len(match.group(0))))
    if not scores:
        return "value", 0.0, ()
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))
    name, (score, _) = ranked[0]
    narrowed = [n for n, _ in ranked[1:] if n in lexicon.operators.modifiers.get(name, ())]
    if narrowed:  # 除了X，哪个最多: the row-set operation, without X
        name = narrowed[0]
    return name, score, tuple(n for n, _ in ranked[1:3] if n != name)


BLANK = "□"


def skeleton(parse: Parse) -> str:
    """The question with each linked name blanked out, in the coordinates mentions are found in: cues and
    role words see the question's structure, not words inside names (2024年会议费比… is no 比2024年). A total
    named beside two or more things stays: its name is the asking (A和B支出合计)."""
    chars = list(norm(parse.text))
    items = [m for m in parse.mentions if not (m.entity.kind == "measure" and m.entity.name in TOTALS)]
    for m in parse.mentions:
        if m not in items and len(items) >= 2:  # A和B支出合计: the total asks for the sum
            continue
        end = m.start + len(m.text)
        if "".join(chars[m.start:end]) == m.text:  # a name taken from the conversation is not in the text
            chars[m.start:end] = BLANK * len(m.text)
    return "".join(chars)


class Parser:
    """Builds the `Query` of one question against one document."""

    def __init__(self, parse: Parse, catalog: Catalog, lexicon: Lexicon) -> None:
        self.p = parse
        self.c = catalog
        self.lex = lexicon
        self.roles = lexicon.operators.roles
        key = norm(parse.text)
        # 基本支出表里的基本工资: a name followed by 表 names a table, which table() reads; it is no operand
        parse.mentions[:] = [m for m in parse.mentions if not key[m.start + len(m.text):].startswith(("表", "情况表"))]
        denied = [range(d.start(), d.end()) for d in _DENIED.finditer(key)]  # （不是占基本支出那个5.62%）: not asked
        parse.mentions[:] = [m for m in parse.mentions if not any(m.start in span for span in denied)]
        item = next((m.start for m in parse.mentions if m.entity.kind == "econ"), None)
        if item is not None:  # 办公费两行（502和505）: 政府经济分类 said after an item only say which of its rows
            parse.mentions[:] = [m for m in parse.mentions if not (
                m.start > item and m.entity.kind in ("class", "gov_econ") and class_field(m.entity.code or "") == "gov_econ_code")]
        self.text = skeleton(parse)  # for cues and roles; self.p.text for names, codes and quoted words

    def has(self, role: str, text: str | None = None) -> bool:
        return bool(self.roles[role].search(self.text if text is None else text))

    # ----- the whole query -------------------------------------------------------------
    def query(self, intent_override: str | None = None, documents: tuple[int, ...] = ()) -> Query:
        cued, score, others = choose_operation(self.text, self.lex)
        operation = self.refine(intent_override or cued, documents)
        words = self.words(operation=operation)
        operands = self.operands(operation)
        needs_rows = operation != "share" or any(o.top for o in operands)  # a share reads rows only for 最大的N个
        unnamed = self.unnamed()
        return Query(
            operation=operation, operands=operands, rows=self.rows(operation) if needs_rows else None, order=self.order(),
            document=self.c.doc_id, documents=documents, years=self.years(operation), display_unit=self.p.unit,
            absent=next((what for pattern, what in self.lex.operators.absent if pattern.search(unnamed)), None),
            out_of_scope=self.p.out_of_scope, words=words, word_parts=tuple(_PARTS.split(words)), table=self.table(),
            scheme=self.scheme(), level=self.level(), counted=self.counted(), noun=self.noun(), stated=self.stated(),
            asks_amount=self.has("asks_amount"), mentions=tuple(self.p.mentions),
            confidence=min(1.0, score / 5) if score else 0.5, alternatives=others,
            codes=self.codes(), flags=self.flags(), unknown=self.unknown(unnamed),
        )

    def codes(self) -> tuple[str, ...]:
        """Codes typed (2013704, 30101); a year (2024) is none."""
        return tuple(c for c in _CODE.findall(self.p.text) if not (len(c) == 4 and c[:2] in ("19", "20")))

    def years(self, operation: str) -> tuple[int, ...]:
        """The years named, and the year before when 去年/上年 asks for its figure."""
        if self.has("last_year", self.p.text) and operation not in ("change", "reason"):
            return tuple(self.p.years) + (self.c.year - 1,)
        return tuple(self.p.years)

    def refine(self, operation: str, documents: tuple[int, ...]) -> str:
        """What the structure says beyond the cues: two things named, the year asked, a glossary word."""
        named = [e for e, _ in self.pairs()]  # read once: the rules below all ask about the same things
        things = [e for e in named if e.kind != "unit"] or ([] if self.has("projects", self.p.text) else named)
        if operation == "rank" and self.has("joined") and len(things) == 2:
            return "difference"  # A和B哪个多, 局本级和大数据中心谁的钱多: the two named, not the whole row set
        asks_last_year = self.c.year - 1 in self.p.years and self.c.year not in self.p.years and not self.has("compared_with")
        if operation == "change" and asks_last_year and self.has("asks_amount"):
            return "previous"  # 按增加额推算，2023年预算是多少
        figures = operation in _FIGURES or (operation == "list" and self.has("each"))  # 2023年的A和B分别是多少
        if self.c.year - 1 in self.years(operation) and figures and not documents:
            return "previous"  # a figure of the year compared with: from the narrative, or not at all
        if operation == "value" and self.name_filter() and all(e.name in TOTALS for e in named):
            return "sum"  # 跟电子政务外网相关的项目一共多少钱: the rows the name picks, added up
        subjects = [e for e in named if e.kind in ("func", "econ", "gov_econ")]
        if operation in ("list", "count") and self.table() and len(subjects) == 1 and len(named) == 1:
            return "value"  # 住房公积金在经济分类汇总表里分成了哪几行: that item's rows
        coded = bool(self.codes())
        if self.terms() and not coded and ((operation == "code" and not self.has("code_words"))
                                           or (operation == "value" and self.has("asks_what"))):
            return "definition"  # 政府采购是什么: a glossary word
        return operation

    def unnamed(self) -> str:
        """The question with its linked names blanked out: attribute words inside a name do not count."""
        return self.text.replace(BLANK, " ")

    def unknown(self, unnamed: str) -> tuple[str, ...]:
        """Content words no name, cue, role or question word accounts for (shown by --explain)."""
        text = unnamed
        for _, cue, _ in self.lex.operators.cues:
            text = cue.sub(" ", text)
        for role in self.roles.values():
            text = role.sub(" ", text)
        text = _AMOUNT_OR_YEAR.sub(" ", self.lex.phrases.question.sub(" ", text))
        return tuple(_CONTENT.findall(text))

    def terms(self) -> list[Entity]:
        return [e for m in self.p.mentions for e in (m.entity, *m.alternates) if e.kind == "term"]

    def words(self, text: str | None = None, operation: str | None = None) -> str:
        """The content words of the question (or of part of it): what is left once question words and linked names go."""
        text = self.p.text if text is None else text
        if not [m for m in self.p.mentions if m.entity.kind != "unit"]:  # 这个局是干啥的: its 主要职责
            for word, heading in self.lex.phrases.section_words.items():
                left = text.replace(word, "")
                if word in text and len(self.lex.phrases.question.sub("", left)) <= 3:  # not 机构运转经费是干什么的
                    text = left + heading
        for m in self.p.mentions:
            text = text.replace(m.text, " ")
        text = _YEAR.sub("", text)
        describing = operation in _DESCRIBING  # 加起来差一分钱怎么回事: every cue is asking, not subject
        cues = [cue for name, cue, _ in self.lex.operators.cues if name in _DESCRIBING or describing]
        text = _blank(text, [m.span() for cue in cues for m in cue.finditer(text)])  # 主要花在什么地方: the asking
        phrases = self.lex.phrases
        key = phrases.trailing.sub("", phrases.question.sub("", text))
        return "" if set(key) <= set("跟和与比同及或") else key  # stray connectives are no subject

    def table(self) -> str | None:
        """A table the user points at ("基本支出表里呢")."""
        hint = self.roles["table"].search(self.p.text)
        if not hint:
            return None
        said = hint.group(1)  # 在经济分类汇总(表里): the longest ending that a table's name holds
        return next((name for i in range(len(said) - 1) for name in self.c.tables if said[i:] in name), None)

    def scheme(self) -> str | None:
        if self.has("gov_scheme"):
            return "gov_econ"
        return "econ" if self.has("econ_scheme") else "func" if self.has("func_scheme") else None

    def level(self) -> str | None:
        found = self.roles["levels"].search(self.p.text)
        return found.group(0) if found else None

    def counted(self) -> str | None:
        found = self.roles["counted"].search(self.text)
        said = found.group(1) if found else None
        if said == "个":  # 几个公务用车, how many cars: the noun's own counter
            said = next((c for noun, c in self.lex.operators.counters.items() if noun in self.p.text), said)
        return said

    def stated(self) -> tuple[Decimal, str] | None:
        """An amount the question states with decimals or a money unit (是428.76吗, 是三千元吗), not a year or code."""
        found = _STATED.search(self.text)
        if not found:
            return None
        unit = found.group(2) or ""
        return Decimal(found.group(1)), "%" if unit == "%" else _UNITS.get(unit, "万元")

    def noun(self) -> str | None:
        found = self.roles["count_noun"].search(self.text)
        return found.group(1) if found else None

    def flags(self) -> frozenset[str]:
        """Role words present, for executors that need to know a side said "项目" or "几个单位"."""
        names = ("each", "summed", "total_words", "names", "kind_of", "times_of", "amount_words", "unit_rows", "narrative_counts", "projects_counted",
                 "units_word", "subordinate")
        present = {n for n in names if self.has(n)} | ({"projects"} if self.has("projects", self.p.text) else set())
        present |= {"projects_outside"} if "projects" in present and not self._projects_in_measure() else set()
        return frozenset(present | ({"both"} if self.has("joined") else set()))  # A和B, outside any name

    def _projects_in_measure(self) -> bool:
        """项目 said only inside a measure's name (项目支出分成哪几类): a list is of the measure's parts, not of projects."""
        outside = self.p.text
        for m in self.p.mentions:
            if m.entity.kind == "measure":
                outside = outside.replace(m.text, "")
        return not self.has("projects", outside)

    # ----- operands ----------------------------------------------------------------------
    def operands(self, operation: str) -> tuple[Operand, ...]:
        builder = {"share": self.share_operands, "exclusion": self.exclusion_operands}.get(operation)
        if builder is not None:
            return builder()
        crossed = self.crossed_operands()
        if crossed and (operation in ("value", "list", "sum", "difference") or self.has("each")):
            return crossed
        recalled = self.recalled()
        if self.has("each") or operation == "check":  # a check keeps the whole its parts are in
            pairs = self.pairs(most=10) if operation == "check" else self.each_pairs()
            named = tuple(Operand("item", subject=e, unit=u) for e, u in pairs)
            unknown = [w for w in self.unknown(self.unnamed()) if len(w) >= 3]
            if operation == "check" and len(named) == 1 and unknown:  # 机构运转经费和公用经费是不是同一个数
                named = (Operand("item", measure=unknown[0]),) + named
            return named
        named = self.pairs(most=10 if operation in ("sum", "check") else 2, qualifying=operation in ("value", "sum"))
        if recalled is not None and len(named) < 2:
            return (Operand("recall", top=recalled),)
        role = {"difference": ("left", "right"), "ratio": ("left", "right")}.get(operation)
        return tuple(Operand(role[min(i, 1)] if role else "item", subject=e, unit=u) for i, (e, u) in enumerate(named))

    def crossed_operands(self) -> tuple[Operand, ...]:
        """One row read in several measures' columns: 2069999中工资福利支出和商品和服务支出(各是多少)."""
        rows = list(dict.fromkeys(m.entity for m in self.p.mentions if m.entity.kind in ("func", "econ", "class")))
        measures = list(dict.fromkeys(m.entity.name for m in self.p.mentions
                                      if m.entity.kind == "measure" and self.lex.measures[m.entity.name].columns))
        if len(rows) == 1 and rows[0].kind == "func" and len(measures) == 1 and self.has("within"):  # 2089999…其中对个人和家庭的补助
            return (Operand("item", subject=rows[0]), Operand("item", subject=rows[0], measure=measures[0]))
        if len(rows) != 1 or len(measures) < 2:
            return ()
        deepest = [m for m in measures if not any(self.inside(o, m) for o in measures if o != m)]
        return tuple(Operand("item", subject=rows[0], measure=m) for m in dict.fromkeys(deepest))

    def pairs(self, most: int = 2, qualifying: bool = False) -> list[tuple[Entity, Entity | None]]:
        """What a comparison or sum is over: each unit with the measure said after it, or the named things.
        A total (合计, 收支总计) named beside items is the sum asked for, not one more item; a code names
        the same thing as the words beside it (工资福利支出（50501）)."""
        coded = {m.entity.name for m in self.p.mentions if m.text.isdigit()}
        mentions = list(dict.fromkeys(m.entity for m in self.p.mentions if m.text.isdigit() or m.entity.name not in coded))
        totals = [e for e in mentions if e.kind == "measure" and e.name in TOTALS]
        asking = {m.entity for m in self.p.mentions if m.entity in totals and self.has("asks_amount", m.text)}
        if len(mentions) - len(totals) >= 2 or (len(mentions) > len(totals) and asking == set(totals) and totals):
            mentions = [e for e in mentions if e not in totals]  # 办公费一共多少钱: 一共多少钱 asks, it names no total
        units = [e for e in mentions if e.kind == "unit"]
        others = [e for e in mentions if e.kind != "unit"]
        said_projects = not others and self.has("projects", self.p.text) and PROJECTS in self.lex.measures
        if said_projects and units and all(u is not getattr(self.c, "department_entity", None) for u in units):
            others = [self.c.find("measure", PROJECTS)]  # 局本级项目和中心项目: each unit's 项目支出
        if len(units) >= 2:
            measure = others[0] if others else None
            return [(measure, u) if measure else (u, None) for u in units[:most]]
        classes = {id(e) for e in others if e.kind == "class"}  # 201类一般公共服务: the 类 and its overview row are one
        others = [e for e in others if not (e.kind == "row" and id(self.c.class_of(e) or e) in classes)]
        others = self._without_scope_words(others, qualifying)
        scope = self.scope_unit()
        if scope is not None and all(e in totals for e in others):
            return []  # 大数据中心一共多少钱: the unit's own total
        return [(e, scope) for e in others[:most]]

    def _without_scope_words(self, others: list[Entity], qualifying: bool) -> list[Entity]:
        """Named measures that only say where the things asked are: 特定目标类项目支出 (项目支出 qualifies,
        when nothing joins them), 基本支出里奖金和绩效工资 (基本支出 before 里)."""
        if qualifying and not self.has("joined"):
            others = [e for e in others if not (e.kind == "measure" and any(
                o.kind == "measure" and o is not e and self.inside(o.name, e.name) for o in others))]
        within = self.roles["within"].search(self.text)
        if not within:
            return others
        container = [m.entity for m in self.p.mentions if m.start + len(m.text) <= within.start()]
        left = len(others) - len(set(container) & set(others))
        if container and left >= (1 if qualifying else 2) and all(e.kind == "measure" for e in container):
            return [e for e in others if e not in container]  # 基本支出中奖金合计: 奖金, read in 基本支出's column
        return others

    def each_pairs(self) -> list[tuple[Entity, Entity | None]]:
        """What "A和B分别多少" names: the things after "X里/中" (X only says where), measures that contain
        another named measure left out (基本支出里人员经费和公用经费)."""
        if len({m.entity for m in self.p.mentions if m.entity.kind == "unit"}) >= 2:
            return self.pairs(most=10)  # 局本级和大数据中心的项目支出分别是多少
        within = self.roles["within"].search(self.text)
        after = [m for m in self.p.mentions if within and m.start >= within.end()]
        mentions = after if len(after) >= 2 else self.p.mentions
        things = list(dict.fromkeys(m.entity for m in mentions if m.entity.kind != "unit"))
        classes = {id(e) for e in things if e.kind == "class"}  # the 类 and its overview row are one line
        things = [e for e in things if not (e.kind == "row" and id(self.c.class_of(e) or e) in classes)]
        names = [e.name for e in things if e.kind == "measure"]
        things = [e for e in things if e.kind != "measure" or not any(self.inside(o, e.name) for o in names if o != e.name)]
        scope = self.scope_unit()
        return [(e, scope) for e in things]

    def scope_unit(self) -> Entity | None:
        units = [m.entity for m in self.p.mentions if m.entity.kind == "unit" and m.entity is not getattr(self.c, "department_entity", None)]
        return units[0] if units else None

    def exclusion_operands(self) -> tuple[Operand, ...]:
        """"A减去B", "除了B以外的(A)", "不含B的预算": minuend and subtrahend (A defaults to the whole budget)."""
        named = self.pairs() or [(m.entity, None) for m in self.p.mentions if m.entity.kind == "unit"][:1]
        whole = self.c.find("measure", WHOLE)
        unknown = [w for w in self.unknown(self.unnamed()) if len(w) >= 3]
        if len(named) == 1 and unknown:  # 项目支出减去政府采购预算: an amount only the narrative states is taken away
            return (Operand("minuend", subject=named[0][0], unit=named[0][1]), Operand("subtrahend", measure=unknown[0]))
        if len(named) == 1 and whole is not None:
            named.insert(0, (whole, None))
        excluded = self.roles["exclude"].search(self.p.text)
        after = next((m.entity for m in self.p.mentions if excluded and m.start >= excluded.end()), None)
        if len(named) >= 2 and after is named[0][0] and named[0][0] is not whole and not self.has("within"):
            named.reverse()  # 除了B以外的A: B is named first; A除了B: as said
        return tuple(Operand(role, subject=e, unit=u) for role, (e, u) in zip(("minuend", "subtrahend"), named))

    def recalled(self) -> int | None:
        """How many of the things asked before "两者/这三个" recalls (0: all); 前3个, 两个经济科目 and 两个一般行政管理事务 (a name follows) are no recall."""
        return next((n for word, n in self.lex.operators.recall.items()
                     if re.search(rf"(?<![前第大小多少]){re.escape(word)}(?!□|[^，,。]{{0,4}}(?:项目|单位|科目|部门))", self.text)), None)

    def share_operands(self) -> tuple[Operand, ...]:
        """The words before 占 name the part, those after it the whole ("大数据中心项目支出占全部门项目支出");
        with no whole named, the part's parent measure (the executor knows the measure tree)."""
        split = self.roles["share_split"].search(self.text)
        head, rest = (self.text[:split.start()], self.text[split.end():]) if split else (self.text, "")
        before = list(dict.fromkeys(m.entity for m in self.p.mentions if not split or m.start <= split.start()))
        if split is None and self.text.lstrip().startswith("占比"):  # 占比 said first (English word order): the
            rest = self.text.replace(BLANK, "").replace("占比", "")  # other words may name the whole (预算)
        after = self._share_whole(before, rest, split is not None)
        if after is None:  # 占什么都没认出
            unnamed = self.lex.phrases.question.sub("", self.roles["share_noise"].sub("", rest))
            return (Operand("unknown_whole", measure=unnamed),)
        within_row = self._share_within_row(before) if not after else None
        if within_row is not None:
            return within_row
        things = [e for e in before if e.kind != "unit"]
        if not after and len(things) == 2 and not self.has("joined"):
            part, whole = self.part_and_whole(*things)  # A里B占多少
            before, after = [part], [whole]
        whole = self.side("whole", after, rest) if (after or self.has("projects", rest)) else Operand("whole")
        recalled = self.recalled()
        if recalled is not None and not before:  # 两者加起来占总支出多少: the last things asked
            return Operand("recall", top=recalled), whole
        return self.side("part", before, head, top=True), whole

    def _share_whole(self, before: list[Entity], rest: str, split: bool) -> list[Entity] | None:
        """What is named after 占: the budget total for 全部/总额, the part's own unit for 其; None when
        words stand there that name nothing."""
        after = list(dict.fromkeys(m.entity for m in self.p.mentions if split and m.start > len(self.text) - len(rest) - 1))
        unnamed = self.lex.phrases.question.sub("", self.roles["share_noise"].sub("", rest))
        if not after and not self.has("projects", rest) and (self.has("total_words", rest) or unnamed in self.lex.phrases.whole_budget):
            after = [self.c.find("measure", WHOLE)]  # 占全部支出的比重, 占部门支出总额, 占预算多少
        if self.has("pronoun", rest) and not any(e.kind == "unit" for e in after):
            after = [e for e in before if e.kind == "unit"] + after  # 大数据中心的X占其项目支出: its own
        if split and not after and len(unnamed) >= 2 and not self.has("whole_words", rest):
            return None
        return after

    def _share_within_row(self, before: list[Entity]) -> tuple[Operand, Operand] | None:
        """一般公共服务其中项目支出占比: a row's part in a measure's column, of the row's total (but
        信息安全事务在项目支出中占比 is of the department's 项目支出)."""
        things = [e for e in before if e.kind != "unit"]
        rows = [e for e in things if e.kind in ("func", "econ", "class")]
        columns = [e for e in things if e.kind == "measure" and self.lex.measures[e.name].columns]
        if len(rows) == 1 and len(columns) == 1 and len(things) == 2 and not self.has("in_whole"):
            return Operand("part", subject=rows[0], measure=columns[0].name), Operand("whole", subject=rows[0])
        return None

    def side(self, role: str, entities: list[Entity], words: str, top: bool = False) -> Operand:
        """One side of a share: a unit's total or its part of a measure, several things added, the
        top N of a row set, one thing, or (nothing named) an amount only the narrative states."""
        units = [e for e in entities if e.kind == "unit"]
        others = [e for e in entities if e.kind != "unit"]
        if len(others) > 1:  # 全部门项目支出: 全部门 (收支总计) only says whose
            others = [e for e in others if e.name != WHOLE] or others
        if units:
            return self._unit_side(role, units[0], others, words)
        if len(others) >= 2 and self.has("joined", words):
            return Operand(role, items=tuple(others))
        row = next((e for e in others if e.kind in ("func", "econ")), None)
        measure = next((e for e in others if e.kind == "measure"), None)
        if len(others) == 2 and row and measure:
            return Operand(role, subject=row, measure=measure.name)
        first = self.p.top or (1 if self.has("largest", words) else None)
        if (not others or self.has("among", words)) and top and first:
            return Operand(role, top=first)
        if others:
            return Operand(role, subject=others[0])
        if self.has("projects", words):
            return Operand(role, subject=self.c.find("measure", PROJECTS))
        return Operand(role, measure=self.words(words))  # a narrative amount, found by the words

    def _unit_side(self, role: str, unit: Entity, others: list[Entity], words: str) -> Operand:
        """A unit's total, or its part of a measure (大数据中心项目支出, 大数据中心的项目)."""
        if not others and self.has("projects", words):
            others = [self.c.find("measure", PROJECTS)]
        subject = others[0] if others and others[0].name != WHOLE else None
        return Operand(role, subject=subject or unit, unit=unit if subject else None)

    def part_and_whole(self, a: Entity, b: Entity) -> tuple[Entity, Entity]:
        """Which of two named things is the part: "A占B" → A; "A里B占多少" → B; else the one inside the other."""
        text = self.text
        at = {id(m.entity): m.start for m in self.p.mentions}
        split = self.roles["share_split"].search(text)
        share_at = split.start() if split else -1
        if share_at >= 0 and at[id(a)] < share_at < at[id(b)]:
            return a, b
        if share_at >= 0 and max(at[id(a)], at[id(b)]) < share_at:
            between = text[min(at[id(a)], at[id(b)]):max(at[id(a)], at[id(b)])]
            if self.has("within", between):
                return (b, a) if at[id(a)] < at[id(b)] else (a, b)
        if a.kind == "measure" and b.kind == "measure" and self.inside(b.name, a.name):
            return b, a
        return a, b

    def inside(self, name: str, whole: str) -> bool:
        return self.lex.inside(name, whole)

    # ----- row sets and order --------------------------------------------------------------
    def rows(self, operation: str) -> RowSet | None:
        """The rows a list, count or ranking is over: a 类 the question names, else the first
        collection of knowledge/phrases.toml whose words occur, else the parts of a measure a list
        names (项目支出分成哪几类, not its projects); None if none does."""
        found = self._rows(operation)
        measures = [m.entity.name for m in self.p.mentions if m.entity.kind == "measure" and self.lex.measures[m.entity.name].parts]
        if operation == "list" and measures and "projects_outside" not in self.flags() and (
                found is None or found.dimension not in ("经济科目", "功能科目", "class")):
            return RowSet(PARTS, measure=measures[-1])
        return found

    def _rows(self, operation: str) -> RowSet | None:
        if operation not in _OVER_ROWS:
            return None
        bounds = amount_bounds(self.text, self.lex.operators.bounds)
        exclude = tuple(m.entity.name for m in self.p.mentions if self.has("exclude") and m.entity.kind == "project")
        common = {"bounds": bounds, "exclude": exclude if operation in ("rank", "list", "count", "average") else (),
                  "name_contains": self.name_filter(), "by_row": self.has("single_rows")}
        classes = [e for m in self.p.mentions for e in (m.entity, *m.alternates) if e.kind == "class"]
        scheme = self.scheme()  # 对个人和家庭的补助由哪几个功能科目构成: function subjects, not the 303 类
        classes = [e for e in classes if not scheme or class_field(e.code) == f"{scheme}_code"]
        if classes and not any(m.entity.kind == "project" for m in self.p.mentions):
            return RowSet("class", group=classes[0], **common)
        measures = [m.entity for m in self.p.mentions if m.entity.kind == "measure"]
        pointed = self.lex.phrases.collection_tables.get(self.table() or "")
        if pointed:  # 收支总表里的功能分类: the rows that table holds
            return RowSet(pointed, unit=self.scope_unit(), **common)
        for name, pattern, unless in self.lex.phrases.collections:
            if pattern.search(self.p.text) and not (unless and unless.search(self.p.text)):
                if name == "所属单位" and measures:
                    continue  # 单位 beside a measure (大数据中心的三公) is a scope, not the rows
                return RowSet(name, unit=self.scope_unit(), project_type=self.project_type(),
                              measure=self.ordering_measure(measures), **common)
        group = next((c for m in self.p.mentions if (c := self.c.class_of(m.entity)) is not None and m.entity.kind == "row"), None)
        if group is not None and operation in ("rank", "list", "count"):  # 社会保障和就业支出里面最大的是哪一项
            return RowSet("class", group=group, **common)
        columned = self.ordering_measure(measures)
        if columned and operation in ("rank", "count") and not self.scope_unit():  # 公用经费里哪一项最多
            return RowSet("经济科目", measure=columned, **common)
        if self.scope_unit() and not measures and not self.words():  # 大数据中心有哪些: its projects
            return RowSet("项目", unit=self.scope_unit(), project_type=self.project_type(), **common)
        return None

    def name_filter(self) -> str | None:
        found = self.roles["name_filter"].search(self.p.text)
        return next((g for g in found.groups() if g), None) if found else None

    def ordering_measure(self, measures: list[Entity]) -> str | None:
        """The column rows are read in when one is named (项目支出最多的科目, 公用经费由哪些经济科目组成): the innermost
        of nested ones (基本支出里的公用经费 → 公用经费)."""
        named = [e.name for e in measures if self.lex.measures[e.name].columns]
        return next((n for n in named if not any(self.inside(o, n) for o in named if o != n)), None)

    def project_type(self) -> str | None:
        return next((kind for word, kind in self.lex.operators.project_types.items() if word in self.p.text), None)

    def order(self) -> Ordering:
        nth = _NTH.search(self.text)
        apart = self.text[:nth.start()] + self.text[nth.end() + 1:] if nth else ""
        if nth and (self.has("largest", apart) or self.has("smallest", apart)):  # 哪个最多、第二是谁: the first N
            return Ordering(descending=not self.has("smallest"), top=int(nth.group(1)), total=self.has("ordered_total", self.p.text))
        return Ordering(descending=not self.has("smallest"), top=self.p.top,
                        nth=int(nth.group(1)) if nth else None,
                        whole=not self.p.top and self.has("whole_order"),
                        total=self.has("ordered_total", self.p.text))  # 一共多少钱 asks the total even as a name


_UNITS = {"万": "万元", "亿": "亿元", "元": "元", "万元": "万元", "亿元": "亿元"}
_AMOUNT = r"(\d+(?:\.\d+)?)\s*(万元|亿元|万|亿|元)?"


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """`text` with every span replaced by spaces (overlapping spans blank their union: 加起来 as a whole)."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def amount_bounds(text: str, words: dict[str, re.Pattern]) -> Bounds | None:
    """The amount limits a question names (words of knowledge/operators.toml [bounds]): 50万以上, 超过5万元
    (strictly), 低于3万元, 30万到60万之间, 正好2万, 5万元以下（不含）, 不为零."""
    span = re.search(_AMOUNT + rf"\s*(?:{words['range'].pattern})\s*" + _AMOUNT + r"(?:之间)?", text)
    if span and (span.group(2) or span.group(4)):
        unit = _UNITS[span.group(4) or span.group(2)]
        low, high = sorted((Decimal(span.group(1)), Decimal(span.group(3))))  # 23万到2万之间 is 2万 to 23万
        return Bounds(low, False, high, False, unit, f"{show(low)}至{show(high)}{unit}之间")
    for side, strict, label in _SIDES:
        match = re.search(rf"(?:{words[side + ('_strict' if strict else '')].pattern})\s*是?\s*" + _AMOUNT, text)
        if match and match.group(2):
            value, unit = Decimal(match.group(1)), _UNITS[match.group(2)]
            said = f"{label}{show(value)}{unit}"
            low = value if side in ("low", "exact") else None
            high = value if side in ("high", "exact") else None
            return Bounds(low, strict and side == "low", high, strict and side == "high", unit, said)
    match = re.search(_AMOUNT + r"\s*(?:及|或)?\s*(以上|以下)", text)
    if match and match.group(2):
        value, unit = Decimal(match.group(1)), _UNITS[match.group(2)]
        strict = bool(words["exclusive"].search(text[match.end():match.end() + 8]))  # 5万元以下（不含5万元）
        said = f"{show(value)}{unit}{match.group(3)}{'（不含）' if strict else ''}"
        if match.group(3) == "以上":
            return Bounds(value, strict, None, False, unit, said)
        return Bounds(None, False, value, strict, unit, said)
    if words["nonzero"].search(text):
        return Bounds(Decimal(0), True, None, False, "万元", "金额不为零")
    return None


BOUND_WORDS = ("low", "high", "low_strict", "high_strict", "exact", "range", "exclusive", "nonzero")
# (side, strict, how the answer says it), tried in this order: "大于等于" before "大于", "等于" last
_SIDES = (("low", False, "不少于"), ("high", False, "不超过"), ("low", True, "超过"), ("high", True, "低于"), ("exact", False, "正好"))


def link_of(entity: Entity) -> Mention:
    """A mention for an entity taken from the conversation rather than from the question."""
    return Mention(entity, entity.name, 0, 100)

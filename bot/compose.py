"""Answers for figure questions: one figure, shares, comparisons, rankings, lists, counts.

Every number put in a text is first added to `figures`, either read from a stored cell
(with its table, row, column and line) or computed with its formula stated.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.across import Across
from bot.answer import ANSWERED, CLARIFY, NOT_FOUND, Answer, Citation, Figure
from bot.catalog import AMOUNT, ECON_TABLE, FUNC_TABLE, Catalog, Cell, Entity, class_field, norm
from bot.computations import Computations
from bot.dialogue import Dialogue
from bot.listings import Listings
from bot.parse import TOTALS, link_of
from bot.understand import Mention
from bot.query import Query
from bot.render import amount_text, citation, computed, figure, show
from bot.textual import TextAnswers
from db.money import convert

DEFAULT_SUGGESTIONS = ["三公经费多少", "有哪些项目", "人员经费占基本支出多少"]  # names every disclosure has
MAX_OPTIONS = 8


class Composer(Computations, Listings, TextAnswers, Across):
    """Builds one answer: figures read or computed, citations, text, suggestions."""

    def __init__(self, catalog: Catalog, query: Query, state: Dialogue, docs: tuple[Catalog, ...] = ()) -> None:
        self.c = catalog
        self.docs = docs  # the documents of a question across documents
        self.q = query
        self.state = state  # the conversation (bot/dialogue.py); executors note what follow-ups need
        self.unit = query.display_unit or state.unit
        self.figures: list[Figure] = []
        self.citations: list[Citation] = []

    # ----- building blocks ------------------------------------------------------
    def say(self, key: str, **fields) -> str:
        """A sentence of knowledge/wording.toml, filled in."""
        return self.c.lexicon.wording[key].format(**fields)

    def cite(self, cell: Cell) -> None:
        c = citation(self.c.source, cell)
        if c not in self.citations:
            self.citations.append(c)

    def fig(self, cell: Cell) -> Figure:
        f = figure(cell, self.unit)
        self.figures.append(f)
        self.cite(cell)
        return f

    def count(self, n: int, unit: str, table: str | None, what: str) -> str:
        self.figures.append(Figure(str(n), unit, table, None, None, f"{what}的个数", None))
        return str(n)

    def answer(self, text: str, suggestions: list[str] | None = None) -> Answer:
        sources = "、".join(dict.fromkeys(c.table for c in self.citations))
        if sources:
            text += f"\n来源：{sources}（{self.c.department} {self.c.year}年{self.c.kind}）。"
        return Answer(ANSWERED, text, self.figures, self.citations, (suggestions or DEFAULT_SUGGESTIONS)[:3])

    def not_found(self, why: str) -> Answer:
        if not self.c.tables:  # 北京: the PDF holds the narrative, the tables are published apart
            where = self.say("value.tables_elsewhere") if self.c.doc["tables_separate"] else self.say("value.no_tables")
            return Answer(NOT_FOUND, f"{why}\n{self.c.department}{self.c.year}年{self.c.kind}：{where}", [], [], DEFAULT_SUGGESTIONS[:3])
        tables = "、".join(list(self.c.tables)[:4])
        return Answer(NOT_FOUND, f"{why}\n我能回答的是{self.c.department}{self.c.year}年{self.c.kind}中的数字，例如：{tables}等表。",
                      [], [], DEFAULT_SUGGESTIONS[:3])

    def absent_answer(self) -> Answer:
        """An attribute the disclosure never holds (中标公司, 品牌, 合同日期): say so, offer what it holds."""
        named = [m.entity for m in self.q.mentions if m.entity.kind not in ("term", "indicator")]
        what = "、".join(dict.fromkeys(e.name for e in named))
        holds = f"对“{what}”，公开文件只列出预算金额（及项目的类型、所属单位和绩效目标）。" if what else ""
        answer = self.not_found(self.say("absent.result", what=self.q.absent, holds=holds))
        answer.suggestions = ([f"{named[0].name}预算多少", f"{named[0].name}的绩效目标"] if named else []) + DEFAULT_SUGGESTIONS[:1]
        return answer

    def clarify(self, entities: list[Entity], what: str) -> Answer:
        options = [f"{e.code} {e.name}多少" if e.code and e.kind in ("func", "econ") else f"{e.name}多少" for e in entities][:MAX_OPTIONS]
        names = "；".join(f"{e.code} {e.name}" if e.code and e.kind in ("func", "econ") else e.name for e in entities[:MAX_OPTIONS])
        more = f"等 {len(entities)} 项" if len(entities) > MAX_OPTIONS else ""
        counted = [Figure(str(len(entities)), "项", formula=f"“{what}”对应的名称个数")] if more else []
        return Answer(CLARIFY, f"“{what}”对应多项：{names}{more}。请问你指哪一个？", counted, [], [], options)

    def scope_unit(self) -> Entity | None:
        """The unit a question is about, or None for the whole department."""
        units = [e for e in self.q.of("unit") if e is not getattr(self.c, "department_entity", None)]
        return units[0] if units else None

    def measure_entity(self, name: str) -> Entity:
        return next(e for e in self.c.entities if e.kind == "measure" and e.name == name)

    def cells_of(self, entity: Entity, unit: Entity | None = None) -> list[Cell]:
        """The cells that hold an entity's figure, for one unit when `unit` is given: none when the
        tables do not split it by unit (subjects and items are department-wide)."""
        if unit is not None and entity.kind in ("func", "econ", "gov_econ", "row"):
            return []
        twin = self.c.find("econ", entity.name) if entity.kind == "func" and self.q.table == ECON_TABLE else None
        if twin is not None:  # 住房公积金 … 在经济分类汇总表里: the economic item of that name
            entity = twin
        if unit is not None and entity.kind == "project":
            row = self.c.project_row(entity.name)
            return self.c.project(entity.name) if row and row["unit_code"] == unit.code else []
        if entity.kind == "measure":
            cells = self.c.measure(self.c.lexicon.measures[entity.name], unit.code if unit else None)
            twin = self.c.find("econ", entity.name) if not cells and unit is None else None
            return self.c.econ_elsewhere(twin.code) if twin is not None else cells  # 工资福利支出 as 广东 prints it: [301] row
        if entity.kind == "unit":
            return self.c.measure(self.c.lexicon.measures["收支总计"], None if entity is getattr(self.c, "department_entity", None) else entity.code)
        if entity.kind == "project":
            return self.c.project(entity.name)
        if entity.kind == "func":
            return self.c.func(entity.code)
        if entity.kind == "econ":
            cells = self.c.econ(entity.code, self.q.table or ECON_TABLE)
            if cells or self.q.table:
                return cells
            said = {m.entity.name for m in self.q.mentions if m.entity.kind == "measure"}
            return self.c.econ_elsewhere(entity.code, "项目" if "项目支出" in said else "基本" if "基本支出" in said else "")
        if entity.kind == "class":  # 302 商品和服务支出类: every row under the 类, in the table pointed at or its own
            table = self.q.table or (FUNC_TABLE if class_field(entity.code) == "func_code" else ECON_TABLE)
            return self.c.row_column(entity, table, AMOUNT)
        if entity.kind == "gov_econ":
            return self.c.select(ECON_TABLE, AMOUNT, gov_econ_code=entity.code, row_kind="item")
        if entity.kind == "row":
            return self.c.overview_row(entity.name)
        return []

    def value_of(self, entity: Entity, unit: Entity | None = None) -> tuple[Decimal, str, str] | None:
        """(value in the display unit, '12.30 万元', label) of an entity; its figures are added."""
        cells = self.cells_of(entity, unit)
        if not cells:
            return self.derived_value(entity, unit) or (None if unit else self.stated_value(entity))
        total, target = self.add_up(cells)
        label = entity.name
        if unit and entity.kind != "unit":
            label = f"{unit.name}{'预算' if entity.name == '收支总计' else entity.name}"
        return total, f"{show(total)} {target}", label

    def derived_value(self, entity: Entity, unit: Entity | None) -> tuple[Decimal, str, str] | None:
        """A unit's figure no table prints, computed as knowledge/measures.toml `unit_difference` says."""
        measure = self.c.lexicon.measures.get(entity.name) if entity.kind == "measure" else None
        if unit is None or measure is None or not measure.unit_difference:
            return None
        a, b = (self.value_of(self.measure_entity(name), unit) for name in measure.unit_difference)
        if a is None or b is None or b[0] > a[0]:
            return None
        target = a[1].split()[-1]
        self.figures.append(computed(a[0] - b[0], target, f"{show(a[0])} − {show(b[0])}（{a[2]} − {b[2]}）"))
        said = "、".join(measure.unit_difference)
        return a[0] - b[0], f"{show(a[0] - b[0])} {target}", f"{unit.name}{entity.name}（{said}：{a[1]} − {b[1]}）"

    def add_up(self, cells: list[Cell]) -> tuple[Decimal, str]:
        """(total in the display unit, unit): each cell becomes a figure, several also their sum."""
        target = self.unit or cells[0].unit
        shown = [self.fig(c).value for c in cells]
        total = sum((convert(c.value, c.unit, target) for c in cells), Decimal(0))
        if len(cells) > 1:
            self.figures.append(computed(total, target, " + ".join(shown)))
        return total, target

    def remember_list(self, items: list[tuple[str, Cell]]) -> None:
        """Keep a list for follow-ups (第二个呢, 有几个, 加起来多少) with where its rows are."""
        self.state.rows = [name for name, _ in items]
        self.state.row_cells = [[c.table, c.row, c.line] for _, c in items[:20]]
        self.state.row_unit = self.unit or (items[0][1].unit if items else None)
        self.state.row_values = [str(convert(c.value, c.unit, self.state.row_unit)) for _, c in items]  # exact, not as shown

    def cite_list(self) -> None:
        for table, row, line in self.state.row_cells:
            citation = Citation(self.c.source, table, row, line)
            if citation not in self.citations:
                self.citations.append(citation)

    def remember(self, entity: Entity, unit: Entity | None = None) -> None:
        """Keep what was answered for follow-ups, with the words the user named it by (机构运转经费: the narrative's own)."""
        said = next((m.text for m in self.q.mentions if m.entity is entity), None)
        self.state.focus = {"kind": entity.kind, "name": entity.name, "code": entity.code, "unit": unit.code if unit else None,
                            "said": said}
        key = [entity.kind, entity.name, entity.code]
        self.state.recent = ([k for k in self.state.recent if k != key] + [key])[-5:]

    # ----- one figure ---------------------------------------------------------------
    def figure_answer(self) -> Answer:
        """The figure of the one thing asked: several things each, a row in a column, a subject, a unit."""
        several = [o for o in self.q.operands if o.subject is not None]
        if any(o.measure for o in several) or (self.q.flags & {"each", "both"} and len(several) >= 2):
            found = self.each_answer()  # a row in several columns, or A和B各多少
            if found is not None:
                return found
        targets, unit = self._targets()
        if not targets:
            return self._nothing_named()
        crossed = self.crossed_answer()
        if crossed is not None:
            return crossed
        by_code = [m for m in targets if m.text.isdigit() and m.entity.kind in ("func", "econ", "class")]
        mention = (by_code or targets)[-1]  # a code is exact; else the head noun, said last: 一般公共预算基本支出
        coded = [] if by_code else [e for e in (mention.entity, *mention.alternates) if e.kind == "func" and e.code]
        if len({e.code for e in coded}) > 1:
            return self.clarify(coded, mention.entity.name)
        entity = mention.entity
        if (entity.kind == "measure" and entity.name in TOTALS and mention.text != norm(entity.name) and len(self.q.words) >= 3
                and unit is None):
            found = self.sentence_answer(labelled=True)  # 政府采购预算总额: the total of what the other words name
            if found is not None:
                return found
        if entity.kind == "indicator":
            return self.performance_answer()
        if entity.kind == "term":  # a glossary word asked as a figure: the narrative's number first
            return self.sentence_answer() or self.definition_answer()
        cells = self.cells_of(entity, unit)
        if not cells:
            return self._no_cells(entity, unit)
        self.remember(entity, unit)
        text = self._one_cell_text(entity, unit, cells[0]) if len(cells) == 1 else self._rows_text(entity, unit, cells)
        return self.answer(text, self._suggest(entity))

    def _targets(self) -> tuple[list[Mention], Entity | None]:
        """The mentions a figure question is about, and the unit it is scoped to."""
        targets = [m for m in self.q.mentions if m.entity.kind != "unit"]
        if len(targets) > 1:  # 工会经费总计: the total of that item, not the budget's total
            targets = [m for m in targets if not (m.entity.kind == "measure" and m.entity.name in TOTALS)] or targets
        named = {o.subject for o in self.q.operands if o.subject is not None}
        if named and len(targets) > 1:  # 特定目标类项目支出: the parser kept 特定目标类 and left 项目支出 as its qualifier
            targets = [m for m in targets if m.entity in named or m.entity.kind != "measure"] or targets
        if targets:
            return targets, self.scope_unit()
        supplied = [o for o in self.q.operands if o.subject is not None and o.subject.kind == "measure" and o.unit is not None]
        if len(supplied) == 1:  # 局本级的项目多少: the parser read the unit's bare 项目 as its 项目支出
            return [Mention(supplied[0].subject, supplied[0].subject.name, 0, 100)], supplied[0].unit
        return [m for m in self.q.mentions if m.entity.kind == "unit"], None

    def _nothing_named(self) -> Answer:
        """No name linked: the whole budget, a name several things share, a heading, a narrative figure."""
        words = self.q.words
        if words in self.c.lexicon.phrases.whole_budget or (not words and "amount_words" in self.q.flags):
            return self.figure_answer_of(self.measure_entity("收支总计"))
        found = self.partial_name_clarify() or self.section_answer() or self.sentence_answer(labelled=True)
        if found is not None:
            return found
        if words and not any(ch.isdigit() for ch in words):
            return self.not_found(self.say("value.no_figure_for_words", words=words))
        return self.not_found(self.say("value.nothing_named"))

    def _no_cells(self, entity: Entity, unit: Entity | None) -> Answer:
        """A thing no table holds a figure of (for that unit): another unit's project, a derivable figure, prose."""
        if unit and entity.kind == "project":
            owner = self.c.project_row(entity.name)["unit_name"]
            return self.not_found(self.say("value.other_units_project", name=entity.name, owner=owner, unit=unit.name))
        derived = self.derived_value(entity, unit) if unit else None
        if derived is not None:
            self.remember(entity, unit)
            return self.answer(self.say("value.derived", name=entity.name, year=self.c.year, label=derived[2], amount=derived[1]))
        if unit:
            return self.not_found(self.say("value.not_by_unit", name=entity.name))
        return (self.stated_answer(entity) or self.sentence_answer()
                or self.not_found(self.say("value.no_figure", name=entity.name)))

    def _one_cell_text(self, entity: Entity, unit: Entity | None, cell: Cell) -> str:
        f = self.fig(cell)
        scope = unit.name if unit else ""
        zero = "（表中为 0，即本年没有这项预算）" + self._absence_note(entity) if cell.value == 0 else ""
        year = "" if entity.name.startswith(f"{self.c.year}年") else f"{self.c.year}年"
        shown = entity.name.removeprefix("其中：").removeprefix("其中:")
        # a column under a heading is only that heading's part: say which (基本支出/公用经费/商品和服务支出)
        where = f"（{cell.table}“{cell.column}”栏）" if entity.kind == "measure" and "/" in cell.column else ""
        row = self.c.project_row(entity.name) if entity.kind == "project" else None
        whose = f"（{row['unit_name']}，{row['type']}项目）" if row and row["unit_name"] and row["type"] else ""
        said = f"{year}{scope}{shown}{whose}{'' if shown.endswith('预算') else '预算'} {amount_text(f)}{where}{zero}。"
        return said + self._parts_text(entity, unit)

    def _absence_note(self, entity: Entity) -> str:
        """What the narrative says of a figure that is 0 (我部门无使用政府性基金预算拨款安排的支出), cited; "" if nothing."""
        names = sorted((a for a in (*entity.aliases, norm(entity.name)) if len(a) >= 4), key=len, reverse=True)
        for line, heading, sentence, _, _ in self.c.sentences:
            said = norm(heading + sentence)
            if any(a in said for a in names) and self.c.lexicon.phrases.absence.search(sentence):
                self.citations.append(Citation(self.c.source, f"情况说明：{heading}", None, line))
                return f"。公开文件“{heading}”说明：{sentence.strip().rstrip('。；;')}"
        return ""

    def _rows_text(self, entity: Entity, unit: Entity | None, cells: list[Cell]) -> str:
        total, target = self.add_up(cells)
        lines = [f"· {c.row}（{c.table} 第{c.line}行）：{show(convert(c.value, c.unit, target))} {target}" for c in cells]
        scope = unit.name if unit else ""
        n = self.count(len(cells), "行", cells[0].table, "匹配行")
        return f"{scope}“{entity.name}”在{cells[0].table}中有 {n} 行，合计 {show(total)} {target}：\n" + "\n".join(lines)

    def figure_answer_of(self, entity: Entity) -> Answer:
        self.q = replace(self.q, mentions=(link_of(entity),))
        return self.figure_answer()

    def crossed_answer(self) -> Answer | None:
        """A subject or item row read in a measure's column: 行政运行的公用经费, 基本支出里的办公费."""
        rows = [m for m in self.q.mentions if m.entity.kind != "measure" and {e.kind for e in (m.entity, *m.alternates)} & {"func", "econ", "class"}]
        measures = [m.entity for m in self.q.mentions if m.entity.kind == "measure" and self.c.lexicon.measures[m.entity.name].columns]
        if not rows or not measures:
            return None
        mention, measure = rows[0], self.c.lexicon.measures[measures[0].name]
        funcs = [e for e in (mention.entity, *mention.alternates) if e.kind == "func" and e.code]
        if len({e.code for e in funcs}) > 1 and not mention.text.isdigit():
            return self.clarify(funcs, mention.entity.name)
        entity = next(e for e in (mention.entity, *mention.alternates) if e.kind in ("func", "econ", "class"))
        for table, columns in measure.columns.items():
            cells = self.c.row_column(entity, table, columns)
            if cells:
                break
        else:
            return None
        self.remember(entity)
        total, target = self.add_up(cells)
        if 1 < len(cells) <= 4:
            detail = "（" + " + ".join(f"{c.column.rsplit('/', 1)[-1]}第{c.line}行 {show(convert(c.value, c.unit, target))}" for c in cells) + "）"
        else:
            detail = ""
        code = f"{entity.code} " if entity.code else ""
        return self.answer(f"{self.c.year}年{code}{entity.name}的{measure.name} {show(total)} {target}{detail}。")

    def _parts_text(self, entity: Entity, unit: Entity | None) -> str:
        if entity.kind != "measure" or unit or entity.name == "收支总计":
            return ""
        parts = []
        for name in self.c.lexicon.measures[entity.name].parts:
            cells = self.c.measure(self.c.lexicon.measures[name])
            if cells:
                f = self.fig(cells[0])
                parts.append(f"{name} {f.value} {f.unit}")
        return f"其中：{'，'.join(parts)}。" if parts else ""

    def _suggest(self, entity: Entity) -> list[str]:
        if entity.kind == "unit":
            return [f"{entity.name}有哪些项目", f"{entity.name}占全部门多少", "项目支出多少"]
        if entity.kind == "project":
            return [f"{entity.name}的绩效指标", "哪个项目钱最多", "有几个项目"]
        return [f"{entity.name}占比多少", f"比{self.c.year - 1}年增加多少", "有哪些项目"]

    def change_answer(self) -> Answer:
        """How a figure changed against last year, as the narrative states it."""
        subject = "、".join(m.entity.name for m in self.q.mentions if m.entity.kind != "unit")
        named = [m for m in self.q.mentions if m.entity.kind != "unit"]
        whole = not named and (not self.q.words or self.q.words in self.c.lexicon.phrases.whole_budget)
        stated = self._stated_change() if len({m.entity.name for m in named}) == 1 or whole else None
        if stated is not None and stated[1] is not None:  # the clause that states this figure's own change
            return self.stated_change_answer(named[-1].entity.name if named else "预算", *stated)
        found = self.sentence_answer()
        stated = self._stated_change() if found is None else None  # the narrative's figure and its 比上年增加 …
        if stated is not None:
            return self._previous_from(self.c.year - 1, *stated)
        return found or self.not_found(self.say("change.not_stated", subject=subject or "这一项"))

    def reason_answer(self) -> Answer:
        """Why a figure is what it is, where the narrative gives the reason."""
        named = [m.entity.name for m in self.q.mentions if m.entity.kind != "unit"]
        table = [self.q.table.removesuffix("表").removesuffix("情况")] if self.q.table else []  # 政府性基金预算支出表为什么是空的
        subject = next((m.entity for m in self.q.mentions if m.entity.kind in ("measure", "func", "econ", "row")), None)
        figure = self.value_of(subject) if subject is not None and len(named) == 1 else None  # the figure the reason is for
        found = next((a for a in map(self.section_answer, named + table) if a is not None), None) or self.sentence_answer()
        if found is None and self.q.of("project"):  # 为啥要花钱搞精神文明建设: what the project is meant to achieve
            return self.performance_answer()
        if found is None:
            return self.not_found(self.say("reason.not_stated", subject="、".join(named) or "这一项"))
        return replace(found, text=self.say("reason.figure", label=figure[2], amount=figure[1]) + found.text) if figure else found

    def describe_answer(self) -> Answer:
        """What a thing is for: the section or sentence that says it, a project's targets, else its figure."""
        if self.q.of("project"):  # 原厂延保那个项目是为了什么: its performance targets say
            return self.performance_answer()
        return self.section_answer() or self.sentence_answer() or self.figure_answer()

    def composition_answer(self) -> Answer | None:
        """Whether a subject's money is 基本支出 or 项目支出 (or the two measures asked): its row read in their columns."""
        subjects = [e for e in self.q.of("func", "econ", "class")] or [
            c for c in (self.c.class_of(e) for e in self.q.of("row")) if c is not None]
        focus = self.state.focus or {}
        if not subjects and focus.get("kind") in ("func", "econ", "row"):  # 科学技术支出 … 这笔钱是基本支出还是项目支出
            found = self.c.find(focus["kind"], focus["name"], focus.get("code"))
            subjects = [e for e in [found if found is None or found.kind != "row" else self.c.class_of(found)] if e is not None]
        if not subjects:
            return None
        entity = subjects[0]
        asked = [e.name for e in self.q.of("measure") if self.c.lexicon.measures[e.name].columns]
        asked = [n for n in asked if not any(self.c.lexicon.inside(o, n) for o in asked if o != n)]  # not 基本支出(情况表)
        parts = []
        kinds_asked = "projects" in self.q.flags and "kind_of" in self.q.flags
        default = "项目支出" if kinds_asked else "收支总计"  # 属于哪类项目: 其他运转类 or 特定目标类; 是项目支出吗: 基本 or 项目
        for name in (asked if len(asked) >= 2 else self.c.lexicon.measures[default].parts):  # 算人员经费还是公用经费
            measure = self.c.lexicon.measures[name]
            cells = next((found for table, columns in measure.columns.items()
                          if (found := self.c.row_column(entity, table, columns))), [])
            if cells:
                total, target = self.add_up(cells)
                parts.append((name, total, target))
        if not parts:
            return None
        self.remember(entity)
        held = [name for name, total, _ in parts if total]
        verdict = f"全部属于{held[0]}" if len(held) == 1 else "两部分都有" if held else "两部分都为零"
        said = "，".join(f"{name} {show(total)} {target}" for name, total, target in parts)
        return self.answer(f"{entity.code + ' ' if entity.code else ''}{entity.name}：{said}，{verdict}。")

    def attribute_answer(self) -> Answer:
        """What kind of project it is and whose (它是哪类项目，哪个单位的)."""
        projects = self.q.of("project")
        if not projects:
            return self.composition_answer() or self.figure_answer()
        entity = projects[0]
        row = self.c.project_row(entity.name)
        cells = self.c.project(entity.name)
        f = self.fig(cells[0]) if cells else None
        self.remember(entity)
        amount = f"，预算 {amount_text(f)}" if f else ""
        code = f"（项目编码 {entity.code}）" if entity.code else ""
        return self.answer(f"“{entity.name}”{code}是{row['type'] or '未标明类型的'}项目，属于{row['unit_name'] or '未标明的单位'}{amount}。")

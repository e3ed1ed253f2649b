"""Answers for figure questions: one figure, shares, comparisons, rankings, lists, counts.

Every number put in a text is first added to `figures`, either read from a stored cell
(with its table, row, column and line) or computed with its formula stated.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from rapidfuzz import fuzz

from bot.answer import ANSWERED, CLARIFY, NOT_FOUND, Answer, Citation, Figure
from bot.catalog import ECON_TABLE, Catalog, Cell, Entity, norm
from bot.render import amount_text, citation, computed, convert, figure, percent, show
from bot.textual import TextAnswers
from bot.understand import Parse

DEFAULT_SUGGESTIONS = ["三公经费多少", "大数据中心项目有哪些", "人员经费占基本支出多少"]
_WHOLE_BUDGET = ("预算", "总预算", "部门预算", "全年预算", "预算总数", "收入", "支出", "总收入", "总支出", "钱")
MAX_OPTIONS = 8


class Composer(TextAnswers):
    def __init__(self, catalog: Catalog, parse: Parse, state: dict) -> None:
        self.c = catalog
        self.p = parse
        self.state = state
        self.unit = parse.unit or state.get("unit")
        self.figures: list[Figure] = []
        self.citations: list[Citation] = []

    # ----- building blocks ------------------------------------------------------
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
        tables = "、".join(list(self.c.tables)[:4])
        return Answer(NOT_FOUND, f"{why}\n我能回答的是{self.c.department}{self.c.year}年{self.c.kind}中的数字，例如：{tables}等表。",
                      [], [], DEFAULT_SUGGESTIONS[:3])

    def clarify(self, entities: list[Entity], what: str) -> Answer:
        options = [f"{e.code} {e.name}多少" if e.code and e.kind in ("func", "econ") else f"{e.name}多少" for e in entities][:MAX_OPTIONS]
        names = "；".join(f"{e.code} {e.name}" if e.code and e.kind in ("func", "econ") else e.name for e in entities[:MAX_OPTIONS])
        more = f"等 {len(entities)} 项" if len(entities) > MAX_OPTIONS else ""
        return Answer(CLARIFY, f"“{what}”对应多项：{names}{more}。请问你指哪一个？", [], [], [], options)

    def scope_unit(self) -> Entity | None:
        """The unit a question is about, or None for the whole department."""
        units = [e for e in self.p.of("unit") if e is not getattr(self.c, "department_entity", None)]
        return units[0] if units else None

    def measure_entity(self, name: str) -> Entity:
        return next(e for e in self.c.entities if e.kind == "measure" and e.name == name)

    def cells_of(self, entity: Entity, unit: Entity | None = None) -> list[Cell]:
        if entity.kind == "measure":
            return self.c.measure(self.c.lexicon.measures[entity.name], unit.code if unit else None)
        if entity.kind == "unit":
            return self.c.measure(self.c.lexicon.measures["收支总计"], None if entity is getattr(self.c, "department_entity", None) else entity.code)
        if entity.kind == "project":
            return self.c.project(entity.name)
        if entity.kind == "func":
            return self.c.func(entity.code)
        if entity.kind == "econ":
            return self.c.econ(entity.code, self.table_hint() or ECON_TABLE)
        if entity.kind == "row":
            return self.c.overview_row(entity.name)
        return []

    def table_hint(self) -> str | None:
        """A table the user points at ("基本支出表里呢")."""
        hint = re.search(r"([\u4e00-\u9fa5“”\"]{2,20}?)表", self.p.text)
        if not hint:
            return None
        key = hint.group(1)
        for name in self.c.tables:
            if key in name:
                return name
        return None

    def value_of(self, entity: Entity, unit: Entity | None = None) -> tuple[Decimal, str, str] | None:
        """(value in the display unit, '12.30 万元', label) of an entity; its figures are added."""
        cells = self.cells_of(entity, unit)
        if not cells:
            return None
        target = self.unit or cells[0].unit
        shown = [self.fig(c).value for c in cells]
        total = sum(convert(c.value, c.unit, target) for c in cells)
        if len(cells) > 1:
            self.figures.append(computed(total, target, " + ".join(shown)))
        label = entity.name
        if unit and entity.kind != "unit":
            label = f"{unit.name}{'预算' if entity.name == '收支总计' else entity.name}"
        return total, f"{show(total)} {target}", label

    def remember_list(self, items: list[tuple[str, Cell]]) -> None:
        """Keep a list for follow-ups (第二个呢, 有几个, 加起来多少) with where its rows are."""
        self.state["list"] = [name for name, _ in items]
        self.state["list_rows"] = [[c.table, c.row, c.line] for _, c in items[:20]]
        self.state["list_values"] = [show(convert(c.value, c.unit, self.unit or c.unit)) for _, c in items]

    def cite_list(self) -> None:
        for table, row, line in self.state.get("list_rows", []):
            citation = Citation(self.c.source, table, row, line)
            if citation not in self.citations:
                self.citations.append(citation)

    def remember(self, entity: Entity, unit: Entity | None = None) -> None:
        self.state["focus"] = {"kind": entity.kind, "name": entity.name, "code": entity.code, "unit": unit.code if unit else None}
        key = [entity.kind, entity.name, entity.code]
        self.state["recent"] = ([k for k in self.state.get("recent", []) if k != key] + [key])[-2:]

    # ----- one figure ---------------------------------------------------------------
    def figure_answer(self) -> Answer:
        unit = self.scope_unit()
        targets = [m for m in self.p.mentions if m.entity.kind != "unit"]
        if not targets:
            targets = [m for m in self.p.mentions if m.entity.kind == "unit"]
            unit = None
        if not targets and (self.key() in _WHOLE_BUDGET or (not self.key() and re.search(r"一共|总共|总的", self.p.text))):
            return self.figure_answer_of(self.measure_entity("收支总计"))
        if not targets:
            return (self.partial_name_clarify() or self.section_answer() or self.sentence_answer(labelled=True)
                    or self.not_found(f"这份预算没有单列“{self.key()}”的数字。" if self.key() and not re.search(r"\d", self.key())
                                      else "没有在这份预算中找到你问的项目或科目。"))
        crossed = self.crossed_answer()
        if crossed is not None:
            return crossed
        by_code = [m for m in targets if m.text.isdigit() and m.entity.kind in ("func", "econ")]
        mention = (by_code or targets)[-1]  # a code is exact; else the head noun, said last: 一般公共预算基本支出
        coded = [] if by_code else [e for e in (mention.entity, *mention.alternates) if e.kind in ("func", "econ") and e.code]
        if len({e.code for e in coded if e.kind == "func"}) > 1:
            return self.clarify([e for e in coded if e.kind == "func"], mention.entity.name)
        entity = mention.entity
        if entity.kind == "term":  # a glossary word asked as a figure: the narrative's number first
            return self.sentence_answer() or self.definition_answer()
        cells = self.cells_of(entity, unit)
        if not cells:
            if unit:
                return self.not_found(f"公开表格没有按单位列出“{entity.name}”，只能回答全部门的数字。")
            return self.sentence_answer() or self.not_found(f"这份预算里没有“{entity.name}”的对应数字。")
        self.remember(entity, unit)
        if len(cells) == 1:
            f = self.fig(cells[0])
            scope = unit.name if unit else ""
            zero = "（表中为 0，即本年没有这项预算）" if cells[0].value == 0 else ""
            text = f"{self.c.year}年{scope}{entity.name}预算 {amount_text(f)}{zero}。" + self._parts_text(entity, unit)
            return self.answer(text, self._suggest(entity))
        target = self.unit or cells[0].unit
        lines = [f"· {c.row}（{c.table} 第{c.line}行）：{self.fig(c).value} {target}" for c in cells]
        total = sum(convert(c.value, c.unit, target) for c in cells)
        self.figures.append(computed(total, target, " + ".join(show(convert(c.value, c.unit, target)) for c in cells)))
        scope = unit.name if unit else ""
        text = f"{scope}“{entity.name}”在{cells[0].table}中有 {self.count(len(cells), '行', cells[0].table, '匹配行')} 行，合计 {show(total)} {target}：\n" + "\n".join(lines)
        return self.answer(text, self._suggest(entity))

    def figure_answer_of(self, entity: Entity) -> Answer:
        from bot.understand import Mention

        self.p.mentions = [Mention(entity, entity.name, 0, 100)]
        return self.figure_answer()

    def crossed_answer(self) -> Answer | None:
        """A subject or item row read in a measure's column: 行政运行的公用经费, 基本支出里的办公费."""
        rows = [m for m in self.p.mentions if m.entity.kind in ("func", "econ")]
        measures = [m.entity for m in self.p.mentions if m.entity.kind == "measure" and self.c.lexicon.measures[m.entity.name].columns]
        if not rows or not measures:
            return None
        mention, measure = rows[0], self.c.lexicon.measures[measures[0].name]
        funcs = [e for e in (mention.entity, *mention.alternates) if e.kind == "func" and e.code]
        if len({e.code for e in funcs}) > 1 and not mention.text.isdigit():
            return self.clarify(funcs, mention.entity.name)
        entity = mention.entity
        for table, columns in measure.columns.items():
            cells = self.c.row_column(entity, table, columns)
            if cells:
                break
        else:
            return None
        self.remember(entity)
        target = self.unit or cells[0].unit
        shown = [self.fig(c).value for c in cells]
        total = sum(convert(c.value, c.unit, target) for c in cells)
        if len(cells) > 1:
            self.figures.append(computed(total, target, " + ".join(shown)))
            detail = "（" + " + ".join(f"{c.column.rsplit('/', 1)[-1]}第{c.line}行 {v}" for c, v in zip(cells, shown)) + "）"
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
        return [f"{entity.name}占比多少", "比2023年增加多少", "有哪些项目"]

    def attribute_answer(self) -> Answer:
        """What kind of project it is and whose (它是哪类项目，哪个单位的)."""
        projects = self.p.of("project")
        if not projects:
            return self.figure_answer()
        entity = projects[0]
        row = self.c.project_row(entity.name)
        cells = self.c.project(entity.name)
        f = self.fig(cells[0]) if cells else None
        self.remember(entity)
        amount = f"，预算 {amount_text(f)}" if f else ""
        return self.answer(f"“{entity.name}”是{row['type'] or '未标明类型的'}项目，属于{row['unit_name'] or '未标明的单位'}{amount}。")

    # ----- computations ---------------------------------------------------------------
    def share_answer(self) -> Answer:
        unit = self.scope_unit()
        measures = list(dict.fromkeys(e for e in (m.entity for m in self.p.mentions) if e.kind != "unit"))
        if unit and not measures:
            part, whole = self.value_of(unit), self.value_of(self.measure_entity("收支总计"))
        elif unit and len(measures) == 1:
            part, whole = self.value_of(measures[0], unit), self.value_of(measures[0])
        elif len(measures) >= 2:
            first, second = self._part_and_whole(measures[0], measures[1])
            part, whole = self.value_of(first), self.value_of(second)
        elif measures and (stated := self.narrative_amount()):
            part, whole = stated, self.value_of(measures[0])
        elif measures:
            entity = measures[0]
            parent = self.c.lexicon.measures[entity.name].parent if entity.kind == "measure" else None
            if entity.kind == "project":
                parent = "项目支出"
            part, whole = self.value_of(entity), self.value_of(self.measure_entity(parent or "收支总计"))
        else:
            return self.not_found("没听明白要算谁占谁的比例。")
        if not part or not whole or whole[0] == 0:
            return self.not_found("公开表格里缺少计算这个比例所需的数字。")
        share = percent(part[0], whole[0])
        self.figures.append(computed(share, "%", f"{show(part[0])} ÷ {show(whole[0])} × 100%（{part[2]} ÷ {whole[2]}）"))
        return self.answer(f"{part[2]} {part[1]}，占{whole[2]} {whole[1]}的 {share}%。",
                           ["人员经费占基本支出多少", "项目支出占比", "大数据中心占全部门多少"])

    def ratio_answer(self) -> Answer:
        """How many times one figure is another (人员经费是公用经费的几倍)."""
        operands = self._operands()
        if len(operands) < 2:
            return self.figure_answer()
        values = [self.value_of(entity, unit) for entity, unit in operands]
        if not all(values) or values[1][0] == 0:
            return self.not_found("公开表格里缺少计算倍数所需的数字。")
        a, b = values
        times = (a[0] / b[0]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.figures.append(computed(times, "倍", f"{show(a[0])} ÷ {show(b[0])}（{a[2]} ÷ {b[2]}）"))
        return self.answer(f"{a[2]} {a[1]}，是{b[2]} {b[1]}的 {times} 倍。")

    def _part_and_whole(self, a: Entity, b: Entity) -> tuple[Entity, Entity]:
        """Which of two named things is the part: "A占B" → A; "A里B占多少" → B; else the one inside the other."""
        text = self.p.text
        at = {id(m.entity): m.start for m in self.p.mentions}
        share_at = text.find("占")
        if share_at >= 0 and at[id(a)] < share_at < at[id(b)]:
            return a, b
        if share_at >= 0 and max(at[id(a)], at[id(b)]) < share_at:
            between = text[min(at[id(a)], at[id(b)]):max(at[id(a)], at[id(b)])]
            if re.search(r"里|中|当中|之中|其中", between):
                return (b, a) if at[id(a)] < at[id(b)] else (a, b)
        if a.kind == "measure" and b.kind == "measure" and self._inside(b.name, a.name):
            return b, a
        return a, b

    def _inside(self, name: str, whole: str) -> bool:
        """Whether measure `name` is (a part of a part of …) measure `whole`."""
        parent = self.c.lexicon.measures[name].parent
        return parent is not None and (parent == whole or self._inside(parent, whole))

    def narrative_amount(self) -> tuple[Decimal, str, str] | None:
        """An amount the question names that only the narrative states (政府采购预算 257.7 万元)."""
        key = self.key()
        if len(key) < 3:
            return None
        facts = [f for f in self.c.narrative if f["unit"] in ("万元", "元", "亿元")]
        scored = sorted(((fuzz.partial_ratio(key, norm(f["label"])), -f["line"], f) for f in facts), key=lambda x: (-x[0], -x[1]))
        if not scored or scored[0][0] < 90:
            return None
        fact = scored[0][2]
        target = self.unit or fact["unit"]
        value = convert(Decimal(fact["value"]), fact["unit"], target)
        self.figures.append(Figure(show(value), target, f"情况说明：{fact['heading']}", fact["label"], None, None, fact["line"]))
        self.citations.append(Citation(self.c.source, f"情况说明：{fact['heading']}", fact["label"], fact["line"]))
        return value, f"{show(value)} {target}", key

    def _operands(self) -> list[tuple[Entity, Entity | None]]:
        """What a comparison compares: each unit with the measure said after it, or the named things."""
        mentions = [m.entity for m in self.p.mentions]
        units = [e for e in mentions if e.kind == "unit"]
        others = [e for e in mentions if e.kind != "unit"]
        if len(units) >= 2:
            measure = others[0] if others else None
            return [(measure, u) if measure else (u, None) for u in units[:2]]
        return [(e, self.scope_unit()) for e in others[:2]]

    def compare_answer(self) -> Answer:
        operands = self._operands()
        if not operands and len(self.state.get("recent", [])) >= 2:  # 两者差多少
            operands = [(e, None) for e in (self.c.find(*key) for key in self.state["recent"][-2:]) if e is not None]
        if len(operands) < 2:
            return self.figure_answer()
        values = [self.value_of(entity, unit) for entity, unit in operands]
        if not all(values):
            return self.not_found("公开表格里缺少比较所需的数字。")
        a, b = values
        unit_name = self.unit or a[1].split()[-1]
        big, small = (a, b) if a[0] >= b[0] else (b, a)
        diff = big[0] - small[0]
        self.figures.append(computed(diff, unit_name, f"{show(big[0])} − {show(small[0])}（{big[2]} − {small[2]}）"))
        return self.answer(f"{big[2]} {big[1]}，{small[2]} {small[1]}；{big[2]}比{small[2]}多 {show(diff)} {unit_name}。")

    # ----- collections -------------------------------------------------------------------
    def collection(self) -> tuple[str, list[tuple[str, Cell]]] | None:
        """The rows a list, count or ranking is over, named by the question; None if it names none."""
        text = self.p.text
        unit = self.scope_unit()
        measures = self.p.of("measure")
        if "三公" in text:
            parts = self.c.lexicon.measures["“三公”经费"].parts
            return "“三公”经费各项", sorted(((n, self.c.measure(self.c.lexicon.measures[n])[0]) for n in parts), key=lambda x: -x[1].value)
        classes = [e for m in self.p.mentions for e in (m.entity, *m.alternates) if e.kind == "class"]
        if classes and not self.p.of("project"):
            group = classes[0]
            if group.code.startswith("3"):
                items = [(n, c) for n, c in self.c.econ_items() if n.startswith(group.code)]
            else:
                items = [(f"{code} {name}", c) for code, name, c in self.c.subjects() if code.startswith(group.code)]
            return f"{group.name}（{group.code}）下的科目", items
        if "单位" in text and "项目" not in text and not measures:
            units = [u for u in self.c.units if not u["is_department"]]
            rows = [(u["name"], c) for u in units for c in self.c.measure(self.c.lexicon.measures["收支总计"], u["code"])[:1]]
            return "所属单位", sorted(rows, key=lambda x: -x[1].value)
        if re.search(r"类级|哪一类|哪类|哪个类|各类|类支出|大类|几类", text):
            rows = self.c.overview_rows("支出")
            return "支出功能分类（类）", sorted((r for r in rows if r[1].value > 0), key=lambda x: -x[1].value)
        if "科目" in text or "功能分类" in text or "经济分类" in text:
            if "经济" in text:
                return "经济科目", self.c.econ_items()
            return "功能科目", [(f"{code} {name}", c) for code, name, c in self.c.subjects()]
        if "项目" in text or (measures and measures[0].name in ("其他运转类", "特定目标类")) or (unit and not measures and not self.key()):
            kind = "特定目标类" if "特定目标" in text else "其他运转类" if "其他运转" in text else None
            label = f"{unit.name if unit else ''}{kind or ''}项目"
            return label, [(n, c) for n, c, _ in self.c.projects(unit.code if unit else None, kind)]
        return None

    def rank_answer(self) -> Answer:
        found = self.collection()
        if found is None:
            found = ("项目", [(n, c) for n, c, _ in self.c.projects()])
        what, items = found
        if not items:
            return self.not_found("没有可排序的数据。")
        smallest = bool(re.search(r"最少|最小|最低|从小到大", self.p.text))
        ordered = list(reversed(items)) if smallest else items
        self.remember_list(ordered)
        n = self.p.top or 1
        nth = re.search(r"第\d+", self.p.text)
        picked = ordered[n - 1:n] if nth else ordered[:n]
        lines = [f"{ordered.index((name, c)) + 1}. {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in picked]
        if len(picked) > 1 and re.search(r"加起来|合计|一共|总共|共多少", self.p.text):
            target = self.unit or picked[0][1].unit
            values = [convert(c.value, c.unit, target) for _, c in picked]
            self.figures.append(computed(sum(values), target, " + ".join(show(v) for v in values)))
            lines.append(f"合计 {show(sum(values))} {target}")
        if nth or n == 1:
            head = f"{what}中金额{'第 ' + self.count(n, '名', None, '名次') + ' 位' if nth else ('最少' if smallest else '最多')}的是"
        else:
            head = f"{what}中金额{'最少' if smallest else '最多'}的前 {self.count(n, '个', None, '要求的名次')} 个"
        return self.answer(head + "：\n" + "\n".join(lines), ["前三大项目", "哪个项目最少", "有几个项目"])

    def list_answer(self) -> Answer:
        text = self.p.text
        measures = self.p.of("measure")
        if "单位" in text and "项目" not in text:
            return self.units_answer()
        if measures and self.c.lexicon.measures[measures[-1].name].parts and "项目" not in text:
            measure = measures[-1]
            lines = []
            for name in self.c.lexicon.measures[measure.name].parts:
                cells = self.c.measure(self.c.lexicon.measures[name])
                if cells:
                    lines.append(f"· {name}：{self.fig(cells[0]).value} {self.unit or cells[0].unit}")
            return self.answer(f"{measure.name}包括：\n" + "\n".join(lines))
        found = self.collection()
        if found is None:
            return (self.section_answer() or self.sentence_answer()
                    or self.not_found("没听明白要列出什么，可以问“有哪些项目”“有哪些科目”。"))
        what, items = self.above_threshold(*found)
        self.remember_list(items)
        lines = [f"· {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in items]
        total = sum(convert(c.value, c.unit, self.unit or c.unit) for _, c in items)
        self.state["list_total"] = show(total)
        table = items[0][1].table if items else None
        return self.answer(f"{what}共 {self.count(len(items), '个', table, what)} 个（按金额从大到小）：\n" + "\n".join(lines),
                           ["有几个项目", "哪个项目钱最多", "加起来多少"])

    def above_threshold(self, what: str, items: list[tuple[str, Cell]]) -> tuple[str, list[tuple[str, Cell]]]:
        """Keep the rows over an amount the question names (50万以上, 超过100万元)."""
        match = re.search(r"(?:超过|大于|高于|多于)?\s*(\d+(?:\.\d+)?)\s*(万|亿|元)(?:元)?(以上|以下|及以上)?", self.p.text)
        if not match or not (match.group(3) or re.search(r"超过|大于|高于|多于", self.p.text)):
            return what, items
        unit = {"万": "万元", "亿": "亿元", "元": "元"}[match.group(2)]
        limit = Decimal(match.group(1))
        self.figures.append(Figure(match.group(1), unit, None, None, None, "提问给出的金额界限", None))
        below = match.group(3) == "以下"
        kept = [(n, c) for n, c in items if (convert(c.value, c.unit, unit) <= limit if below else convert(c.value, c.unit, unit) >= limit)]
        return f"{what}中{match.group(1)}{unit}{'以下' if below else '以上'}的", kept

    def units_answer(self) -> Answer:
        units = [u for u in self.c.units if not u["is_department"]]
        n = self.count(len(units), "个", "部门收入总体情况表", "单位")
        for cell in self.c.measure(self.c.lexicon.measures["收支总计"], units[0]["code"])[:1] if units else []:
            self.cite(cell)
        lines = "\n".join(f"· {u['code']} {u['name']}" for u in units)
        return self.answer(f"{self.c.department}部门预算包括 {n} 个单位：\n{lines}")

    def count_answer(self) -> Answer:
        text = self.p.text
        if self.p.of("project") and not re.search(r"几个项目|多少个项目", text):
            return self.performance_answer()
        if re.search(r"车|设备|台|绩效|条", text):
            return self.section_answer() or self.sentence_answer() or self.not_found("公开文件没有这个数量。")
        if "单位" in text and "项目" not in text:
            return self.units_answer()
        found = self.collection()
        if found is None and not self.state.get("list"):
            return self.enumeration_answer() or self.section_answer() or self.sentence_answer() or self.not_found("公开文件没有这个数量。")
        if found is None and self.state.get("list"):
            self.cite_list()
            n = self.count(len(self.state["list"]), "个", None, "上一回答所列项目")
            return self.answer(f"上面列出的共 {n} 个。")
        what, items = self.above_threshold(*(found or ("项目", [(n, c) for n, c, _ in self.c.projects()])))
        self.remember_list(items)
        for _, c in items[:1]:
            self.cite(c)
        table = items[0][1].table if items else None
        names = "、".join(n for n, _ in items) if len(items) <= 3 else ""
        return self.answer(f"{what}共 {self.count(len(items), '个', table, what)} 个{('：' + names) if names else ''}。",
                           ["有哪些项目", "哪个项目钱最多"])

"""Answers for each question kind, built only from stored cells and stated computations."""

from __future__ import annotations

import re
from decimal import Decimal

from rapidfuzz import fuzz

from bot.answer import ANSWERED, CLARIFY, NOT_FOUND, Answer, Figure
from bot.catalog import Catalog, Cell, Entity, norm
from bot.render import amount_text, citation, computed, convert, figure, percent, show
from bot.understand import Parse

DEFAULT_SUGGESTIONS = ["三公经费多少", "大数据中心项目有哪些", "人员经费占基本支出多少"]
_QUESTION_WORDS = re.compile(r"多少钱|是多少|多少|有多少|是什么|什么|请问|一下|预算|的|吗|呢|啊|了|是|有|\?|？|。|，|,|\s")


class Composer:
    def __init__(self, catalog: Catalog, parse: Parse, state: dict) -> None:
        self.c = catalog
        self.p = parse
        self.state = state
        self.unit = parse.unit or state.get("unit")
        self.figures: list[Figure] = []
        self.citations = []

    # ----- helpers -------------------------------------------------------------
    def cite(self, cell: Cell) -> None:
        c = citation(self.c.source, cell)
        if c not in self.citations:
            self.citations.append(c)

    def fig(self, cell: Cell) -> Figure:
        f = figure(cell, self.unit)
        self.figures.append(f)
        self.cite(cell)
        return f

    def answer(self, text: str, suggestions: list[str] | None = None, status: str = ANSWERED) -> Answer:
        sources = "、".join(dict.fromkeys(c.table for c in self.citations))
        if sources and status == ANSWERED:
            text += f"\n来源：{sources}（{self.c.department} {self.c.year}年{self.c.kind}）。"
        return Answer(status, text, self.figures, self.citations, suggestions or DEFAULT_SUGGESTIONS[:3])

    def not_found(self, why: str) -> Answer:
        tables = "、".join(list(self.c.tables)[:4])
        return Answer(NOT_FOUND, f"{why}\n我能回答的是{self.c.department}{self.c.year}年{self.c.kind}中的数字，例如：{tables}等表。",
                      [], [], DEFAULT_SUGGESTIONS[:3])

    def scope_unit(self) -> Entity | None:
        units = [e for e in self.p.of("unit")]
        return units[0] if units else None

    def cells_of(self, entity: Entity, unit: Entity | None = None) -> list[Cell]:
        if entity.kind == "measure":
            return self.c.measure(self.c.lexicon.measures[entity.name], unit.code if unit else None)
        if entity.kind == "unit":
            return self.c.measure(self.c.lexicon.measures["收支总计"], entity.code)
        if entity.kind == "project":
            return self.c.project(entity.name)
        if entity.kind == "func":
            return self.c.func(entity.code)
        if entity.kind == "econ":
            return self.c.econ(entity.code)
        if entity.kind == "row":
            return self.c.overview_row(entity.name)
        return []

    def value_of(self, entity: Entity, unit: Entity | None = None) -> tuple[Decimal, str, str] | None:
        """(value in display unit, shown text, label) of an entity, adding its figures."""
        cells = self.cells_of(entity, unit)
        if not cells:
            return None
        target = self.unit or cells[0].unit
        figs = [self.fig(c) for c in cells]
        total = sum(convert(c.value, c.unit, target) for c in cells)
        label = f"{unit.name}{entity.name}" if unit and entity.kind != "unit" else entity.name
        if len(cells) > 1:
            self.figures.append(computed(total, target, " + ".join(f.value for f in figs)))
        return total, f"{show(total)} {target}", label

    # ----- question kinds ---------------------------------------------------------
    def figure_answer(self) -> Answer:
        unit = self.scope_unit()
        targets = [e for e in self.p.mentions if e.entity.kind != "unit"] or [m for m in self.p.mentions if m.entity.kind == "unit"]
        if not targets:
            return self.narrative_answer() or self.not_found("没有在这份预算中找到你问的项目或科目。")
        first = targets[0]
        same = [m.entity for m in targets if m.start == first.start and m.text == first.text]
        coded = [e for e in same if e.kind in ("func", "econ") and e.code]
        if len({e.code for e in coded}) > 1:
            return self.clarify(coded)
        entity = first.entity
        if entity.kind == "term":
            return self.definition_answer()
        cells = self.cells_of(entity, unit if entity.kind != "unit" else None)
        if not cells:
            return self.narrative_answer() or self.not_found(f"这份预算里没有“{entity.name}”的对应数字。")
        self.state["focus"] = {"kind": entity.kind, "name": entity.name, "code": entity.code, "unit": unit.code if unit else None}
        if len(cells) == 1:
            f = self.fig(cells[0])
            scope = f"{unit.name}" if unit and entity.kind != "unit" else ""
            zero = "（表中为 0，即本年没有这项预算）" if cells[0].value == 0 else ""
            text = f"{self.c.year}年{scope}{entity.name}预算 {amount_text(f)}{zero}。"
            text += self._parts_text(entity, unit)
            return self.answer(text, self._suggest(entity))
        target = self.unit or cells[0].unit
        self.figures.append(Figure(str(len(cells)), "行", cells[0].table, None, None, "匹配的表格行数", None))
        lines = [f"· {c.row}（{c.table} 第{c.line}行）：{self.fig(c).value} {target}" for c in cells]
        total = sum(convert(c.value, c.unit, target) for c in cells)
        self.figures.append(computed(total, target, " + ".join(show(convert(c.value, c.unit, target)) for c in cells)))
        text = f"“{entity.name}”在表中有 {len(cells)} 行，合计 {show(total)} {target}：\n" + "\n".join(lines)
        return self.answer(text, self._suggest(entity))

    def _parts_text(self, entity: Entity, unit: Entity | None) -> str:
        if entity.kind != "measure" or unit:
            return ""
        parts = []
        for name in self.c.lexicon.measures[entity.name].parts:
            cells = self.c.measure(self.c.lexicon.measures[name])
            if cells:
                parts.append(f"{name} {self.fig(cells[0]).value}")
        return f"（其中：{'，'.join(parts)}）" if parts and entity.name != "收支总计" else ""

    def _suggest(self, entity: Entity) -> list[str]:
        if entity.kind == "unit":
            return [f"{entity.name}有哪些项目", f"{entity.name}占全部门多少", "项目支出多少"]
        if entity.kind == "project":
            return [f"{entity.name}的绩效指标", "哪个项目钱最多", "有几个项目"]
        return [f"{entity.name}占比多少", "比2023年增加多少", "有哪些项目"]

    def clarify(self, entities: list[Entity]) -> Answer:
        options = [f"{e.code} {e.name}多少" if e.code else f"{e.name}多少" for e in entities]
        self.state["options"] = options
        names = "；".join(f"{e.code or ''} {e.name}".strip() for e in entities)
        return Answer(CLARIFY, f"“{entities[0].name}”对应多个科目：{names}。请问你指哪一个？", [], [], [], options)

    def share_answer(self) -> Answer:
        named = [m.entity for m in self.p.mentions]
        unit = self.scope_unit()
        measures = [e for e in named if e.kind != "unit"]
        if unit and not measures:
            part = self.value_of(unit)
            whole_entity = self._measure_entity("收支总计")
            whole = self.value_of(whole_entity)
        elif unit and len(measures) == 1:
            part = self.value_of(measures[0], unit)
            whole = self.value_of(measures[0])
        elif len(measures) >= 2:
            part, whole = self.value_of(measures[0]), self.value_of(measures[1])
        elif measures:
            entity = measures[0]
            parent = self.c.lexicon.measures[entity.name].parent if entity.kind == "measure" else None
            if entity.kind == "project" or (entity.kind == "func" and "项目支出" in self.p.text):
                parent = "项目支出"
            part = self.value_of(entity)
            whole = self.value_of(self._measure_entity(parent or "收支总计"))
        else:
            return self.not_found("没听明白要算谁占谁的比例。")
        if not part or not whole or whole[0] == 0:
            return self.not_found("缺少计算比例所需的数字。")
        share = percent(part[0], whole[0])
        self.figures.append(computed(share, "%", f"{part[2]} {part[1]} ÷ {whole[2]} {whole[1]} × 100%"))
        return self.answer(f"{part[2]} {part[1]}，占{whole[2]} {whole[1]}的 {share}%。", ["人员经费占基本支出多少", "项目支出占比", "三公经费多少"])

    def _measure_entity(self, name: str) -> Entity:
        return next(e for e in self.c.entities if e.kind == "measure" and e.name == name)

    def compare_answer(self) -> Answer:
        unit = self.scope_unit()
        named = [m.entity for m in self.p.mentions]
        if len(named) < 2:
            return self.figure_answer()
        if unit and len([e for e in named if e.kind == "unit"]) == 1 and len(named) == 2 and "项目" not in self.p.text:
            a, b = self.value_of(named[0]), self.value_of(named[1])
        elif "项目支出" in self.p.text and all(e.kind in ("unit", "measure") for e in named):
            units = [e for e in named if e.kind == "unit"]
            m = self._measure_entity("项目支出")
            a, b = self.value_of(m, units[0]), self.value_of(m, units[1]) if len(units) > 1 else self.value_of(m)
        else:
            a, b = self.value_of(named[0]), self.value_of(named[1])
        if not a or not b:
            return self.not_found("缺少比较所需的数字。")
        unit_name = (self.unit or "万元")
        diff = abs(a[0] - b[0])
        big, small = (a, b) if a[0] >= b[0] else (b, a)
        self.figures.append(computed(diff, unit_name, f"{big[2]} {big[1]} − {small[2]} {small[1]}"))
        return self.answer(f"{big[2]} {big[1]}，{small[2]} {small[1]}；{big[2]}多 {show(diff)} {unit_name}。")

    def ranked(self) -> tuple[str, list[tuple[str, Cell]]]:
        text = self.p.text
        unit = self.scope_unit()
        if "三公" in text:
            items = [(n, self.c.measure(self.c.lexicon.measures[n])[0]) for n in self.c.lexicon.measures["“三公”经费"].parts]
            return "“三公”经费各项", sorted(items, key=lambda x: -x[1].value)
        if "类" in text and "项目" not in text:
            rows = [(c.row, c) for c in self.c._cells(self.c._FACTS + "AND t.name = :t AND f.side = '支出' AND f.row_kind = 'item' AND f.column = '金额'", {"t": "部门收支总体情况表"}) if c.value > 0]
            return "支出功能分类（类）", sorted(rows, key=lambda x: -x[1].value)
        if "科目" in text or "功能" in text:
            if "经济" in text:
                return "经济科目", self._econ_items()
            return "功能科目", [(f"{code} {name}", c) for code, name, c in self.c.subjects()]
        kind = "特定目标类" if "特定目标" in text else "其他运转类" if "其他运转" in text else None
        return "项目", [(n, c) for n, c, _ in self.c.projects(unit.code if unit else None, kind)]

    def _econ_items(self) -> list[tuple[str, Cell]]:
        totals: dict[str, list[Cell]] = {}
        for e in self.c.entities:
            if e.kind == "econ":
                totals[f"{e.code} {e.name}"] = self.c.econ(e.code)
        out = []
        for name, cells in totals.items():
            if cells:
                first = cells[0]
                out.append((name, Cell(sum(c.value for c in cells), first.unit, first.table, name, first.column, first.line)))
        return sorted(out, key=lambda x: -x[1].value)

    def rank_answer(self) -> Answer:
        what, items = self.ranked()
        if not items:
            return self.not_found("没有可排序的数据。")
        smallest = re.search(r"最少|最小|最低|从小到大", self.p.text)
        items = list(reversed(items)) if smallest else items
        n = self.p.top or 1
        if re.search(r"第\d+", self.p.text):
            items = items[n - 1:n]
        else:
            items = items[:n]
        self.state["list"] = [name for name, _ in items]
        self.figures.append(Figure(str(n), "个", None, None, None, "用户要求的名次数", None))
        lines = [f"{i}. {name}：{self.fig(c).value} {self.unit or c.unit}" for i, (name, c) in enumerate(items, 1)]
        head = f"{what}中金额{'最少' if smallest else '最多'}的" + (f"前 {n} 个" if n > 1 else "是")
        return self.answer(head + "：\n" + "\n".join(lines), ["前三大项目", "哪个项目最少", "有几个项目"])

    def list_answer(self) -> Answer:
        text = self.p.text
        measures = self.p.of("measure")
        if measures and self.c.lexicon.measures[measures[0].name].parts and "项目" not in text:
            m = measures[0]
            lines = []
            for name in self.c.lexicon.measures[m.name].parts:
                cells = self.c.measure(self.c.lexicon.measures[name])
                if cells:
                    lines.append(f"· {name}：{self.fig(cells[0]).value} {self.unit or cells[0].unit}")
            return self.answer(f"{m.name}包括：\n" + "\n".join(lines))
        if "单位" in text and "项目" not in text:
            lines = [f"· {u['code']} {u['name']}" for u in self.c.units if not u["is_department"]]
            self.figures.append(Figure(str(len(lines)), "个", "部门收入总体情况表", None, None, "单位代码行计数", None))
            return self.answer(f"{self.c.department}部门预算包括 {len(lines)} 个单位：\n" + "\n".join(lines))
        what, items = self.ranked()
        threshold = re.search(r"(\d+(?:\.\d+)?)\s*万(?:元)?以上", text)
        if threshold:
            items = [(n, c) for n, c in items if convert(c.value, c.unit, "万元") >= Decimal(threshold.group(1))]
        self.state["list"] = [n for n, _ in items]
        total = Decimal(0)
        lines = []
        for name, c in items:
            f = self.fig(c)
            total += Decimal(f.value)
            lines.append(f"· {name}：{f.value} {f.unit}")
        unit = self.scope_unit()
        scope = unit.name if unit else ""
        self.state["list_total"] = show(total)
        self.figures.append(Figure(str(len(items)), "个", items[0][1].table if items else None, None, None, f"{what}的行数", None))
        return self.answer(f"{scope}{what}共 {len(items)} 个（按金额从大到小）：\n" + "\n".join(lines),
                           ["有几个项目", "哪个项目钱最多", "加起来多少"])

    def count_answer(self) -> Answer:
        text = self.p.text
        if any(w in text for w in ("车", "设备", "台")) or ("项目" in text and "绩效" in text):
            return self.narrative_answer() or self.not_found("没有找到相关数量。")
        if "单位" in text and "项目" not in text:
            units = [u for u in self.c.units if not u["is_department"]]
            self.figures.append(Figure(str(len(units)), "个", "部门收入总体情况表", None, None, "单位代码行计数", None))
            return self.answer(f"部门预算包括 {len(units)} 个单位：{'、'.join(u['name'] for u in units)}。")
        what, items = self.ranked()
        self.state["list"] = [n for n, _ in items]
        for _, c in items[:1]:
            self.cite(c)
        table = items[0][1].table if items else ""
        self.figures.append(Figure(str(len(items)), "个", table, None, None, f"{table}中{what}的行数", None))
        unit = self.scope_unit()
        return self.answer(f"{unit.name if unit else ''}{what}共 {len(items)} 个。", ["有哪些项目", "哪个项目钱最多"])

    def code_answer(self) -> Answer:
        entities = [e for e in self.p.of("func", "econ", "unit", "project") if e.code or e.kind == "project"]
        numbers = re.findall(r"(?<!\d)\d{3,7}(?!\d)", self.p.text)
        if not entities:
            return self.figure_answer()
        e = entities[0]
        if numbers and e.code == numbers[0]:
            scheme = {"func": "支出功能分类科目", "econ": "部门预算支出经济分类科目", "unit": "单位代码"}[e.kind]
            return self._with_cells(e, f"{e.code} 是{scheme}“{e.name}”。")
        scheme = {"func": "功能分类科目编码", "econ": "经济分类科目编码", "unit": "单位代码"}.get(e.kind, "编码")
        return self._with_cells(e, f"“{e.name}”的{scheme}是 {e.code}。")

    def _with_cells(self, e: Entity, text: str) -> Answer:
        for cell in self.cells_of(e)[:1]:
            self.cite(cell)
        return self.answer(text, [f"{e.name}多少", "有哪些功能科目"])

    def definition_answer(self) -> Answer:
        terms = self.p.of("term")
        rows = self.c.conn.execute("SELECT * FROM glossary WHERE document_id = ?", (self.c.doc_id,)).fetchall()
        if terms:
            row = self.c.glossary(terms[0].name)
        else:
            key = _QUESTION_WORDS.sub("", re.sub(r"什么是|是什么意思|啥意思|指什么|指的是|的定义|的含义|名词解释|是指", "", self.p.text))
            scored = sorted(((fuzz.partial_ratio(key, norm(r["term"])), r) for r in rows), key=lambda x: -x[0])
            row = scored[0][1] if scored and scored[0][0] >= 70 else None
        if row is None:
            return self.not_found("名词解释中没有这个词。")
        from bot.answer import Citation
        self.citations.append(Citation(self.c.source, "名词解释", row["term"], row["line"]))
        return self.answer(f"{row['term']}：{row['definition']}")

    def performance_answer(self) -> Answer:
        projects = self.p.of("project")
        rows = self.c.indicators(projects[0].name if projects else None)
        if projects and not rows:
            return self.not_found(f"“{projects[0].name}”的绩效指标组在项目绩效目标汇总表中无法可靠对应（审计已报告），不作推断。")
        key = _QUESTION_WORDS.sub("", self.p.text)
        for word in ("要求", "目标", "指标值", "指标", "是多少"):
            key = key.replace(word, "")
        if projects:
            key = key.replace(norm(projects[0].name), "")
            picked = [r for r in rows if key and fuzz.partial_ratio(key, r["name"]) >= 70] or rows
        else:
            scored = [(fuzz.partial_ratio(key, r["name"]) if key else 0, r) for r in rows]
            best = max((s for s, _ in scored), default=0)
            picked = [r for s, r in scored if s == best and s >= 60]
        if not picked:
            return self.not_found("没有找到这个绩效指标。")
        from bot.answer import Citation
        lines = []
        for r in picked[:12]:
            lines.append(f"· {r['level1'] + '/' if r['level1'] else ''}{r['name']}：{r['value']}")
            for number in re.findall(r"\d+(?:\.\d+)?", r["name"] + " " + r["value"]):
                self.figures.append(Figure(number, "", r["tname"], r["name"], "指标值", None, r["line"]))
            self.citations.append(Citation(self.c.source, r["tname"], r["name"], r["line"]))
        head = f"“{projects[0].name}”的绩效指标" if projects else "部门整体绩效目标"
        return self.answer(head + "：\n" + "\n".join(lines))

    def narrative_answer(self, why: bool = False) -> Answer | None:
        """A number (or reason) stated in 情况说明, found by its wording."""
        facts = self.c.narrative()
        focus = [m.entity.name for m in self.p.mentions] or ([self.state["focus"]["name"]] if self.state.get("focus") else [])
        key = _QUESTION_WORDS.sub("", self.p.text)
        for word in ("为什么", "为啥", "原因", "比上年", "比去年", "和去年比", "变化", "增加", "增长", "多少"):
            key = key.replace(word, "")
        want_change = self.p.intent in ("change", "why")
        best, best_score = None, 0.0
        for f in facts:
            haystack = norm(f["heading"] + f["sentence"])
            score = max((fuzz.partial_ratio(norm(n), haystack) for n in focus), default=0) * 0.6
            score += fuzz.partial_ratio(key, norm(f["label"])) * 0.4 if key else 0
            if want_change:
                score += 30 if (f["compared_year"] or re.search(r"增加|增长|减少", f["label"])) else -30
            if score > best_score:
                best, best_score = f, score
        if best is None or best_score < 45:
            return None
        from bot.answer import Citation
        self.citations.append(Citation(self.c.source, f"情况说明：{best['heading']}", best["label"], best["line"]))
        same = [f for f in facts if f["sentence"] == best["sentence"]]
        for f in same:
            self.figures.append(Figure(show(Decimal(f["value"])) if f["unit"] in ("万元", "元") and "." in f["value"] else f["value"],
                                       f["unit"], f"情况说明：{f['heading']}", f["label"], None, None, f["line"]))
        text = best["sentence"].strip()
        if why or self.p.intent == "why":
            paragraph = next((s["text"] for s in self.c.sections() if s["line"] == best["line"]), text)
            reason = re.search(r"主要原因[:：]([^；;。]+)", paragraph)
            text = f"主要原因：{reason.group(1)}。（{text}）" if reason else f"公开文件没有说明原因。原文：{text}"
        return self.answer(text)

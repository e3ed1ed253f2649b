"""Answers over sets of rows: lists, rankings, counts, with thresholds and follow-ups kept."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from bot.answer import Answer, Figure
from bot.catalog import FUNC_TABLE, Cell
from bot.render import computed, show
from db.money import convert


class Listings:
    """Mixin of Composer (bot/compose.py), whose building blocks it uses."""

    def collection(self) -> tuple[str, list[tuple[str, Cell]]] | None:
        """The rows a list, count or ranking is over: a classification level the question names, else the
        first rule of knowledge/phrases.toml [[collection]] that its words match; None if none does."""
        classes = [e for m in self.p.mentions for e in (m.entity, *m.alternates) if e.kind == "class"]
        if classes and not self.p.of("project"):
            group = classes[0]
            if group.code.startswith("3"):
                items = [(n, c) for n, c in self.c.econ_items() if n.startswith(group.code)]
            else:
                items = [(f"{code} {name}", c) for code, name, c in self.c.subjects() if code.startswith(group.code)]
            return f"{group.name}（{group.code}）下的科目", items
        rows = {"三公经费各项": self._sangong_rows, "所属单位": self._unit_rows, "支出功能分类（类）": self._class_rows,
                "经济科目": self.c.econ_items, "功能科目": self._subject_rows, "项目": self._project_rows}
        measures, unit = self.p.of("measure"), self.scope_unit()
        for name, pattern, unless in self.c.lexicon.phrases.collections:
            if pattern.search(self.p.text) and not (unless and unless.search(self.p.text)):
                if name == "所属单位" and measures:
                    continue  # 单位 beside a measure (大数据中心的三公) is a scope, not the rows
                return self._project_rows() if name == "项目" else (name, rows[name]())
        if unit and not measures and not self.key():  # 大数据中心有哪些: its projects
            return self._project_rows()
        return None

    def _sangong_rows(self) -> list[tuple[str, Cell]]:
        parts = self.c.lexicon.measures["“三公”经费"].parts
        return sorted(((n, self.c.measure(self.c.lexicon.measures[n])[0]) for n in parts), key=lambda x: -x[1].value)

    def _unit_rows(self) -> list[tuple[str, Cell]]:
        units = [u for u in self.c.units if not u["is_department"]]
        rows = [(u["name"], c) for u in units for c in self.c.measure(self.c.lexicon.measures["收支总计"], u["code"])[:1]]
        return sorted(rows, key=lambda x: -x[1].value)

    def _class_rows(self) -> list[tuple[str, Cell]]:
        return sorted((r for r in self.c.overview_rows("支出") if r[1].value > 0), key=lambda x: -x[1].value)

    def _subject_rows(self) -> list[tuple[str, Cell]]:
        """Function subjects by amount; by a measure's column when one is named (项目支出最多的科目)."""
        measure = next((self.c.lexicon.measures[e.name] for e in self.p.of("measure")
                        if FUNC_TABLE in self.c.lexicon.measures[e.name].columns), None)
        if measure is None:
            return [(f"{code} {name}", c) for code, name, c in self.c.subjects()]
        rows = []
        for code, name, _ in self.c.subjects():
            cells = self.c.row_column(self.c.find("func", name, code), FUNC_TABLE, measure.columns[FUNC_TABLE])
            if cells:
                total = sum((c.value for c in cells), Decimal(0))
                formula = " + ".join(str(c.value) for c in cells) if len(cells) > 1 else None
                rows.append((f"{code} {name}（{measure.name}）", replace(cells[0], value=total, formula=formula)))
        return sorted(rows, key=lambda x: (-x[1].value, x[0]))

    def _project_rows(self) -> tuple[str, list[tuple[str, Cell]]]:
        unit = self.scope_unit()
        kind = "特定目标类" if "特定目标" in self.p.text else "其他运转类" if "其他运转" in self.p.text else None
        label = f"{unit.name if unit else ''}{kind or ''}项目"
        return label, [(n, c) for n, c, _ in self.c.projects(unit.code if unit else None, kind)]

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
        whole_order = not self.p.top and re.search(r"从大到小|从小到大|排序|排名|排一下|排个序", self.p.text)
        n = len(ordered) if whole_order else max(self.p.top or 1, 1)
        nth = re.search(r"第\d+", self.p.text)
        picked = ordered[n - 1:n] if nth else ordered[:n]
        if not picked:
            return self.answer(f"{what}共 {self.count(len(ordered), '个', ordered[0][1].table, what)} 个，没有第 {n} 个。")
        lines = [f"{ordered.index((name, c)) + 1}. {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in picked]
        if len(picked) > 1 and re.search(r"加起来|合计|一共|总共|共多少", self.p.text):
            target = self.unit or picked[0][1].unit
            values = [convert(c.value, c.unit, target) for _, c in picked]
            self.figures.append(computed(sum(values), target, " + ".join(show(v) for v in values)))
            lines.append(f"合计 {show(sum(values))} {target}")
        if nth or n == 1:
            head = f"{what}中金额{'第 ' + self.count(n, '名', None, '名次') + ' 位' if nth else ('最少' if smallest else '最多')}的是"
        else:
            head = f"{what}中金额{'最少' if smallest else '最多'}的前 {self.count(len(picked), '个', None, '列出的名次')} 个"
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
        if not items:
            return self.answer(f"{what}共 {self.count(0, '个', None, what)} 个。", ["有哪些项目", "哪个项目钱最多"])
        lines = [f"· {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in items]
        total = sum((convert(c.value, c.unit, self.unit or c.unit) for _, c in items), Decimal(0))
        self.state["list_total"] = show(total)
        table = items[0][1].table if items else None
        return self.answer(f"{what}共 {self.count(len(items), '个', table, what)} 个（按金额从大到小）：\n" + "\n".join(lines),
                           ["有几个项目", "哪个项目钱最多", "加起来多少"])

    def above_threshold(self, what: str, items: list[tuple[str, Cell]]) -> tuple[str, list[tuple[str, Cell]]]:
        """Keep the rows within amounts the question names: 50万以上, 超过5万元 (strictly), 低于3万元,
        2万元以下, 30万到60万之间. The bounds become figures (提问给出的金额界限)."""
        bounds = amount_bounds(self.p.text)
        if bounds is None:
            return what, items
        (low, low_strict), (high, high_strict), unit, label = bounds
        for value in (low, high):
            if value is not None:
                self.figures.append(Figure(show(value), unit, None, None, None, "提问给出的金额界限", None))

        def inside(cell: Cell) -> bool:
            v = convert(cell.value, cell.unit, unit)
            above = low is None or (v > low if low_strict else v >= low)
            below = high is None or (v < high if high_strict else v <= high)
            return above and below

        return f"{what}中{label}的", [(n, c) for n, c in items if inside(c)]

    def average_answer(self) -> Answer:
        """The mean amount of the rows a question names (平均每个项目多少钱), with its formula."""
        found = self.collection() or self._project_rows()
        what, items = found
        if not items:
            return self.not_found("没有可求平均的数据。")
        total, target = self.add_up([c for _, c in items])
        mean = (total / len(items)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.count(len(items), "个", items[0][1].table, what)
        self.figures.append(computed(mean, target, f"{show(total)} ÷ {len(items)}（{what}合计 ÷ 个数）"))
        return self.answer(f"{what}共 {len(items)} 个，合计 {show(total)} {target}，平均每个 {show(mean)} {target}。")

    def units_answer(self) -> Answer:
        units = [u for u in self.c.units if not u["is_department"]]
        n = self.count(len(units), "个", "部门收入总体情况表", "单位")
        for cell in self.c.measure(self.c.lexicon.measures["收支总计"], units[0]["code"])[:1] if units else []:
            self.cite(cell)
        lines = "\n".join(f"· {u['code']} {u['name']}" for u in units)
        return self.answer(f"{self.c.department}部门预算包括 {n} 个单位：\n{lines}")

    def count_answer(self) -> Answer:
        text = self.p.text
        project_focus = not self.p.mentions and len(self.key()) >= 2 and (self.state.get("focus") or {}).get("kind") == "project"
        if (self.p.of("project") or project_focus) and not re.search(r"几个项目|多少个项目", text):
            return self.performance_answer()  # 精神文明建设经费 … 开展文明单位活动几次
        if re.search(r"车|设备|台|绩效|条", text):
            return self.section_answer() or self.sentence_answer() or self.not_found("公开文件没有这个数量。")
        if re.search(r"(几|多少)个(预算)?单位|几家单位|单位有几|单位数|单位组成", text):
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


_UNITS = {"万": "万元", "亿": "亿元", "元": "元", "万元": "万元", "亿元": "亿元"}
_AMOUNT = r"(\d+(?:\.\d+)?)\s*(万元|亿元|万|亿|元)?"


def amount_bounds(text: str):
    """((low, strict), (high, strict), unit, label) for the amount limits a question names, or None."""
    span = re.search(_AMOUNT + r"\s*(?:到|至|-|~|～)\s*" + _AMOUNT + r"(?:之间)?", text)
    if span and (span.group(2) or span.group(4)):
        unit = _UNITS[span.group(4) or span.group(2)]
        low, high = Decimal(span.group(1)), Decimal(span.group(3))
        return (low, False), (high, False), unit, f"{show(low)}至{show(high)}{unit}之间"
    for words, side, strict in ((r"不少于|不低于|至少|大于等于|≥|>=", "low", False), (r"不超过|不高于|至多|小于等于|≤|<=", "high", False),
                                (r"超过|大于|高于|多于|>", "low", True), (r"小于|低于|少于|不到|不足|<", "high", True)):
        match = re.search(rf"(?:{words})\s*" + _AMOUNT, text)
        if match and match.group(2):
            value, unit = Decimal(match.group(1)), _UNITS[match.group(2)]
            word = {("low", True): "超过", ("low", False): "不少于", ("high", True): "低于", ("high", False): "不超过"}[(side, strict)]
            return ((value, strict), (None, False), unit, f"{word}{show(value)}{unit}") if side == "low" else (
                (None, False), (value, strict), unit, f"{word}{show(value)}{unit}")
    match = re.search(_AMOUNT + r"\s*(?:及|或)?\s*(以上|以下)", text)
    if match and match.group(2):
        value, unit = Decimal(match.group(1)), _UNITS[match.group(2)]
        if match.group(3) == "以上":
            return (value, False), (None, False), unit, f"{show(value)}{unit}以上"
        return (None, False), (value, False), unit, f"{show(value)}{unit}以下"
    return None

"""Answers over sets of rows: lists, rankings, counts, with thresholds and follow-ups kept."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.answer import Answer, Figure
from bot.catalog import Cell
from bot.render import computed, convert, show


class Listings:
    """Mixin of Composer (bot/compose.py), whose building blocks it uses."""

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

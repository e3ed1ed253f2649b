"""Answers that compute over stored figures: shares, differences, ratios. Formulas are stated."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from rapidfuzz import fuzz

from bot.answer import Answer, Citation, Figure
from bot.catalog import Entity, norm
from bot.render import computed, percent, show
from db.money import convert

TOTALS = ("收支总计", "本年收入合计", "本年支出合计")  # measures that are the budget's totals


class Computations:
    """Mixin of Composer (bot/compose.py), whose building blocks it uses."""

    def share_answer(self) -> Answer:
        """What share one figure is of another. The words before 占 name the part, those after it the
        whole ("大数据中心项目支出占全部门项目支出"); with no whole named, the part's parent measure."""
        at = self.p.text.find("占")
        before = list(dict.fromkeys(m.entity for m in self.p.mentions if at < 0 or m.start <= at))
        after = list(dict.fromkeys(m.entity for m in self.p.mentions if at >= 0 and m.start > at))
        rest = self.p.text[at + 1:] if at >= 0 else ""
        if re.search(r"其|它的|它", rest) and not any(e.kind == "unit" for e in after):
            after = [e for e in before if e.kind == "unit"] + after  # 大数据中心的X占其项目支出: its own
        unnamed = self.c.lexicon.phrases.question.sub("", re.sub(r"比例|比重|百分比|百分之几|多少|其|它的|它|全部|总", "", rest))
        if at >= 0 and not after and len(unnamed) >= 2 and not re.search(r"项目|预算|部门|全局|总", rest):
            return self.not_found(f"没有认出“{unnamed}”是哪一项，算不出占比。")
        if not after and len([e for e in before if e.kind != "unit"]) == 2 and not re.search(r"和|与|加|及|、|之和", self.p.text):
            part_entity, whole_entity = self._part_and_whole(*[e for e in before if e.kind != "unit"])  # A里B占多少
            before, after = [part_entity], [whole_entity]
        scoped = self._in_scope_of(before[0], after[0]) if len(before) == 1 and len(after) == 1 else None
        part = scoped or self._side(before, self.p.text[:at] if at >= 0 else self.p.text, top=True)
        if after or re.search(r"项目", rest):
            whole = self._side(after, rest)
        elif before:
            whole = self.value_of(self._default_whole(before))
        else:
            return self.not_found("没听明白要算谁占谁的比例。")
        if not part or not whole or whole[0] == 0:
            return self.not_found("公开表格里缺少计算这个比例所需的数字。")
        if part[0] > whole[0]:
            return self.not_found(f"{part[2]}（{part[1]}）大于{whole[2]}（{whole[1]}），两者口径不同，不能算作占比。")
        share = percent(part[0], whole[0])
        self.figures.append(computed(share, "%", f"{show(part[0])} ÷ {show(whole[0])} × 100%（{part[2]} ÷ {whole[2]}）"))
        return self.answer(f"{part[2]} {part[1]}，占{whole[2]} {whole[1]}的 {share}%。",
                           ["人员经费占基本支出多少", "项目支出占比", "大数据中心占全部门多少"])

    def _side(self, entities: list[Entity], words: str, top: bool = False) -> tuple[Decimal, str, str] | None:
        """The amount one side of a share names: a unit's total or its part of a measure, a subject read
        in a measure's column, several things added, the top N of a list, or one thing."""
        units = [e for e in entities if e.kind == "unit"]
        others = [e for e in entities if e.kind != "unit"]
        if len(others) > 1:  # 全部门项目支出: 全部门 (收支总计) only says whose
            others = [e for e in others if e.name != "收支总计"] or others
        if units and not others and "项目" in words:
            others = [self.measure_entity("项目支出")]
        if units:
            return self.value_of(others[0], units[0]) if others and others[0].name != "收支总计" else self.value_of(units[0])
        if len(others) >= 2 and re.search(r"和|与|加|及|、|之和", words):
            return self._total_of(others)
        if len(others) == 2 and {e.kind for e in others} & {"func", "econ"} and "measure" in {e.kind for e in others}:
            row = next(e for e in others if e.kind in ("func", "econ"))
            measure = self.c.lexicon.measures[next(e for e in others if e.kind == "measure").name]
            for table, columns in measure.columns.items():
                cells = self.c.row_column(row, table, columns)
                if cells:
                    total, target = self.add_up(cells)
                    return total, f"{show(total)} {target}", f"{row.name}的{measure.name}"
        first = self.p.top or (1 if re.search(r"最大|最多|最高", words) else None)
        among = re.search(r"(中|里)的?(前\d+|最大|最多|最高)", words)  # 项目支出中最大的: a row of it, not all of it
        if (not others or among) and top and first and (found := self.collection()):
            what, items = found
            picked = items[:first]
            if len(picked) == 1:
                return self._total_of_cells(picked, f"{what}中最大的“{picked[0][0]}”")
            return self._total_of_cells(picked, f"前 {self.count(len(picked), '个', None, what)} 个{what}") if picked else None
        if not others and "项目" in words:
            return self.value_of(self.measure_entity("项目支出"))
        if not others:
            return self.narrative_amount()
        return self.value_of(others[0])

    def _default_whole(self, part: list[Entity]) -> Entity:
        """The whole of a share whose question names none: a measure's parent, 项目支出 for a project."""
        entity = next((e for e in part if e.kind != "unit"), None)
        if entity is None:
            return self.measure_entity("收支总计")
        if entity.kind == "project":
            return self.measure_entity("项目支出")
        parent = self.c.lexicon.measures[entity.name].parent if entity.kind == "measure" else None
        return self.measure_entity(parent or "收支总计")

    def _total_of(self, entities: list[Entity]) -> tuple[Decimal, str, str] | None:
        values = [self.value_of(e) for e in entities]
        if not all(values):
            return None
        unit_name = self.unit or values[0][1].split()[-1]
        total = sum((v[0] for v in values), Decimal(0))
        label = "、".join(v[2] for v in values) + "合计"
        self.figures.append(computed(total, unit_name, " + ".join(show(v[0]) for v in values) + f"（{label}）"))
        return total, f"{show(total)} {unit_name}", label

    def _total_of_cells(self, items: list, label: str) -> tuple[Decimal, str, str]:
        total, target = self.add_up([c for _, c in items])
        return total, f"{show(total)} {target}", label

    def _in_scope_of(self, part: Entity, whole: Entity) -> tuple[Decimal, str, str] | None:
        """A subject or item read in the table the whole comes from (办公费 within 公用经费 is the 公用经费
        column of 一般公共预算基本支出情况表, not the all-funds 支出经济分类汇总表 row)."""
        if part.kind not in ("func", "econ") or whole.kind != "measure":
            return None
        measure = self.c.lexicon.measures[whole.name]
        columns = measure.columns.get(measure.ref["table"])
        cells = self.c.row_column(part, measure.ref["table"], columns) if columns else []
        if not cells:
            return None
        total, target = self.add_up(cells)
        return total, f"{show(total)} {target}", f"{part.name}（{measure.ref['table']}中的{whole.name}部分）"

    def ratio_answer(self) -> Answer:
        """How many times one figure is another (人员经费是公用经费的几倍)."""
        operands = self._operands()
        if len(operands) < 2:
            return self.figure_answer()
        values = [self.value_of(entity, unit) for entity, unit in operands]
        if not all(values):
            return self.not_found("公开表格里缺少计算倍数所需的数字。")
        if values[1][0] == 0:
            return self.not_found(f"{values[1][2]}为零，不能计算倍数。")
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

    def _operands(self, most: int = 2) -> list[tuple[Entity, Entity | None]]:
        """What a comparison or sum is over: each unit with the measure said after it, or the named things.
        A total (合计, 收支总计) named beside items is the sum asked for, not one more item; a code names
        the same thing as the words beside it (工资福利支出（50501）)."""
        coded = {m.entity.name for m in self.p.mentions if m.text.isdigit()}
        mentions = list(dict.fromkeys(m.entity for m in self.p.mentions
                                      if m.text.isdigit() or m.entity.name not in coded))
        totals = [e for e in mentions if e.kind == "measure" and e.name in TOTALS]
        if len(mentions) - len(totals) >= 2:
            mentions = [e for e in mentions if e not in totals]
        units = [e for e in mentions if e.kind == "unit"]
        others = [e for e in mentions if e.kind != "unit"]
        if len(units) >= 2:
            measure = others[0] if others else None
            return [(measure, u) if measure else (u, None) for u in units[:most]]
        return [(e, self.scope_unit()) for e in others[:most]]

    def sum_answer(self) -> Answer:
        """The total of the things named (人员经费和公用经费加起来), or of the last list."""
        operands = self._operands(most=10)
        recalled = re.search(r"两者|二者|两个|2个|这两|三者|三个|3个|这三|这几", self.p.text)
        if len(operands) < 2 and recalled and len(self.state.get("recent", [])) >= 2:  # 两者加起来: the last things asked
            wanted = 3 if re.search(r"三|3", recalled.group(0)) else len(self.state["recent"]) if "几" in recalled.group(0) else 2
            operands = [(e, None) for e in (self.c.find(*key) for key in self.state["recent"][-wanted:]) if e is not None]
        if len(operands) < 2:
            return self.list_sum() if self.state.get("list_values") and not self.p.mentions else self.figure_answer()
        values = [self.value_of(entity, unit) for entity, unit in operands]
        if not all(values):
            return self.not_found("公开表格里缺少相加所需的数字。")
        unit_name = self.unit or values[0][1].split()[-1]
        total = sum((v[0] for v in values), Decimal(0))
        self.figures.append(computed(total, unit_name, " + ".join(show(v[0]) for v in values) + f"（{'、'.join(v[2] for v in values)}）"))
        parts = "，".join(f"{v[2]} {v[1]}" for v in values)
        return self.answer(f"{parts}；合计 {show(total)} {unit_name}。")

    def minus_answer(self) -> Answer:
        """One figure less another: "A减去B", "除了B以外的(A)", "不含B的预算" (A defaults to the whole budget)."""
        operands = self._operands() or [(e, None) for e in self.p.of("unit")[:1]]
        if len(operands) == 1 and re.search(r"除了|除去|不含|不包括|以外|之外", self.p.text):
            operands.insert(0, (self.measure_entity("收支总计"), None))
        if len(operands) < 2:
            return self.not_found("没听明白要从哪个数里减去哪个数。")
        if re.search(r"除了|除去|不含|不包括", self.p.text) and operands[0][0].name != "收支总计" and not re.search(r"中|里", self.p.text):
            operands.reverse()  # 除了B以外的A: B is named first
        values = [self.value_of(entity, unit) for entity, unit in operands]
        if not all(values):
            return self.not_found("公开表格里缺少相减所需的数字。")
        (a, shown_a, label_a), (b, shown_b, label_b) = values
        if b > a:
            return self.not_found(f"{label_b}（{shown_b}）大于{label_a}（{shown_a}），不能从中减去。")
        unit_name = self.unit or shown_a.split()[-1]
        self.figures.append(computed(a - b, unit_name, f"{show(a)} − {show(b)}（{label_a} − {label_b}）"))
        return self.answer(f"{label_a} {shown_a}，减去{label_b} {shown_b}，余 {show(a - b)} {unit_name}。")

    def list_sum(self) -> Answer:
        unit = self.state.get("unit") or "万元"
        values = self.state["list_values"]
        total = sum((Decimal(v) for v in values), Decimal(0))
        self.cite_list()
        self.figures.append(computed(total, unit, " + ".join(values)))
        return self.answer(f"以上 {self.count(len(values), '项', None, '上一回答所列')} 项合计 {show(total)} {unit}。")

    def compare_answer(self) -> Answer:
        operands = self._operands()
        focus = self.state.get("focus")
        previous = self.c.find(focus["kind"], focus["name"], focus["code"]) if focus else None
        if len(operands) == 1 and previous is not None and previous is not operands[0][0]:
            operands.insert(0, (previous, None))  # 等保测评多少 … 比原厂延保多多少
        elif len(operands) < 2 and len(self.state.get("recent", [])) >= 2:  # (两者)差多少
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

"""Answers that compute over stored figures: shares, differences, ratios. Formulas are stated."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from rapidfuzz import fuzz

from bot.answer import Answer, Citation, Figure
from bot.catalog import Entity, norm
from bot.parse import TOTALS
from bot.query import Operand
from bot.render import computed, percent, show
from db.money import convert


class Computations:
    """Mixin of Composer (bot/compose.py), whose building blocks it uses."""

    def share_answer(self) -> Answer:
        """What share the part operand is of the whole; with no whole named, the part's parent measure."""
        part_op, *rest = self.q.operands
        several = len(part_op.items) >= 2 and "summed" not in self.q.flags  # A和B占比, not A和B加起来占比
        each = self.each_share_answer() if "each" in self.q.flags or several else None
        if each is not None:
            return each
        if part_op.role == "recall":
            recalled = [o.subject for o in self._operands()]
            if len(recalled) < 2:
                return self.not_found(self.say("share.no_recall"))
            part_op = Operand("part", items=tuple(recalled))
        if part_op.role == "unknown_whole":
            return self.not_found(self.say("share.unknown_whole", words=part_op.measure))
        whole_op = rest[0] if rest else None
        scoped = self._in_scope_of(part_op.subject, whole_op.subject) if (
            whole_op is not None and part_op.subject and whole_op.subject and not part_op.unit and not whole_op.unit) else None
        part = scoped or self._side(part_op)
        if whole_op is not None and (whole_op.subject or whole_op.items or whole_op.measure or whole_op.top):
            whole = self._side(whole_op)
        elif self.q.stated is not None and self.q.stated[1] != "%":  # 1790多万里头人员经费占几成: of the amount quoted
            total = self._stated_total()
            whole = self.value_of(total) if total is not None else self._stated_whole()
        elif part_op.unit is not None and part_op.subject is not None and part_op.subject.kind == "measure":
            whole = self.value_of(part_op.subject)  # 大数据中心的项目支出占比: of the department's 项目支出
        elif part_op.subject or part_op.items:
            whole = self.value_of(self._default_whole([e for e in (part_op.subject, *part_op.items) if e]))
        else:
            return self.not_found(self.say("share.no_part"))
        if not part or not whole or whole[0] == 0:
            return self.not_found(self.say("share.missing"))
        if part[0] > whole[0]:
            return self.not_found(self.say("share.part_larger", part=part[2], whole=whole[2]))
        share = percent(part[0], whole[0])
        self.figures.append(computed(share, "%", f"{show(part[0])} ÷ {show(whole[0])} × 100%（{part[2]} ÷ {whole[2]}）"))
        return self.answer(self.say("share.result", part=part[2], part_amount=part[1], whole=whole[2], whole_amount=whole[1], share=share),
                           ["人员经费占基本支出多少", "项目支出占比", "三公经费占比多少"])

    def each_share_answer(self) -> Answer | None:
        """各占多少: each of several things as a share of one whole. The things are those named (A和B各占多少, of the
        whole named or their parent), a measure's parts (三公经费各项各占多少, of the measure), or the rows of the
        query's row set (… 分别占多少 after a list, of their total). None when the question is none of these."""
        part_op, *rest = self.q.operands
        whole_op = rest[0] if rest else None
        named_whole = whole_op is not None and (whole_op.subject or whole_op.items or whole_op.measure)
        measure = self.c.lexicon.measures.get(part_op.subject.name) if part_op.subject and part_op.subject.kind == "measure" else None
        if len(part_op.items) >= 2:
            sides = [self.value_of(e, part_op.unit) for e in part_op.items]
            whole = self._side(whole_op) if named_whole else self.value_of(self._default_whole(list(part_op.items)))
        elif measure is not None and measure.parts and not named_whole and not part_op.unit:
            sides = [self.value_of(self.measure_entity(name)) for name in measure.parts]
            whole = self.value_of(part_op.subject)
        elif self.q.rows is not None and part_op.subject is None:
            found = self.collection()
            items = found[1] if found else []
            if len(items) < 2:
                return None
            total, target = self.add_up([c for _, c in items])
            sides = [(convert(c.value, c.unit, target), f"{self.fig(c).value} {target}", name) for name, c in items]
            whole = (total, f"{show(total)} {target}", f"{found[0]}合计")
            self.remember_list(items)
        else:
            return None
        if not whole or not whole[0] or any(side is None for side in sides):
            return self.not_found(self.say("share.missing"))
        lines = []
        for value, amount, label in sides:
            share = percent(value, whole[0])
            self.figures.append(computed(share, "%", f"{show(value)} ÷ {show(whole[0])} × 100%（{label} ÷ {whole[2]}）"))
            lines.append(self.say("share.each_line", name=label, amount=amount, share=share))
        return self.answer(self.say("share.each", whole=whole[2], total=whole[1], lines="\n".join(lines)))

    def _side(self, side: Operand) -> tuple[Decimal, str, str] | None:
        """The amount one operand names: a unit's total or its part of a measure, several things added,
        a subject read in a measure's column, the top N of a row set, one thing, or a narrative amount."""
        if side.items:
            return self._total_of(list(side.items))
        if side.top:
            found = self.collection()
            if not found:
                return None
            what, items = found
            picked = items[:side.top]
            if len(picked) == 1:
                return self._total_of_cells(picked, f"{what}中最大的“{picked[0][0]}”")
            return self._total_of_cells(picked, f"前 {self.count(len(picked), '个', None, what)} 个{what}") if picked else None
        if side.subject is not None and side.measure:
            measure = self.c.lexicon.measures[side.measure]
            for table, columns in measure.columns.items():
                cells = self.c.row_column(side.subject, table, columns)
                if cells:
                    total, target = self.add_up(cells)
                    return total, f"{show(total)} {target}", f"{side.subject.name}的{measure.name}"
            return None
        if side.subject is not None:
            return self.value_of(side.subject, side.unit)
        return self.narrative_amount(side.measure or "")

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
        operands = self._operands()[:2]
        if len(operands) < 2:
            operands = self._recent_pair()  # 大数据中心比局本级多多少？是几倍？: the two just compared
        if len(operands) < 2:
            return self.figure_answer()
        self._remember_operands(operands)
        values = [self._side(o) for o in operands]
        if not all(values):
            return self.not_found(self.say("ratio.missing"))
        a, b = values
        if "times_of" not in self.q.flags and a[0] < b[0]:
            a, b = b, a  # 谁的预算多？差几倍: the larger over the smaller
        if b[0] == 0:
            return self.not_found(self.say("ratio.zero", whole=b[2]))
        times = (a[0] / b[0]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.figures.append(computed(times, "倍", f"{show(a[0])} ÷ {show(b[0])}（{a[2]} ÷ {b[2]}）"))
        return self.answer(self.say("ratio.result", left=a[2], left_amount=a[1], right=b[2], right_amount=b[1], times=times))

    def narrative_amount(self, key: str) -> tuple[Decimal, str, str] | None:
        """An amount only the narrative states, named by `key` (政府采购预算 257.7 万元)."""
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

    def _operands(self) -> list[Operand]:
        """The query's operands; "两者/这三项" recalls the last things asked."""
        if self.q.operands and self.q.operands[0].role == "recall":
            wanted = self.q.operands[0].top or len(self.state.rows)
            listed = [e for e in (self._listed(name) for name in self.state.rows[:wanted]) if e is not None]
            if len(listed) >= 2:  # 前三名是哪些 … 这三个加起来: the rows just listed
                return [Operand("item", subject=e) for e in listed]
            recent = self.state.recent
            wanted = self.q.operands[0].top or len(recent)
            found = [e for e in (self.c.find(*key) for key in recent[-wanted:]) if e is not None] if len(recent) >= 2 else []
            return [Operand("item", subject=e) for e in found]
        return [o for o in self.q.operands if o.subject is not None]

    def _recent_pair(self) -> list[Operand]:
        """The last two things answered, when a question computes over them without naming them."""
        found = [e for e in (self.c.find(*key) for key in self.state.recent[-2:]) if e is not None]
        return [Operand("item", subject=e) for e in found] if len(found) == 2 else []

    def _remember_operands(self, operands: list[Operand]) -> None:
        for o in operands:
            if o.subject is not None:
                self.remember(o.subject, o.unit)

    def _listed(self, name: str) -> Entity | None:
        """The entity a listed row names ("30101 基本工资（50501）" → 基本工资)."""
        bare = self.c.lexicon.operators.followup["numbering"].sub("", name).strip()
        return next((e for e in self.c.entities if e.name == bare and e.kind not in ("term", "indicator")), None)

    def each_answer(self) -> Answer | None:
        """Every named thing's figure (A和B分别多少, X的工资福利支出和商品和服务支出); their sum when asked."""
        values = [self._side(o) for o in self.q.operands]
        if not values or not all(values):
            return None
        if len(values) == 1:
            return self.answer(self.say("value.one", year=self.c.year, label=values[0][2], amount=values[0][1]))
        lines = [self.say("value.each_line", label=label, amount=shown) for _, shown, label in values]
        totals = any(o.subject is not None and o.subject.kind == "measure" and o.subject.name in TOTALS for o in self.q.operands)
        if self.q.order.total and len(values) > 1 and not totals:  # 项目支出和总计: no sum of a total and its part
            unit_name = self.unit or values[0][1].split()[-1]
            total = sum((v[0] for v in values), Decimal(0))
            self.figures.append(computed(total, unit_name, " + ".join(show(v[0]) for v in values)))
            lines.append(self.say("value.total_line", total=show(total), unit=unit_name))
        return self.answer(self.say("value.each", year=self.c.year, lines="\n".join(lines)))

    def check_answer(self) -> Answer:
        """Whether parts add up to a whole (三公各项加起来等于合计吗, 五个功能分类加起来是否等于支出总计)
        or two figures agree: the sum is computed from the stored parts and set beside the whole."""
        if "names" in self.q.flags and "summed" not in self.q.flags:
            return self.names_answer()  # 绩效表上的项目名称和项目支出表一致吗
        if self.q.stated and self.q.stated[1] == "%":  # 增长41.17%算得对吗
            return self.rate_check() or self.not_found(self.say("check.no_rate"))
        sides = self._check_sides()
        if sides is None:
            return self.not_found(self.say("check.no_whole"))
        left, right = sides
        if left is None or right is None:
            return self.not_found(self.say("check.missing"))
        if left[0] == right[0]:
            return self.answer(self.say("check.agree", left=left[2], left_amount=left[1], right=right[2], right_amount=right[1]))
        gap = abs(left[0] - right[0])
        unit_name = self.unit or right[1].split()[-1]
        high, low = (left, right) if left[0] > right[0] else (right, left)
        self.figures.append(computed(gap, unit_name, f"{show(high[0])} − {show(low[0])}（{high[2]} − {low[2]}）"))
        return self.answer(self.say("check.differ", left=left[2], left_amount=left[1], right=right[2], right_amount=right[1], gap=show(gap), unit=unit_name))

    def _check_sides(self):
        """(parts added up, whole) as (value, shown, label) pairs; None when the question names no whole."""
        whole, parts, rows = self._check_operands()
        stated = self._stated_whole() if whole is None else None
        if whole is None and stated is None and "total_words" in self.q.flags and "summed" in self.q.flags:
            whole = self.measure_entity("收支总计")  # 本级和大数据中心加起来是不是等于部门总数
        if whole is None and stated is None and "summed" not in self.q.flags and len(parts) == 2 and parts[1].subject:
            whole, parts = parts[1].subject, parts[:1]  # 机构运转经费和公用经费是不是同一个数
        if (whole is None and stated is None) or not (parts or rows):
            return None
        if whole is not None and len(parts) == 1 and parts[0].subject and self.c.lexicon.inside(parts[0].subject.name, whole.name):
            return None  # 公车费 against the whole 三公: one part says nothing about the whole
        return self._check_left(parts, rows), stated or self.value_of(whole)

    def _check_operands(self):
        """(the whole named, the parts named, the rows to add up instead): the last named total or measure
        with parts is the whole; a 类 named with its rows (201类下面各科目) gives the rows."""
        named = [o.subject for o in self.q.operands if o.subject is not None]
        wholes = [e for e in named if e.kind == "measure" and (e.name in TOTALS or self.c.lexicon.measures[e.name].parts)]
        whole = wholes[-1] if wholes else None
        parts = [o for o in self.q.operands if o.subject is not whole]
        if parts and all(o.subject is not None and o.subject.kind == "class" for o in parts) and self.q.rows is not None:
            parts = []
        rows = self.collection() if self.q.rows is not None and not parts else None
        if whole is not None and not parts and not rows:  # 三公经费各项加起来等于合计吗: the measure's parts
            parts = [Operand("item", subject=self.measure_entity(n)) for n in self.c.lexicon.measures[whole.name].parts]
        if whole is None and rows and self.q.rows.dimension == "class":  # 210类下几个项合计对得上卫生健康支出吗: the 类's printed row
            whole = next((e for e in self.c.entities if e.kind == "row" and self.c.class_of(e) is self.q.rows.group), None)
        return whole, parts, rows

    def _check_left(self, parts: list[Operand], rows) -> tuple[Decimal, str, str] | None:
        """The parts added up, with each shown when there are few."""
        if rows:
            what, items = rows
            n = self.count(len(items), "项", None, what)
            shown = "：" + " + ".join(show(convert(c.value, c.unit, self.unit or c.unit)) for _, c in items) if len(items) <= 8 else ""
            return self._total_of_cells(items, f"{what}（{n} 项{shown}）") if items else None
        values = [self._side(o) for o in parts]
        if not all(values):
            return None
        return values[0] if len(values) == 1 else self._total_of([o.subject for o in parts])

    def _stated_total(self) -> Entity | None:
        """The budget total an amount in the question quotes, exactly or by its leading digits (1790多万 of 1790.63)."""
        if self.q.stated is None or self.q.stated[1] == "%":
            return None
        value, unit = self.q.stated
        digits = str(int(value)) if value == value.to_integral() and value > 0 else ""
        step = Decimal(10) ** (len(digits) - len(digits.rstrip("0"))) if digits else Decimal("0.005")  # 1790万: 1790–1799.99
        for name in TOTALS:
            cells = self.c.measure(self.c.lexicon.measures[name])
            if cells and value <= convert(cells[0].value, cells[0].unit, unit) < value + step:
                return self.measure_entity(name)
        return None

    def _stated_whole(self) -> tuple[Decimal, str, str] | None:
        """The amount the question states, as a figure of its own (…加起来是428.76吗)."""
        if self.q.stated is None:
            return None
        value, unit = self.q.stated
        target = self.unit or unit
        shown = convert(value, unit, target)
        self.figures.append(Figure(show(shown), target, None, None, None, "提问给出的数", None))
        return shown, f"{show(shown)} {target}", "问句中的数"

    def sum_answer(self) -> Answer:
        """The total of the things named (人员经费和公用经费加起来), or of the last list."""
        named = [o for o in self.q.operands if o.subject is not None and not (o.subject.kind == "measure" and o.subject.name in TOTALS)]
        found = self.collection() if "rows" in self.q.from_context or (self.q.rows and not named) else None
        if found is not None:  # 这几个加起来 (the rows just listed), 低于10万元的项目加起来
            what, items = self.above_threshold(*found)
            total, target = self.add_up([c for _, c in items])
            return self.answer(self.say("sum.rows", what=what, n=self.count(len(items), "个", None, what), total=show(total), unit=target)
                               + self.addends(items, target))
        operands = self._operands()
        if len(operands) < 2:
            return self.list_sum() if self.state.row_values and not self.q.mentions else self.figure_answer()
        values = [self._side(o) for o in operands]
        if not all(values):
            return self.not_found(self.say("sum.missing"))
        unit_name = self.unit or values[0][1].split()[-1]
        total = sum((v[0] for v in values), Decimal(0))
        self.figures.append(computed(total, unit_name, " + ".join(show(v[0]) for v in values) + f"（{'、'.join(v[2] for v in values)}）"))
        parts = "，".join(f"{v[2]} {v[1]}" for v in values)
        return self.answer(self.say("sum.result", parts=parts, total=show(total), unit=unit_name))

    def minus_answer(self) -> Answer:
        """One figure less another: "A减去B", "除了B以外的(A)", "不含B的预算" (A defaults to the whole budget);
        B may be an amount only the narrative states (政府采购预算)."""
        operands = [o for o in self.q.operands if o.subject is not None or o.measure] if len(self.q.operands) == 2 else self._operands()
        if len(operands) < 2:
            return self.not_found(self.say("exclusion.no_operands"))
        values = [self._side(o) for o in operands]
        if not all(values):
            return self.not_found(self.say("exclusion.missing"))
        (a, shown_a, label_a), (b, shown_b, label_b) = values
        if b > a:
            return self.not_found(self.say("exclusion.larger", minuend=label_a, subtrahend=label_b))
        unit_name = self.unit or shown_a.split()[-1]
        self.figures.append(computed(a - b, unit_name, f"{show(a)} − {show(b)}（{label_a} − {label_b}）"))
        return self.answer(self.say("exclusion.result", minuend=label_a, minuend_amount=shown_a, subtrahend=label_b, subtrahend_amount=shown_b, rest=show(a - b), unit=unit_name))

    def list_sum(self) -> Answer:
        unit = self.state.row_unit or "万元"
        values = self.state.row_values
        total = sum((Decimal(v) for v in values), Decimal(0))
        self.cite_list()
        self.figures.append(computed(total, unit, " + ".join(values)))
        return self.answer(self.say("sum.last_list", n=self.count(len(values), "项", None, "上一回答所列"), total=show(total), unit=unit))

    def compare_answer(self) -> Answer:
        operands = self._operands()[:2]
        focus = self.state.focus
        previous = self.c.find(focus["kind"], focus["name"], focus["code"]) if focus else None
        if len(operands) == 1 and previous is not None and previous is not operands[0].subject:
            operands.insert(0, Operand("left", subject=previous))  # 等保测评多少 … 比原厂延保多多少
        elif len(operands) < 2:  # (两者)差多少
            operands = self._recent_pair()
        if len(operands) < 2:
            return self.figure_answer()
        self._remember_operands(operands)
        values = [self._side(o) for o in operands]
        if not all(values):
            return self.not_found(self.say("difference.missing"))
        a, b = values
        unit_name = self.unit or a[1].split()[-1]
        big, small = (a, b) if a[0] >= b[0] else (b, a)
        diff = big[0] - small[0]
        self.figures.append(computed(diff, unit_name, f"{show(big[0])} − {show(small[0])}（{big[2]} − {small[2]}）"))
        return self.answer(self.say("difference.result", big=big[2], big_amount=big[1], small=small[2], small_amount=small[1], diff=show(diff), unit=unit_name))

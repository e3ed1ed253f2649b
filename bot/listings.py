"""Answers over sets of rows: lists, rankings, counts, with thresholds and follow-ups kept."""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal

from bot import prose
from bot.answer import Answer, Citation, Figure
from bot.catalog import AMOUNT, ECON_TABLE, FUNC_TABLE, Cell, class_field, norm
from bot.render import computed, show
from db.money import convert


# The row sets knowledge/phrases.toml [[collection]] may name (checked at start-up).
COLLECTIONS = ("三公经费各项", "所属单位", "支出功能分类（类）", "收入各项", "经济科目", "功能科目", "项目")
PARTS = "parts"  # the dimension of a measure's parts (knowledge/measures.toml `parts`): 项目支出分成哪几类


NAMED_IN_COUNT = 8  # a count of at most this many rows names them


class Listings:
    """Mixin of Composer (bot/compose.py), whose building blocks it uses."""

    def collection(self) -> tuple[str, list[tuple[str, Cell]]] | None:
        """(label, rows) of the query's row set, narrowed by its exclusions and name filter; None if it has none."""
        rows = self.q.rows
        if rows is None:
            return None
        if rows.dimension == "class":
            group = rows.group
            scheme = class_field(group.code)
            if scheme == "econ_code":
                items = [(n, c) for n, c in self.c.econ_items() if n.startswith(group.code)]
            elif scheme == "gov_econ_code":  # 505 对事业单位经常性补助: its rows in the economic table
                rows = self.c.row_column(group, ECON_TABLE, AMOUNT)
                items = sorted(((f"{c.row}（第{c.line}行）", c) for c in rows), key=lambda x: (-x[1].value, x[0]))
            else:
                items = [(f"{code} {name}", c) for code, name, c in self.c.subjects() if code.startswith(group.code)]
            return (group.name if group.name.startswith(group.code) else f"{group.name}（{group.code}）") + "下的科目", items
        readers = {"三公经费各项": lambda: self._part_rows("“三公”经费"), "所属单位": self._unit_rows,
                   "支出功能分类（类）": self._class_rows, "收入各项": self._income_rows, "功能科目": self._subject_rows}
        if rows.dimension == PARTS:
            what, items = f"{rows.measure}的组成", self._part_rows(rows.measure)
        elif rows.dimension == "项目":
            what, items = self._project_rows()
        elif rows.dimension == "经济科目":
            what, items = self._econ_rows()
        else:
            what, items = rows.dimension, readers[rows.dimension]()
        if rows.exclude:
            what, items = f"{what}（不含{'、'.join(rows.exclude)}）", [(n, c) for n, c in items if n not in rows.exclude]
        if rows.name_contains:
            what, items = f"名称含“{rows.name_contains}”的{what}", [(n, c) for n, c in items if rows.name_contains in n]
        return what, items

    def _part_rows(self, measure: str) -> list[tuple[str, Cell]]:
        """The parts of a measure with their figures, largest first (“三公”经费 → 因公出国（境）费 …)."""
        parts = self.c.lexicon.measures[measure].parts
        rows = [(n, cells[0]) for n in parts if (cells := self.c.measure(self.c.lexicon.measures[n]))]
        return sorted(rows, key=lambda x: -x[1].value)

    def _income_rows(self) -> list[tuple[str, Cell]]:
        """The sources of income as 部门收支总体情况表 prints them, zeros too (that a source is 0 is the answer);
        a "其中：" row is inside the row above it, so it is no source of its own."""
        rows = [(n, c) for n, c in self.c.overview_rows("收入") if not norm(n).startswith("其中")]
        return sorted(rows, key=lambda x: -x[1].value)

    def _unit_rows(self) -> list[tuple[str, Cell]]:
        units = [u for u in self.c.units if not u["is_department"]]
        rows = [(u["name"], c) for u in units for c in self.c.measure(self.c.lexicon.measures["收支总计"], u["code"])[:1]]
        return sorted(rows, key=lambda x: -x[1].value)

    def _class_rows(self) -> list[tuple[str, Cell]]:
        return sorted((r for r in self.c.overview_rows("支出") if r[1].value > 0), key=lambda x: -x[1].value)

    def _subject_rows(self) -> list[tuple[str, Cell]]:
        """Function subjects by amount; by a measure's column when one is named (项目支出最多的科目)."""
        measure = self.c.lexicon.measures[self.q.rows.measure] if self.q.rows and self.q.rows.measure else None
        if measure is None or FUNC_TABLE not in measure.columns:
            return [(f"{code} {name}", c) for code, name, c in self.c.subjects()]
        rows = []
        for code, name, _ in self.c.subjects():
            cells = self.c.row_column(self.c.find("func", name, code), FUNC_TABLE, measure.columns[FUNC_TABLE])
            if cells and any(c.value for c in cells):  # the subjects that have some of the measure
                total = sum((c.value for c in cells), Decimal(0))
                formula = " + ".join(str(c.value) for c in cells) if len(cells) > 1 else None
                rows.append((f"{code} {name}（{measure.name}）", replace(cells[0], value=total, formula=formula)))
        return sorted(rows, key=lambda x: (-x[1].value, x[0]))

    def _econ_rows(self) -> tuple[str, list[tuple[str, Cell]]]:
        """Economic items by amount: as printed (单行), added up by code, or in a measure's column where it has one
        on item rows (公用经费由哪些经济科目组成 → the 公用经费 column of 一般公共预算基本支出情况表), non-zero ones."""
        rows = self.q.rows
        measure = self.c.lexicon.measures[rows.measure] if rows.measure else None
        if rows.by_row:
            return "经济科目", self.c.econ_rows()
        for table, columns in (measure.columns.items() if measure else ()):
            items = []
            for entity in (e for e in self.c.entities if e.kind == "econ"):
                cells = self.c.row_column(entity, table, columns)
                total = sum((c.value for c in cells), Decimal(0))
                if cells and total:
                    formula = " + ".join(str(c.value) for c in cells) if len(cells) > 1 else None
                    items.append((f"{entity.code} {entity.name}", replace(cells[0], value=total, formula=formula)))
            if items:
                return f"{measure.name}中的经济科目", sorted(items, key=lambda x: (-x[1].value, x[0]))
        if measure is not None and FUNC_TABLE in measure.columns:  # 项目支出里哪一项最多: by function subject
            return f"{measure.name}中的功能科目", self._subject_rows()
        return "经济科目", self.c.econ_items()

    def _project_rows(self) -> tuple[str, list[tuple[str, Cell]]]:
        rows = self.q.rows
        unit = rows.unit if rows else self.scope_unit()
        kind = rows.project_type if rows else None
        label = f"{unit.name if unit else ''}{kind or ''}项目"
        return label, [(n, c) for n, c, _ in self.c.projects(unit.code if unit else None, kind)]

    def rank_answer(self) -> Answer:
        """The rows in order of amount: the largest or smallest, the N-th, the first N (ties kept), or all."""
        what, items = self.collection() or ("项目", [(n, c) for n, c, _ in self.c.projects()])
        if not items:
            return self.not_found(self.say("rank.empty"))  # also a document without that table
        order = self.q.order
        ordered = items if order.descending else list(reversed(items))
        self.remember_list(ordered)
        n = len(ordered) if order.whole else min(max(order.nth or order.top or 1, 1), len(ordered))
        picked = self._ranked(ordered, n)
        if not picked:
            return self.answer(self.say("rank.past_end", what=what, count=self.count(len(ordered), "个", ordered[0][1].table, what), n=n))
        lines = [f"{ordered.index((name, c)) + 1}. {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in picked]
        first = self.c.find("project", picked[0][0]) if len(picked) == 1 else None
        if first is not None:  # 它是哪个单位的: the one just named
            self.remember(first)
        if len(picked) > 1 and order.total:
            lines.append(self.total_line(picked).strip().rstrip("。"))
        return self.answer(self._rank_head(what, n, len(picked)) + "：\n" + "\n".join(lines),
                           ["前三大项目", "哪个项目最少", "有几个项目"])

    def _ranked(self, ordered: list[tuple[str, Cell]], n: int) -> list[tuple[str, Cell]]:
        """The N-th row or the first N, with the rows tied with the last one picked (never cut off)."""
        order = self.q.order
        picked = ordered[n - 1:n] if order.nth else ordered[:n]
        if picked and not order.whole:
            last = picked[-1][1].value
            picked += [row for row in ordered[ordered.index(picked[-1]) + 1:] if row[1].value == last]
        return picked

    def _rank_head(self, what: str, n: int, shown: int) -> str:
        order = self.q.order
        tied = "（有并列）" if shown > (1 if order.nth else n) else ""
        word = "最多" if order.descending else "最少"
        if order.nth:
            return self.say("rank.nth", what=what, n=self.count(n, "名", None, "名次"), tied=tied)
        if order.whole:
            return self.say("rank.whole", what=what) if order.descending else self.say("rank.whole_up", what=what)
        if n == 1:
            return self.say("rank.first", what=what, word=word, tied=tied)
        return self.say("rank.top", what=what, word=word, n=self.count(n, "个", None, "列出的名次"), tied=tied)

    def list_answer(self) -> Answer:
        named = [o for o in self.q.operands if o.subject is not None]
        if len(named) >= 2 and (self.q.rows is None or ("each" in self.q.flags and self.q.asks_amount)):  # A和B分别是多少
            found = self.each_answer()
            if found is not None:
                return found
        measures = self.q.of("measure")
        if "units_word" in self.q.flags and "projects" not in self.q.flags:
            return self.units_answer()
        if self.q.rows is not None and self.q.rows.dimension == PARTS:
            _, items = self.collection()
            self.remember_list(items)
            if not items:
                return self.not_found(self.say("list.no_parts", measure=self.q.rows.measure))
            lines = "\n".join(f"· {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in items)
            return self.answer(self.say("list.parts", measure=self.q.rows.measure, lines=lines))
        found = self.collection()
        if found is None:
            return (self.section_answer() or self.sentence_answer()
                    or self.not_found(self.say("list.unknown")))
        what, items = self.above_threshold(*found)
        self.remember_list(items)
        if not items:
            return self.answer(self.say("list.none", what=what, n=self.count(0, "个", None, what)), ["有哪些项目", "哪个项目钱最多"])
        lines = [f"· {name}：{self.fig(c).value} {self.unit or c.unit}" for name, c in items]
        table = items[0][1].table if items else None
        head = f"{what}共 {self.count(len(items), '个', table, what)} 个（按金额从大到小）：\n"
        return self.answer(head + "\n".join(lines) + self.total_line(items), ["有几个项目", "哪个项目钱最多", "加起来多少"])

    def total_line(self, items: list[tuple[str, Cell]]) -> str:
        """"合计 …" under a list or a count of two or more rows: what they add up to is the next question."""
        if len(items) < 2:
            return ""
        target = self.unit or items[0][1].unit
        values = [convert(c.value, c.unit, target) for _, c in items]
        self.figures.append(computed(sum(values), target, " + ".join(show(v) for v in values)))
        return "\n" + self.say("list.total", total=show(sum(values)), unit=target)

    def addends(self, items: list[tuple[str, Cell]], target: str) -> str:
        """The rows a total adds, one per line, when there are few enough to read (20137款 加起来多少)."""
        if len(items) > NAMED_IN_COUNT:
            return ""
        return "".join(f"\n· {name}：{show(convert(c.value, c.unit, target))} {target}" for name, c in items)

    def above_threshold(self, what: str, items: list[tuple[str, Cell]]) -> tuple[str, list[tuple[str, Cell]]]:
        """Keep the rows within amounts the question names: 50万以上, 超过5万元 (strictly), 低于3万元,
        2万元以下, 30万到60万之间. The bounds become figures (提问给出的金额界限)."""
        bounds = self.q.rows.bounds if self.q.rows else None
        if bounds is None:
            return what, items
        low, low_strict, high, high_strict, unit, label = (bounds.low, bounds.low_strict, bounds.high, bounds.high_strict,
                                                           bounds.unit, bounds.label)
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
        found = self.collection()
        if found is None:  # 平均一辆多少: a figure over a count the narrative states, else no rows to average
            return self.per_counted() or self.not_found(self.say("average.no_rows"))
        what, items = found
        if not items:
            return self.not_found(self.say("average.empty"))
        total, target = self.add_up([c for _, c in items])
        mean = (total / len(items)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.count(len(items), "个", items[0][1].table, what)
        self.figures.append(computed(mean, target, f"{show(total)} ÷ {len(items)}（{what}合计 ÷ 个数）"))
        return self.answer(self.say("average.result", what=what, n=len(items), total=show(total), mean=show(mean), unit=target))

    def per_counted(self) -> Answer | None:
        """A figure divided by a number the narrative states (公车运行费平均一辆多少 = 运行费 ÷ 车辆数)."""
        counted = self.q.counted if self.q.counted in self.c.lexicon.operators.counters.values() else None
        facts = [f for f in self.c.narrative if counted and f["unit"].startswith(counted)]
        named = [m.entity for m in self.q.mentions if m.entity.kind != "unit"]
        focus = self.state.focus or {}
        subject = named[0] if named else self.c.find(focus["kind"], focus["name"], focus.get("code")) if focus else None
        totals = [f for f in facts if prose.is_total_count(f["label"])]  # 共有车辆2辆, not 更新购置车辆1辆
        count = next((f for f in totals or facts if Decimal(f["value"]) > 0), None)
        value = self.value_of(subject) if subject is not None and count is not None else None
        if value is None:
            return None
        n = Decimal(count["value"])
        self.figures.append(Figure(count["value"], count["unit"], f"情况说明：{count['heading']}", count["label"], None, None, count["line"]))
        self.citations.append(Citation(self.c.source, f"情况说明：{count['heading']}", count["label"], count["line"]))
        mean = (value[0] / n).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.figures.append(computed(mean, value[1].split()[-1], f"{show(value[0])} ÷ {count['value']}（{value[2]} ÷ {count['label']}）"))
        return self.answer(self.say("average.per", label=value[2], amount=value[1], count=count["value"], counter=count["unit"],
                                    what=count["label"], mean=show(mean), unit=value[1].split()[-1]))

    def units_answer(self) -> Answer:
        """The units of the department's budget; those under it (局属单位: without its own 本级) when asked so."""
        under = "subordinate" in self.q.flags
        units = [u for u in self.c.units if not u["is_department"] and not (under and u["is_own"])]
        n = self.count(len(units), "个", "部门收入总体情况表", "单位")
        for cell in self.c.measure(self.c.lexicon.measures["收支总计"], units[0]["code"])[:1] if units else []:
            self.cite(cell)
        if len(units) == 1:  # 局属单位有哪些 … 它的预算是多少
            entity = next((e for e in self.c.entities if e.kind == "unit" and e.code == units[0]["code"]), None)
            if entity is not None:
                self.remember(entity)
        lines = "\n".join(f"· {u['code']} {u['name']}" for u in units)
        if under:
            return self.answer(self.say("list.units_under", department=self.c.department, n=n, lines=lines))
        return self.answer(self.say("list.units", department=self.c.department, n=n, lines=lines))

    def count_answer(self) -> Answer:
        """How many: of a project's targets, of what the narrative counts (辆, 台, 科室), of the units, of a
        row set (within any amount limits), or of the rows just listed."""
        flags = self.q.flags
        project_focus = not self.q.mentions and len(self.q.words) >= 2 and (self.state.focus or {}).get("kind") == "project"
        if (self.q.of("project") or project_focus) and "projects_counted" not in flags:
            return self.performance_answer()  # 精神文明建设经费 … 开展文明单位活动几次
        if "unit_rows" in flags:
            return self.units_answer()
        counted = self.counted_answer() or self.enumeration_answer(self.q.noun)
        if counted is not None:
            return counted
        if "narrative_counts" in flags:
            return self.section_answer() or self.sentence_answer() or self.not_found("公开文件没有这个数量。")
        found = self.collection()
        if found is None:
            return self._count_of_last_list() or self.enumeration_answer() or self.section_answer() \
                or self.sentence_answer() or self.not_found("公开文件没有这个数量。")
        return self._count_of_rows(*found)

    def _count_of_last_list(self) -> Answer | None:
        if not self.state.rows:
            return None
        self.cite_list()
        return self.answer(self.say("count.last_list", n=self.count(len(self.state.rows), "个", None, "上一回答所列项目")))

    def _count_of_rows(self, what: str, rows: list[tuple[str, Cell]]) -> Answer:
        what, items = self.above_threshold(what, rows)
        self.remember_list(items)
        for _, c in items[:1]:
            self.cite(c)
        table = items[0][1].table if items else None
        names = "、".join(n for n, _ in items) if len(items) <= NAMED_IN_COUNT or self.q.order.total else ""
        return self.answer(f"{what}共 {self.count(len(items), '个', table, what)} 个{('：' + names) if names else ''}。"
                           + self.total_line(items), ["有哪些项目", "哪个项目钱最多"])

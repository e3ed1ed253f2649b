"""Answers over several documents: a figure's change between two years, departments ranked or compared.

A mixin of Composer: `self.docs` holds the query's documents (oldest year first for a change);
each is read by a composer of its own that shares this one's figures and citations, all in one
display unit so that documents printed in 元 and in 万元 compare.
"""

from __future__ import annotations

from decimal import Decimal

from bot.answer import ANSWERED, Answer
from bot.catalog import Catalog, Entity
from bot.dialogue import Dialogue
from bot.render import computed, percent, show


class Across:
    def in_document(self, catalog: Catalog):
        other = type(self)(catalog, self.q, Dialogue())
        other.figures, other.citations, other.unit = self.figures, self.citations, self.unit or "万元"
        return other

    def asked_in(self, catalog: Catalog) -> tuple[Entity | None, Entity | None]:
        """(thing, unit) the query asks about, as `catalog` names it; the budget total when it names none."""
        things = [m.entity for m in self.q.mentions if m.entity.kind != "unit"]
        units = [m.entity for m in self.q.mentions if m.entity.kind == "unit" and m.entity is not getattr(self.c, "department_entity", None)]
        thing = things[-1] if things else self.measure_entity("收支总计")
        found = catalog.find(thing.kind, thing.name, thing.code)
        unit = next((u for u in catalog.entities if units and u.kind == "unit" and u.name == units[0].name), None)
        if units and unit is None:
            return None, None  # 大数据中心 of one department is not the whole of another
        return found, unit

    def asked_label(self) -> str:
        thing = self.asked_in(self.c)[0]
        return thing.name if thing else "这一项"

    def several_things(self) -> bool:
        """A question across documents reads one thing in each; 人员经费和公用经费分别增加多少 names two."""
        return len({m.entity.name for m in self.q.mentions if m.entity.kind != "unit"}) > 1

    def value_in(self, catalog: Catalog) -> tuple[Decimal, str, str] | None:
        thing, unit = self.asked_in(catalog)
        return self.in_document(catalog).value_of(thing, unit) if thing is not None else None

    def cross_footer(self, text: str) -> Answer:
        sources = "；".join(f"{c.department} {c.year}年{c.kind}" for c in self.docs)
        return Answer(ANSWERED, f"{text}\n来源：{sources}。", self.figures, self.citations, [])

    def growth_answer(self) -> Answer:
        """The same figure in two years of one department: the change and its rate."""
        base, current = self.docs[0], self.docs[-1]
        if self.several_things():
            return self.not_found(self.say("across.one_thing"))
        values = [self.value_in(c) for c in (base, current)]
        label = self.asked_in(current)[0].name if self.asked_in(current)[0] else "这一项"
        if not all(values):
            return self.not_found(self.say("growth.missing", base=base.year, current=current.year, label=label))
        (old, old_text, _), (new, new_text, _) = values
        unit = self.unit or "万元"
        if new == old:
            return self.cross_footer(self.say("growth.same", label=label, current=current.year, new=new_text, base=base.year, old=old_text))
        change, word = (new - old, "增加") if new >= old else (old - new, "减少")
        formula = f"{show(new)} − {show(old)}" if new >= old else f"{show(old)} − {show(new)}"
        self.figures.append(computed(change, unit, f"{formula}（{current.year}年 − {base.year}年）"))
        rate = ""
        if old:
            share = percent(change, old)
            self.figures.append(computed(share, "%", f"{show(change)} ÷ {show(old)} × 100%（变化额 ÷ {base.year}年数）"))
            rate = f"，{'增长' if new >= old else '下降'} {share}%"
        return self.cross_footer(f"{label}：{current.year}年 {new_text}，{base.year}年 {old_text}；"
                                 f"{word} {show(change)} {unit}{rate}。")

    def departments(self) -> list[tuple[str, Decimal, str]]:
        """(department, value, shown) of the asked figure in every document that has it."""
        rows = []
        for catalog in self.docs:
            value = self.value_in(catalog)
            if value is not None:
                rows.append((f"{catalog.department}（{catalog.year}年）", value[0], value[1]))
        return rows

    def departments_rank_answer(self) -> Answer:
        if self.several_things():
            return self.not_found(self.say("across.one_thing"))
        rows = sorted(self.departments(), key=lambda r: (-r[1], r[0]) if self.q.order.descending else (r[1], r[0]))
        label = self.asked_label()
        if not rows:
            return self.not_found(self.say("departments.none", label=label))
        order = self.q.order
        n = len(rows) if (order.whole or self.q.operation != "rank") else (order.nth or order.top or 1)
        picked = rows[n - 1:n] if order.nth else rows[:n]
        ties = [r for r in rows[len(picked):] if picked and r[1] == picked[-1][1] and not order.nth]
        lines = [f"{rows.index(r) + 1}. {r[0]}：{r[2]}" for r in picked + ties]
        word = ("第 %d 少" if not order.descending else "第 %d 多") % order.nth if order.nth else "最少" if not order.descending else "最多"
        head = f"{len(rows)} 个部门的{label}" + ("" if len(picked) == len(rows) else f"，{word}的是")
        self.count(len(rows), "个", None, "已加载部门中有此数字的部门")
        return self.cross_footer(head + "：\n" + "\n".join(lines))

    def departments_compare_answer(self) -> Answer:
        rows = self.departments()
        label = self.asked_label()
        if len(rows) < 2:
            return self.not_found(self.say("departments.too_few", label=label))
        (a_name, a, a_text), (b_name, b, b_text) = sorted(rows[:2], key=lambda r: -r[1])
        unit = self.unit or "万元"
        self.figures.append(computed(a - b, unit, f"{show(a)} − {show(b)}（{a_name} − {b_name}）"))
        return self.cross_footer(self.say("departments.difference", label=label, big=a_name, big_amount=a_text, small=b_name, small_amount=b_text, diff=show(a - b), unit=unit))

    def departments_having_answer(self) -> Answer:
        """哪些部门有政府性基金预算: the departments whose figure is not zero, with it; the others named."""
        if self.several_things():
            return self.not_found(self.say("across.one_thing"))
        rows = self.departments()
        label = self.asked_label()
        if not rows:
            return self.not_found(self.say("departments.none", label=label))
        having = sorted((r for r in rows if r[1]), key=lambda r: (-r[1], r[0]))
        without = [r[0] for r in rows if not r[1]]
        self.count(len(having), "个", None, f"{label}不为 0 的部门")
        lines = "\n".join(f"· {r[0]}：{r[2]}" for r in having)
        unlisted = len(self.docs) - len(rows)
        text = self.say("departments.having", n=len(rows), label=label, k=len(having), lines=lines or "（无）",
                        zero="、".join(without) or "无", unlisted=self.say("departments.unlisted", n=unlisted) if unlisted else "")
        if self.q.order.total and having:  # …有哪几个，合计多少
            unit = self.unit or "万元"
            total = sum((r[1] for r in having), Decimal(0))
            self.figures.append(computed(total, unit, " + ".join(show(r[1]) for r in having)))
            text += "\n" + self.say("value.total_line", total=show(total), unit=unit)
        return self.cross_footer(text)

    def departments_sum_answer(self) -> Answer:
        rows = self.departments()
        label = self.asked_label()
        if not rows:
            return self.not_found(self.say("departments.none", label=label))
        unit = self.unit or "万元"
        total = sum((r[1] for r in rows), Decimal(0))
        self.figures.append(computed(total, unit, " + ".join(show(r[1]) for r in rows)))
        lines = "\n".join(f"· {r[0]}：{r[2]}" for r in rows)
        return self.cross_footer(self.say("departments.sum", n=len(rows), label=label, lines=lines, total=show(total), unit=unit))

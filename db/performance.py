"""Performance tables: the department's 整体绩效目标表 and the 项目绩效目标汇总表.

In the project summary the indicator cells run down the page independently of the
project rows; each indicator group starts at a cost indicator (预算成本 ≤42万元). Groups
are linked to projects by that cost and by name similarity, and a group that cannot be
linked with confidence is kept unlinked and reported, never guessed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal

from db.recognise import Table, is_amount, parse_amount
from db.template import Template

_VALUE = re.compile(r"^[≥≤<>＞＜=]|^\d+(\.\d+)?\s*(%|万元|元|个|项|次|天|小时|辆|套|场次)?|%$")
_COST = re.compile(r"[≤<=]?\s*(\d+(?:\.\d+)?)\s*万元")
_STOP = re.compile(r"\d{4}|年|项目|费用|经费|南阳市|[\s、，,（）()]")
LINK_THRESHOLD = 0.34  # share of a project's name bigrams found in the group's text
LINK_MARGIN = 0.15  # how far the best name must lead the runner-up


@dataclass
class Indicator:
    level1: str
    level2: str
    name: str
    value: str
    description: str
    line: int


@dataclass
class Group:
    number: int
    line: int
    indicators: list[Indicator] = field(default_factory=list)
    project: str | None = None  # name in 项目支出预算表, when linked
    method: str = ""  # cost | cost+name | name
    note: str = ""

    @property
    def text(self) -> str:
        return " ".join(f"{i.name} {i.value}" for i in self.indicators)

    def cost(self) -> Decimal | None:
        for ind in self.indicators:
            if "成本" in ind.name:
                match = _COST.search(ind.value)
                if match:
                    return Decimal(match.group(1))
        return None


@dataclass
class FormData:
    department: str | None
    fields: list[tuple[str, str, int]]  # label, text, line (履职目标, 主要任务)
    amounts: list[tuple[str, Decimal, int, list[str]]]  # label, value, line, cells
    indicators: list[Indicator]


def _value_like(cell: str) -> bool:
    """A target value: ≥95%, 100%, ≤10%, or a two-character verdict such as 相关, 合规."""
    return bool(_VALUE.search(cell.strip())) or len(cell.strip()) <= 2


def _split_value(cell: str) -> tuple[str, str]:
    """'≥95% 反映本部门…' -> ('≥95%', '反映本部门…')."""
    head, _, rest = cell.strip().partition(" ")
    return (head, rest.strip()) if rest and len(head) <= 12 else (cell.strip(), "")


def parse_form(table: Table, template: Template) -> FormData:
    """部门（单位）整体绩效目标表: department line, narrative fields, amounts and indicators."""
    department = None
    fields: list[tuple[str, str, int]] = []
    amounts: list[tuple[str, Decimal, int, list[str]]] = []
    indicators: list[Indicator] = []
    level1 = level2 = ""
    in_indicators = False
    for row in table.rows:
        cells = [c.strip() for c in row.cells if c.strip()]
        if not cells:
            continue
        first = unicodedata.normalize("NFKC", cells[0])
        if re.match(r"^(部门|单位)名称[:：]", first):
            department = re.split(r"[:：]", first, maxsplit=1)[1].strip()
            continue
        if "三级指标" in cells and "指标值" in cells:
            in_indicators = True
            continue
        if not in_indicators:
            numbers = [c for c in cells if is_amount(c)]
            if numbers:
                label = re.split(r"[:：]", cells[-2] if len(cells) > 1 else cells[0])[-1]
                label = re.sub(r"^\s*[(（]?\d+[)）]\s*", "", label).strip()
                amounts.append((label, parse_amount(numbers[-1]), row.line, row.cells))
            elif len(cells) >= 2 and cells[0] in ("年度履职目标", "年度主要任务"):
                fields.append((cells[0], cells[1], row.line))
            continue
        if cells[0] in template.indicator_levels:
            level1 = cells.pop(0)
        if len(cells) >= 4:
            level2, name, value, description = cells[0], cells[1], cells[2], " ".join(cells[3:])
        elif len(cells) == 3 and _value_like(cells[1]):
            name, value, description = cells
        elif len(cells) == 3:
            level2, name, value = cells
            value, description = _split_value(value)
        elif len(cells) == 2:
            name, (value, description) = cells[0], _split_value(cells[1])
        else:
            continue
        indicators.append(Indicator(level1, level2, name, value, description, row.line))
    return FormData(department, fields, amounts, indicators)


def indicator_groups(table: Table) -> list[Group]:
    """Cut the indicator columns (成本/产出/效益/满意度 pairs) of the summary into groups."""
    pairs = [(j, table.columns[j].split("/")[-2]) for j, p in enumerate(table.columns) if p.endswith("三级指标")]
    groups: list[Group] = []
    for row in table.rows:
        cells = row.cells + [""] * (len(table.columns) - len(row.cells))
        found = [(level, cells[j].strip(), cells[j + 1].strip()) for j, level in pairs if cells[j].strip()]
        if not found:
            continue
        starts = len(found) >= 3 or "成本" in found[0][1] or not groups
        if starts:
            groups.append(Group(len(groups) + 1, row.line))
        for level, name, value in found:
            groups[-1].indicators.append(Indicator(level, "", name, value, "", row.line))
    return groups


def _bigrams(text: str) -> set[str]:
    text = _STOP.sub("", unicodedata.normalize("NFKC", text))
    return {text[i : i + 2] for i in range(len(text) - 1)}


def name_similarity(project: str, text: str) -> float:
    """Share of the project name's character bigrams that occur in the text."""
    grams = _bigrams(project)
    return len(grams & _bigrams(text)) / len(grams) if grams else 0.0


def link_groups(groups: list[Group], projects: list[tuple[str, Decimal]]) -> None:
    """Link each group to one project (name, amount in 万元), or explain why not."""
    def cost_matches(group: Group) -> list[str]:
        cost = group.cost()
        return [name for name, amount in projects if cost is not None and amount == cost]

    # a project that some group matches by a unique cost is that group's; it cannot
    # make another group's cost match doubtful just by having a similar name
    claimed = {m[0] for m in map(cost_matches, groups) if len(m) == 1}
    taken: set[str] = set()
    for group in groups:
        scores = sorted(((name_similarity(name, group.text), name) for name, _ in projects), reverse=True)
        best_score, best = scores[0] if scores else (0.0, None)
        runner_up = scores[1][0] if len(scores) > 1 else 0.0
        cost = group.cost()
        by_cost = cost_matches(group)
        if len(by_cost) == 1:
            name = by_cost[0]
            if best != name and best not in claimed and best_score >= LINK_THRESHOLD and best_score - name_similarity(name, group.text) >= LINK_MARGIN:
                group.note = f"成本 {cost} 万元对应“{name}”，但指标内容更接近“{best}”，未关联"
                continue
            group.project, group.method = name, "cost"
        elif len(by_cost) > 1:
            ranked = sorted(((name_similarity(n, group.text), n) for n in by_cost), reverse=True)
            if ranked[0][0] >= LINK_THRESHOLD and ranked[0][0] - ranked[1][0] >= LINK_MARGIN:
                group.project, group.method = ranked[0][1], "cost+name"
            else:
                names = "、".join(n for _, n in ranked)
                group.note = f"成本 {cost} 万元对应多个项目（{names}），名称无法区分，未关联"
                continue
        elif best is not None and best_score >= LINK_THRESHOLD and best_score - runner_up >= LINK_MARGIN:
            group.project, group.method = best, "name"
        else:
            group.note = "没有成本指标可对照，名称也无法确定对应项目，未关联" if cost is None else f"成本 {cost} 万元与任何项目金额都不符，未关联"
            continue
        if group.project in taken:
            group.note = f"“{group.project}”已关联其他指标组，本组未关联"
            group.project, group.method = None, ""
        else:
            taken.add(group.project)

"""Check that every figure of an answer is a stored cell or a stated computation over figures.

A read figure (table + line, no formula) must equal, after unit conversion, an amount stored
at that line of that table (a fact, a narrative number or an indicator value). A computed
figure must name its operands; sums, differences, shares and ratios are recomputed.
"""

from __future__ import annotations

import re
import sqlite3
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from bot.answer import Answer, Figure
from db.money import CENT, FEN_PER_UNIT, convert

_NUM = re.compile(r"-?\d+(?:\.\d+)?")
_LABEL = re.compile(r"（[^（）]*）|\([^()]*\)")  # innermost brackets first
_UNIT_NOTE = re.compile(r"（(万元|元|亿元)）\s*$")


def decimal_or_none(text: str) -> Decimal | None:
    """'1,790.63' → Decimal('1790.63'); None for anything that is not a number."""
    try:
        return Decimal(str(text).replace(",", ""))
    except InvalidOperation:
        return None


def _stored(conn: sqlite3.Connection, figure: Figure) -> bool:
    value = decimal_or_none(figure.value)
    if figure.table.startswith("情况说明"):
        rows = conn.execute("SELECT value FROM narrative_facts WHERE line = ?", (figure.line,)).fetchall()
        return any(decimal_or_none(r[0]) == value for r in rows)
    if figure.column == "指标值":
        rows = conn.execute("SELECT name || ' ' || value FROM indicators WHERE line = ?", (figure.line,)).fetchall()
        return any(figure.value in _NUM.findall(r[0]) for r in rows)
    rows = conn.execute(
        "SELECT f.value, f.unit FROM facts f JOIN tables t ON t.id = f.table_id WHERE t.name = ? AND f.line = ?",
        (figure.table, figure.line),
    ).fetchall()
    if figure.formula:  # a row sum shown as one cell ("51.89 + 44.20（万元）"), perhaps in another unit
        return _row_sum_holds(figure)
    return any(figure.unit in FEN_PER_UNIT and convert(decimal_or_none(v), u, figure.unit) == value for v, u in rows) or any(
        decimal_or_none(v) == value for v, _ in rows)


def _without_labels(formula: str) -> str:
    """The arithmetic of a formula: bracketed labels removed, nested ones too (因公出国（境）费、2024年会议费)."""
    text = formula.split("=")[0]
    while True:
        bare = _LABEL.sub("", text)
        if bare == text:
            return bare
        text = bare


def _row_sum_holds(figure: Figure) -> bool:
    """A cell summed from parts in the table's unit, shown converted to the figure's unit."""
    unit = _UNIT_NOTE.search(figure.formula or "")
    if unit is None or unit.group(1) == figure.unit or unit.group(1) not in FEN_PER_UNIT:
        return _formula_holds(figure, [])
    total = sum((Decimal(n) for n in _NUM.findall(_without_labels(figure.formula))), Decimal(0))
    return convert(total, unit.group(1), figure.unit) == decimal_or_none(figure.value)


def _formula_holds(figure: Figure, others: list[Figure]) -> bool:
    """Recompute sums (a + b), differences (a − b), shares (a ÷ b × 100%) and ratios (a ÷ b)."""
    formula = figure.formula or ""
    value = decimal_or_none(figure.value)
    numbers = [Decimal(n) for n in _NUM.findall(_without_labels(formula))]
    if "× 100%" in formula and len(numbers) >= 2:
        return (numbers[0] / numbers[1] * 100).quantize(CENT, rounding=ROUND_HALF_UP) == value
    if "÷" in formula and len(numbers) >= 2:
        return (numbers[0] / numbers[1]).quantize(CENT, rounding=ROUND_HALF_UP) == value
    if "−" in formula and "(" not in formula and len(numbers) >= 2:
        return numbers[0] - numbers[1] == value
    if "+" in formula and numbers:
        return sum(numbers) == value
    return True  # a stated count or rule ("…的个数", "与上年持平"): an identifier, checked by the text


def unverified(conn: sqlite3.Connection, answer: Answer) -> list[str]:
    """Figures that neither match a stored amount nor their own formula."""
    problems = []
    for figure in answer.figures:
        if decimal_or_none(figure.value) is None:
            problems.append(f"{figure.value}（不是数字）")
        elif figure.formula and not figure.table:
            if not _formula_holds(figure, answer.figures):
                problems.append(f"{figure.value} ≠ {figure.formula}")
        elif figure.table and figure.line and not _stored(conn, figure):
            problems.append(f"{figure.value}（{figure.table} 第{figure.line}行没有）")
    return problems

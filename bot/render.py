"""Amounts in the unit asked for, and figures and citations built from stored cells."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.answer import Citation, Figure
from bot.catalog import Cell
from db.money import CENT, convert


def show(value: Decimal) -> str:
    """Two decimals when exact at two decimals, else every significant decimal (0.00043)."""
    if value == value.quantize(CENT):
        return f"{value.quantize(CENT):.2f}"
    return f"{value.normalize():f}"


def figure(cell: Cell, unit: str | None = None) -> Figure:
    target = unit or cell.unit
    formula = f"{cell.formula}（{cell.unit}）" if cell.formula else None
    return Figure(show(convert(cell.value, cell.unit, target)), target, cell.table, cell.row, cell.column, formula, cell.line)


def computed(value: Decimal, unit: str, formula: str) -> Figure:
    return Figure(show(value), unit, None, None, None, formula, None)


def percent(part: Decimal, whole: Decimal) -> Decimal:
    return (part / whole * 100).quantize(CENT, rounding=ROUND_HALF_UP)


def citation(document: str, cell: Cell) -> Citation:
    return Citation(document, cell.table, cell.row, cell.line)


def amount_text(fig: Figure) -> str:
    return f"{fig.value} {fig.unit}"

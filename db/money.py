"""Amounts: exact decimals in 元, 万元, 亿元 (or 千元), and their common scale, the 分."""

from __future__ import annotations

from decimal import Decimal

CENT = Decimal("0.01")
FEN_PER_UNIT = {"元": Decimal(100), "千元": Decimal(100_000), "万元": Decimal(1_000_000), "亿元": Decimal(10_000_000_000)}


def to_fen(value: Decimal, unit: str) -> int:
    """Exact amount in 分 (hundredths of a yuan): comparable across documents in any unit."""
    return int((value * FEN_PER_UNIT[unit]).to_integral_value())


def convert(value: Decimal, unit: str, to: str) -> Decimal:
    """The same amount in another unit, exactly (4.30 万元 → 43000 元)."""
    return value * FEN_PER_UNIT[unit] / FEN_PER_UNIT[to]

"""Amounts a question quotes: a year-like number of 万 is an amount, and a share of a quoted amount is
computed over that amount (or the budget total it quotes), never over some other whole."""

from __future__ import annotations

import random
import sqlite3
from decimal import ROUND_HALF_UP, Decimal

import pytest

PARTS = ("人员经费", "项目支出", "公用经费")


def _total(settings) -> Decimal:
    """The budget total, read straight from the overview table."""
    conn = sqlite3.connect(settings.db_path)
    value = conn.execute("SELECT value FROM facts f JOIN tables t ON t.id = f.table_id WHERE t.name = '部门收支总体情况表' "
                         "AND f.label IN ('收入总计', '收支总计') ORDER BY f.line LIMIT 1").fetchone()[0]
    conn.close()
    return Decimal(value)


def _share(part: str, whole: Decimal) -> str:
    return str((Decimal(part) / whole * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize("seed", range(3))
def test_a_share_of_a_quoted_amount_is_of_that_amount(assistant, seed):
    rng = random.Random(seed)
    for _ in range(20):
        amount = rng.choice([rng.randint(1900, 2099), rng.randint(2100, 9999)])  # 2000万 is no year
        part = rng.choice(PARTS)
        answer = assistant.answer(rng.choice(["{n}万里{p}占多少", "{n}万元中{p}占比多少", "在{n}万里{p}占几成"]).format(n=amount, p=part), "s")
        assert answer.status == "answered", answer.text
        part_value = answer.figures[0].value  # every part is below 1,900万
        assert _share(part_value, Decimal(amount)) in [f.value for f in answer.figures if f.unit == "%"], answer.text


def test_a_share_of_the_quoted_budget_total_is_of_the_total(assistant, settings):
    total = _total(settings)
    said = [f"{total}万", f"{int(total)}万", f"{int(total) // 10 * 10}多万", f"{total}万元"]
    for quoted in said:
        answer = assistant.answer(f"{quoted}里头人员经费占几成", "s")
        part = answer.figures[0].value
        assert _share(part, total) in [f.value for f in answer.figures if f.unit == "%"], (quoted, answer.text)


def test_chinese_numerals_of_any_shape_never_break_normalising(assistant):
    """cn2an raises on some malformed numerals (一千四百六十二万七千三百 once did): those stay as typed."""
    from bot.normalize import normalize

    rng = random.Random(11)
    digits, units = "零一二两三四五六七八九十百千万亿多", ["元", "块", "万", "万元", "个", "项", "辆"]
    for _ in range(2000):
        said = "".join(rng.choice(digits) for _ in range(rng.randint(1, 12))) + rng.choice(units)
        text = normalize(f"基本支出是{said}吗", assistant.lexicon.typos, assistant.lexicon.english).text
        assert text.startswith("基本支出是") and text.endswith("吗"), (said, text)  # only the numeral may change


@pytest.mark.parametrize("said, meant", [("一千四百六十二万七千三百元", "14627300元"), ("四万三千块", "43000元"),
                                          ("两百五十七万七千元", "2577000元"), ("一千七百九十多万", "1790多万")])
def test_chinese_amounts_become_digits(assistant, said, meant):
    from bot.normalize import normalize

    assert meant in normalize(f"是不是{said}", assistant.lexicon.typos, assistant.lexicon.english).text

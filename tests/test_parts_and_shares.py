"""A measure's parts as a row set, and 各占多少: generated from knowledge/measures.toml, figures from SQL.

Every measure with parts is asked for its parts in several wordings, then followed up with
"其中最大的" and "各占多少"; the expected figures are read from the facts table here, not by the
code under test.
"""

from __future__ import annotations

import sqlite3
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest

from tests.paraphrases import CENT, measure_value, names_of

LIST_FORMS = ("{0}分成哪几类", "{0}包括哪些", "{0}都有哪些", "{0}分为哪几块", "{0}由哪些组成")


def _parts(conn: sqlite3.Connection, lexicon) -> list[tuple[str, Decimal, dict[str, Decimal]]]:
    cases = []
    for name, measure in lexicon.measures.items():
        total = measure_value(conn, measure.ref)
        parts = {p: measure_value(conn, lexicon.measures[p].ref) for p in measure.parts}
        if measure.parts and total and all(v is not None for v in parts.values()):
            cases.append((name, total, parts))
    return cases


def _shown(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}"


@pytest.fixture(scope="module")
def parts(settings, assistant):
    conn = sqlite3.connect(settings.db_path)
    found = _parts(conn, assistant.lexicon)
    conn.close()
    assert len(found) >= 4  # 收支总计, 基本支出, 人员经费, 公用经费, 项目支出, 三公 …
    return found


def test_a_measure_s_parts_are_listed_ranked_and_shared(assistant, parts):
    for name, total, values in parts:
        for n, form in enumerate(LIST_FORMS):
            said = names_of(assistant.lexicon, name)[n % len(names_of(assistant.lexicon, name))]
            session = uuid.uuid4().hex
            listed = assistant.answer(form.format(said), session)
            assert listed.status == "answered", (form, said, listed.text)
            for part, value in values.items():
                assert part in listed.text and _shown(value) in listed.text, (form, said, listed.text)
            largest = max(values.values())
            ranked = assistant.answer("其中最大的是哪个", session)
            top = [p for p, v in values.items() if v == largest]
            assert any(p in ranked.text for p in top) and _shown(largest) in ranked.text, (name, ranked.text)
            shares = assistant.answer("各占多少", session)
            whole = sum(values.values())
            for part, value in values.items():
                share = (value / whole * 100).quantize(CENT, rounding=ROUND_HALF_UP)
                assert f"{share}%" in shares.text, (name, part, share, shares.text)


def test_each_of_two_named_things_gets_its_own_share_unless_they_are_added(assistant, parts):
    for name, total, values in parts:
        if len(values) < 2:
            continue
        (a, va), (b, vb) = list(values.items())[:2]
        each = assistant.answer(f"{a}和{b}各占{name}多少")
        for value in (va, vb):
            assert f"{(value / total * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%" in each.text, (name, each.text)
        added = assistant.answer(f"{a}和{b}加起来占{name}多少")
        assert f"{((va + vb) / total * 100).quantize(CENT, rounding=ROUND_HALF_UP)}%" in added.text, (name, added.text)


def test_the_sources_of_income_add_up_to_the_income_total(assistant, settings):
    conn = sqlite3.connect(settings.db_path)
    total = measure_value(conn, {"table": "部门收支总体情况表", "side": "收入", "row": "收入总计", "column": "amount"})
    conn.close()
    for question in ("收入来源有哪些", "收入由哪几块构成", "资金来源都有哪些"):
        answer = assistant.answer(question)
        assert answer.status == "answered" and f"合计 {_shown(total)}" in answer.text.replace(",", ""), (question, answer.text)
        assert "其中" not in answer.text.split("合计")[0], answer.text  # a 其中 row is inside the row above it

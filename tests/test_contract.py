"""The answer contract's own checkers, and answers the 100,000-question fuzz run found breaking it."""

from __future__ import annotations

import pytest

from bot.answer import ANSWERED, CLARIFY, Answer, Figure
from bot.evaluate import untraced_numbers
from bot.trace import unverified


def test_sums_with_nested_bracketed_labels_are_recomputed(assistant):
    labels = "（因公出国（境）费、2024年购买服务费、住房公积金）"
    right = Figure("77.16", "万元", formula=f"0.00 + 5.70 + 71.46{labels}")
    wrong = Figure("77.17", "万元", formula=f"0.00 + 5.70 + 71.46{labels}")
    assert unverified(assistant.conn, Answer(ANSWERED, "合计 77.16 万元", [right])) == []
    assert unverified(assistant.conn, Answer(ANSWERED, "合计 77.17 万元", [wrong]))


def test_a_row_sum_shown_in_another_unit_is_converted_before_checking(assistant):
    row = assistant.conn.execute(
        "SELECT t.name, f.line FROM facts f JOIN tables t ON t.id = f.table_id WHERE t.unit = '万元' LIMIT 1").fetchone()
    good = Figure("6000.00", "元", row[0], None, None, "0.04 + 0.56（万元）", row[1])
    bad = Figure("6001.00", "元", row[0], None, None, "0.04 + 0.56（万元）", row[1])
    assert unverified(assistant.conn, Answer(ANSWERED, "6000.00 元", [good])) == []
    assert unverified(assistant.conn, Answer(ANSWERED, "6001.00 元", [bad]))


@pytest.mark.parametrize("amount", ["22000.00", "442000.00", "0.01979", "632000.00", "42013"])
def test_years_are_not_cut_out_of_longer_numbers(amount):
    assert untraced_numbers(Answer(ANSWERED, f"预算 {amount} 元", [Figure(amount, "元")])) == []
    assert untraced_numbers(Answer(ANSWERED, f"2024年预算 {amount} 元", [Figure(amount, "元")])) == []
    assert untraced_numbers(Answer(ANSWERED, f"预算 {amount} 元", [])) != []


@pytest.mark.parametrize("turns", [["上级补助收入和基本工资差几倍"], ["上级补助收入多少，基本工资呢", "是几倍"]])
def test_a_ratio_over_a_zero_amount_is_refused_whichever_side_it_is(assistant, turns):
    for question in turns:
        answer = assistant.answer(question, f"zero-{turns[0]}")
    assert "为零" in answer.text and "出错" not in answer.text


def test_a_clarify_counting_its_candidates_backs_the_count(assistant):
    answer = assistant.answer("其他", "count-other")
    assert answer.status == CLARIFY and untraced_numbers(answer) == []


def test_limits_said_the_wrong_way_round_and_rankings_beyond_the_list(assistant):
    between = assistant.answer("234600元到22000元之间的项目", "bounds")
    assert "共 0 个" not in between.text and untraced_numbers(between) == []
    top = assistant.answer("金额最多的前999个项目", "top")
    projects = assistant.conn.execute("SELECT COUNT(*) FROM rows r JOIN tables t ON t.id = r.table_id "
                                      "WHERE t.name = '项目支出预算表'").fetchone()[0]
    assert "999" not in top.text and top.text.count("\n") <= projects + 3

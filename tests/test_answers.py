"""The answering core against the development question set, and on arbitrary text."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from bot.answer import ANSWERED, CLARIFY, NOT_FOUND, Answer
from bot.evaluate import evaluate, load_questions, untraced_numbers
from tests.conftest import DATA

ACCURACY_FLOOR = 0.95  # issue 3; failures are listed by `budgetbot eval tests/data/questions.jsonl`


def test_development_set_accuracy_and_traceability(assistant):
    report = evaluate(assistant, load_questions(DATA / "questions.jsonl"))
    assert len(report.results) >= 200
    assert report.accuracy >= ACCURACY_FLOOR, report.summary()
    untraced = [(r.question["question"], untraced_numbers(r.answer)) for r in report.results if untraced_numbers(r.answer)]
    assert not untraced


def test_figures_cite_stored_cells(assistant):
    answer = assistant.answer("三公经费多少", "t-cite")
    assert answer.status == ANSWERED and "4.30" in answer.text
    cell = next(f for f in answer.figures if f.value == "4.30")
    assert cell.table == "一般公共预算“三公”经费支出情况表" and cell.line == 465
    assert any(c.table == cell.table and c.line == 465 for c in answer.citations)


def test_ambiguous_subject_asks_instead_of_guessing(assistant):
    answer = assistant.answer("一般行政管理事务多少钱", "t-clarify")
    assert answer.status == CLARIFY and len(answer.options) == 2 and not answer.figures
    follow = assistant.answer(answer.options[1], "t-clarify")
    assert follow.status == ANSWERED and any(Decimal(f.value) == Decimal("4.00") for f in follow.figures)


def test_follow_up_uses_session_context(assistant):
    assistant.answer("局本级预算多少", "t-follow")
    answer = assistant.answer("那大数据中心呢？", "t-follow")
    assert "1359.80" in answer.text
    assert assistant.last_answer("t-follow").text == answer.text


def test_out_of_scope_gives_no_figure(assistant):
    for question in ("2025年预算多少", "局长工资多少", "'; DROP TABLE facts;--", "😀😀", ""):
        answer = assistant.answer(question, "t-oos")
        assert answer.status == NOT_FOUND and not answer.figures


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_gets_a_valid_answer(assistant, text):
    answer = assistant.answer(text, "t-prop")
    assert isinstance(answer, Answer) and answer.status in (ANSWERED, CLARIFY, NOT_FOUND)
    assert isinstance(answer.text, str) and answer.text
    assert not untraced_numbers(answer) or answer.status != NOT_FOUND

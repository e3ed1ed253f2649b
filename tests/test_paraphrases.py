"""Metamorphic paraphrase test: many ways of typing one question give one query and the SQL's figures."""

from __future__ import annotations

import sqlite3

from tests.paraphrases import all_cases, generate, run

GENERATED = 1500  # benchmarks/bench_paraphrases.py runs 10,000 and more
SAME_QUERY_FLOOR = 0.98


def test_paraphrases_parse_alike_and_give_the_figures_sql_gives(assistant, settings):
    conn = sqlite3.connect(settings.db_path)
    cases = all_cases(conn, assistant.lexicon)
    conn.close()
    assert len(cases) >= 40
    report = run(assistant, generate(cases, assistant.lexicon, GENERATED, seed=7))
    failures = "\n".join(map(str, report.wrong[:30]))
    assert report.same_query / report.total >= SAME_QUERY_FLOOR, report.line() + "\n" + failures
    assert report.right_figures == report.total, report.line() + "\n" + failures

"""Printed column headers of different template families map to the same canonical columns."""

from __future__ import annotations

import pytest

from db.columns import canonical


@pytest.mark.parametrize("table, printed, meaning", [
    ("部门支出总体情况表", "基本支出/小计", "basic"),
    ("部门支出总体情况表", "基本支出/总计", "basic"),
    ("部门支出总体情况表", "基本支出", "basic"),
    ("一般公共预算基本支出情况表", "本年一般公共预算基本支出/合计", "basic"),
    ("一般公共预算基本支出情况表", "人员经费", "basic.personnel"),
    ("一般公共预算基本支出情况表", "人员类", "basic.personnel"),
    ("一般公共预算基本支出情况表", "日常公用经费", "basic.public"),
    ("一般公共预算基本支出情况表", "基本支出/人员经费/小计", "basic.personnel"),
    ("部门支出总体情况表", "项目支出/合计", "project"),
    ("部门收支总体情况表", "预算数", "amount"),
    ("部门收支总体情况表", "收入/金额", "amount"),
    ("一般公共预算“三公”经费支出情况表", "合计", "sangong"),
    ("一般公共预算“三公”经费支出情况表", "“三公”经费合计", "sangong"),
    ("一般公共预算“三公”经费支出情况表", "公务用车购置及运行维护费/小计", "sangong.cars"),
    ("一般公共预算“三公”经费支出情况表", "公务用车购置及运行费/公务用车运行维护费", "sangong.cars.running"),
    ("一般公共预算“三公”经费支出情况表", "因公出国(境)费", "sangong.abroad"),
    ("部门收入总体情况表", "上年结转结余/一般公共预算", None),  # carried over, not this year's 一般公共预算
    ("部门收入总体情况表", "上年结转结余/合计", "carryover"),
    ("部门收入总体情况表", "本年收入/一般公共预算/小计", "general"),
    ("部门收入总体情况表", "本年收入/一般公共预算/其中:财政拨款", "appropriation"),
])
def test_printed_headers_have_one_meaning(table, printed, meaning):
    assert canonical(table, printed) == meaning


def test_a_document_printing_other_headers_answers_the_same(tmp_path):
    """The seed with another family's printed headers (预算数, 基本支出/总计, 人员类, 日常公用经费, 合计 for 三公)."""
    from bot.config import KNOWLEDGE_DIR
    from bot.core import Assistant
    from bot.lexicon import load_lexicon
    from db.ingest import ingest
    from tests.conftest import SEED

    lines = SEED.read_text(encoding="utf-8").split("\n")
    renamed = []
    for line in lines:
        if line.startswith("项目\t金额\t项目\t"):
            line = line.replace("金额", "预算数")
        elif line.startswith("类\t款\t项\t") and "人员经费" in line:
            line = line.replace("\t小计\t人员经费", "\t总计\t人员类").replace("公用经费", "公用类").replace("\t小计\t其他运转类", "\t合计\t其他运转类")
        elif line.startswith("科目编码\t科目名称\t科目编码\t科目名称\t合计\t人员经费"):
            line = line.replace("人员经费", "人员类").replace("公用经费", "日常公用经费")
        elif line.startswith("“三公”经费合计\t"):
            line = line.replace("“三公”经费合计", "合计")
        renamed.append(line)
    variant = tmp_path / "variant-2024-budget.txt"
    variant.write_text("\n".join(renamed), encoding="utf-8")
    db = tmp_path / "variant.sqlite"
    ingest(db, [variant])
    assistant = Assistant(db, load_lexicon(KNOWLEDGE_DIR), tmp_path / "cache")
    seed_db = tmp_path / "seed.sqlite"
    ingest(seed_db, [SEED])
    seed = Assistant(seed_db, load_lexicon(KNOWLEDGE_DIR), tmp_path / "cache")
    for question in ("基本支出多少", "人员经费多少", "公用经费多少", "项目支出多少", "三公经费多少", "预算总额多少", "人员经费占基本支出多少"):
        expected = {f.value for f in seed.answer(question, "s").figures}
        got = {f.value for f in assistant.answer(question, "v").figures}
        assert expected and expected <= got, (question, expected, got)

"""Questions over several documents: two years of one department, many departments of one city.

Expected figures are read straight from SQL here, never through the parser or the executors.
"""

from __future__ import annotations

import sqlite3
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from bot.answer import ANSWERED
from bot.config import KNOWLEDGE_DIR
from bot.core import Assistant
from bot.lexicon import load_lexicon
from bot.trace import unverified
from db.ingest import ingest
from tests.conftest import DATA, FIXTURE, SEED

PREVIOUS = DATA / "fixtures" / "nanyang-2023-budget.txt"
BUREAUS = ["公安", "民政", "财政", "教育", "信访", "审计", "统计", "交通运输", "水利", "农业农村", "商务", "文化广电旅游",
           "卫生健康", "应急管理", "市场监督管理", "生态环境", "住房和城乡建设", "自然资源和规划", "人力资源和社会保障", "司法",
           "退役军人事务", "林业", "体育", "医疗保障", "城市管理", "科学技术", "工业和信息化", "发展和改革", "机关事务管理", "粮食和物资储备"]


def total(db: Path, department: str, year: int, table: str, column: str, row: str) -> Decimal:
    conn = sqlite3.connect(db)
    value = conn.execute(
        "SELECT f.value FROM facts f JOIN tables t ON t.id = f.table_id JOIN documents d ON d.id = f.document_id "
        "WHERE d.department = ? AND d.year = ? AND t.name = ? AND f.column = ? AND f.label = ?",
        (department, year, table, column, row)).fetchone()[0]
    conn.close()
    return Decimal(value)


@pytest.fixture(scope="module")
def years(tmp_path_factory):
    db = tmp_path_factory.mktemp("years") / "years.sqlite"
    ingest(db, [SEED, PREVIOUS, FIXTURE])
    return db, Assistant(db, load_lexicon(KNOWLEDGE_DIR), db.parent / "cache")


@pytest.mark.parametrize("question, table, column, row", [
    ("2024年比2023年增长多少", "部门收支总体情况表", "金额", "支出总计"),
    ("2024年人员经费比2023年增加了多少", "一般公共预算基本支出情况表", "本年一般公共预算基本支出/人员经费", "合计"),
    ("2023年到2024年项目支出变化多少", "部门支出总体情况表", "项目支出/小计", "合计"),
])
def test_a_change_between_two_loaded_years_reads_both(years, question, table, column, row):
    db, assistant = years
    department = "南阳市行政审批和政务信息管理局"
    new, old = total(db, department, 2024, table, column, row), total(db, department, 2023, table, column, row)
    answer = assistant.answer(question, f"y-{question}")
    assert answer.status == ANSWERED, answer.text
    values = {Decimal(f.value) for f in answer.figures}
    assert {new, old, abs(new - old)} <= values, answer.text
    rate = (abs(new - old) / old * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    assert rate in values and {c.document for c in answer.citations} == {SEED.name, PREVIOUS.name}
    assert not unverified(assistant.conn, answer)


def test_departments_are_ranked_and_compared(years):
    db, assistant = years
    nanyang = total(db, "南阳市行政审批和政务信息管理局", 2024, "一般公共预算“三公”经费支出情况表", "“三公”经费合计", "")
    qingshan = total(db, "青山市农业农村局", 2025, "一般公共预算“三公”经费支出情况表", "“三公”经费合计", "") / 10000
    ranked = assistant.answer("哪个部门三公经费最多", "rank")
    top = "青山市农业农村局" if qingshan > nanyang else "南阳市行政审批和政务信息管理局"
    assert ranked.status == ANSWERED and top in ranked.text.splitlines()[1], ranked.text
    compared = assistant.answer("南阳市行政审批和政务信息管理局和青山市农业农村局的三公经费比较", "cmp")
    assert abs(nanyang - qingshan) in {Decimal(f.value) for f in compared.figures}, compared.text
    assert not unverified(assistant.conn, compared)


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """Thirty departments of one city, made from the seed by renaming the department and its units."""
    folder = tmp_path_factory.mktemp("city")
    text = SEED.read_text(encoding="utf-8")
    paths = []
    for i, bureau in enumerate(BUREAUS):
        body = (text.replace("行政审批和政务服务信息管理局", f"{bureau}局").replace("行政审批和政务信息管理局", f"{bureau}局")
                .replace("政务服务和大数据管理局", f"{bureau}局").replace("政务大数据中心", f"{bureau}事务中心"))
        path = folder / f"dept-{i:02d}.txt"
        path.write_text(body, encoding="utf-8")
        paths.append(path)
    db = folder / "city.sqlite"
    ingest(db, paths)
    return Assistant(db, load_lexicon(KNOWLEDGE_DIR), folder / "cache")


@pytest.mark.parametrize("bureau", BUREAUS)
def test_every_department_of_a_city_is_answered_from_its_own_document(city, bureau):
    for question in (f"南阳市{bureau}局三公经费多少", f"{bureau}局的三公经费是多少"):
        answer = city.answer(question, f"c-{bureau}-{len(question)}")
        assert answer.status == ANSWERED, (question, answer.text, answer.options[:2])
        assert f"南阳市{bureau}局" in answer.text.splitlines()[-1] and "4.30" in answer.text


def test_which_departments_have_a_figure_lists_those_not_zero(city):
    """哪些部门有…: every department with its figure, from SQL (the row with an empty label is the department's)."""
    path = Path(city.conn.execute("PRAGMA database_list").fetchone()[2])
    departments = [r[0] for r in sqlite3.connect(path).execute("SELECT department FROM documents")]
    values = {d: total(path, d, 2024, "一般公共预算“三公”经费支出情况表", "“三公”经费合计", "") for d in departments}
    answer = city.answer("哪些部门有三公经费", "having")
    assert answer.status == ANSWERED, answer.text
    listed = [line for line in answer.text.splitlines() if line.startswith("· ")]
    having = {d for d, v in values.items() if v != 0}
    assert having and len(listed) == len(having) and all(any(d in line for line in listed) for d in having)
    assert not unverified(city.conn, answer)


@pytest.mark.parametrize("said, meant", [
    ("住建局", "住房和城乡建设局"), ("人社局", "人力资源和社会保障局"), ("市场监管局", "市场监督管理局"), ("工信局", "工业和信息化局"),
    ("科技局", "科学技术局"), ("退役军人局", "退役军人事务局"), ("南阳市住建局", "住房和城乡建设局"),
])
def test_a_department_is_named_by_its_shortening(city, said, meant):
    answer = city.answer(f"{said}三公经费多少", f"short-{said}")
    assert answer.status == ANSWERED and f"南阳市{meant}" in answer.text.splitlines()[-1], (said, answer.text)


@pytest.mark.parametrize("question, named", [
    ("南阳市外事办公室三公经费多少", "南阳市外事办公室"), ("洛阳市公安局三公经费多少", "洛阳市公安局"), ("那气象局呢", "气象局"),
])
def test_a_department_not_loaded_is_said_so_and_given_no_figure(city, question, named):
    answer = city.answer(question, f"unknown-{question}")
    assert answer.status != ANSWERED and not answer.figures and named in answer.text, answer.text


def test_across_words_without_a_department_rank_every_department(city):
    for question in ("谁的三公经费最多", "三公经费排前三的是哪几个部门", "30个部门三公经费合计多少"):
        answer = city.answer(question, f"across-{question}")
        assert answer.status == ANSWERED and "个部门" in answer.text, (question, answer.text)
        assert not unverified(city.conn, answer)

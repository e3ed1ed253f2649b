"""Loading disclosures: every cell exact, tables recognised, many documents, atomic failures."""

from __future__ import annotations

import hashlib
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from db.audit import audit
from db.errors import LoadError
from db.ingest import ingest
from tests.conftest import FIXTURE, MALFORMED, SEED

AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+$")
EXPECTED_ROWS = {  # data rows per table, header rows and page-break repeats excluded
    "部门收支总体情况表": 33, "部门收入总体情况表": 4, "部门支出总体情况表": 19, "财政拨款收支总体情况表": 33,
    "一般公共预算支出情况表": 19, "一般公共预算基本支出情况表": 33, "支出经济分类汇总表": 34,
    "一般公共预算“三公”经费支出情况表": 1, "政府性基金预算支出情况表": 1, "项目支出预算表": 17,
    "部门预算项目绩效目标汇总表": 34,
}


@pytest.fixture()
def db(tmp_path) -> Path:
    path = tmp_path / "b.sqlite"
    ingest(path, [SEED])
    return path


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    return conn


def test_every_numeric_cell_of_the_seed_is_stored_exactly(db):
    conn = connect(db)
    stored = {(r["line"], Decimal(r["value"])) for r in conn.execute("SELECT line, value FROM facts")}
    lines = SEED.read_text(encoding="utf-8").split("\n")
    first_table = next(i for i, l in enumerate(lines, 1) if "\t" in l)
    checked = 0
    for number, line in enumerate(lines, start=1):
        if number < first_table or "\t" not in line:
            continue
        for cell in line.split("\t"):
            if AMOUNT.match(cell.strip()):
                assert (number, Decimal(cell.strip().replace(",", ""))) in stored, f"line {number}: {cell}"
                checked += 1
    assert checked > 1000


def test_each_table_has_its_exact_row_count(db):
    conn = connect(db)
    counts = dict(conn.execute("SELECT t.name, COUNT(r.id) FROM tables t JOIN rows r ON r.table_id = t.id GROUP BY t.name"))
    for name, rows in EXPECTED_ROWS.items():
        assert counts[name] == rows, name
    assert len(conn.execute("SELECT * FROM tables").fetchall()) == 12


def test_document_metadata_units_and_codes(db):
    conn = connect(db)
    doc = conn.execute("SELECT * FROM documents").fetchone()
    assert (doc["department"], doc["year"], doc["kind"]) == ("南阳市行政审批和政务信息管理局", 2024, "预算")
    units = {r["code"]: (r["name"], r["is_department"], r["is_own"]) for r in conn.execute("SELECT * FROM units")}
    assert units["152"][1] == 1 and units["152101"][2] == 1 and units["152201"][0] == "南阳市政务大数据中心"
    row = conn.execute("SELECT value, unit FROM facts WHERE func_code = '2013704' AND column = '合计' LIMIT 1").fetchone()
    assert (row["value"], row["unit"]) == ("197.90", "万元")
    econ = conn.execute("SELECT econ_code, gov_econ_code FROM facts WHERE label = '办公费' AND econ_code IS NOT NULL").fetchall()
    assert {(r[0], r[1]) for r in econ} >= {("30201", "50201"), ("30201", "50502")}
    paths = [r[0] for r in conn.execute("SELECT DISTINCT column FROM facts")]
    assert "基本支出/人员经费/工资福利支出" in paths
    assert conn.execute("SELECT COUNT(*) FROM glossary").fetchone()[0] == 10
    notes = conn.execute("SELECT notes FROM tables WHERE name = '政府性基金预算支出情况表'").fetchone()[0]
    assert "没有政府性基金预算支出" in notes


def test_second_document_in_yuan_loads_beside_the_seed(db):
    ingest(db, [FIXTURE])
    conn = connect(db)
    docs = {r["department"]: r["id"] for r in conn.execute("SELECT * FROM documents")}
    assert set(docs) == {"南阳市行政审批和政务信息管理局", "青山市农业农村局"}
    units = {r[0] for r in conn.execute("SELECT DISTINCT unit FROM facts WHERE document_id = ?", (docs["青山市农业农村局"],))}
    assert "元" in units
    sangong = conn.execute(
        "SELECT f.document_id, f.value FROM facts f JOIN tables t ON t.id = f.table_id "
        "WHERE t.name = '一般公共预算“三公”经费支出情况表' AND f.column = '“三公”经费合计'").fetchall()
    assert {r[0]: r[1] for r in sangong} == {docs["南阳市行政审批和政务信息管理局"]: "4.30", docs["青山市农业农村局"]: "369000.00"}
    ingest(db, [FIXTURE])  # loading the same file again replaces it
    assert connect(db).execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 2


@pytest.mark.parametrize("name, line, words", [
    ("empty.txt", None, "为空"),
    ("binary.bin", 1, "二进制"),
])
def test_unreadable_input_fails_clearly_and_leaves_the_database_unchanged(db, name, line, words):
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    report = ingest(db, [MALFORMED / name])
    assert [o.status for o in report.outcomes] == ["failed"] and words in report.outcomes[0].error
    with pytest.raises(LoadError) as caught:
        ingest(db, [MALFORMED / name], strict=True)
    assert caught.value.line == line and words in str(caught.value) and name in str(caught.value)
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert not list(db.parent.glob("*.tmp"))


@pytest.mark.parametrize("name, line, words, tables", [
    ("truncated-table.txt", 261, "截断", 2),  # the file ends inside its third table
    ("non-numeric-amount.txt", 336, "12O.50", 11),
])
def test_an_unreadable_table_is_skipped_with_its_reason_and_the_rest_loads(tmp_path, name, line, words, tables):
    db = tmp_path / "t.sqlite"
    report = ingest(db, [MALFORMED / name])
    (outcome,) = report.outcomes
    assert outcome.status == "loaded" and outcome.tables == tables
    assert [(ln, words in reason) for _, ln, reason in outcome.skipped] == [(line, True)]
    with pytest.raises(LoadError) as caught:
        ingest(tmp_path / "strict.sqlite", [MALFORMED / name], strict=True)
    assert caught.value.line == line and not (tmp_path / "strict.sqlite").exists()


def test_a_table_the_template_does_not_list_loads_under_its_printed_name(tmp_path):
    db = tmp_path / "t.sqlite"
    ingest(db, [MALFORMED / "unknown-table.txt"])
    names = {r[0] for r in connect(db).execute("SELECT name FROM tables")}
    assert "部门外星人预算表" in names and "部门收支总体情况表" in names


def test_a_document_without_tables_loads_its_narrative_only(tmp_path):
    db = tmp_path / "t.sqlite"
    (outcome,) = ingest(db, [MALFORMED / "no-tables.txt"]).outcomes
    assert outcome.status == "loaded" and outcome.narrative_only
    assert connect(db).execute("SELECT COUNT(*) FROM sections").fetchone()[0] > 0


def test_audit_reports_the_seeds_known_findings(db):
    checks = [c for c in audit(db) if c.document == SEED.name]
    failed = " ".join(c.detail for c in checks if c.status == "fail")
    assert "南阳市政务服务和大数据管理局" in failed
    assert "南阳市部分市信信息系统等保测评服务项目" in failed
    assert "成本 2 万元对应多个项目" in failed
    assert all(c.status == "pass" for c in checks if c.name.startswith("跨表一致"))


def test_audit_passes_the_consistent_fixture(tmp_path):
    path = tmp_path / "q.sqlite"
    ingest(path, [FIXTURE])
    checks = audit(path)
    assert checks and not [c for c in checks if c.status == "fail"]


@pytest.mark.parametrize("title, name", [
    ("一、部门收支总体情况表", "部门收支总体情况表"),
    ('八、一般公共预算"三公"经费支出情况表', "一般公共预算“三公”经费支出情况表"),
    ("表八 年财政拨款 三公 经费支出情况表", "一般公共预算“三公”经费支出情况表"),  # 重庆
    ("2026年部门整体支出绩效目标表", "部门（单位）整体绩效目标表"),  # 长沙
    ("2026年项目支出绩效目标表", "部门预算项目绩效目标汇总表"),
    ("本年支出总体情况表", "部门支出总体情况表"),  # 广州
    ("单位收支总体情况表", "部门收支总体情况表"),
    ("表九 年政府采购预算明细表", "政府采购预算明细表"),
])
def test_title_variants_map_to_standard_tables(title, name):
    from db.template import load_template

    assert load_template().table_by_title(title).name == name


def test_schema_change_rebuilds_the_database(tmp_path):
    from db.ingest import ensure_database
    from tests.conftest import SEED

    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / SEED.name).write_bytes(SEED.read_bytes())
    db = tmp_path / "b.sqlite"
    ensure_database(db, sources)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    ensure_database(db, sources)
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] > 1


def test_a_load_where_nothing_loads_leaves_the_database_as_it_was(tmp_path):
    db = tmp_path / "kb.sqlite"
    ingest(db, [SEED], replace_all=True, origin="bundled")
    before = db.read_bytes()
    (outcome,) = ingest(db, [MALFORMED / "empty.txt"]).outcomes  # the user's first load, and it fails
    assert outcome.status == "failed" and db.read_bytes() == before


def test_two_loads_at_once_keep_both_documents_and_the_file_keeps_its_mode(tmp_path):
    import os
    import subprocess
    import sys

    db = tmp_path / "kb.sqlite"
    ingest(db, [SEED])
    os.chmod(db, 0o644)
    other = FIXTURE.with_name("nanyang-2023-budget.txt")  # another department-year than FIXTURE's
    code = "import sys; from pathlib import Path; from db.ingest import ingest; ingest(Path(sys.argv[1]), [Path(sys.argv[2])])"
    runs = [subprocess.Popen([sys.executable, "-c", code, str(db), str(p)]) for p in (other, FIXTURE)]
    assert all(r.wait(timeout=120) == 0 for r in runs)
    names = {r[0] for r in connect(db).execute("SELECT source_file FROM documents")}
    assert names == {SEED.name, other.name, FIXTURE.name} and (db.stat().st_mode & 0o777) == 0o644


def test_a_sidecar_of_the_wrong_shape_fails_that_document_only(tmp_path):
    good, bad = tmp_path / "good.txt", tmp_path / "bad.txt"
    good.write_bytes(SEED.read_bytes())
    bad.write_bytes(FIXTURE.read_bytes())
    (tmp_path / "bad.toml").write_text('year = "2025年"\n', encoding="utf-8")
    report = ingest(tmp_path / "kb.sqlite", [tmp_path])
    assert {o.path.name: o.status for o in report.outcomes} == {"good.txt": "loaded", "bad.txt": "failed"}
    assert "year" in report.of("failed")[0].error

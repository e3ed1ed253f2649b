"""Parse one source document (PDF or converted text) and write it into an open SQLite database.

db/ingest.py drives a load of many documents and replaces the database atomically.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import stat
import tomllib
from dataclasses import dataclass, field
from functools import cache
from decimal import Decimal
from pathlib import Path

from rapidfuzz import fuzz

from db.columns import TOTAL_COLUMNS, canonical, row_canonical
from db.facts import Row, grid_facts, table_unit
from db.money import convert, to_fen
from db.narrative import NarrativeFact, narrative_facts
from db.errors import LoadError
from db.paths import KNOWLEDGE_DIR
from db.pdf import read_pdf
from db.performance import FormData, Group, indicator_groups, link_groups, parse_form
from db.reader import decode, read_blocks
from db.recognise import Recognised, recognise
from db.template import Template, city_of, load_template, without_city

SCHEMA = Path(__file__).with_name("schema.sql")
SCHEMA_VERSION = 6  # raise when schema.sql or what is extracted changes: old databases are rebuilt
SOURCE_SUFFIXES = {".txt", ".md", ".pdf"}
MAX_SOURCE_BYTES = 100 * 2**20  # a whole department's disclosure is a few MB; more is not one
PROJECT_NAME_CUTOFF = 80  # rapidfuzz ratio for the same project named in two tables


@dataclass
class Parsed:
    path: Path
    sha256: str
    line_count: int
    doc: Recognised
    unit: str
    grids: list[tuple[int, list[Row]]]  # (index of the table in doc.tables, its rows with facts)
    form: FormData | None
    groups: list[Group]
    narrative: list[NarrativeFact]
    units: dict[str, str]  # code -> name
    pages: list[int] = field(default_factory=list)  # page of each line of a PDF (index = line - 1)
    page_count: int | None = None
    meta: dict = field(default_factory=dict)  # from a sidecar file: url, published, department …


@cache
def knowledge_digest() -> bytes:
    """What reading depends on besides the file: the template, its families and the schema version."""
    digest = hashlib.sha256(str(SCHEMA_VERSION).encode())
    for toml in sorted(KNOWLEDGE_DIR.glob("*.toml")) + sorted((KNOWLEDGE_DIR / "families").glob("*.toml")):
        digest.update(toml.read_bytes())
    return digest.digest()


def read_source(path: Path) -> bytes:
    """The bytes of a source file: regular files only (never a FIFO or a device), at most MAX_SOURCE_BYTES."""
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise LoadError(path, None, "不是普通文件（可能是管道或设备），已跳过")
    if info.st_size > MAX_SOURCE_BYTES:
        raise LoadError(path, None, f"文件太大（{info.st_size // 2**20} MB），上限 {MAX_SOURCE_BYTES // 2**20} MB")
    with path.open("rb") as handle:
        data = handle.read(MAX_SOURCE_BYTES + 1)
    if len(data) > MAX_SOURCE_BYTES:  # grew while being read
        raise LoadError(path, None, f"文件太大，上限 {MAX_SOURCE_BYTES // 2**20} MB")
    return data


def content_hash(path: Path, data: bytes | None = None) -> str:
    """The hash a load is cached by: the file, its sidecar and the knowledge it is read with, so that
    editing any of them reads it again."""
    digest = hashlib.sha256(read_source(path) if data is None else data)
    digest.update(knowledge_digest())
    side = path.with_suffix(".toml")
    if side != path and side.is_file():
        digest.update(side.read_bytes())
    return digest.hexdigest()


def sidecar(path: Path) -> dict:
    """Facts about a document the file itself does not carry, from `<name>.toml` beside it."""
    side = path.with_suffix(".toml")
    if not side.is_file() or side == path:
        return {}
    try:
        data = tomllib.loads(side.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LoadError(side, None, f"附注文件格式不对：{exc}") from None
    meta = {k: data[k] for k in ("department", "year", "kind", "scope", "url", "published", "synonyms") if k in data}
    if "year" in meta and not (isinstance(meta["year"], int) and 1900 < meta["year"] < 2200):
        raise LoadError(side, None, f"附注文件的 year 应为四位数字年份（如 2026），却是“{meta['year']}”")
    if not all(isinstance(meta.get(k, ""), str) for k in ("department", "kind", "scope", "url")):
        raise LoadError(side, None, "附注文件的 department、kind、scope、url 应为文字")
    if not isinstance(meta.get("synonyms", {}), dict):
        raise LoadError(side, None, "附注文件的 [synonyms] 应为“名称 = [叫法…]”")
    return meta


def read_document(path: Path, data: bytes) -> tuple[list, list[int], int | None, int]:
    """Blocks of a PDF or a converted text, the page of each line, the page count and the line count."""
    if data[:5] == b"%PDF-" or path.suffix.lower() == ".pdf":
        if data[:5] != b"%PDF-":
            raise LoadError(path, None, "扩展名是 .pdf，但内容不是 PDF 文件")
        blocks, pages = read_pdf(path, data)
        return blocks, pages, (max(pages) if pages else 0), len(pages)
    text = decode(path, data)
    return read_blocks(path, text), [], None, text.count("\n") + 1


def parse_document(path: Path, template: Template | None = None) -> Parsed:
    """Read, recognise and extract one disclosure; raises LoadError naming file and line.

    A table whose amounts cannot be read is dropped with its reason (doc.skipped); the rest loads."""
    template = template or load_template()
    data = read_source(path)
    meta = sidecar(path)
    blocks, pages, page_count, line_count = read_document(path, data)
    doc = recognise(path, blocks, template, meta)
    units_seen = [t.unit for t in doc.tables if t.unit]
    default_unit = max(sorted(set(units_seen)), key=units_seen.count) if units_seen else "万元"  # sorted: ties are stable
    units: dict[str, str] = {}
    kept, grids, form, groups = [], [], None, []
    for table in doc.tables:
        table.unit = table_unit(table, default_unit)
        try:
            if table.standard.layout == "form":
                table_form = parse_form(table, template)
                table.department = table.department or table_form.department
                form = table_form
            else:
                rows = grid_facts(path, table, template, table.unit, units)
                if table.standard.layout == "performance":
                    groups = indicator_groups(table)
                grids.append((len(kept), rows))
        except LoadError as error:
            doc.skipped.append((table.title, error.line or table.line, error.message))
            continue
        kept.append(table)
    doc.tables = kept
    return Parsed(
        path=path, sha256=content_hash(path, data), line_count=line_count, doc=doc,
        unit=default_unit, grids=grids, form=form, groups=groups,
        narrative=narrative_facts(doc.sections, doc.year), units=units,
        pages=pages, page_count=page_count, meta=meta,
    )


def source_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def _insert(conn: sqlite3.Connection, table: str, record: dict) -> int:
    columns = ", ".join(record)
    marks = ", ".join(f":{k}" for k in record)
    return conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", record).lastrowid


def _delete_document(conn: sqlite3.Connection, parsed: Parsed) -> None:
    ids = [r[0] for r in conn.execute(
        "SELECT id FROM documents WHERE source_file = ? OR (department = ? AND year = ? AND kind = ?)",
        (parsed.path.name, parsed.doc.department, parsed.doc.year, parsed.doc.kind),
    )]
    for doc_id in ids:
        for table in ("facts", "indicators", "projects", "units", "subjects", "sections", "narrative_facts", "glossary"):
            conn.execute(f"DELETE FROM {table} WHERE document_id = ?", (doc_id,))
        conn.execute("DELETE FROM rows WHERE table_id IN (SELECT id FROM tables WHERE document_id = ?)", (doc_id,))
        conn.execute("DELETE FROM tables WHERE document_id = ?", (doc_id,))
        conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def write_document(conn: sqlite3.Connection, parsed: Parsed, origin: str = "user") -> int:
    """Insert one parsed document, replacing an earlier load of the same file or department-year."""
    _delete_document(conn, parsed)
    doc = parsed.doc
    doc_id = _insert(conn, "documents", {
        "department": doc.department, "year": doc.year, "kind": doc.kind, "scope": doc.scope,
        "family": doc.family, "city": city_of(doc.department),
        "source_file": parsed.path.name, "source_path": str(parsed.path.resolve()), "origin": origin, "sha256": parsed.sha256, "line_count": parsed.line_count,
        "page_count": parsed.page_count, "pages": _json(parsed.pages), "url": parsed.meta.get("url"),
        "published": str(parsed.meta["published"]) if "published" in parsed.meta else None,
        "tables_separate": int(doc.tables_separate), "skipped": _json(doc.skipped),
        "synonyms": _json(parsed.meta.get("synonyms", {})),
    })
    table_ids: dict[int, int] = {}
    for index, table in enumerate(doc.tables):
        table_ids[index] = _insert(conn, "tables", {
            "document_id": doc_id, "name": table.standard.name, "title": table.title, "unit": table.unit,
            "position": index + 1, "line": table.line, "department": table.department,
            "columns": _json(table.columns), "notes": _json(table.notes),
        })
    subjects: dict[tuple[str, str], str] = {}
    for index, rows in parsed.grids:
        unit = doc.tables[index].unit
        name = doc.tables[index].standard.name
        by_row = row_canonical(name, [f.row_label for row in rows for f in row.facts])
        for position, row in enumerate(rows, start=1):
            row_id = _insert(conn, "rows", {"table_id": table_ids[index], "position": position, "line": row.line, "cells": _json(row.cells)})
            for key, subject in row.subjects.items():
                subjects.setdefault(key, subject)
            for fact in row.facts:
                _insert(conn, "facts", {
                    "document_id": doc_id, "table_id": table_ids[index], "row_id": row_id, "line": fact.line,
                    "side": fact.side, "row_label": fact.row_label, "label": fact.label, "row_kind": fact.row_kind,
                    "column": fact.column, "canon": _canon(name, fact.column, fact.row_label, by_row, doc.year),
                    "func_code": fact.func_code, "econ_code": fact.econ_code,
                    "gov_econ_code": fact.gov_econ_code, "unit_code": fact.unit_code, "project": fact.project,
                    "value": str(fact.value), "fen": to_fen(fact.value, unit), "unit": unit,
                })
    for (scheme, code), name in sorted(subjects.items()):
        conn.execute("INSERT OR IGNORE INTO subjects VALUES (?, ?, ?, ?)", (doc_id, scheme, code, name))
    _write_units(conn, doc_id, parsed)
    project_ids = _write_projects(conn, doc_id, parsed)
    _write_performance(conn, doc_id, parsed, table_ids, project_ids)
    for section in doc.sections:
        _insert(conn, "sections", {"document_id": doc_id, "part": section.part, "heading": section.heading, "text": section.text,
                                   "line": section.line, "withheld": int(section.withheld)})
    for fact in parsed.narrative:
        _insert(conn, "narrative_facts", {
            "document_id": doc_id, "heading": fact.heading, "label": fact.label, "clause": fact.clause,
            "sentence": fact.sentence, "value": str(fact.value), "unit": fact.unit, "line": fact.line,
            "compared_year": fact.compared_year,
        })
    for term, definition, line in doc.glossary:
        _insert(conn, "glossary", {"document_id": doc_id, "term": term, "definition": definition, "line": line})
    return doc_id


_YEAR_HEAD = re.compile(r"^((?:19|20)\d{2})年(?:度)?(?:预算数?|预算|决算数?)?(?:/|$)")


def _canon(table: str, column: str, row_label: str, by_row: dict[str, str | None] | None, year: int) -> str | None:
    """What an amount means: its column's meaning, or in a row-wise table its row's (in the total column).
    Columns under a year heading (烟台: 2025年预算数/…, 2026年预算数/…) mean something only for the document's year."""
    head = _YEAR_HEAD.match(column.replace(" ", ""))
    if head:
        if int(head.group(1)) != year:
            return None  # last year's figure printed beside this year's
        column = column.replace(" ", "")[head.end():] or "合计"
    meaning = canonical(table, column)
    if by_row is not None and meaning in TOTAL_COLUMNS:
        return by_row.get(row_label)
    return meaning


def _write_units(conn: sqlite3.Connection, doc_id: int, parsed: Parsed) -> None:
    """Units by code; the shortest code is the department, a longer one named like it is 本级."""
    codes = sorted(parsed.units, key=lambda c: (len(c), c))
    top = codes[0] if codes else None
    for code in codes:
        name = parsed.units[code]
        short = without_city(name, parsed.doc.department)
        conn.execute("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?, ?, ?)", (
            doc_id, code, name, short, int(code == top), int(code != top and name == parsed.units[top]),
        ))


def _project_rows(parsed: Parsed, table_name: str) -> list[tuple[Row, dict]]:
    for index, rows in parsed.grids:
        table = parsed.doc.tables[index]
        if table.standard.name == table_name:
            return [(row, dict(zip(table.columns, row.cells))) for row in rows]
    return []


def _write_projects(conn: sqlite3.Connection, doc_id: int, parsed: Parsed) -> dict[str, int]:
    """Projects of 项目支出预算表, matched to their rows in 项目绩效目标汇总表 by name and amount."""
    ids: dict[str, int] = {}
    budget_table = next((t for t in parsed.doc.tables if t.standard.name == "项目支出预算表"), None)
    perf_rows = [
        (row, cells) for row, cells in _project_rows(parsed, "部门预算项目绩效目标汇总表")
        if len(row.cells[0].strip()) >= 10 and row.cells[0].strip().isdigit()
    ]
    owner = None
    for row, cells in _project_rows(parsed, "项目支出预算表"):
        if any(f.row_kind == "unit" for f in row.facts):
            owner = row.facts[0].row_label  # 广东 表12: the unit's row above its projects
        facts = [f for f in row.facts if f.project and canonical("项目支出预算表", f.column) == "amount"]
        if not facts:
            continue
        fact = facts[0]
        perf = max(perf_rows, key=lambda pc: fuzz.ratio(pc[0].cells[1], fact.project), default=None)
        if perf is not None and fuzz.ratio(perf[0].cells[1], fact.project) < PROJECT_NAME_CUTOFF:
            perf = None
        ids[fact.project] = _insert(conn, "projects", {
            "document_id": doc_id, "name": fact.project, "type": cells.get("类型") or None,
            "unit_code": fact.unit_code, "unit_name": cells.get("项目单位") or owner, "value": str(fact.value),
            "fen": to_fen(fact.value, budget_table.unit), "unit": budget_table.unit, "line": row.line,
            "perf_code": perf[0].cells[0].strip() if perf else None,
            "perf_name": perf[0].cells[1].strip() if perf else None, "perf_line": perf[0].line if perf else None,
        })
    return ids


def _write_performance(conn, doc_id: int, parsed: Parsed, table_ids: dict[int, int], project_ids: dict[str, int]) -> None:
    tables = {t.standard.name: i for i, t in enumerate(parsed.doc.tables)}
    if parsed.form is not None:
        table_id = table_ids[tables["部门（单位）整体绩效目标表"]]
        for ind in parsed.form.indicators:
            _insert(conn, "indicators", {
                "document_id": doc_id, "table_id": table_id, "project_id": None, "group_no": None,
                "level1": ind.level1, "level2": ind.level2, "name": ind.name, "value": ind.value,
                "description": ind.description, "line": ind.line, "link_method": None, "link_note": None,
            })
        _write_form_rows(conn, doc_id, parsed, table_id)
    if parsed.groups:
        projects = [(name, convert(Decimal(value), unit, "万元")) for name, value, unit in conn.execute(
            "SELECT name, value, unit FROM projects WHERE document_id = ? ORDER BY id", (doc_id,))]
        link_groups(parsed.groups, projects)
        table_id = table_ids[tables["部门预算项目绩效目标汇总表"]]
        for group in parsed.groups:
            for ind in group.indicators:
                _insert(conn, "indicators", {
                    "document_id": doc_id, "table_id": table_id, "project_id": project_ids.get(group.project or ""),
                    "group_no": group.number, "level1": ind.level1, "level2": "", "name": ind.name,
                    "value": ind.value, "description": "", "line": ind.line, "link_method": group.method or None,
                    "link_note": group.note or None,
                })


def _write_form_rows(conn, doc_id: int, parsed: Parsed, table_id: int) -> None:
    """The form's rows as printed, its amounts as facts, its text fields as sections."""
    form = parsed.form
    table = next(t for t in parsed.doc.tables if t.standard.layout == "form")
    amount_lines = {line: (label, value) for label, value, line, _ in form.amounts}
    for position, row in enumerate(table.rows, start=1):
        row_id = _insert(conn, "rows", {"table_id": table_id, "position": position, "line": row.line, "cells": _json(row.cells)})
        if row.line in amount_lines:
            label, value = amount_lines[row.line]
            _insert(conn, "facts", {
                "document_id": doc_id, "table_id": table_id, "row_id": row_id, "line": row.line, "side": None,
                "row_label": label, "label": label.split("（")[0], "row_kind": "item", "column": "金额", "canon": "amount",
                "func_code": None, "econ_code": None, "gov_econ_code": None, "unit_code": None, "project": None,
                "value": str(value), "fen": to_fen(value, table.unit), "unit": table.unit,
            })
    for label, text, line in form.fields:
        _insert(conn, "sections", {"document_id": doc_id, "part": table.standard.name, "heading": label, "text": text, "line": line, "withheld": 0})


def create_schema(conn: sqlite3.Connection) -> None:
    conn.executescript(SCHEMA.read_text(encoding="utf-8"))
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

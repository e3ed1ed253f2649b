"""Recogniser: map the reader's blocks onto the national template.

Finds the document's department, year and kind, the narrative paragraphs with their
headings, the glossary of 名词解释, and every standard table with its unit, header
column paths, data rows and footnotes. Errors name the line and what was expected.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from db.errors import LoadError
from db.headers import column_paths
from db.reader import Block, Grid, GridRow, Heading, Paragraph
from db.template import StandardTable, Template

_TITLE = re.compile(r"^(?P<dept>.+?)\s*(?P<year>(?:19|20)\d{2})\s*年度?\s*(?:部门|单位)?(?P<kind>预算|决算)")
_UNIT = re.compile(r"单位[:：]\s*(万元|元|亿元|千元)")
_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_DECIMAL_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+$")
_PART = re.compile(r"^第[一二三四五六七八九十]+部分")
_GLOSSARY_ITEM = re.compile(r"^[一二三四五六七八九十]+、\s*(?P<term>[^：:]{1,30})[：:]\s*(?P<definition>.+)$")


@dataclass
class Section:
    part: str
    heading: str
    text: str
    line: int


@dataclass
class Table:
    standard: StandardTable
    title: str
    line: int
    unit: str | None = None
    department: str | None = None
    header: list[list[str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    rows: list[GridRow] = field(default_factory=list)
    notes: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class Recognised:
    department: str
    year: int
    kind: str
    sections: list[Section]
    glossary: list[tuple[str, str, int]]
    tables: list[Table]


def parse_amount(cell: str) -> Decimal | None:
    """'1,790.63' -> Decimal('1790.63'); '' -> None; anything else raises ValueError."""
    text = unicodedata.normalize("NFKC", cell).strip()
    if not text:
        return None
    if not _AMOUNT.match(text):
        raise ValueError(cell)
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        raise ValueError(cell) from None


def is_amount(cell: str) -> bool:
    return bool(_AMOUNT.match(unicodedata.normalize("NFKC", cell).strip()))


def _text_of(block: Block) -> str:
    return block.text if isinstance(block, (Heading, Paragraph)) else ""


def _document_title(path: Path, blocks: list[Block]) -> tuple[str, int, str]:
    texts = [(_text_of(b), b.line) for b in blocks[:8] if not isinstance(b, Grid)]
    joined = " ".join(t for t, _ in texts)
    match = _TITLE.search(unicodedata.normalize("NFKC", joined))
    if not match:
        line = texts[0][1] if texts else 1
        raise LoadError(path, line, "找不到文档标题，应形如“XX局 2024年部门预算公开”")
    return match.group("dept").strip(), int(match.group("year")), match.group("kind")


def _is_header_row(cells: list[str]) -> bool:
    """Header rows hold labels only: no decimal amount and no leading code."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled:
        return False
    if any(_DECIMAL_AMOUNT.match(unicodedata.normalize("NFKC", c)) for c in filled):
        return False
    if re.fullmatch(r"\d{3,}", filled[0]):
        return False
    return not _is_index_row(cells)


def _is_index_row(cells: list[str]) -> bool:
    """A column-index row under the header: 1 2 3 ... (some disclosures print one)."""
    filled = [c.strip() for c in cells if c.strip()]
    return len(filled) >= 3 and all(c.isdigit() for c in filled) and [int(c) for c in filled] == list(
        range(int(filled[0]), int(filled[0]) + len(filled))
    )


class _Builder:
    def __init__(self, path: Path, template: Template, department: str) -> None:
        self.path = path
        self.template = template
        self.department = department
        self.tables: list[Table] = []
        self.pending: Table | None = None  # titled, no grid yet
        self.current: Table | None = None  # receiving grids and notes

    def title(self, text: str, line: int) -> bool:
        standard = self.template.table_by_title(text, self.department)
        if standard is None:
            return False
        self.pending = Table(standard, text, line)
        self.current = None
        return True

    def unknown_title(self, text: str, line: int) -> None:
        self.pending = Table(StandardTable("", "unknown", ()), text, line)
        self.current = None

    def paragraph(self, text: str, line: int) -> None:
        target = self.pending or self.current
        if target is None:
            return
        unit = _UNIT.search(text)
        if unit and target.unit is None:
            target.unit = unit.group(1)
        elif re.match(r"^(部门|单位)名称[:：]", unicodedata.normalize("NFKC", text)) and target.department is None:
            target.department = re.split(r"[:：]", unicodedata.normalize("NFKC", text), maxsplit=1)[1].strip()
        elif self.current is not None:
            self.current.notes.append((line, text))

    def grid(self, grid: Grid) -> None:
        if self.pending is not None:
            table = self.pending
            if not table.standard.name:
                names = "、".join(t.name for t in self.template.tables)
                raise LoadError(self.path, table.line, f"不认识的表“{table.title}”，应为标准表之一：{names}")
            self.pending = None
            self.current = table
            self.tables.append(table)
            self._first_grid(table, grid)
        elif self.current is not None:
            self._continuation(self.current, grid)
        else:
            raise LoadError(self.path, grid.line, "表格前没有可识别的表名（应为标准预算表标题）")

    def _first_grid(self, table: Table, grid: Grid) -> None:
        rows = list(grid.rows)
        if table.standard.layout == "form":
            table.rows = rows
            return
        header: list[list[str]] = []
        while rows and _is_header_row(rows[0].cells):
            header.append(rows.pop(0).cells)
        if not header:
            raise LoadError(self.path, grid.line, f"“{table.title}”缺少表头行")
        width = max((j + 1 for row in header for j, c in enumerate(row) if c.strip()), default=0)
        table.header = header
        table.columns = column_paths(header, width)
        self._add_rows(table, rows)

    def _continuation(self, table: Table, grid: Grid) -> None:
        rows = list(grid.rows)
        if table.standard.layout != "form":
            while rows and _is_header_row(rows[0].cells):
                rows.pop(0)  # header repeated after a page break
        self._add_rows(table, rows)

    def _add_rows(self, table: Table, rows: list[GridRow]) -> None:
        for row in rows:
            if _is_index_row(row.cells) or not any(c.strip() for c in row.cells):
                continue
            if table.standard.layout != "form":
                last = max(j for j, c in enumerate(row.cells) if c.strip())
                if len(row.cells) < len(table.columns) and last < len(table.columns) - 1:
                    raise LoadError(
                        self.path, row.line,
                        f"“{table.standard.name}”此行只有 {len(row.cells)} 格，表头有 {len(table.columns)} 列：表格不完整（被截断？）",
                    )
            table.rows.append(row)


def recognise(path: Path, blocks: list[Block], template: Template) -> Recognised:
    department, year, kind = _document_title(path, blocks)
    builder = _Builder(path, template, department)
    sections: list[Section] = []
    glossary: list[tuple[str, str, int]] = []
    part, heading = "", ""
    in_toc = in_annex = False
    for block in blocks:
        if isinstance(block, Grid):
            if in_annex:
                builder.grid(block)
            continue
        text = block.text
        key = text.replace(" ", "")
        if isinstance(block, Heading) and key == "目录":
            in_toc = True
            continue
        if in_toc and not (isinstance(block, Heading) and block.level == 1):
            continue
        in_toc = False
        if builder.title(text, block.line) or key.startswith("附件"):
            in_annex = True
            continue
        if in_annex:
            if text.endswith("表") and len(text) <= 40 and _looks_like_title(text):
                builder.unknown_title(text, block.line)
            else:
                builder.paragraph(text, block.line)
            continue
        if isinstance(block, Heading):
            if _PART.match(key):
                part, heading = text, ""
            else:
                heading = text
            continue
        if part:
            sections.append(Section(part, heading, text, block.line))
        if "名词解释" in part:
            match = _GLOSSARY_ITEM.match(text)
            if match:
                glossary.append((match.group("term").strip(), match.group("definition").strip(), block.line))
    if builder.pending is not None and builder.pending.standard.name:
        builder.tables.append(builder.pending)
    if not builder.tables:
        names = "、".join(t.name for t in template.tables)
        raise LoadError(path, None, f"没有找到任何预算表（应有附件中的标准表：{names}）")
    return Recognised(department, year, kind, sections, glossary, builder.tables)


def _looks_like_title(text: str) -> bool:
    return not re.search(r"[。；，,]", text)

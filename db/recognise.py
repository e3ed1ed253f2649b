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
from db.template import StandardTable, Template, title_key

_UNIT = re.compile(r"单位[:：]\s*(万元|元|亿元|千元)")
_TABLE_DEPT = re.compile(r"^(?:编制|预算)?(?:部门|单位)(?:名称|[(（]单位[)）])?[:：]\s*(?P<dept>[^\s:：]+?)(?:\s|单位[:：]|$)")
_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_DECIMAL_AMOUNT = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d+$|^-?\d{1,3}(?:,\d{3})+$")  # 1.50, 1,234 (元)
_PART = re.compile(r"^第[一二三四五六七八九十]+部分")
_GLOSSARY_ITEM = re.compile(r"^[一二三四五六七八九十]+、\s*(?P<term>[^：:]{1,30})[：:]\s*(?P<definition>.+)$")


@dataclass
class Section:
    part: str
    heading: str
    text: str
    line: int
    withheld: bool = False  # "涉密内容，按规定不予公开": said, but not disclosed


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
    scope: str = "部门"  # 部门 | 单位 (a unit budget)
    family: str = "全国"
    skipped: list[tuple[str, int, str]] = field(default_factory=list)  # tables that could not be read, and why
    tables_separate: bool = False  # the tables are published in another file (北京)


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


def _head_text(blocks: list[Block]) -> tuple[str, int]:
    """The text before the first part heading or table (at most 12 blocks), without spaces."""
    texts: list[tuple[str, int]] = []
    for block in blocks[:12]:
        if isinstance(block, Grid) or (texts and isinstance(block, Heading) and block.level == 1):
            break
        if block.text:
            texts.append((block.text, block.line))
    if not texts:
        texts = [(b.text, b.line) for b in blocks[:3] if not isinstance(b, Grid)]
    joined = "".join(t for t, _ in texts)
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", joined)), texts[0][1] if texts else 1


def _organisation(name: str, template: Template) -> str | None:
    """The department name cleaned of trailing words, or None when it does not end as an organisation."""
    for word in template.dept_trailing:
        if name.endswith(word) and len(name) > len(word) + 3:
            name = name[: -len(word)]
    if _PART.match(name) or not name.endswith(template.dept_suffixes):
        return None
    return name


def _document_title(path: Path, blocks: list[Block], template: Template) -> tuple[str, int, str, str]:
    """Department, year, kind (预算/决算) and scope (部门/单位) from the title forms of the template."""
    head, line = _head_text(blocks)
    for form in template.titles:
        for match in form.pattern.finditer(head):
            groups = match.groupdict()
            name = _organisation(groups.get("dept") or "", template) or _department_in_text(blocks, template)
            if not name:
                continue
            kind_text = groups.get("kind") or form.kind or "预算"
            kind = "决算" if "决算" in kind_text else "预算"
            scope = "单位" if "单位" in kind_text else "部门"
            return name, int(groups["year"]), kind, scope
    if re.search(r"(?:19|20)\d{2}", head) and re.search(r"预算|决算", head):
        raise LoadError(path, line, f"找不到部门名称：标题“{head[:40]}”没有说是哪个部门（可在同名 .toml 附注文件里写 department）")
    raise LoadError(path, line, f"这不像部门预算或决算公开文件：开头“{head[:40]}”里没有“XX部门 20XX年部门预算”这样的标题")


def _department_in_text(blocks: list[Block], template: Template) -> str | None:
    """The department named at the start of a narrative paragraph (…主要职责), when the title leaves it out."""
    for block in blocks[:80]:
        if isinstance(block, Paragraph):
            for pattern in template.dept_in_text:
                match = pattern.search(re.sub(r"\s", "", unicodedata.normalize("NFKC", block.text)))
                if match and _organisation(match.group("dept"), template):
                    return _organisation(match.group("dept"), template)
    return None


def _is_header_row(cells: list[str]) -> bool:
    """Header rows hold labels only: no amount (decimals or thousands separators) and no leading code."""
    filled = [c.strip() for c in cells if c.strip()]
    if not filled:
        return False
    if any(_DECIMAL_AMOUNT.match(unicodedata.normalize("NFKC", c)) for c in filled):
        return False
    if re.fullmatch(r"\d{3,}", filled[0]):
        return False
    return not _is_index_row(cells)


def _is_index_row(cells: list[str]) -> bool:
    """A column-index row under the header: 1 2 3 ... (some print ** or 栏次 over the label columns)."""
    filled = [c.strip() for c in cells if c.strip() and c.strip().strip("*") and c.strip() not in ("栏次", "行次")]
    return len(filled) >= 3 and all(c.isdigit() for c in filled) and [int(c) for c in filled] == list(
        range(int(filled[0]), int(filled[0]) + len(filled))
    )


class _Builder:
    """Collects tables: a title opens one, grids fill it; a table that cannot be read is skipped with its reason."""

    def __init__(self, path: Path, template: Template, department: str) -> None:
        self.path = path
        self.template = template
        self.department = department
        self.tables: list[Table] = []
        self.skipped: list[tuple[str, int, str]] = []  # (title, line, reason)
        self.pending: Table | None = None  # titled, no grid yet
        self.current: Table | None = None  # receiving grids and notes
        self.broken = False  # the current table was skipped: its continuation grids are skipped too

    def title(self, text: str, line: int) -> bool:
        standard = self.template.table_by_title(text, self.department)
        if standard is None:
            return False
        self._open(standard, text, line)
        return True

    def other_title(self, text: str, line: int) -> None:
        """A table the template does not list: it loads under its printed name."""
        name = title_key(text, self.department) or text
        self._open(StandardTable(name, "grid", ()), text, line)

    def _open(self, standard: StandardTable, text: str, line: int) -> None:
        if self.current is not None and self.current.standard.name == standard.name and self.pending is None:
            return  # the title repeated on the next page: the same table continues
        if any(t.standard.name == standard.name for t in self.tables):  # a second table the template reads as the same
            standard = StandardTable(title_key(text, self.department) or text, standard.layout, ())
        self.pending = Table(standard, text, line)
        self.current = None
        self.broken = False

    def paragraph(self, text: str, line: int) -> None:
        target = self.pending or self.current
        if target is None:
            return
        normal = unicodedata.normalize("NFKC", text)
        unit = _UNIT.search(normal)
        dept = _TABLE_DEPT.match(normal)
        if unit and target.unit is None:
            target.unit = unit.group(1)
        if dept and target.department is None and dept.group("dept") not in ("万元", "元", "亿元", "千元"):
            target.department = dept.group("dept").strip()
        if not unit and not dept and self.current is not None and not self.template.is_numbering(text):
            self.current.notes.append((line, text))

    def grid(self, grid: Grid) -> None:
        if self.pending is not None:
            table, self.pending = self.pending, None
            self.current = table
            try:
                self._first_grid(table, grid)
            except LoadError as error:
                self._skip(table, error)
                return
            self.tables.append(table)
        elif self.current is not None and not self.broken:
            try:
                self._continuation(self.current, grid)
            except RepeatedTable:
                raise
            except LoadError as error:
                self.tables.remove(self.current)
                self._skip(self.current, error)
        elif not self.broken:
            self.skipped.append(("（无标题）", grid.line, "表格前没有可识别的表名"))

    def _skip(self, table: Table, error: LoadError) -> None:
        self.skipped.append((table.title, error.line or table.line, error.message))
        self.broken = True

    def finish(self) -> None:
        self.pending = None  # a title no table followed (the last entry of a contents list)

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
        width = max(width, max(len(r.cells) for r in grid.rows))
        table.header = header
        table.columns = column_paths(header, width)
        self._add_rows(table, rows)

    def _continuation(self, table: Table, grid: Grid) -> None:
        rows = list(grid.rows)
        if table.standard.layout != "form":
            while rows and _is_header_row(rows[0].cells):
                rows.pop(0)  # header repeated after a page break
        self._refuse_copy(table, rows, grid.line)
        self._add_rows(table, rows)

    def _refuse_copy(self, table: Table, rows: list[GridRow], line: int) -> None:
        """A continuation that repeats rows the table already has, every one of them, is the same table
        printed again: a file pasted together or damaged, and it would double every amount."""
        had = {tuple(r.cells) for r in table.rows}
        data = [r for r in rows if any(c.strip() for c in r.cells) and not _is_index_row(r.cells)]
        if had and data and all(tuple(r.cells) in had for r in data):
            raise RepeatedTable(self.path, line, f"“{table.title}”在这里又出现了一遍（与第 {table.line} 行起的表相同）："
                                                 "同一张表重复，文件可能是拼接或损坏的，没有加载")

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


class RepeatedTable(LoadError):
    """A table printed twice in one document: the document is refused, not the table skipped."""


def _is_table_part(text: str) -> bool:
    """A part heading that introduces the tables (第二部分 2026年部门预算表 / 公开报表)."""
    return bool(re.search(r"表|报表", text)) and not re.search(r"说明|概况|解释", text)


def recognise(path: Path, blocks: list[Block], template: Template, known: dict | None = None) -> Recognised:
    """Map blocks onto the template; `known` (department, year, kind) overrides what the title says."""
    known = known or {}
    if {"department", "year"} <= known.keys():
        department, year, kind, scope = known["department"], int(known["year"]), known.get("kind", "预算"), known.get("scope", "部门")
    else:
        department, year, kind, scope = _document_title(path, blocks, template)
    blocks = _peel_titles(blocks, template)
    builder = _Builder(path, template, department)
    sections: list[Section] = []
    glossary: list[tuple[str, str, int]] = []
    part, heading = "", ""
    in_toc = in_annex = False
    texts = _joined_titles(blocks)
    for block in blocks:
        if isinstance(block, Grid):
            if in_annex or builder.pending is not None:
                builder.grid(block)
            continue
        text = texts.get(block.line, block.text)
        if text is None:
            continue  # the second line of a wrapped title
        key = text.replace(" ", "")
        if isinstance(block, Heading) and key == "目录":
            in_toc = True
            continue
        if in_toc and not (isinstance(block, Heading) and block.level == 1):
            continue
        in_toc = False
        if template.is_numbering(text):
            continue
        if isinstance(block, Heading) and _PART.match(key):
            in_annex = _is_table_part(key)
            part, heading = text, ""
            continue
        if builder.title(text, block.line) or key.startswith("附件"):
            in_annex = True
            continue
        if in_annex and _looks_like_title(text, department):
            builder.other_title(text, block.line)
            continue
        if builder.pending is not None and not _is_title_line(text, template):
            builder.pending = None  # a title followed by prose, not a table: an entry of the contents
        if in_annex and (builder.pending or builder.current) and not isinstance(block, Heading):
            builder.paragraph(text, block.line)
            continue
        if isinstance(block, Heading):
            heading = text
            continue
        sections.append(Section(part, heading, text, block.line, template.is_withheld(text)))
        if "名词解释" in part or "名词解释" in heading:
            match = _GLOSSARY_ITEM.match(text)
            if match:
                glossary.append((match.group("term").strip(), match.group("definition").strip(), block.line))
    builder.finish()
    family = template.family_of([t.title for t in builder.tables])
    return Recognised(department, year, kind, sections, glossary, builder.tables, scope=scope,
                      family=family.name if family else "全国", skipped=builder.skipped,
                      tables_separate=bool(family and family.tables_published_separately) or _says_tables_attached(blocks, template))


def _peel_titles(blocks: list[Block], template: Template) -> list[Block]:
    """Title, numbering, 部门 and 单位 lines printed inside a table's ruling become paragraphs before it."""
    out: list[Block] = []
    for block in blocks:
        if not isinstance(block, Grid):
            out.append(block)
            continue
        rows = list(block.rows)
        while len(rows) > 1:
            texts = [c.strip() for c in rows[0].cells if c.strip()]
            if not texts or len(texts) > 2 or not all(_is_title_line(t, template) for t in texts):
                break
            out.extend(Paragraph(t, rows[0].line) for t in texts)
            rows.pop(0)
        out.append(Grid(rows))
    return out


def _is_title_line(text: str, template: Template) -> bool:
    normal = unicodedata.normalize("NFKC", text)
    return (template.is_numbering(text) or bool(_UNIT.search(normal)) or bool(_TABLE_DEPT.match(normal))
            or template.table_by_title(text) is not None or _looks_like_title(text, ""))


def _says_tables_attached(blocks: list[Block], template: Template) -> bool:
    """The document says its tables are an attachment published apart (见附件：…部门预算报表)."""
    return any(not isinstance(b, Grid) and template.tables_attached.search(b.text.replace(" ", "")) for b in blocks)


def _joined_titles(blocks: list[Block]) -> dict[int, str | None]:
    """Titles wrapped over two lines ("…支出明细表（按支出功能分类科" + "目-不含上年结转）") joined on the first line."""
    joined: dict[int, str | None] = {}
    for first, second in zip(blocks, blocks[1:]):
        if isinstance(first, Grid) or isinstance(second, Grid):
            continue
        text = first.text
        if text.count("（") + text.count("(") > text.count("）") + text.count(")") and "表" in text and len(text) <= 60:
            joined[first.line] = text + second.text
            joined[second.line] = None
    return joined


def _looks_like_title(text: str, department: str) -> bool:
    """A short line ending in 表 (or 表 and a bracketed qualifier), without sentence punctuation."""
    key = re.sub(r"[（(][^（()）]*[)）]$", "", text.replace(" ", ""))
    return key.endswith("表") and len(key) <= 50 and not re.search(r"[。；，,：:]", key) and key != department

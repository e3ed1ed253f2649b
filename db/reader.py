"""Reader: turn a converted disclosure (text with tab-separated tables) into blocks.

A block is a heading, a paragraph or a grid of cells, each with the source line it
starts on. Nothing here knows the budget template; that is the recogniser's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from db.errors import LoadError

MAX_BYTES = 20 * 1024 * 1024


@dataclass
class Heading:
    text: str
    level: int
    line: int


@dataclass
class Paragraph:
    text: str
    line: int


@dataclass
class GridRow:
    cells: list[str]
    line: int


@dataclass
class Grid:
    rows: list[GridRow] = field(default_factory=list)

    @property
    def line(self) -> int:
        return self.rows[0].line


Block = Heading | Paragraph | Grid

_HEADING = re.compile(r"^(#{1,6})\s*(.*?)\s*#*\s*$")
_EMPHASIS = re.compile(r"\*\*|__")


class _TableParser(HTMLParser):
    """Collect the rows of HTML <table> elements as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            if not self.rows:
                self.rows.append([])
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_rows(fragment: str) -> list[list[str]]:
    parser = _TableParser()
    parser.feed(fragment)
    parser.close()
    return [row for row in parser.rows if any(row)]


def _flatten_html_cell(cell: str) -> str:
    """A cell holding a nested HTML table becomes its rows as text: 'a：b；c：d'."""
    if "<table" not in cell.lower():
        return cell
    return "；".join("：".join(c for c in row if c) for row in html_rows(cell))


def _clean(text: str) -> str:
    return _EMPHASIS.sub("", text).strip()


def decode(path: Path, data: bytes) -> str:
    """Bytes to text, or a LoadError that says why the file is not a readable disclosure."""
    if not data.strip():
        raise LoadError(path, None, "文件为空，应为部门预算公开文本")
    if len(data) > MAX_BYTES:
        raise LoadError(path, None, f"文件过大（{len(data)} 字节，上限 {MAX_BYTES}）")
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise LoadError(path, line, "含有二进制数据（NUL 字节），应为 UTF-8 文本")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LoadError(path, line, "无法按 UTF-8 解码，应为 UTF-8 文本") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_blocks(path: Path, text: str) -> list[Block]:
    """Split text into headings, paragraphs and grids (tab-separated or HTML tables)."""
    blocks: list[Block] = []
    grid: Grid | None = None
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\n")
        if "\t" in line or line.lstrip().lower().startswith("<table"):
            if line.lstrip().lower().startswith("<table"):
                rows = [GridRow(cells, number) for cells in html_rows(line)]
            else:
                rows = [GridRow([_clean(_flatten_html_cell(c)) for c in line.split("\t")], number)]
            if grid is None:
                grid = Grid()
                blocks.append(grid)
            grid.rows.extend(rows)
            continue
        grid = None
        stripped = line.strip()
        if not stripped:
            continue
        match = _HEADING.match(stripped)
        if match:
            blocks.append(Heading(_clean(match.group(2)), len(match.group(1)), number))
        elif stripped.startswith(("- ", "* ")):
            blocks.append(Paragraph(_clean(stripped[2:]), number))
        else:
            blocks.append(Paragraph(_clean(stripped), number))
    return [b for b in blocks if not isinstance(b, Grid) or any(any(r.cells) for r in b.rows)]

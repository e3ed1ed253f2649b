"""PDF reader: turn a published disclosure PDF into the same blocks the text reader makes.

Tables come from pdfplumber's ruling-line detection; their cells are filled with characters
placed by their baseline (some fonts report boxes half a line off, which would put 、 or a
year into the next row). Text outside tables becomes lines, then paragraphs and headings.
Every block gets a running line number (the line of this reading of the PDF) and the page
it stands on. Page numbers, running heads and 目录 pages are dropped.
"""

from __future__ import annotations

import bisect
import io
import re
from dataclasses import dataclass
from pathlib import Path

from db.errors import LoadError
from db.reader import Block, Grid, GridRow, Heading, Paragraph

MAX_PAGES = 400
MIN_CHARS_PER_PAGE = 20  # fewer on average: a scan without a text layer
_CAPTION = re.compile(r"单位[:：]|部门[:：]|名称[:：]|表$")  # a table's caption repeats on every page, yet is no running head
_SPACED = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_PAGE_NUMBER = re.compile(r"^[-—–－~\s]*(第\s*)?[\d一二三四五六七八九十]*\s*(页)?[-—–－~\s]*$")
_PART = re.compile(r"^第[一二三四五六七八九十]+部分")
_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])")
_LEADER = re.compile(r"(?:[.．…·]{4,}|…{2,})\s*\d*\s*$")


@dataclass
class _Char:
    text: str
    x0: float
    x1: float
    base: float  # baseline, from the top of the page
    size: float

    @property
    def middle(self) -> float:
        return self.base - self.size * 0.35


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    base: float
    size: float


def _chars(page) -> list[_Char]:
    chars = []
    for c in page.chars:
        if not c.get("upright", True) or not c["text"].strip():
            continue
        base = c["bottom"] + c["y0"] - c["matrix"][5]
        chars.append(_Char(c["text"], c["x0"], c["x1"], base, c["size"] or (c["bottom"] - c["top"])))
    return chars


def _join(chars: list[_Char]) -> str:
    """Characters of one line, left to right: no space inside Chinese, a space for a wide gap."""
    out: list[str] = []
    previous: _Char | None = None
    for c in sorted(chars, key=lambda c: c.x0):
        if previous is not None:
            gap = c.x0 - previous.x1
            both_latin = not _CJK.match(previous.text) and not _CJK.match(c.text)
            if gap > 2 * c.size or (both_latin and gap > 0.4 * c.size):
                out.append(" ")
        out.append(c.text)
        previous = c
    return "".join(out)


def _lines(chars: list[_Char]) -> list[_Line]:
    """Group characters sharing a baseline (within a third of their size) into lines."""
    lines: list[list[_Char]] = []
    for c in sorted(chars, key=lambda c: (c.base, c.x0)):
        if lines and abs(lines[-1][0].base - c.base) <= max(lines[-1][0].size, c.size) * 0.35:
            lines[-1].append(c)
        else:
            lines.append([c])
    return [
        _Line(_join(group), min(c.x0 for c in group), max(c.x1 for c in group),
              group[0].base, max(c.size for c in group))
        for group in lines
    ]


def _cell_text(chars: list[_Char]) -> str:
    """A cell's lines joined: wrapped labels become one label; letter-spaced labels (收 入) close up."""
    lines = _lines(chars)
    text = ""
    for line in lines:
        if text and not _CJK.match(text[-1]) and not _CJK.match(line.text[0]):
            text += " "
        text += line.text
    return _SPACED.sub("", text.strip())


def _table_grid(table, chars: list[_Char], used: set[int]) -> list[list[str]]:
    """The table's rows as cell texts; merged cells are empty after their first column."""
    order = sorted(range(len(chars)), key=lambda i: chars[i].middle)
    middles = [chars[i].middle for i in order]
    rows = []
    for row in table.rows:
        boxes = [b for b in row.cells if b is not None]
        if not boxes:
            continue
        low = bisect.bisect_left(middles, min(b[1] for b in boxes) - 1)
        high = bisect.bisect_right(middles, max(b[3] for b in boxes) + 1)
        candidates = [i for i in order[low:high] if i not in used]
        groups = []
        for bbox in row.cells:
            if bbox is None:
                groups.append(None)
                continue
            x0, top, x1, bottom = bbox
            inside = [i for i in candidates if x0 - 1 <= (chars[i].x0 + chars[i].x1) / 2 <= x1 + 1
                      and top - 1 <= chars[i].middle <= bottom + 1 and i not in used]
            used.update(inside)
            groups.append([chars[i] for i in inside])
        rows.extend(_split_unruled(groups))
    return [r for r in rows if any(r)]


def _split_unruled(groups: list[list[_Char] | None]) -> list[list[str]]:
    """One ruled row, or several printed rows with no rule between them (上海's 收支总表).

    Several rows are recognised by amounts on more than one baseline of the row; each amount
    baseline starts a printed row, and a text line below it (a wrapped label) joins that row."""
    money = re.compile(r"^-?[\d,]+(?:\.\d+)?$")
    baselines: list[float] = []
    for chars in groups:
        for line in _lines(chars or []):
            if money.match(line.text.replace(" ", "")) and not any(abs(b - line.base) < line.size * 0.5 for b in baselines):
                baselines.append(line.base)
    if len(baselines) < 2:
        return [["" if chars is None else _cell_text(chars) for chars in groups]]
    baselines.sort()
    printed: list[list[list[_Char]]] = [[[] for _ in groups] for _ in baselines]
    for j, chars in enumerate(groups):
        for c in chars or []:
            above = [k for k, b in enumerate(baselines) if b <= c.base + c.size * 0.5]
            printed[above[-1] if above else 0][j].append(c)
    return [[_cell_text(cell) for cell in row] for row in printed]


class _Reading:
    """Accumulates blocks over the pages, numbering lines and remembering each line's page."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.pages: list[int] = []  # page of each line number (index = line - 1)
        self.open: Paragraph | None = None
        self.open_line: _Line | None = None
        self.open_page = 0

    def _number(self, page: int) -> int:
        self.pages.append(page)
        return len(self.pages)

    def grid(self, rows: list[list[str]], page: int) -> None:
        self.open = None
        self.blocks.append(Grid([GridRow(cells, self._number(page)) for cells in rows]))

    def line(self, line: _Line, page: int, left: float, right: float) -> None:
        text = line.text.strip()
        key = text.replace(" ", "")
        short = line.x1 < right - line.size * 2 and len(key) <= 30
        heading_level = 1 if _PART.match(key) or key == "目录" else 2 if _SECTION.match(key) and short and not re.search(r"[。；;]$", key) else 0
        previous = self.open_line
        continues = (
            self.open is not None and previous is not None and not heading_level
            and not _CAPTION.search(text) and not _CAPTION.search(previous.text)  # a title and its 单位 line stand apart
            and line.x0 <= left + line.size * 1.2  # not indented
            and previous.x0 <= left + previous.size * 3  # the previous line is body text, not a centred title
            and (previous.x1 >= right - previous.size * 2.5
                 or (page == self.open_page and not re.search(r"[。；;：:？?！!]$", previous.text)))
        )
        if continues:
            self.open.text += ("" if _CJK.match(self.open.text[-1:] or "a") or _CJK.match(text[0]) else " ") + text
            self.open_line, self.open_page = line, page
            return
        number = self._number(page)
        if heading_level:
            self.blocks.append(Heading(text, heading_level, number))
            self.open = None
        else:
            self.open = Paragraph(text, number)
            self.blocks.append(self.open)
        self.open_line, self.open_page = line, page


def _is_toc(lines: list[_Line]) -> bool:
    """A contents page without its heading (the list continued): most lines end in dotted leaders."""
    leaders = sum(1 for line in lines if _LEADER.search(line.text))
    return leaders >= max(3, len(lines) // 2)


def read_pdf(path: Path, data: bytes) -> tuple[list[Block], list[int]]:
    """Blocks of a PDF and the page of each line number; LoadError for scans, encrypted or broken files."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            if len(pdf.pages) > MAX_PAGES:
                raise LoadError(path, None, f"PDF 有 {len(pdf.pages)} 页，超过上限 {MAX_PAGES} 页：这不像一份部门预算公开文件")
            total_chars, pages, widths = 0, [], []
            for page in pdf.pages:
                chars = _chars(page)
                total_chars += len(chars)
                pages.append(_page_events(page, chars))
                widths.append(float(page.width))
                page.close()
            if total_chars < MIN_CHARS_PER_PAGE * len(pdf.pages):
                raise LoadError(path, None, "PDF 没有文字层（扫描件或图片），无法读取；请找有文字层的版本或先做文字识别（OCR）")
    except LoadError:
        raise
    except PDFPasswordIncorrect:
        raise LoadError(path, None, "PDF 有密码保护，无法读取；请提供未加密的文件") from None
    except Exception as exc:  # pdfminer raises many kinds (PDFSyntaxError, KeyError, struct.error …) for broken files
        if "password" in str(exc).lower() or type(exc).__name__.startswith("PDFEncrypt"):
            raise LoadError(path, None, "PDF 有密码保护，无法读取；请提供未加密的文件") from None
        raise LoadError(path, None, f"PDF 文件已损坏或格式不对，无法读取（{type(exc).__name__}）") from None
    reading = _Reading()
    _emit(pages, widths, reading)  # outside the guard: a fault of ours is not a broken PDF
    return reading.blocks, reading.pages


def _page_events(page, chars: list[_Char]) -> list[tuple[float, int, object]]:
    """(position, kind, item) on one page in reading order: kind 0 a table's rows, 1 a line of text."""
    tables, grids, used = [], [], set()
    for table in sorted(page.find_tables(), key=lambda t: (t.bbox[1], t.bbox[0])):
        taken = set(used)  # characters of an earlier table on the page are not read again
        rows = _table_grid(table, chars, taken)
        if sum(1 for row in rows if sum(1 for c in row if c) >= 2) >= 2:  # else a box drawn round text
            tables.append(table)
            grids.append((table.bbox[1], rows))
            used = taken
    inside = {i for i, c in enumerate(chars) for t in tables
              if t.bbox[0] - 1 <= (c.x0 + c.x1) / 2 <= t.bbox[2] + 1 and t.bbox[1] - 1 <= c.middle <= t.bbox[3] + 1}
    lines = _lines([c for i, c in enumerate(chars) if i not in used and i not in inside])
    height = float(page.height)
    lines = [line for line in lines if not (_PAGE_NUMBER.match(line.text) and (line.base > height * 0.85 or line.base < height * 0.12))]
    events = sorted([(line.base, 1, line) for line in lines] + [(top, 0, rows) for top, rows in grids if rows],
                    key=lambda e: (e[0], e[1]))
    toc = next((i for i, (_, kind, item) in enumerate(events) if kind == 1 and item.text.replace(" ", "") in ("目录", "目錄")), None)
    if toc is not None:
        return events[:toc]  # the contents list runs to the end of its page
    if not grids and _is_toc(lines):
        return []
    return events


def _running_heads(pages: list[list[tuple[float, int, object]]]) -> set[str]:
    """Lines printed first or last on at least three pages and a fifth of them: running heads and feet."""
    counts: dict[str, int] = {}
    for events in pages:
        texts = [item.text for _, kind, item in events if kind == 1]
        for text in {*texts[:1], *texts[-1:]}:
            key = re.sub(r"\d+", "#", text.replace(" ", ""))
            counts[key] = counts.get(key, 0) + 1
    return {key for key, n in counts.items() if n >= max(3, len(pages) // 5)}


def _margins(pages: list[list[tuple[float, int, object]]], widths: list[float]) -> dict[int, tuple[float, float]]:
    """Left and right text margins by page width (portrait and landscape pages differ), over the document."""
    by_width: dict[int, list] = {}
    for events, width in zip(pages, widths):
        by_width.setdefault(round(width), []).extend(item for _, kind, item in events if kind == 1)
    margins = {}
    for width, lines in by_width.items():
        x0s = sorted(line.x0 for line in lines) or [0.0]
        x1s = sorted(line.x1 for line in lines) or [0.0]
        margins[width] = (x0s[len(x0s) // 10], x1s[len(x1s) * 9 // 10])
    return margins


def _emit(pages: list[list[tuple[float, int, object]]], widths: list[float], reading: _Reading) -> None:
    """Feed the pages to the reading; a running head is kept where it first appears (it may be the title)."""
    heads = _running_heads(pages)
    margins = _margins(pages, widths)
    seen: set[str] = set()
    for number, (events, width) in enumerate(zip(pages, widths), start=1):
        left, right = margins[round(width)]
        for _, kind, item in events:
            if kind == 0:
                reading.grid(item, number)
                continue
            key = re.sub(r"\d+", "#", item.text.replace(" ", ""))
            if key not in heads or key not in seen or _CAPTION.search(item.text):
                reading.line(item, number, left, right)
            seen.add(key)

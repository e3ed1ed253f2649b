"""The rows behind an answer, as a spreadsheet: every cell of every cited row, with its source and page.

One line per cell (long form), so that rows of different tables share one sheet: document, department,
year, table, line, page, row label, column, content, kind (金额 or 文字) and unit. Amounts are the exact
decimals stored (1790.63, never a float); codes and names are text, leading zeros kept.
CSV is UTF-8 with a BOM (Excel reads the Chinese); XLSX marks codes as text cells so Excel keeps them.
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

HEADER = ("文件", "部门", "年度", "表", "行号", "页码", "行", "栏目", "内容", "类型", "单位")
AMOUNT, TEXT, PROSE = "金额", "文字", "文字说明"


def cited_rows(assistant, citations: list[dict]) -> list[tuple]:
    """The cells of the rows `citations` name (dicts of Citation fields), in the order cited, each once."""
    lines: list[tuple] = []
    seen: set[tuple] = set()
    for c in citations:
        key = (c["document"], c["table"], c.get("line"))
        catalog = assistant.by_source.get(c["document"])
        if key in seen or catalog is None:
            continue
        seen.add(key)
        source = (c["document"], catalog.department, catalog.year, c["table"], c.get("line"), c.get("page"))
        cells = _row_cells(assistant.conn, catalog.doc_id, c["table"], c.get("line"))
        if cells is None:  # a narrative sentence or a form: the cited words themselves
            lines.append((*source, c.get("row") or "", "", c.get("row") or "", PROSE, ""))
            continue
        label = c.get("row") or ""
        lines.extend((*source, label, column, content, kind, unit) for column, content, kind, unit in cells)
    return lines


def _row_cells(conn, doc_id: int, table: str, line: int | None) -> list[tuple] | None:
    found = conn.execute(
        "SELECT r.id, r.cells, t.columns, t.unit FROM rows r JOIN tables t ON t.id = r.table_id "
        "WHERE t.document_id = ? AND t.name = ? AND r.line = ?", (doc_id, table, line)).fetchall()
    if not found:
        return None
    row_id, cells, columns, unit = found[0]
    amounts = {column: (value, fact_unit) for column, value, fact_unit in conn.execute(
        "SELECT column, value, unit FROM facts WHERE row_id = ?", (row_id,))}
    columns = json.loads(columns)
    out = []
    for n, cell in enumerate(json.loads(cells)):
        column = columns[n] if n < len(columns) else f"第{n + 1}栏"
        if column in amounts:
            value, fact_unit = amounts[column]
            out.append((column, value, AMOUNT, fact_unit))
        elif cell.strip():
            out.append((column, cell.strip(), TEXT, ""))
    return out


def as_csv(lines: list[tuple]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(["" if v is None else v for v in line] for line in lines)
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(lines: list[tuple], title: str = "回答所依据的行") -> bytes:
    from openpyxl import Workbook  # only when a spreadsheet is asked for

    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(list(HEADER))
    for line in lines:
        sheet.append(["" if v is None else v for v in line])
        cells = sheet[sheet.max_row]
        content = cells[HEADER.index("内容")]
        if line[HEADER.index("类型")] == AMOUNT:
            decimals = Decimal(str(line[HEADER.index("内容")]).replace(",", ""))
            content.value = decimals
            places = max(0, -decimals.as_tuple().exponent)
            content.number_format = "0." + "0" * places if places else "0"
        else:
            content.data_type, content.number_format = "s", "@"
    for column, width in zip("ABCDEFGHIJK", (28, 24, 6, 26, 6, 6, 28, 28, 18, 8, 6)):
        sheet.column_dimensions[column].width = width
    sheet.freeze_panes = "A2"
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()

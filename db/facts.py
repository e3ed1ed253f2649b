"""Turn recognised tables into normalized facts: one per amount, with codes and labels."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from db.errors import LoadError
from db.recognise import Table, is_amount, parse_amount
from db.template import Template, strip_numbering

# Classification codes by the first digit of their 类: 功能分类 2xx, 部门经济分类 3xx, 政府经济分类 5xx.
_CODE_PREFIX = {"func": "2", "econ": "3", "gov_econ": "5"}
_SCHEME_OF = {digit: scheme for scheme, digit in _CODE_PREFIX.items()}
_INLINE_CODE = re.compile(r"^\s*[\[【](\d{3,7})[\]】]\s*(.+)$")
PROJECT_CODE_DIGITS = 10  # unit codes are 3-9 digits; project codes are 20+
AMOUNT_SHARE = 0.8  # of a column's filled cells, for it to be an amount column
_UNIT_IN_HEADER = re.compile(r"[（(](万元|元|亿元)[）)]")



@dataclass
class Fact:
    line: int
    column: str
    value: Decimal
    row_label: str
    label: str
    row_kind: str  # total | unit | item
    side: str | None = None
    func_code: str | None = None
    econ_code: str | None = None
    gov_econ_code: str | None = None
    unit_code: str | None = None
    project: str | None = None


@dataclass
class Row:
    line: int
    cells: list[str]
    facts: list[Fact] = field(default_factory=list)
    subjects: dict[tuple[str, str], str] = field(default_factory=dict)  # (scheme, code) -> name


def column_role(path: str, template: Template) -> str:
    """code kind (func/econ/gov_econ/unit), or 'other' (text or amount, decided by the cells)."""
    leaf = path.rsplit("/", 1)[-1]
    if "名称" in leaf:
        return "other"
    if any(word in leaf for word in template.code_words) or leaf in template.code_parts:
        if "单位" in path.split("/")[0] or "部门代码" in path:
            return "unit"
        if "经济" in path:
            return "gov_econ" if "政府" in path else "econ"
        return "func"
    return "other"


def table_unit(table: Table, default: str) -> str:
    if table.unit:
        return table.unit
    for path in table.columns:
        match = _UNIT_IN_HEADER.search(path)
        if match:
            return match.group(1)
    for row in table.rows[:6]:
        for cell in row.cells:
            match = _UNIT_IN_HEADER.search(cell)
            if match:
                return match.group(1)
    return default


def _is_code(cell: str) -> bool:
    return bool(re.fullmatch(r"\d{3,}", cell.strip()))


def _amount_columns(path: Path, table: Table, roles: list[str], template: Template) -> list[int]:
    """Columns whose data cells are amounts: money-looking numbers, and nearly all filled cells amounts.

    A column of mostly text with a stray decimal (指标值 "≥95%", "10.5") holds no amounts. In an
    amount column a placeholder ("—", "无") gives no fact; any other text there is a load error."""
    columns = []
    for j, role in enumerate(roles):
        if role != "other":
            continue
        cells = [(r.line, r.cells[j].strip()) for r in table.rows if j < len(r.cells) and r.cells[j].strip()]
        cells = [(line, c) for line, c in cells if c not in template.placeholders]
        amounts = [c for _, c in cells if is_amount(c)]
        # amounts print decimals or thousands separators; a table in 元 may print whole numbers only
        looks_money = table.unit == "元" or any("." in c or "," in c for c in amounts)
        if not amounts or not looks_money or len(amounts) < AMOUNT_SHARE * len(cells):
            continue
        for line, cell in cells:
            if not is_amount(cell) and cell not in template.placeholders:
                raise LoadError(path, line, f"“{table.standard.name}”的“{table.columns[j]}”栏应为金额，却是“{cell}”")
        columns.append(j)
    return columns


def _by_name_column(roles: list[str], columns: list[str]) -> list[str]:
    """Code columns headed only 科目编码/类 take the scheme of the name column after them (烟台 prints
    部门 and 政府 经济分类 side by side: 类 款 部门…科目名称 类 款 政府…科目名称)."""
    out = list(roles)
    for j, role in enumerate(roles):
        if role != "func" or "经济" in columns[j]:
            continue
        name = next((p for p in columns[j + 1:] if "名称" in p), "")
        if "经济" in name:
            out[j] = "gov_econ" if "政府" in name else "econ"
    return out


def _split_code(kind: str, value: str) -> tuple[str, str]:
    """Which scheme a code belongs to: class codes start with their scheme's digit; a classification
    column's code of another scheme's shape (3xx in an unlabelled 经济 column) is that scheme's; else a unit."""
    if kind != "unit" and value.startswith(_CODE_PREFIX[kind]):
        return kind, value
    if kind != "unit" and len(value) in (3, 5, 7) and value[:1] in _SCHEME_OF:
        return _SCHEME_OF[value[:1]], value
    return "unit", value


def grid_facts(path: Path, table: Table, template: Template, unit: str, units: dict[str, str]) -> list[Row]:
    """Facts of a grid or two-sided table, one per non-empty amount cell.

    `units` (code -> name) collects the organisational units met on the way."""
    roles = _by_name_column([column_role(p, template) for p in table.columns], table.columns)
    amounts = set(_amount_columns(path, table, roles, template))
    sides = _sides(table.columns) if table.standard.layout == "two_sided" else [(None, range(len(table.columns)))]
    rows = []
    current_unit: str | None = None
    parts = [j for j, p in enumerate(table.columns) if p.rsplit("/", 1)[-1] in template.code_parts]
    carried: dict[int, str] = {}
    owners: dict[int, str] = {}  # row line -> the unit row printed above it (广东 表12)
    owner = ""
    for raw in table.rows:
        row = Row(raw.line, raw.cells)
        cells = raw.cells + [""] * (len(table.columns) - len(raw.cells))
        cells = _carry_code_parts(cells, parts, carried)
        for side, span in sides:
            codes: dict[str, str] = {}
            texts: list[tuple[int, str]] = []
            for j in span:
                cell = unicodedata.normalize("NFKC", cells[j]).strip()
                if not cell or j in amounts:
                    continue
                inline = _INLINE_CODE.match(cell)
                if inline:  # [30101]基本工资: the code and its name in one cell (广东)
                    kind = _SCHEME_OF.get(inline.group(1)[:1], "func")
                    codes[kind] = codes.get(kind, "") + inline.group(1)
                    texts.append((j, inline.group(2).strip()))
                    row.subjects.setdefault((kind, inline.group(1)), strip_numbering(inline.group(2)))
                elif (roles[j] != "other" and cell.isdigit()) or _is_code(cell):
                    kind = roles[j] if roles[j] != "other" else "unit"
                    if (kind == "func" and "科目" in table.columns[j] and j not in parts and len(cell) >= 3
                            and cell[:1] in _SCHEME_OF):
                        kind = _SCHEME_OF[cell[:1]]  # 科目编码 30101 is an economic subject, whatever the header says
                    codes[kind] = codes.get(kind, "") + cell
                else:
                    texts.append((j, cells[j].strip()))
            values = [(j, parse_amount(cells[j])) for j in span if j in amounts and is_amount(cells[j])]
            if not values and not texts:
                continue
            row_label = texts[0][1] if texts else ""
            resolved: dict[str, str] = {}
            for kind, value in codes.items():
                real, code = _split_code(kind, value)
                if len(code) == 3 and row_label in units.values():
                    real = "unit"  # a unit printed in a code column: 318 青山市农业农村局
                resolved[real] = code
            for j, text in texts:
                path = table.columns[j]
                scheme = ("gov_econ" if "政府" in path else "econ") if "经济" in path else "func"
                if "名称" in path and scheme in resolved:
                    row.subjects.setdefault((scheme, resolved[scheme]), strip_numbering(text))
            project_column = next((j for j, _ in texts if template.project_name.search(table.columns[j])), None)
            unit_column = next((j for j, _ in texts if table.columns[j].endswith("项目单位")), None)
            project = cells[project_column].strip() if project_column is not None else None
            if project and project.isdigit():
                project = None
            if project and not template.is_total(project):
                row_label = project
            if len(resolved.get("unit", "")) >= PROJECT_CODE_DIGITS:
                resolved.pop("unit")  # a project code (项目编码), not a unit
                project = row_label
            if template.is_total(row_label):
                kind, project = "total", None
            elif project and project_column is not None and template.project_and_unit.search(table.columns[project_column]) and _names_a_unit(
                    project, table.department, units, template):  # 广东 表12: a unit above its projects
                kind, project, owner = "unit", None, project
            elif "unit" in resolved and not ({"func", "econ", "gov_econ"} & resolved.keys()):
                kind, project = "unit", None
                current_unit = resolved["unit"]
                units.setdefault(current_unit, row_label)
            else:
                kind = "item"
                owners[raw.line] = owner
            unit_code = resolved.get("unit") or current_unit
            if unit_column is not None:
                unit_code = unit_code_of(cells[unit_column].strip(), units) or unit_code
            for j, value in values:
                column = table.columns[j]
                row.facts.append(Fact(
                    line=raw.line, column=column.split("/", 1)[1] if side else column, value=value,
                    row_label=row_label, label=strip_numbering(row_label), row_kind=kind, side=side,
                    func_code=resolved.get("func"), econ_code=resolved.get("econ"),
                    gov_econ_code=resolved.get("gov_econ"), unit_code=unit_code, project=project,
                ))
        rows.append(row)
    _name_twins(rows, owners)
    return rows


def _name_twins(rows: list[Row], owners: dict[int, str]) -> None:
    """A project name several units print (医疗业务支出 under each hospital) is named with its unit."""
    names = Counter(next((f.project for f in row.facts if f.project), None) for row in rows)
    for row in rows:
        for fact in row.facts:
            if fact.project and names[fact.project] > 1 and owners.get(row.line):
                fact.project = fact.row_label = fact.label = f"{fact.project}（{owners[row.line]}）"


def _carry_code_parts(cells: list[str], parts: list[int], carried: dict[int, str]) -> list[str]:
    """类/款/项 printed in separate columns with the higher levels left blank: carry them down.

    `|201| | |一般公共服务支出|` then `| |40| |信访事务|` reads 20140; `carried` remembers by column."""
    filled = [j for j in parts if cells[j].strip()]
    if not filled:
        return cells
    cells = list(cells)
    for j in parts[: parts.index(filled[0])]:
        cells[j] = carried.get(j, "")
    for j in parts:
        if cells[j].strip():
            carried[j] = cells[j].strip()
    for j in parts[parts.index(filled[-1]) + 1:]:
        carried.pop(j, None)
    return cells


def _names_a_unit(label: str, department: str | None, units: dict[str, str], template: Template) -> bool:
    """A project column's cell that names the department or one of its units (广州市发展和改革委员会（本级）,
    广州医科大学附属第一医院), not a project (云客服服务外包项目, 物业管理费)."""
    bare = re.sub(r"[（(][^（()）]*[)）]$|本级$", "", label)
    if bare in units.values() or (department and bare == department):
        return True
    return bare.endswith(template.unit_ends) and not bare.endswith(template.project_ends)


def unit_code_of(name: str, units: dict[str, str]) -> str | None:
    """The most specific unit code printed with this name (本级 152101 rather than 部门 152)."""
    codes = [code for code, unit_name in units.items() if unit_name == name]
    return max(codes, key=len) if codes else None


def _sides(columns: list[str]) -> list[tuple[str, range]]:
    """Column ranges of each side of a two-sided table, keyed by the top header label (收入/支出)."""
    spans: list[tuple[str, range]] = []
    start = 0
    for j in range(1, len(columns) + 1):
        if j == len(columns) or columns[j].split("/")[0] != columns[start].split("/")[0]:
            spans.append((_side_name(columns[start].split("/")[0]), range(start, j)))
            start = j
    return spans


def _side_name(head: str) -> str:
    """收入 or 支出, however the side is headed (本年收入, 财政拨款收入, 收 入)."""
    head = head.replace(" ", "")
    return "收入" if head.endswith("收入") else "支出" if head.endswith("支出") else head

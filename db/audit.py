"""Audit a loaded disclosure's internal consistency (勾稽关系).

Tolerance: every printed cell is rounded to 0.01 of its table's unit, so a sum of n cells
may differ from the printed total by up to n × 0.005 units. A sum check passes when the
difference is at most max(0.01, n × 0.005) units; an equality of single figures must match
to the 分 after converting units (tables in 万元 and 元 compare exactly in 分).
"""

from __future__ import annotations

import sqlite3
import tomllib
import unicodedata
from dataclasses import dataclass, field
import re
from decimal import Decimal
from pathlib import Path

from db.paths import KNOWLEDGE_DIR
from db.money import CENT, FEN_PER_UNIT

HALF_CENT = Decimal("0.005")


@dataclass
class Check:
    document: str
    name: str
    status: str  # pass | fail | skip
    detail: str
    rows: list[str] = field(default_factory=list)  # "表名 第N行"


_SPLIT_PART = re.compile(r"其中[:：]?(基本支出|项目支出)$")  # 广东 prints the first part of the 基本/项目 split as 其中：


def _tolerance(n: int) -> Decimal:
    return max(CENT, HALF_CENT * n)


def _fmt(value: Decimal) -> str:
    return f"{value:,.2f}"


class Auditor:
    def __init__(self, conn: sqlite3.Connection, document_id: int, rules: dict) -> None:
        self.conn = conn
        self.doc_id = document_id
        self.rules = rules
        self.doc = conn.execute("SELECT source_file, department, year FROM documents WHERE id = ?", (document_id,)).fetchone()
        self.checks: list[Check] = []

    def add(self, name: str, ok: bool | None, detail: str, rows: list[str] = ()) -> None:
        status = "skip" if ok is None else "pass" if ok else "fail"
        self.checks.append(Check(self.doc[0], name, status, detail, list(rows)))

    def facts(self, table_id: int) -> list[sqlite3.Row]:
        return self.conn.execute(
            "SELECT * FROM facts WHERE table_id = ? ORDER BY line, id", (table_id,)
        ).fetchall()

    def run(self) -> list[Check]:
        tables = self.conn.execute(
            "SELECT id, name, columns, unit FROM tables WHERE document_id = ? ORDER BY position", (self.doc_id,)
        ).fetchall()
        for table in tables:
            facts = self.facts(table["id"])
            if not facts or table["name"] in ("部门（单位）整体绩效目标表",):
                continue
            self.row_sums(table, facts)
            self.column_sums(table, facts)
        self.cross_checks()
        self.names()
        return self.checks

    def row_sums(self, table, facts) -> None:
        """Each total row equals the sum of its item rows, column by column (per side)."""
        groups: dict[tuple, dict[str, list]] = {}
        for f in facts:
            groups.setdefault((f["side"], f["column"]), {"total": [], "item": [], "unit": []})[f["row_kind"]].append(f)
        fails, checked = [], 0
        for (side, column), kinds in groups.items():
            items = _leaf_items(kinds["item"])
            for total in kinds["total"]:
                if table["name"] in ("部门收支总体情况表", "财政拨款收支总体情况表"):
                    continue  # two-sided totals are cross-checked below
                parts = items or [u for u in kinds["unit"] if len(u["unit_code"] or "") > 3]
                if not parts:
                    continue
                if items and kinds["unit"] and all(u["unit_code"] for u in kinds["unit"]):  # coded units: the shortest is the department
                    department = min(kinds["unit"], key=lambda u: len(u["unit_code"] or ""))
                    parts_sum = Decimal(department["value"])
                    if abs(parts_sum - Decimal(total["value"])) > CENT:
                        fails.append(f"{column}：合计 {total['value']} ≠ 单位行 {department['value']}（第{department['line']}行）")
                value = sum(Decimal(p["value"]) for p in parts)
                if _nested(value, Decimal(total["value"]), len(parts)):
                    continue  # rows nest without codes (a unit row above its items, 类 above 款): not checkable by rows
                checked += 1
                if abs(value - Decimal(total["value"])) > _tolerance(len(parts)):
                    fails.append(f"“{column}”：合计行 {total['value']}（第{total['line']}行）≠ 各行之和 {_fmt(value)}")
            units = sorted(kinds["unit"], key=lambda u: len(u["unit_code"] or ""))
            if len(units) > 2 and not items:
                head = units[0]
                subs = [u for u in units[1:] if u["unit_code"].startswith(head["unit_code"])]
                checked += 1
                value = sum(Decimal(u["value"]) for u in subs)
                if subs and abs(value - Decimal(head["value"])) > _tolerance(len(subs)):
                    fails.append(f"“{column}”：部门 {head['value']} ≠ 所属单位之和 {_fmt(value)}")
        if checked:
            self.add(f"{table['name']}：合计等于各行之和", not fails, "；".join(fails) or f"{checked} 处合计全部相符", [table["name"]])

    def column_sums(self, table, facts) -> None:
        """Within a row, a 小计/合计 column equals the sum of its sibling columns."""
        by_row: dict[tuple, dict[str, Decimal]] = {}
        lines = {}
        for f in facts:
            key = (f["line"], f["side"])
            by_row.setdefault(key, {})[f["column"]] = Decimal(f["value"])
            lines[key] = f["label"]
        fails, checked = [], 0
        for key, values in by_row.items():
            for total, parts in _column_relations(list(values)):
                checked += 1
                value = sum(values[p] for p in parts)
                if abs(value - values[total]) > _tolerance(len(parts)):
                    fails.append(f"第{key[0]}行“{lines[key]}”：{total} {values[total]} ≠ {' + '.join(parts)} = {_fmt(value)}")
        if checked:
            self.add(f"{table['name']}：小计等于分项之和（如 基本支出 = 人员经费 + 公用经费）", not fails,
                     "；".join(fails) or f"{checked} 处小计全部相符", [table["name"]])

    def ref_value(self, ref: dict) -> tuple[Decimal | None, str]:
        """(amount in 分, where) for one reference, or (None, why)."""
        if "narrative" in ref:
            rows = self.conn.execute(
                "SELECT value, unit, line, label FROM narrative_facts WHERE document_id = ? AND unit IN ('万元','元','亿元') ORDER BY rowid",
                (self.doc_id,),
            ).fetchall()
            key = _norm(ref["narrative"])
            for row in rows:
                if _norm(row["label"]).endswith(key):
                    return _fen(Decimal(row["value"]), row["unit"]), f"情况说明 第{row['line']}行"
            return None, f"情况说明中没有“{ref['narrative']}”"
        table = self.conn.execute(
            "SELECT id, unit FROM tables WHERE document_id = ? AND name = ?", (self.doc_id, ref["table"])
        ).fetchone()
        if table is None:
            return None, f"没有{ref['table']}"
        total = Decimal(0)
        line = None
        for column in ref["column"].split(" + "):
            params = {"t": table["id"], "c": column, "r": _norm(ref["row"]), "s": ref.get("side")}
            rows = self.conn.execute(
                "SELECT value, line, label FROM facts WHERE table_id = :t AND column = :c AND (:s IS NULL OR side = :s)",
                params,
            ).fetchall()
            rows = [r for r in rows if _norm(r["label"]) == params["r"] or (not params["r"] and len(rows) == 1)]
            if not rows:
                return None, f"{ref['table']}中没有“{ref['row']}”行的“{column}”栏"
            total += Decimal(rows[0]["value"])
            line = rows[0]["line"]
        return _fen(total, table["unit"]), f"{ref['table']} 第{line}行"

    def cross_checks(self) -> None:
        for rule in self.rules.get("same", []):
            found, missing = [], []
            for ref in rule["refs"]:
                value, where = self.ref_value(ref)
                (found if value is not None else missing).append((value, where))
            if len(found) < 2:
                self.add(f"跨表一致：{rule['what']}", None, "可对照的数字不足两处：" + "；".join(w for _, w in missing))
                continue
            values = {v for v, _ in found}
            detail = "；".join(f"{w}：{_fmt(v / 100)} 元" for v, w in found)
            self.add(f"跨表一致：{rule['what']}", len(values) == 1, detail, [w for _, w in found])

    def names(self) -> None:
        """Department, unit and project names agree across tables; indicator groups are linked."""
        department = self.doc[1]
        for name, printed, line in self.conn.execute(
            "SELECT name, department, line FROM tables WHERE document_id = ? AND department IS NOT NULL", (self.doc_id,)
        ):
            if _norm(printed) != _norm(department):
                self.add("部门名称一致", False, f"{name}（第{line}行）写作“{printed}”，文档标题为“{department}”", [f"{name} 第{line}行"])
        for table, label, code, line, name in self.conn.execute(
            "SELECT DISTINCT t.name, f.label, f.unit_code, f.line, u.name FROM facts f JOIN tables t ON t.id = f.table_id "
            "JOIN units u ON u.document_id = f.document_id AND u.code = f.unit_code "
            "WHERE f.document_id = ? AND f.row_kind = 'unit' AND f.label != '' AND f.label != u.name", (self.doc_id,)
        ):
            self.add("单位名称一致", False, f"{table}第{line}行单位 {code} 写作“{label}”，其他表为“{name}”", [f"{table} 第{line}行"])
        has_summary = self.conn.execute(
            "SELECT 1 FROM tables WHERE document_id = ? AND name = '部门预算项目绩效目标汇总表'", (self.doc_id,)).fetchone()
        for name, perf_name, line, perf_line in self.conn.execute(
            "SELECT name, perf_name, line, perf_line FROM projects WHERE document_id = ? ORDER BY id", (self.doc_id,)
        ):
            if perf_name is None:
                if has_summary:
                    self.add("项目名称一致", False, f"项目支出预算表第{line}行“{name}”在项目绩效目标汇总表中找不到", [f"项目支出预算表 第{line}行"])
            elif perf_name != name:
                self.add("项目名称一致", False, f"项目支出预算表第{line}行“{name}”，在项目绩效目标汇总表第{perf_line}行写作“{perf_name}”",
                         [f"项目支出预算表 第{line}行", f"部门预算项目绩效目标汇总表 第{perf_line}行"])
        for group, line, note in self.conn.execute(
            "SELECT group_no, MIN(line), link_note FROM indicators WHERE document_id = ? AND group_no IS NOT NULL "
            "AND project_id IS NULL GROUP BY group_no ORDER BY group_no", (self.doc_id,)
        ):
            self.add("绩效指标组关联到项目", False, f"第{group}组指标（第{line}行起）：{note}", [f"部门预算项目绩效目标汇总表 第{line}行"])
        linked = self.conn.execute(
            "SELECT COUNT(DISTINCT group_no) FROM indicators WHERE document_id = ? AND project_id IS NOT NULL", (self.doc_id,)
        ).fetchone()[0]
        projects = self.conn.execute("SELECT COUNT(*) FROM projects WHERE document_id = ?", (self.doc_id,)).fetchone()[0]
        if projects:
            self.add("绩效指标组关联到项目", linked == projects, f"{projects} 个项目中 {linked} 个关联到绩效指标组")


def _nested(value: Decimal, total: Decimal, count: int) -> bool:
    """The rows add up to a whole multiple (2×, 3×) of the total: subtotal rows are counted with their items."""
    if total <= 0:
        return False
    times = (value / total).to_integral_value()
    return times >= 2 and abs(value - times * total) <= _tolerance(count)


def _code(fact) -> str | None:
    return fact["func_code"] or fact["econ_code"] or fact["gov_econ_code"]


def _leaf_items(items: list) -> list:
    """Drop subtotal rows of a code hierarchy (类 201 above 款 20103 above 项 2010301; 301 above 30101)."""
    codes = {_code(f) for f in items if _code(f)}
    return [f for f in items if not _code(f) or not any(c != _code(f) and c.startswith(_code(f)) for c in codes)]


def _column_relations(columns: list[str]) -> list[tuple[str, list[str]]]:
    """(total column, the columns that add up to it) for every 小计/合计/总计 column."""
    relations = []
    for total in columns:
        parent, _, leaf = total.rpartition("/")
        if not (leaf.endswith("小计") or leaf.endswith("合计") or leaf.endswith("总计")):
            continue
        prefix = parent + "/" if parent else ""
        children: dict[str, list[str]] = {}
        for column in columns:
            if column == total or not column.startswith(prefix) or ("其中" in column and not _SPLIT_PART.search(column)):
                continue
            head = column[len(prefix):].split("/")[0]
            children.setdefault(head, []).append(column)
        parts = []
        for head, cols in children.items():
            sub = [c for c in cols if c.rsplit("/", 1)[-1] in ("小计", "合计") and c.count("/") == (prefix + head).count("/") + 1]
            parts.extend(sub or [c for c in cols if not any(o != c and o.startswith(c + "/") for o in cols)])
        if parts:
            relations.append((total, parts))
    return relations


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFKC", text or "").replace(" ", "")


def _fen(value: Decimal, unit: str) -> Decimal:
    return value * FEN_PER_UNIT[unit]


def load_rules(path: Path = KNOWLEDGE_DIR / "audit.toml") -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def audit(db_path: Path) -> list[Check]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        rules = load_rules()
        checks = []
        for (doc_id,) in conn.execute("SELECT id FROM documents ORDER BY id").fetchall():
            checks.extend(Auditor(conn, doc_id, rules).run())
        return checks
    finally:
        conn.close()

"""Everything one loaded document names, with the SQL that reads its figures.

Built once per process from the database; every figure it returns carries its table,
row label, column and source line, so answers can cite it.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property, lru_cache
from urllib.parse import quote

from bot.lexicon import Lexicon, Measure
from db.template import strip_numbering as _label
from db.template import without_city

FUNC_TABLE = "部门支出总体情况表"
ECON_TABLE = "支出经济分类汇总表"
PROJECT_TABLE = "项目支出预算表"
OVERVIEW_TABLE = "部门收支总体情况表"
AMOUNT = "amount"  # the canonical column of a row's own amount (合计, 总计, 金额, 预算数 …)


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """Key for matching names: NFKC, no spaces or quotes, 支出/费 endings kept."""
    text = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"[\s“”\"'‘’]", "", text).lower()


def class_field(code: str) -> str:
    """The fact field a 类 code classifies: 2xx function, 3xx department economic, 5xx government economic."""
    return {"3": "econ_code", "5": "gov_econ_code"}.get(code[:1], "func_code")


def abbreviates(short: str, full: str) -> bool:
    """Whether `short` is a shortening of `full` that keeps its characters in order and its last one
    (审批局 of 行政审批和政务信息管理局, 南阳市审批局 of 南阳市行政审批和政务信息管理局)."""
    if len(short) < 3 or len(short) >= len(full) or short[-1] != full[-1]:
        return False
    rest = iter(full)
    return all(ch in rest for ch in short)


def _said_shorter(names: set[str], shorten: dict[str, str]) -> frozenset[str]:
    """The names with the words people shorten said shorter (卫生健康委员会 → 卫生健康委), each way at once."""
    out = set(names)
    for name in names:
        short = name
        for word, said in shorten.items():
            out.add(name.replace(word, said))
            short = short.replace(word, said)
        out.add(short)
    return frozenset(out)


def shortens(short: str, names: frozenset[str]) -> bool:
    """`short` is a shortening of one of the names: 卫健委, 国资委, 市政府办公厅, 教委 (two characters: the
    first of the name and its last)."""
    if len(short) == 2:
        return any(len(n) > 2 and n[-1] == short[-1] and (n[0] == short[0] or n[n.find("市") + 1:][:1] == short[0])
                   for n in names)
    return any(abbreviates(short, n) for n in names)


@dataclass(frozen=True)
class Cell:
    """One stored amount and where it was read."""

    value: Decimal
    unit: str  # the table's unit
    table: str
    row: str
    column: str
    line: int
    formula: str | None = None  # set when the value adds several rows


@dataclass(eq=False)  # identity: two entities may share a name (152 and 152101)
class Entity:
    kind: str  # measure | unit | project | func | econ | row | term | indicator_project
    name: str
    code: str | None = None
    aliases: set[str] = field(default_factory=set)


_INDEX = frozenset({"entities", "aliases", "fuzzy_aliases", "alias_bigrams", "aliases_by_bigram", "entities_by_alias",
                    "alias_pattern", "department_entity"})


_READ = ("_facts", "_by_code", "_projects", "names_by_run", "narrative", "narrative_by_line", "sentences", "sections",
         "sections_by_line")  # what a catalog reads when asked, kept until forgotten


class Catalog:
    """One loaded document: what names it (read at once) and its index of names and figures (built when asked)."""

    def __init__(self, conn: sqlite3.Connection, doc_id: int, lexicon: Lexicon) -> None:
        self.conn = conn
        self.doc_id = doc_id
        self.lexicon = lexicon
        doc = conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()
        self.department, self.year, self.kind, self.source = doc["department"], doc["year"], doc["kind"], doc["source_file"]
        self.doc = doc
        self.pages: list[int] = json.loads(doc["pages"])  # page of each line of a PDF source
        self.url = doc["url"]
        self.is_pdf = doc["page_count"] is not None
        self.tables = {r["name"]: r for r in conn.execute("SELECT * FROM tables WHERE document_id = ? ORDER BY position", (doc_id,))}
        self.units = conn.execute("SELECT * FROM units WHERE document_id = ? ORDER BY code", (doc_id,)).fetchall()
        # how questions name this department: full name, without its city (农业农村局), its units' names, its city
        local = without_city(self.department, self.department)
        city = self.department[: len(self.department) - len(local)]
        self.department_names = {self.department, local} | {u["name"] for u in self.units} | {
            t["department"] for t in self.tables.values() if t["department"]}
        city = doc["city"] or city  # 中国共产党广州市委员会宣传部 is of 广州市 too
        self.city_names = {city, city[:-1]} if len(city) >= 3 else set()  # 南阳市 names every department of the city
        self.said_shorter = _said_shorter({self.department, local}, lexicon.org_shorten)

    def __getattr__(self, name: str):
        """The index of names is built the first time a question needs it (a province loads 1,000 documents;
        a question reads a few)."""
        if name in _INDEX and not self.__dict__.get("_indexed"):
            self._index()
            return getattr(self, name)
        raise AttributeError(name)

    def forget_index(self) -> None:
        """Drop the index of names and the figures read (built again when a question needs them)."""
        for name in (*_INDEX, "_indexed", *_READ):
            self.__dict__.pop(name, None)

    def _index(self) -> None:
        self._indexed = True
        self.entities: list[Entity] = []
        self._build()
        # lookup tables for linking, built once: (alias, entity) pairs, and character pairs per alias
        self.aliases = [(a, e) for e in self.entities for a in e.aliases if len(a) >= 2 and not (a.isdigit() and len(a) < 3)]
        self.fuzzy_aliases = {a: e for a, e in self.aliases if len(a) >= 4 and not a.isdigit() and e.kind != "indicator"}
        self.alias_bigrams = {a: {a[i:i + 2] for i in range(len(a) - 1)} for a in self.fuzzy_aliases}
        self.aliases_by_bigram: dict[str, set[str]] = {}
        for alias, grams in self.alias_bigrams.items():
            for gram in grams:
                self.aliases_by_bigram.setdefault(gram, set()).add(alias)
        by_text: dict[str, list[Entity]] = {}
        for alias, entity in self.aliases:
            by_text.setdefault(alias, []).append(entity)
        self.entities_by_alias = by_text
        # one pattern for every name: longest first, codes not inside longer numbers
        self.alias_pattern = re.compile("|".join(
            rf"(?<!\d){re.escape(a)}(?!\d)" if a.isdigit() else re.escape(a) for a in sorted(by_text, key=len, reverse=True)))

    # ----- the index of names -------------------------------------------------
    def _add(self, kind: str, name: str, code: str | None = None, aliases: tuple[str, ...] = ()) -> Entity:
        said = {norm(name), *(norm(a) for a in aliases if a)}
        # questions are normalised with the typo and colloquial table (运维费 → 运行维护费): so are the names
        said |= {self._as_normalised(a) for a in said}
        entity = Entity(kind, name, code, said)
        self.entities.append(entity)
        return entity

    def _as_normalised(self, alias: str) -> str:
        for typo, meant in self.lexicon.typos.items():
            alias = alias.replace(typo, meant)
        return alias

    def _build(self) -> None:
        syn = self.lexicon.synonyms | {k: tuple(v) for k, v in json.loads(self.doc["synonyms"]).items()}
        for name in self.lexicon.measures:
            self._add("measure", name, aliases=syn.get(name, ()))
        heads = [next((h for h in self.lexicon.unit_heads if u["short_name"].endswith(h)), None)
                 for u in self.units if not (u["is_department"] or u["is_own"])]
        for unit in self.units:
            aliases = [unit["code"]]
            if unit["is_own"]:
                aliases += list(self.lexicon.own_unit)
            elif not unit["is_department"]:
                short = unit["short_name"]
                head = next((h for h in self.lexicon.unit_heads if short.endswith(h)), None)
                # 政务大数据中心: also 大数据中心, and 中心 when it is the only one
                aliases += [short] + ([short[2:]] if len(short) >= 6 else []) + ([head] if head and heads.count(head) == 1 else [])
            # the own unit prints the department's name; "本级" tells them apart in answers
            shown = self.department if unit["is_department"] else f"{unit['name']}本级" if unit["is_own"] else unit["name"]
            entity = self._add("unit", shown, unit["code"], tuple(aliases) + tuple(syn.get(unit["name"], ())))
            if unit["is_department"] or unit["is_own"]:
                entity.aliases.discard(norm(self.department))  # the bare name means the department
        top = next((u["code"] for u in self.units if u["is_department"]), None)
        department = next((e for e in self.entities if e.kind == "unit" and e.code == top), None)
        if department is not None:
            department.aliases.add(norm(self.department))
            # other names the tables print for the department (南阳市政务服务和大数据管理局)
            department.aliases |= {norm(t["department"]) for t in self.tables.values() if t["department"]}
            self.department_entity = department
        for row in self.conn.execute("SELECT name, perf_code FROM projects WHERE document_id = ? ORDER BY id", (self.doc_id,)):
            name = row["name"]
            undated = re.sub(r"^20\d\d年|20\d\d$", "", name)
            local = [without_city(n, self.department) for n in (name, undated)]
            self._add("project", name, row["perf_code"], aliases=(undated, *local, row["perf_code"] or "") + syn.get(name, ()))
        for scheme, kind in (("func", "func"), ("econ", "econ"), ("gov_econ", "gov_econ")):
            for row in self.conn.execute(
                "SELECT code, name FROM subjects WHERE document_id = ? AND scheme = ? ORDER BY code", (self.doc_id, scheme)
            ):
                self._add(kind, row["name"], row["code"], (row["code"],) + syn.get(row["name"], ()))
        if OVERVIEW_TABLE in self.tables:
            seen = {norm(e.name) for e in self.entities}
            for row in self.conn.execute(
                "SELECT DISTINCT label FROM facts WHERE table_id = ? AND row_kind = 'item'", (self.tables[OVERVIEW_TABLE]["id"],)
            ):
                if norm(row["label"]) not in seen:
                    bare = re.sub(r"支出$", "", row["label"])  # 住房保障支出 → 住房保障 (but not 其他支出 → 其他)
                    self._add("row", row["label"], aliases=(row["label"] + "支出", *([bare] if len(bare) >= 3 else []))
                              + syn.get(row["label"], ()))
        for row in self.conn.execute("SELECT term FROM glossary WHERE document_id = ?", (self.doc_id,)):
            self._add("term", row["term"])
        for row in self.conn.execute(
            "SELECT DISTINCT name FROM indicators WHERE document_id = ? AND group_no IS NULL", (self.doc_id,)
        ):  # the department's own targets (预算执行率, 服务对象满意度) are named in questions
            if len(norm(row["name"])) >= 4:
                self._add("indicator", row["name"])
        present = {e.code[:3] for e in self.entities if e.kind in ("func", "econ", "gov_econ") and e.code}
        for classes in self.lexicon.classes.values():
            for code, name in classes.items():
                if code in present:
                    short = re.sub(r"支出$", "", name)
                    self._add("class", name, code, ((short, f"{short}类") if short != name else ()) + (f"{code}类", code))
        # a 款 of the function scheme (20103) groups its 项 like a 类; the tables print no name for it
        for code in sorted({e.code[:5] for e in self.entities if e.kind == "func" and e.code and len(e.code) == 7}):
            self._add("class", f"{code}款", code, (code, f"{code[:3]} {code[3:]}款", f"{code[:3]}{code[3:]}款"))

    # ----- figures --------------------------------------------------------------
    @cached_property
    def _facts(self) -> dict[tuple[str, str], list[sqlite3.Row]]:
        """Every fact of the document by (table, canonical column) and by (table, printed column), in line
        order: a few thousand rows, read once. Measures name canonical columns (knowledge/columns.toml)."""
        grouped: dict[tuple[str, str], list[sqlite3.Row]] = {}
        for row in self.conn.execute(
            "SELECT f.*, t.name AS tname FROM facts f JOIN tables t ON t.id = f.table_id "
            "WHERE f.document_id = ? ORDER BY f.line, f.id", (self.doc_id,)
        ):
            grouped.setdefault((row["tname"], row["column"]), []).append(row)
            if row["canon"] and row["canon"] != row["column"]:
                grouped.setdefault((row["tname"], row["canon"]), []).append(row)
        return grouped

    @cached_property
    def _by_code(self) -> dict[tuple, list[sqlite3.Row]]:
        """Facts by (table, column, code_field, value) for the fields questions look rows up by."""
        index: dict[tuple, list[sqlite3.Row]] = {}
        for (table, column), rows in self._facts.items():
            for row in rows:
                for code_field in _INDEXED:
                    if row[code_field] is not None:
                        index.setdefault((table, column, code_field, row[code_field]), []).append(row)
        return index

    def select(self, table: str, column: str, **where) -> list[Cell]:
        """Cells of one column of one table whose fact fields equal `where` (e.g. func_code='2013704')."""
        code_field = next((f for f in _INDEXED if f in where), None)
        rows = self._by_code.get((table, column, code_field, where[code_field]), ()) if code_field else self._facts.get((table, column), ())
        return [_cell(r) for r in rows if all(r[key] == value for key, value in where.items())]

    def ref(self, ref: dict) -> Cell | None:
        """The figure a knowledge reference (table, side, row, column) names; `row` lists the labels the
        row is printed with, most usual first ("合计|总计")."""
        rows = self.select(ref["table"], ref["column"], **({"side": ref["side"]} if ref.get("side") else {}))
        if not ref["row"]:
            return rows[0] if rows else None
        for want in map(norm, ref["row"].split("|")):
            match = next((c for c in rows if norm(_label(c.row)) == want or norm(c.row) == want), None)
            if match is not None:
                return match
        return None

    def measure(self, measure: Measure, unit_code: str | None = None) -> list[Cell]:
        """A measure's cell(s): the department figure, or the cells that make up one unit's."""
        if unit_code is None:
            cell = self.ref(measure.ref)
            return [cell] if cell else []
        if not measure.by_unit:
            return []
        spec = measure.by_unit
        kind = "unit" if spec["by"] == "row" else "item"
        return self.select(spec["table"], spec["column"], unit_code=unit_code, row_kind=kind)

    def row_column(self, entity: Entity, table: str, columns: str) -> list[Cell]:
        """The cells of a subject's or item's rows in one table, in the given column(s) ("a + b")."""
        if entity.kind == "class":  # every subject under a 类 (201 一般公共服务支出)
            code_field = class_field(entity.code)
            return [_cell(r) for column in columns.split(" + ") for r in self._facts.get((table, column), ())
                    if r["row_kind"] == "item" and (r[code_field] or "").startswith(entity.code)]
        code_field = {"func": "func_code", "econ": "econ_code"}.get(entity.kind)
        if code_field is None:
            return []
        return [c for column in columns.split(" + ") for c in self.select(table, column, row_kind="item", **{code_field: entity.code})]

    def gov_econ_of(self, econ_code: str) -> list[tuple[str, str, Cell]]:
        """(政府经济分类 code, its name, cell) of the rows of one 部门经济分类 item in 支出经济分类汇总表."""
        names = {e.code: e.name for e in self.entities if e.kind == "gov_econ"}
        rows = self._by_code.get((ECON_TABLE, AMOUNT, "econ_code", econ_code), ())
        return [(r["gov_econ_code"], names.get(r["gov_econ_code"], ""), _cell(r)) for r in rows
                if r["row_kind"] == "item" and r["gov_econ_code"]]

    def func(self, code: str) -> list[Cell]:
        return self.select(FUNC_TABLE, AMOUNT, func_code=code, row_kind="item")

    def econ(self, code: str, table: str = ECON_TABLE) -> list[Cell]:
        column = AMOUNT if table == ECON_TABLE else "basic"
        return self.select(table, column, econ_code=code, row_kind="item")

    def econ_elsewhere(self, code: str, prefer: str = "") -> list[Cell]:
        """An economic item where no 支出经济分类汇总表 holds it (广东 prints it in the 基本支出 and 项目支出
        tables by 经济分类): the first table holding it, one whose name has `prefer` first."""
        tables = sorted(self.tables, key=lambda name: (prefer not in name if prefer else False, self.tables[name]["position"]))
        for table in tables:
            for column in (AMOUNT, "basic"):
                cells = self.select(table, column, econ_code=code, row_kind="item")
                if cells:
                    return cells
        return []

    def project(self, name: str) -> list[Cell]:
        return self.select(PROJECT_TABLE, AMOUNT, project=name)

    def overview_row(self, label: str) -> list[Cell]:
        return [c for c in self.select(OVERVIEW_TABLE, AMOUNT) if norm(_label(c.row)) == norm(label)]

    def overview_rows(self, side: str) -> list[tuple[str, Cell]]:
        """(label, cell) of each item row on one side of 部门收支总体情况表."""
        return [(_label(c.row), c) for c in self.select(OVERVIEW_TABLE, AMOUNT, side=side, row_kind="item")]

    def econ_items(self) -> list[tuple[str, Cell]]:
        """('30101 基本工资', cell) per economic item, rows of the same code added, largest first."""
        out = []
        for entity in self.entities:
            if entity.kind != "econ":
                continue
            cells = self.econ(entity.code)
            if not cells:
                continue
            first = cells[0]
            formula = " + ".join(str(c.value) for c in cells) if len(cells) > 1 else None
            out.append((f"{entity.code} {entity.name}", Cell(sum(c.value for c in cells), first.unit, first.table,
                                                              entity.name, first.column, first.line, formula)))
        return sorted(out, key=lambda x: (-x[1].value, x[0]))

    def econ_rows(self) -> list[tuple[str, Cell]]:
        """('30101 基本工资（50101）', cell) per printed row of 支出经济分类汇总表, largest first."""
        rows = [r for r in self._facts.get((ECON_TABLE, AMOUNT), ()) if r["row_kind"] == "item" and r["econ_code"]]
        named = [(f"{r['econ_code']} {r['row_label']}" + (f"（{r['gov_econ_code']}）" if r["gov_econ_code"] else ""), _cell(r))
                 for r in rows]
        return sorted(named, key=lambda x: (-x[1].value, x[0]))

    @cached_property
    def _projects(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM projects WHERE document_id = ? ORDER BY fen DESC, id", (self.doc_id,)).fetchall()

    def projects(self, unit_code: str | None = None, kind: str | None = None) -> list[tuple[str, Cell, str]]:
        """(name, cell, type) of every project, optionally of one unit or type, largest first."""
        out = []
        for r in self._projects:
            if (unit_code is None or r["unit_code"] == unit_code) and (kind is None or r["type"] == kind):
                cells = self.project(r["name"])
                if cells:
                    out.append((r["name"], cells[0], r["type"]))
        return out

    def project_row(self, name: str) -> sqlite3.Row | None:
        return next((r for r in self._projects if r["name"] == name), None)

    def subjects(self) -> list[tuple[str, str, Cell]]:
        """(code, name, cell) of every function subject row, largest first."""
        rows = [r for r in self._facts.get((FUNC_TABLE, AMOUNT), ()) if r["row_kind"] == "item" and r["func_code"]]
        return sorted(((r["func_code"], r["row_label"], _cell(r)) for r in rows), key=lambda x: (-x[2].value, x[0]))

    def page_of(self, line: int | None) -> int | None:
        """The PDF page a source line stands on (None for a converted text)."""
        return self.pages[line - 1] if line and 0 < line <= len(self.pages) else None

    def page_url(self, page: int | None) -> str | None:
        """The source opened at a page: the official address when known, else the app's copy."""
        if not self.is_pdf:
            return None
        base = self.url or f"/documents/{quote(self.source)}"
        return f"{base}#page={page}" if page else base

    def vocabulary(self) -> set[str]:
        """Words for jieba's dictionary: every name and alias, table names, indicator names."""
        words = {alias for entity in self.entities for alias in entity.aliases}
        words |= {norm(name) for name in self.tables}
        words |= {norm(r[0]) for r in self.conn.execute("SELECT DISTINCT name FROM indicators WHERE document_id = ?", (self.doc_id,))}
        return words

    def class_of(self, entity: Entity) -> Entity | None:
        """The 类 an overview row names (科学技术 → 206 科学技术支出), whose subjects carry the columns."""
        if entity.kind == "class":
            return entity
        return next((e for e in self.entities if e.kind == "class" and e.name in (entity.name, f"{entity.name}支出")), None)

    def find(self, kind: str, name: str, code: str | None = None) -> Entity | None:
        return next((e for e in self.entities if e.kind == kind and e.name == name and (code is None or e.code == code)), None)

    def indicators(self, project: str | None = None) -> list[sqlite3.Row]:
        if project is None:
            return self.conn.execute(
                "SELECT i.*, t.name AS tname FROM indicators i JOIN tables t ON t.id = i.table_id "
                "WHERE i.document_id = ? AND i.group_no IS NULL ORDER BY i.line", (self.doc_id,)).fetchall()
        return self.conn.execute(
            "SELECT i.*, t.name AS tname FROM indicators i JOIN tables t ON t.id = i.table_id JOIN projects p ON p.id = i.project_id "
            "WHERE i.document_id = ? AND p.name = ? ORDER BY i.line", (self.doc_id, project)).fetchall()

    def glossary(self, term: str) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM glossary WHERE document_id = ? AND term = ?", (self.doc_id, term)).fetchone()

    @cached_property
    def names_by_run(self) -> dict[str, list[Entity]]:
        """Every NAME_RUN-character run of each name, to the entities whose names hold it (built once)."""
        index: dict[str, list[Entity]] = {}
        for entity in self.entities:
            name = norm(entity.name)
            for run in {name[i:i + NAME_RUN] for i in range(len(name) - NAME_RUN + 1)}:
                index.setdefault(run, []).append(entity)
        return index

    @cached_property
    def narrative(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM narrative_facts WHERE document_id = ? ORDER BY rowid", (self.doc_id,)).fetchall()

    @cached_property
    def narrative_by_line(self) -> dict[int, list[sqlite3.Row]]:
        lines: dict[int, list[sqlite3.Row]] = {}
        for fact in self.narrative:
            lines.setdefault(fact["line"], []).append(fact)
        return lines

    @cached_property
    def sentences(self) -> list[tuple[int, str, str, str, str]]:
        """(line, heading, sentence, paragraph, matching key of heading+paragraph) of the narrative, NFKC."""
        out = []
        for section in self.sections:
            if "名词解释" in section["part"]:
                continue  # definitions are answered from the glossary
            paragraph = unicodedata.normalize("NFKC", section["text"])
            heading = section["heading"] or section["part"]
            for sentence in re.split(r"(?<=[。；;])", paragraph):
                if sentence.strip():
                    out.append((section["line"], heading, sentence.strip(), paragraph, norm(heading + paragraph)))
        for table in self.tables.values():  # a table's notes (注：…四舍五入尾数误差) explain it too
            for line, note in json.loads(table["notes"]):
                note = unicodedata.normalize("NFKC", note)
                for sentence in re.split(r"(?<=[。；;])", note):
                    if sentence.strip():
                        out.append((line, f"{table['name']}（表注）", sentence.strip(), note, norm(table["name"] + note)))
        return out

    @cached_property
    def sections(self) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM sections WHERE document_id = ? ORDER BY line", (self.doc_id,)).fetchall()

    @cached_property
    def sections_by_line(self) -> dict[int, sqlite3.Row]:
        return {s["line"]: s for s in self.sections}


NAME_RUN = 5  # characters a question must share with one name alone to link it without other evidence
_INDEXED = ("func_code", "econ_code", "gov_econ_code", "project", "unit_code")


def _cell(row: sqlite3.Row) -> Cell:
    return Cell(Decimal(row["value"]), row["unit"], row["tname"], row["row_label"] or row["column"], row["column"], row["line"])




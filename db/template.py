"""The national template as data: standard table names and their variants, read from knowledge/tables.toml."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from db.paths import KNOWLEDGE_DIR

_NUMBERING = re.compile(r"^(?:(?:附|公开)?表(?:\d+|[一二三四五六七八九十]+(?!般))[、.．:：\s]*|公开\d+表|[一二三四五六七八九十\d]+[、.．:：]\s*)")
_YEAR = re.compile(r"\d{4}年度?|\(\d{4}年度?\)")
_DROP = re.compile(r"[\s“”\"'‘’「」『』《》*#]|\(单位\)|\(续\)|续表")


@dataclass(frozen=True)
class StandardTable:
    name: str
    layout: str
    aliases: tuple[str, ...]

    @property
    def keys(self) -> frozenset[str]:
        return frozenset({title_key(self.name), *(title_key(a) for a in self.aliases)})


@dataclass(frozen=True)
class Family:
    name: str
    province: str | None
    title_keys: frozenset[str]  # the table titles only this family prints
    tables_published_separately: bool


@dataclass(frozen=True)
class TitleForm:
    pattern: re.Pattern
    kind: str | None  # fixed kind when the form does not say it


@dataclass(frozen=True)
class Template:
    tables: tuple[StandardTable, ...]
    total_labels: frozenset[str]
    code_words: tuple[str, ...]
    code_parts: tuple[str, ...]
    indicator_levels: tuple[str, ...]
    titles: tuple[TitleForm, ...] = ()
    dept_in_text: tuple[re.Pattern, ...] = ()
    dept_suffixes: tuple[str, ...] = ()
    dept_trailing: tuple[str, ...] = ()
    numbering: tuple[re.Pattern, ...] = ()
    withheld: tuple[re.Pattern, ...] = ()
    families: tuple[Family, ...] = ()
    placeholders: frozenset[str] = frozenset()  # cells that stand for no amount: —, 无
    tables_attached: re.Pattern = re.compile("(?!)")  # a line saying the tables are published apart
    project_name: re.Pattern = re.compile("项目名称$")  # the header of the column that names projects
    project_and_unit: re.Pattern = re.compile("^支出项目类别")  # a column naming units and, under them, projects
    unit_ends: tuple[str, ...] = ()  # how the name of a unit printed among projects ends (医院, 中心, 局)
    project_ends: tuple[str, ...] = ()  # how a project's name ends (项目, 经费, 费)

    def table_by_title(self, title: str, department: str = "") -> StandardTable | None:
        """The standard table a printed title names (with or without its bracketed qualifier), or None."""
        key = title_key(title, department)
        bare = re.sub(r"[（(][^（()）]*[)）]$", "", key)
        if not bare.endswith("表"):
            return None
        for candidate in (key, bare):
            for table in self.tables:
                if candidate in table.keys:
                    return table
        return None

    def is_total(self, label: str) -> bool:
        return strip_numbering(label).replace(" ", "") in self.total_labels

    def is_numbering(self, text: str) -> bool:
        key = unicodedata.normalize("NFKC", text).replace(" ", "")
        return any(p.search(key) for p in self.numbering)

    def is_withheld(self, text: str) -> bool:
        return any(p.search(text) for p in self.withheld)

    def family_of(self, titles: list[str]) -> Family | None:
        """The family whose own table titles the document prints most, or None (the national template)."""
        keys = {title_key(t) for t in titles}
        scored = [(len(keys & f.title_keys), f) for f in self.families]
        best = max(scored, key=lambda s: s[0], default=(0, None))
        return best[1] if best[0] else None


def without_city(name: str, department: str) -> str:
    """A name without the department's city or province prefix: 南阳市政务大数据中心 → 政务大数据中心."""
    city = re.match(r"^(.{2,3}?[市省县区])", department)
    return name[len(city.group(1)):] if city and name.startswith(city.group(1)) and len(name) > len(city.group(1)) else name


def city_of(department: str) -> str | None:
    """The city (or province) a department name starts with: 广州市信访局 → 广州市; 中共西安市委宣传部 → 西安市."""
    match = re.match(r"^(?:中共|中国共产党)?(.{2,3}?[市省])", department)
    return match.group(1) if match else None


def strip_numbering(label: str) -> str:
    """'一、一般公共预算' -> '一般公共预算'; '(一) 一般公共服务支出' -> '一般公共服务支出'."""
    text = unicodedata.normalize("NFKC", label).strip()
    text = re.sub(r"^(?:[一二三四五六七八九十]+、|\([一二三四五六七八九十\d]+\)\s*|\d+[、.．]\s*)", "", text)
    return text.strip()


def title_key(title: str, department: str = "") -> str:
    text = unicodedata.normalize("NFKC", title)
    text = _DROP.sub("", text)
    if department:
        text = text.replace(unicodedata.normalize("NFKC", department).replace(" ", ""), "")
    text = _YEAR.sub("", text)
    text = _NUMBERING.sub("", text)
    text = _YEAR.sub("", text)
    text = re.sub(r"^年度?", "", text)  # "2026年" split from its title by PDF extraction
    return text.replace("单位", "部门")


FAMILIES_DIR = KNOWLEDGE_DIR / "families"


def _merge_tables(tables: dict[str, StandardTable], entries: list[dict], source: Path) -> set[str]:
    """Add a family's aliases to the tables it names (or a new table); returns the title keys it added."""
    added: set[str] = set()
    for entry in entries:
        name = entry["name"]
        known = tables.get(name)
        if known is None and "layout" not in entry:
            raise ValueError(f"{source}: table {name} is not a national table and has no layout")
        layout = entry.get("layout", known.layout if known else "grid")
        aliases = tuple(dict.fromkeys((*(known.aliases if known else ()), *entry.get("aliases", ()))))
        tables[name] = StandardTable(name, layout, aliases)
        added |= {title_key(a) for a in entry.get("aliases", ())} | ({title_key(name)} if known is None else set())
    return added


def _title_form(entry: dict | str) -> TitleForm:
    if isinstance(entry, str):
        return TitleForm(re.compile(entry), None)
    return TitleForm(re.compile(entry["pattern"]), entry.get("kind"))


@cache
def load_template(path: Path = KNOWLEDGE_DIR / "tables.toml", families_dir: Path = FAMILIES_DIR) -> Template:
    """The national template with every family of `families_dir` merged in (aliases, titles)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    names = [t["name"] for t in data["table"]]
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate table names")
    tables = {t["name"]: StandardTable(t["name"], t["layout"], tuple(t.get("aliases", ()))) for t in data["table"]}
    national = set().union(*(t.keys for t in tables.values()))
    families, titles = [], []
    for family_path in sorted(families_dir.glob("*.toml")) if families_dir.is_dir() else []:
        family = tomllib.loads(family_path.read_text(encoding="utf-8"))
        own = _merge_tables(tables, family.get("table", []), family_path) - national
        titles.extend(_title_form(t) for t in family.get("title", []))
        families.append(Family(family.get("name", family_path.stem), family.get("province"), frozenset(own),
                               bool(family.get("tables_published_separately"))))
    document = data.get("document", {})
    return Template(
        tables=tuple(tables.values()),
        total_labels=frozenset(data["rows"]["total"]),
        code_words=tuple(data["columns"]["code_words"]),
        code_parts=tuple(data["columns"]["code_parts"]),
        indicator_levels=tuple(data["columns"]["indicator_levels"]),
        titles=tuple(titles) + tuple(_title_form(t) for t in document.get("titles", ())),
        dept_in_text=tuple(re.compile(p) for p in document.get("dept_in_text", ())),
        dept_suffixes=tuple(document.get("dept_suffixes", ())),
        dept_trailing=tuple(document.get("dept_trailing", ())),
        numbering=tuple(re.compile(p) for p in document.get("numbering", ())),
        withheld=tuple(re.compile(p) for p in document.get("withheld", ())),
        families=tuple(families),
        placeholders=frozenset(data["rows"].get("placeholders", ())),
        tables_attached=re.compile(document.get("tables_attached", "(?!)")),
        project_name=re.compile(data["columns"].get("project_name", "项目名称$")),
        unit_ends=tuple(data["rows"].get("unit_ends", ())),
        project_and_unit=re.compile(data["columns"].get("project_and_unit", "^支出项目类别")),
        project_ends=tuple(data["rows"].get("project_ends", ())),
    )

"""The national template as data: standard table names and their variants, read from knowledge/tables.toml."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from db.paths import KNOWLEDGE_DIR

_NUMBERING = re.compile(r"^(?:(?:附?表)[一二三四五六七八九十\d]+[、.．:：\s]*|[一二三四五六七八九十\d]+[、.．:：]\s*)")
_YEAR = re.compile(r"\d{4}年度?|\(\d{4}年度?\)")
_DROP = re.compile(r"[\s“”\"'‘’「」『』《》*#]|\(单位\)|\(续\)|续表")


@dataclass(frozen=True)
class StandardTable:
    name: str
    layout: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    tables: tuple[StandardTable, ...]
    total_labels: frozenset[str]
    code_words: tuple[str, ...]
    code_parts: tuple[str, ...]
    indicator_levels: tuple[str, ...]

    def table_by_title(self, title: str, department: str = "") -> StandardTable | None:
        """The standard table a printed title names, or None."""
        key = title_key(title, department)
        if not key.endswith("表"):
            return None
        for table in self.tables:
            if key in {title_key(table.name), *(title_key(a) for a in table.aliases)}:
                return table
        return None

    def is_total(self, label: str) -> bool:
        return strip_numbering(label).replace(" ", "") in self.total_labels


def without_city(name: str, department: str) -> str:
    """A name without the department's city or province prefix: 南阳市政务大数据中心 → 政务大数据中心."""
    city = re.match(r"^(.{2,3}?[市省县区])", department)
    return name[len(city.group(1)):] if city and name.startswith(city.group(1)) and len(name) > len(city.group(1)) else name


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


@cache
def load_template(path: Path = KNOWLEDGE_DIR / "tables.toml") -> Template:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    tables = tuple(
        StandardTable(t["name"], t["layout"], tuple(t.get("aliases", ()))) for t in data["table"]
    )
    if len({t.name for t in tables}) != len(tables):
        raise ValueError(f"{path}: duplicate table names")
    return Template(
        tables=tables,
        total_labels=frozenset(data["rows"]["total"]),
        code_words=tuple(data["columns"]["code_words"]),
        code_parts=tuple(data["columns"]["code_parts"]),
        indicator_levels=tuple(data["columns"]["indicator_levels"]),
    )

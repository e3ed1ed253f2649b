"""Canonical columns: which meaning a printed column header has, by the rules of knowledge/columns.toml."""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from db.paths import KNOWLEDGE_DIR


@dataclass(frozen=True)
class ColumnRule:
    id: str
    printed: re.Pattern
    tables: frozenset[str]


def _rules(kind: str, path: Path, families_dir: Path) -> tuple[ColumnRule, ...]:
    entries = []
    for family in sorted(families_dir.glob("*.toml")) if families_dir.is_dir() else []:
        entries.extend(tomllib.loads(family.read_text(encoding="utf-8")).get(kind, []))
    entries.extend(tomllib.loads(path.read_text(encoding="utf-8")).get(kind, []))
    return tuple(ColumnRule(r["id"], re.compile(r["printed"]), frozenset(r.get("tables", ()))) for r in entries)


@cache
def column_rules(path: Path = KNOWLEDGE_DIR / "columns.toml", families_dir: Path = KNOWLEDGE_DIR / "families") -> tuple[ColumnRule, ...]:
    """The families' printings (knowledge/families/*.toml) first, then the national rules."""
    return _rules("column", path, families_dir)


@cache
def row_rules(path: Path = KNOWLEDGE_DIR / "columns.toml", families_dir: Path = KNOWLEDGE_DIR / "families") -> tuple[ColumnRule, ...]:
    """Row labels that carry the meaning in tables printed the other way round (三公 items as rows)."""
    return _rules("row", path, families_dir)


TOTAL_COLUMNS = frozenset({"amount", "sangong"})  # the column a row-wise table prints its figures in


def row_canonical(table: str, labels: list[str]) -> dict[str, str | None] | None:
    """For a table whose rows name what they are (广东's 三公 table: 行政经费, “三公”经费, 其中：因公出国…),
    the meaning of each row label; None when no row of the table names a meaning."""
    rules = [r for r in row_rules() if not r.tables or table in r.tables]
    if not rules:
        return None
    meanings = {label: canonical(table, label, tuple(rules)) for label in labels}
    return meanings if any(meanings.values()) else None


def canonical(table: str, printed: str, rules: tuple[ColumnRule, ...] | None = None) -> str | None:
    """The canonical id of a printed column path in a standard table, or None when no rule knows it."""
    key = re.sub(r"\s", "", unicodedata.normalize("NFKC", printed))
    for rule in rules or column_rules():
        if (not rule.tables or table in rule.tables) and rule.printed.search(key):
            return rule.id
    return None

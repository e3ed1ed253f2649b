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


@cache
def column_rules(path: Path = KNOWLEDGE_DIR / "columns.toml", families_dir: Path = KNOWLEDGE_DIR / "families") -> tuple[ColumnRule, ...]:
    """The families' printings (knowledge/families/*.toml) first, then the national rules."""
    entries = []
    for family in sorted(families_dir.glob("*.toml")) if families_dir.is_dir() else []:
        entries.extend(tomllib.loads(family.read_text(encoding="utf-8")).get("column", []))
    entries.extend(tomllib.loads(path.read_text(encoding="utf-8"))["column"])
    return tuple(ColumnRule(r["id"], re.compile(r["printed"]), frozenset(r.get("tables", ()))) for r in entries)


def canonical(table: str, printed: str, rules: tuple[ColumnRule, ...] | None = None) -> str | None:
    """The canonical id of a printed column path in a standard table, or None when no rule knows it."""
    key = re.sub(r"\s", "", unicodedata.normalize("NFKC", printed))
    for rule in rules or column_rules():
        if (not rule.tables or table in rule.tables) and rule.printed.search(key):
            return rule.id
    return None

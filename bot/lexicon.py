"""The hand-kept knowledge under knowledge/: synonyms, measures and intent patterns, read once."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measure:
    name: str
    ref: dict
    by_unit: dict | None
    parent: str | None
    parts: tuple[str, ...]
    columns: dict[str, str]  # table -> column path ("a + b" adds columns) on subject/item rows


@dataclass(frozen=True)
class Phrases:
    """Words of questions themselves, from knowledge/phrases.toml."""

    question: re.Pattern
    trailing: re.Pattern
    link_noise: re.Pattern
    follow_up: re.Pattern
    whole_budget: tuple[str, ...]
    collections: tuple[tuple[str, re.Pattern, re.Pattern | None], ...]  # rows, pattern, unless


@dataclass(frozen=True)
class Lexicon:
    synonyms: dict[str, tuple[str, ...]]
    own_unit: tuple[str, ...]
    typos: dict[str, str]
    english: dict[str, str]
    measures: dict[str, Measure]
    intents: tuple[tuple[str, re.Pattern], ...]
    phrases: Phrases
    classes: dict[str, dict[str, str]]  # scheme (func/econ) -> 类 code -> name
    out_of_scope: tuple[tuple[re.Pattern, str], ...]  # pattern, why it is out of scope


def _read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _phrases(data: dict) -> Phrases:
    return Phrases(
        question=re.compile(data["question_words"]),
        trailing=re.compile(f"({data['trailing_words']})+$"),
        link_noise=re.compile(data["link_noise_words"]),
        follow_up=re.compile(data["follow_up_words"]),
        whole_budget=tuple(data["whole_budget"]),
        collections=tuple((c["rows"], re.compile(c["pattern"]), re.compile(c["unless"]) if c.get("unless") else None)
                          for c in data["collection"]),
    )


def load_lexicon(knowledge_dir: Path) -> Lexicon:
    words = _read(knowledge_dir / "lexicon.toml")
    measures = _read(knowledge_dir / "measures.toml")
    intents = _read(knowledge_dir / "intents.toml")
    table = {
        m["name"]: Measure(m["name"], m["ref"], m.get("by_unit"), m.get("parent"), tuple(m.get("parts", ())), dict(m.get("columns", {})))
        for m in measures["measure"]
    }
    for measure in table.values():
        unknown = [p for p in (measure.parent, *measure.parts) if p and p not in table]
        if unknown:
            raise ValueError(f"measures.toml: {measure.name} names unknown measures {unknown}")
    return Lexicon(
        synonyms={k: tuple(v) for k, v in words["synonyms"].items()},
        own_unit=tuple(words["units"]["own"]),
        typos=dict(words.get("typos", {})),
        english=dict(words.get("english", {})),
        measures=table,
        intents=tuple((i["name"], re.compile(i["pattern"])) for i in intents["intent"]),
        phrases=_phrases(_read(knowledge_dir / "phrases.toml")),
        classes=_read(knowledge_dir / "classification.toml"),
        out_of_scope=tuple((re.compile(o["pattern"], re.IGNORECASE), o["message"]) for o in intents["out_of_scope"]),
    )

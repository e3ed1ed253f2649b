"""The hand-kept knowledge under knowledge/: synonyms, measures, operators and phrases, read once."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Measure:
    name: str
    ref: dict
    by_unit: dict | None
    parent: str | None
    parts: tuple[str, ...]
    columns: dict[str, str]  # table -> column path ("a + b" adds columns) on subject/item rows
    unit_difference: tuple[str, ...] = ()  # a unit's figure as measure a − measure b, when no table splits it by unit


@dataclass(frozen=True)
class Phrases:
    """Words of questions themselves, from knowledge/phrases.toml."""

    question: re.Pattern
    trailing: re.Pattern
    link_noise: re.Pattern
    kind_words: re.Pattern
    section_words: dict[str, str]  # words that name a narrative heading otherwise (职责 → 主要职责)
    indicator_noise: re.Pattern
    absence: re.Pattern  # a sentence that says something is not there (无使用政府性基金…的支出)
    whole_budget: tuple[str, ...]
    collections: tuple[tuple[str, re.Pattern, re.Pattern | None], ...]  # rows, pattern, unless
    collection_tables: dict[str, str]  # a table whose rows are those of a collection


@dataclass(frozen=True)
class Operators:
    """What questions ask for, from knowledge/operators.toml."""

    cues: tuple[tuple[str, re.Pattern, float], ...]  # operation, cue, weight
    modifiers: dict[str, tuple[str, ...]]  # operation -> row-set operations it only narrows
    roles: dict[str, re.Pattern]
    recall: dict[str, int]  # 两者 -> 2 ("这几" -> 0: all recent)
    project_types: dict[str, str]
    counters: dict[str, str]  # 车 → 辆: the counter a noun is counted in (how many 公务用车)
    absent: tuple[tuple[re.Pattern, str], ...]  # pattern, what the disclosure does not hold
    followup: dict[str, re.Pattern]  # words of the follow-up rules (bot/dialogue.py)
    bounds: dict[str, re.Pattern]  # words of amount limits (bot/parse.py amount_bounds)

    @property
    def operations(self) -> set[str]:
        return {name for name, _, _ in self.cues} | set(self.modifiers)


@dataclass(frozen=True)
class Lexicon:
    synonyms: dict[str, tuple[str, ...]]
    own_unit: tuple[str, ...]
    unit_heads: tuple[str, ...]  # what a unit's name ends with (中心, 站): names the unit when it is the only such
    typos: dict[str, str]
    english: dict[str, str]
    measures: dict[str, Measure]
    operators: Operators
    phrases: Phrases
    classes: dict[str, dict[str, str]]  # scheme (func/econ) -> 类 code -> name
    out_of_scope: tuple[tuple[re.Pattern, str], ...]  # pattern, why it is out of scope
    wording: dict[str, str]  # "section.name" -> answer template (knowledge/wording.toml)
    org_shorten: dict[str, str] = field(default_factory=dict)  # 委员会 -> 委: how department names are said shorter
    org_ends: tuple[str, ...] = ()  # what a department's name ends with
    org_across: re.Pattern | None = None  # words that ask across the loaded departments
    org_particles: tuple[str, ...] = ()  # words said before a department's name

    def inside(self, name: str, whole: str) -> bool:
        """Whether measure `name` is (a part of a part of …) measure `whole`."""
        parent = self.measures[name].parent if name in self.measures else None
        return parent is not None and (parent == whole or self.inside(parent, whole))


def _read(path: Path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def _phrases(data: dict) -> Phrases:
    return Phrases(
        question=re.compile(data["question_words"]),
        trailing=re.compile(f"({data['trailing_words']})+$"),
        link_noise=re.compile(data["link_noise_words"]),
        kind_words=re.compile(data["kind_words"]),
        section_words=dict(data.get("section_words", {})),
        indicator_noise=re.compile(data["indicator_noise"]),
        absence=re.compile(data["absence_words"]),
        whole_budget=tuple(data["whole_budget"]),
        collections=tuple((c["rows"], re.compile(c["pattern"]), re.compile(c["unless"]) if c.get("unless") else None)
                          for c in data["collection"]),
        collection_tables={c["table"]: c["rows"] for c in data["collection"] if c.get("table")},
    )


def _operators(data: dict) -> Operators:
    roles = data["roles"]
    return Operators(
        cues=tuple((op["name"], re.compile(cue), float(weight)) for op in data["operation"] for cue, weight in op["cues"]),
        modifiers={k: tuple(v) for k, v in data.get("modifiers", {}).items()},
        roles={k: re.compile(v) for k, v in roles.items() if isinstance(v, str)},
        recall=dict(roles.get("recall", {})),
        project_types=dict(roles.get("project_types", {})),
        counters=dict(roles.get("counters", {})),
        absent=tuple((re.compile(a["pattern"]), a["what"]) for a in data.get("absent", ())),
        followup={k: re.compile(v) for k, v in data["followup"].items()},
        bounds={k: re.compile(v) for k, v in data["bounds"].items()},
    )


def load_lexicon(knowledge_dir: Path) -> Lexicon:
    words = _read(knowledge_dir / "lexicon.toml")
    measures = _read(knowledge_dir / "measures.toml")
    scope = _read(knowledge_dir / "scope.toml")
    table = {
        m["name"]: Measure(m["name"], m["ref"], m.get("by_unit"), m.get("parent"), tuple(m.get("parts", ())),
                           dict(m.get("columns", {})), tuple(m.get("unit_difference", ())))
        for m in measures["measure"]
    }
    for measure in table.values():
        unknown = [p for p in (measure.parent, *measure.parts, *measure.unit_difference) if p and p not in table]
        if unknown:
            raise ValueError(f"measures.toml: {measure.name} names unknown measures {unknown}")
    return Lexicon(
        synonyms={k: tuple(v) for k, v in words["synonyms"].items()},
        own_unit=tuple(words["units"]["own"]),
        unit_heads=tuple(words["units"]["heads"]),
        typos=dict(words.get("typos", {})) | dict(words.get("colloquial", {})),
        english=dict(words.get("english", {})) | dict.fromkeys(words.get("english_filler", {}).get("words", ()), ""),
        org_shorten=dict(words.get("organisations", {}).get("shorten", {})),
        org_ends=tuple(words.get("organisations", {}).get("ends", ())),
        org_across=re.compile(words["organisations"]["across"]) if words.get("organisations", {}).get("across") else None,
        org_particles=tuple(words.get("organisations", {}).get("particles", ())),
        measures=table,
        operators=_operators(_read(knowledge_dir / "operators.toml")),
        phrases=_phrases(_read(knowledge_dir / "phrases.toml")),
        classes=_read(knowledge_dir / "classification.toml"),
        out_of_scope=tuple((re.compile(o["pattern"], re.IGNORECASE), o["message"]) for o in scope["out_of_scope"]),
        wording={f"{section}.{name}": text for section, names in _read(knowledge_dir / "wording.toml").items()
                 for name, text in names.items()},
    )

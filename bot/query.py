"""The typed query between understanding and answering.

`bot/parse.py` builds one `Query` from a question (and the conversation); the executors that
bot/executors.py names answer it without reading the question text again. A `Query` is frozen:
a follow-up makes a new one with `dataclasses.replace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from bot.catalog import Entity

# What a question can ask for; each has one executor in bot/executors.py (loaded and convert: bot/core.py).
OPERATIONS = (
    "value", "list", "count", "rank", "sum", "difference", "ratio", "share", "exclusion", "average",
    "change", "previous", "check", "reason", "definition", "describe", "attribute", "code", "indicators", "loaded", "convert",
)


@dataclass(frozen=True)
class Operand:
    """One thing a computation reads: a row-like subject, a column-like measure, a unit scope."""

    role: str  # item | part | whole | left | right | minuend | subtrahend | recall | unknown_whole
    subject: Entity | None = None  # project, unit, subject code, economic item, overview row, class …
    measure: str | None = None  # a measure name (人员经费 …) read in the subject's row; alone: words for a narrative amount
    unit: Entity | None = None  # the unit whose figure it is (大数据中心, 本级); None: the department
    top: int | None = None  # "X中最大的(N个)": the largest N rows of the query's row set; recall: how many
    items: tuple[Entity, ...] = ()  # several things added up ("A和B加起来占…")


@dataclass(frozen=True)
class Bounds:
    """Amount limits on a row set: 50万以上, 超过5万元 (strict), 30万到60万之间."""

    low: Decimal | None
    low_strict: bool
    high: Decimal | None
    high_strict: bool
    unit: str
    label: str  # as the answer says it: 超过5.00万元


@dataclass(frozen=True)
class RowSet:
    """The rows a list, count, ranking or average is over."""

    dimension: str  # a collection of knowledge/phrases.toml (项目, 所属单位, 功能科目 …) or "class"
    group: Entity | None = None  # a 类 whose subjects are listed (201 一般公共服务支出)
    unit: Entity | None = None  # projects of one unit
    project_type: str | None = None  # 特定目标类 | 其他运转类
    measure: str | None = None  # the column rows are ordered by (项目支出最多的科目)
    bounds: Bounds | None = None
    name_contains: str | None = None  # 名称里带“系统”的
    exclude: tuple[str, ...] = ()  # names left out ("除了X")
    by_row: bool = False  # rows as printed (单行最大的), not the rows of one code added up


@dataclass(frozen=True)
class Ordering:
    descending: bool = True
    top: int | None = None  # 前N
    nth: int | None = None  # 第N (1-based)
    whole: bool = False  # 排序 / 从大到小: every row, in order
    total: bool = False  # 前三加起来: also their sum


@dataclass(frozen=True)
class Query:
    operation: str
    operands: tuple[Operand, ...] = ()
    rows: RowSet | None = None
    order: Ordering = field(default_factory=Ordering)
    document: int | None = None
    documents: tuple[int, ...] = ()  # growth over years, comparisons over departments
    years: tuple[int, ...] = ()
    display_unit: str | None = None  # 元 | 千元 | 万元 | 亿元 when asked for
    absent: str | None = None  # an attribute the disclosure does not hold (中标单位, 品牌 …)
    out_of_scope: str | None = None  # why the question is outside the disclosure
    words: str = ""  # content words no name covers: matched against headings and narrative
    word_parts: tuple[str, ...] = ()  # the content words split at 和/与/及/、 (several things asked of the prose)
    table: str | None = None  # a table the question points at ("基本支出表里")
    scheme: str | None = None  # func | econ: which classification a code question means
    level: str | None = None  # 成本 | 产出 | 效益 | 满意度: a level of performance indicators
    counted: str | None = None  # the counter of a count asked of the narrative (辆, 台, 个 …)
    noun: str | None = None  # what is counted (几个科室 → 科室)
    stated: tuple[Decimal, str] | None = None  # an amount the question states (…加起来是428.76吗), with its unit
    asks_amount: bool = False  # 多少 / 几: a number is wanted
    mentions: tuple = ()  # the linked names (bot.understand.Mention), in the order said
    codes: tuple[str, ...] = ()  # codes typed (2013704, 30101)
    flags: frozenset[str] = frozenset()  # role words present (knowledge/operators.toml [roles])
    unknown: tuple[str, ...] = ()  # content words nothing accounts for
    confidence: float = 1.0
    alternatives: tuple[str, ...] = ()  # other operations nearly as likely
    from_context: tuple[str, ...] = ()  # slots filled from the conversation

    def of(self, *kinds: str) -> list[Entity]:
        """Linked entities of the given kinds, in the order said."""
        return [m.entity for m in self.mentions if m.entity.kind in kinds]

    def describe(self) -> dict:
        """A plain dict for --explain and the session (entities by kind, name and code)."""

        def entity(e: Entity | None) -> dict | None:
            return None if e is None else {"kind": e.kind, "name": e.name, "code": e.code}

        def operand(o: Operand) -> dict:
            return {"role": o.role, "subject": entity(o.subject), "measure": o.measure, "unit": entity(o.unit),
                    "top": o.top, "items": [entity(e) for e in o.items]}

        rows = None
        if self.rows is not None:
            r = self.rows
            bounds = r.bounds and [str(r.bounds.low) if r.bounds.low is not None else None, r.bounds.low_strict,
                                   str(r.bounds.high) if r.bounds.high is not None else None, r.bounds.high_strict,
                                   r.bounds.unit, r.bounds.label]
            rows = {"dimension": r.dimension, "group": entity(r.group), "unit": entity(r.unit), "type": r.project_type,
                    "measure": r.measure, "bounds": bounds, "name_contains": r.name_contains, "exclude": list(r.exclude), "by_row": r.by_row}
        return {
            "operation": self.operation, "operands": [operand(o) for o in self.operands], "rows": rows,
            "order": dict(vars(self.order)), "document": self.document, "documents": list(self.documents),
            "years": list(self.years), "display_unit": self.display_unit,
            "absent": self.absent, "out_of_scope": self.out_of_scope, "words": self.words, "word_parts": list(self.word_parts), "table": self.table,
            "scheme": self.scheme, "level": self.level, "counted": self.counted, "noun": self.noun,
            "stated": [str(self.stated[0]), self.stated[1]] if self.stated else None, "unknown": list(self.unknown),
            "mentions": [{"said": m.text, "start": m.start, "score": m.score, **entity(m.entity)} for m in self.mentions],
            "codes": list(self.codes), "flags": sorted(self.flags), "asks_amount": self.asks_amount,
            "confidence": self.confidence, "alternatives": list(self.alternatives), "from_context": list(self.from_context),
        }

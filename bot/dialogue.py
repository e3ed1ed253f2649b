"""What a conversation remembers, and the rules that let a follow-up leave things out.

`Dialogue` is typed and stored as a plain dict by the session stores. A follow-up is parsed
like any question; the rules below then fill the slots it leaves empty from the dialogue, in
this order, and say which slot came from the conversation (`Query.from_context`):

| rule        | the question                              | what is filled in                                  |
|-------------|-------------------------------------------|----------------------------------------------------|
| replay      | 换成元 / 用亿元                            | the last query again, in the unit asked for        |
| retry_year  | 那2024年呢 (after a year not loaded)       | the refused query, for the document's year         |
| nth         | 第2个呢                                   | the 2nd row of the last list                       |
| pointed     | 它…, 这个项目…, 表里呢, or nothing new named | the last thing answered                            |
| share_of    | 占…多少 naming only the whole              | the last thing answered, as the part               |
| crossed     | (其中/那)公用经费呢 after a subject          | that subject, read in the measure's column         |
| for_unit    | 那大数据中心呢 after a measure               | that measure, for the unit                         |
| unit_kept   | 项目支出呢 after a unit                     | that unit                                          |
| same_asking | 那X呢 after a share, list, count …         | the last operation, for X                          |
| rows_kept   | 其中最便宜的, 这几个加起来 after a list      | the last list's rows                               |

Role words of the rules ("呢", "那", "其中", "它" …) are in knowledge/operators.toml [followup].
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal

from bot.catalog import Catalog, Entity
from bot.lexicon import Lexicon
from bot.query import Bounds, Operand, Ordering, Query, RowSet
from bot.understand import Mention, Parse

FOLLOWUP_WORDS = ("among", "asks_value", "each", "filler", "follow_on", "inside", "nth", "numbering", "pronoun", "table", "then", "these",
                  "years", "yes_no")
FIRST_OPERATIONS = ("share", "list", "count", "indicators", "change")  # kept by "那X呢"


@dataclass
class Dialogue:
    """The state of one conversation between questions."""

    document: int | None = None  # documents.id of the last question
    unit: str | None = None  # display unit the user asked for
    focus: dict | None = None  # the last single thing answered: kind, name, code, unit (code)
    recent: list = field(default_factory=list)  # the last five things answered, [kind, name, code]
    topic: str | None = None  # what the last narrative answer was about
    rows: list = field(default_factory=list)  # names of the last listed rows
    row_cells: list = field(default_factory=list)  # [table, row, line] of the first 20, for citations
    row_values: list = field(default_factory=list)  # their exact amounts in row_unit
    row_unit: str | None = None  # the unit they were shown in
    last: dict | None = None  # the last query (Query.describe())
    blocked: dict | None = None  # the last query refused for its year
    answer: dict | None = None  # the last answer, for /source

    @classmethod
    def from_dict(cls, data: dict) -> "Dialogue":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def to_dict(self) -> dict:
        return asdict(self)


# ----- restoring a stored query ------------------------------------------------------------
def _entity(data: dict | None, catalog: Catalog) -> Entity | None:
    return catalog.find(data["kind"], data["name"], data.get("code")) if data else None


def restore(data: dict, catalog: Catalog) -> Query | None:
    """The `Query` a `Query.describe()` dict was made from, with entities found again in `catalog`; None for
    a dict an older version stored (a session that outlived an upgrade simply has no last query)."""
    try:
        return _restore(data, catalog)
    except (KeyError, TypeError, ValueError):
        return None


def _restore(data: dict, catalog: Catalog) -> Query:
    operands = tuple(Operand(o["role"], subject=_entity(o["subject"], catalog), measure=o["measure"],
                             unit=_entity(o["unit"], catalog), top=o["top"],
                             items=tuple(e for e in (_entity(i, catalog) for i in o["items"]) if e is not None))
                     for o in data["operands"])
    rows = None
    if data["rows"]:
        r = data["rows"]
        bounds = None
        if r["bounds"]:
            low, low_strict, high, high_strict, unit, label = r["bounds"]
            bounds = Bounds(Decimal(low) if low else None, low_strict, Decimal(high) if high else None, high_strict, unit, label)
        rows = RowSet(r["dimension"], group=_entity(r["group"], catalog), unit=_entity(r["unit"], catalog),
                      project_type=r["type"], measure=r["measure"], bounds=bounds, name_contains=r["name_contains"],
                      exclude=tuple(r["exclude"]), by_row=r["by_row"])
    mentions = tuple(Mention(e, m["said"], m["start"], m["score"]) for m in data["mentions"]
                     if (e := catalog.find(m["kind"], m["name"], m.get("code"))) is not None)
    return Query(
        operation=data["operation"], operands=operands, rows=rows, order=Ordering(**data["order"]),
        document=data["document"], documents=tuple(data["documents"]), years=tuple(data["years"]),
        display_unit=data["display_unit"], absent=data["absent"], words=data["words"], word_parts=tuple(data["word_parts"]),
        table=data["table"], scheme=data["scheme"], level=data["level"], counted=data["counted"], noun=data["noun"],
        stated=(Decimal(data["stated"][0]), data["stated"][1]) if data["stated"] else None,
        asks_amount=data["asks_amount"], mentions=mentions, codes=tuple(data["codes"]), flags=frozenset(data["flags"]),
        unknown=tuple(data["unknown"]), confidence=data["confidence"], alternatives=tuple(data["alternatives"]),
    )


# ----- the rules ------------------------------------------------------------------------------
@dataclass
class FollowUp:
    """What the rules decided: a stored query to answer again, or an operation to keep; and what came from context."""

    replay: Query | None = None
    operation: str | None = None
    rows: RowSet | None = None
    filled: list[str] = field(default_factory=list)


class Rules:
    """Applies the table above to one parsed question."""

    def __init__(self, parse: Parse, operation: str, dialogue: Dialogue, catalog: Catalog, lexicon: Lexicon) -> None:
        self.p, self.op, self.d, self.c, self.lex = parse, operation, dialogue, catalog, lexicon
        self.words = lexicon.operators.followup
        self.result = FollowUp()

    def has(self, name: str) -> bool:
        return bool(self.words[name].search(self.p.text))

    def fill(self, slot: str, entity: Entity, at_end: bool = False) -> None:
        focus = self.d.focus or {}
        said = focus.get("said") if (focus.get("kind"), focus.get("name")) == (entity.kind, entity.name) else None
        mention = Mention(entity, said or entity.name, len(self.p.text) if at_end else 0, 100)
        if at_end:
            self.p.mentions.append(mention)
        else:
            self.p.mentions.insert(0, mention)
        self.result.filled.append(f"{slot}:{entity.name}")

    def elliptical(self) -> bool:
        """Nothing new is named: what is left once follow-up words and years go is at most one character."""
        residue = self.words["filler"].sub("", self.words["years"].sub("", self.p.text))
        return len(residue) <= 1 or self.has("pronoun")

    def only_asking(self) -> bool:
        """Whether the question is its operation's cue words and nothing else (主要干啥用, 为什么)."""
        text = self.p.text
        for name, cue, _ in self.lex.operators.cues:
            if name == self.op:
                text = cue.sub("", text)
        return len(self.words["filler"].sub("", self.lex.phrases.question.sub("", text))) <= 1

    def apply(self) -> FollowUp:
        for rule in (self.replay, self.retry_year, self.nth, self.about_focus, self.unit_kept, self.same_asking,
                     self.rows_kept):
            rule()
            if self.result.replay is not None:
                break
        return self.result

    def replay(self) -> None:
        last = restore(self.d.last, self.c) if self.op == "convert" and self.d.last else None
        if last is not None:
            self.result.replay = replace(last, display_unit=self.p.unit, from_context=("query",))

    def retry_year(self) -> None:
        if self.d.blocked and self.p.years == [self.c.year] and self.elliptical() and not self.p.mentions:
            refused = restore(self.d.blocked, self.c)
            if refused is not None:
                self.result.replay = replace(refused, years=(self.c.year,), out_of_scope=None, document=self.c.doc_id,
                                             from_context=("query", "years"))

    def nth(self) -> None:
        found = self.words["nth"].search(self.p.text)
        if not found or self.p.mentions or not self.d.rows:
            return
        index = int(found.group(1)) - 1
        if 0 <= index < len(self.d.rows):
            name = self.words["numbering"].sub("", self.d.rows[index]).strip()
            entity = next((e for e in self.c.entities if e.name == name and e.kind != "term"), None)
            if entity is not None:
                self.fill("subject", entity)
                self.result.operation = "value"

    def focused(self) -> Entity | None:
        focus = self.d.focus
        return self.c.find(focus["kind"], focus["name"], focus.get("code")) if focus else None

    def row_of(self, entity: Entity) -> Entity | None:
        """The row a measure's column is read in: a subject, an item, or the 类 an overview row names."""
        return entity if entity.kind in ("func", "econ", "class") else self.c.class_of(entity) if entity.kind == "row" else None

    def about_focus(self) -> None:
        focused = self.focused()
        if focused is None or self.p.out_of_scope or ((self.has("among") or self.has("these")) and self.d.rows):
            return
        for rule in (self.pointed, self.share_of, self.crossed, self.for_unit, self.rows_of):
            if rule(focused):
                return

    def pointed(self, focused: Entity) -> bool:
        """它…, 表里呢, or nothing new named: the question is about the last thing answered."""
        counting_the_list = self.op == "count" and self.d.rows
        asks_of_it = self.op in ("describe", "reason", "attribute") and self.only_asking()  # 主要干啥用
        if not self.p.mentions and ((self.elliptical() or asks_of_it) and not counting_the_list or self.has("table")):
            self.p.mentions[:] = []
            self.fill("subject", focused)
            return True
        return False

    def share_of(self, focused: Entity) -> bool:
        """占全部门多少 naming only the whole: the last thing answered is the part."""
        mentions = self.p.mentions
        if self.op == "share" and self.p.text.startswith("占") and len(mentions) <= 1 and not (mentions and mentions[0].entity is focused):
            self.fill("part", focused)
            self._fill_focus_unit()
            return True
        if self.op == "share" and not mentions and self.elliptical():  # … 其中大数据中心的项目多少 … 占比多少
            self.fill("part", focused)
            self._fill_focus_unit()
            return True
        return False

    def _fill_focus_unit(self) -> None:
        code = (self.d.focus or {}).get("unit")
        unit = next((e for e in self.c.entities if code and e.kind == "unit" and e.code == code), None)
        if unit is not None:
            self.fill("unit", unit)

    def crossed(self, focused: Entity) -> bool:
        """行政运行 … (其中)公用经费(呢); 科学技术支出 … 其中人员经费: that row read in the measure's column."""
        row = self.row_of(focused)
        mentions = self.p.mentions
        if (self.has("among") or self.has("then") or self.has("each")) and row and mentions and all(
                m.entity.kind == "measure" and self.lex.measures[m.entity.name].columns for m in mentions):
            self.fill("subject", row)
            return True
        return False

    def rows_of(self, focused: Entity) -> bool:
        """社会保障和就业支出多少 … 里面最大的是哪一项 / 具体都有哪些; 项目支出多少 … 分成哪几类: the rows under
        the last thing answered, or the parts of the measure it was."""
        row = self.row_of(focused)
        if self.op not in ("rank", "list", "count") or self.p.mentions:
            return False
        parts = focused.kind == "measure" and self.lex.measures[focused.name].parts
        asked = self.has("inside") or self.op == "list" and self.only_asking()
        if asked and (row is not None or parts and self.op == "list"):
            self.fill("subject", row or focused)
            return True
        return False

    def for_unit(self, focused: Entity) -> bool:
        """人员经费 … 那大数据中心呢: the same measure, for the unit."""
        mentions = self.p.mentions
        if self.has("then") and mentions and all(m.entity.kind == "unit" for m in mentions) \
                and focused.kind in ("measure", "func", "econ") and self.op == "value":
            self.fill("measure", focused, at_end=True)
            return True
        return False

    def unit_kept(self) -> None:
        focus = self.d.focus
        code = (focus.get("unit") or (focus["code"] if focus["kind"] == "unit" else None)) if focus else None
        if code and not self.p.of("unit") and self.p.mentions and (self.has("among") or self.has("then")) and all(
                m.entity.kind == "measure" for m in self.p.mentions):  # 大数据中心多少 … 项目支出呢
            unit = next((e for e in self.c.entities if e.kind == "unit" and e.code == code), None)
            if unit is not None:
                self.fill("unit", unit)

    def same_asking(self) -> None:
        last = (self.d.last or {}).get("operation")
        rest = self.p.text
        for m in self.p.mentions:
            rest = rest.replace(m.text, "")
        said_more = len(self.lex.phrases.question.sub("", self.words["filler"].sub("", self.words["years"].sub("", rest)))) > 2
        if self.op == "value" and self.p.mentions and self.has("follow_on") and last in FIRST_OPERATIONS \
                and not said_more and not self.has("yes_no") and not self.has("asks_value"):
            self.result.operation = last
            self.result.filled.append(f"operation:{last}")

    def rows_kept(self) -> None:
        last = self.d.last or {}
        ranks_them = self.op == "rank" and (last.get("rows") or {}).get("unit") is not None  # 大数据中心有几个项目 … 金额最少的是哪个
        shares_them = self.op == "share" and self.has("each")  # 三公经费哪项最多 … 各占多少
        if last.get("rows") and not self.p.mentions and (self.has("among") or self.has("these") or ranks_them or shares_them) \
                and self.op in ("rank", "sum", "count", "average", "list", "share"):
            kept = restore(last, self.c)
            if kept is not None:
                self.result.rows = kept.rows
                self.result.filled.append("rows")


def follow_up(parse: Parse, operation: str, dialogue: Dialogue, catalog: Catalog, lexicon: Lexicon) -> FollowUp:
    """Fill what a follow-up leaves out (the parse's mentions are completed in place)."""
    return Rules(parse, operation, dialogue, catalog, lexicon).apply()

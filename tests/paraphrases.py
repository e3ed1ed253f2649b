"""Generated questions for metamorphic tests: one intended query, many surface forms.

Each `Case` is built from the database with plain SQL (never through the parser or the executors):
what is asked, and the figures any right answer must contain. `variants` writes a case out in many
ways people type (synonyms, particles, word order, punctuation, years, traditional characters,
full-width digits, typos, English); every variant must parse to the same query and give those figures.
Used by tests/test_paraphrases.py and benchmarks/bench_paraphrases.py.
"""

from __future__ import annotations

import random
import sqlite3
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import opencc

from bot.lexicon import Lexicon

_S2T = opencc.OpenCC("s2t")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Case:
    kind: str
    forms: tuple[str, ...]  # templates already filled with one name per slot
    names: tuple[tuple[str, ...], ...]  # for each slot: the canonical name and the synonyms that may replace it
    expected: frozenset[Decimal]


def _one(conn: sqlite3.Connection, sql: str, *args) -> Decimal | None:
    row = conn.execute(sql, args).fetchone()
    return Decimal(row[0]) if row and row[0] is not None else None


def measure_value(conn: sqlite3.Connection, ref: dict) -> Decimal | None:
    """A measure's department figure, read as knowledge/measures.toml names it (table, side, row, canonical column)."""
    for label in (ref["row"].split("|") if ref["row"] else [None]):
        value = _one(conn, "SELECT f.value FROM facts f JOIN tables t ON t.id = f.table_id WHERE t.name = ? AND f.canon = ? "
                           "AND (? IS NULL OR f.side = ?) AND (? IS NULL OR f.label = ? OR f.row_label = ?) ORDER BY f.line",
                     ref["table"], ref["column"], ref.get("side"), ref.get("side"), label, label, label)
        if value is not None:
            return value
    return None


def names_of(lexicon: Lexicon, name: str) -> tuple[str, ...]:
    return (name,) + tuple(s for s in lexicon.synonyms.get(name, ()) if s.isascii() is False and len(s) >= 2)


def measure_cases(conn: sqlite3.Connection, lexicon: Lexicon) -> list[Case]:
    cases = []
    values = {name: measure_value(conn, m.ref) for name, m in lexicon.measures.items()}
    for name, value in values.items():
        if value is None or name.startswith("其中"):
            continue
        cases.append(Case("value", ("{0}多少", "{0}是多少", "{0}预算有多少", "{0}安排了多少钱", "请问{0}是多少"),
                          (names_of(lexicon, name),), frozenset({value})))
        parent = lexicon.measures[name].parent
        if parent and values.get(parent):
            share = (value / values[parent] * 100).quantize(CENT, rounding=ROUND_HALF_UP)
            cases.append(Case("share", ("{0}占{1}多少", "{0}占{1}的比例是多少", "{0}在{1}中的占比", "{0}占{1}百分之几",
                                        "{0}占{1}的比重多大"),
                              (names_of(lexicon, name), names_of(lexicon, parent)), frozenset({value, values[parent], share})))
    return cases


def project_cases(conn: sqlite3.Connection, rng: random.Random) -> list[Case]:
    projects = [(n, Decimal(v)) for n, v in conn.execute("SELECT name, value FROM projects ORDER BY id")]
    unique = [p for p in projects if sum(q[0] == p[0] for q in projects) == 1]
    cases = [Case("value", ("{0}多少钱", "{0}的预算是多少", "{0}安排了多少", "{0}花多少钱"), ((name,),), frozenset({value}))
             for name, value in unique]
    pairs = [(a, b) for a in unique for b in unique if a[0] < b[0] and a[1] != b[1]]
    for (a, va), (b, vb) in rng.sample(pairs, min(12, len(pairs))):
        cases.append(Case("difference", ("{0}比{1}多多少", "{0}和{1}差多少", "{0}与{1}相差多少", "{0}和{1}哪个多"),
                          ((a,), (b,)), frozenset({va, vb, abs(va - vb)})))
        cases.append(Case("sum", ("{0}和{1}加起来多少", "{0}加{1}一共多少", "{0}与{1}合计多少", "{0}和{1}加起来一共多少钱"),
                          ((a,), (b,)), frozenset({va, vb, va + vb})))
    values = sorted((v for _, v in projects), reverse=True)
    cases.append(Case("rank", ("哪个项目钱最多", "预算最多的项目是哪个", "金额最大的项目", "哪个项目花钱最多"), (), frozenset({values[0]})))
    cases.append(Case("rank", ("哪个项目钱最少", "预算最少的项目是哪个", "金额最小的项目"), (), frozenset({values[-1]})))
    cases.append(Case("rank", ("前3个项目", "最大的前3个项目", "金额前3的项目"), (), frozenset(values[:3])))
    cases.append(Case("count", ("有几个项目", "项目有多少个", "一共有几个项目", "总共多少个项目", "how many projects"), (),
                      frozenset({Decimal(len(projects))})))
    for n, word in ((2, "二"), (3, "三")):
        cases.append(Case("rank", (f"第{n}多的项目", f"预算第{word}多的项目是哪个", f"金额排第{n}的项目", f"第{n}大的项目"), (),
                          frozenset({values[n - 1]})))
    for bound in (Decimal(5), Decimal(50)):
        above = sum(v > bound for v in values)
        cases.append(Case("count", (f"超过{bound}万元的项目有几个", f"多于{bound}万的项目有多少个", f"大于{bound}万元的项目几个"),
                          (), frozenset({Decimal(above)})))
        at_most = sum(v <= bound for v in values)
        cases.append(Case("count", (f"不超过{bound}万元的项目有几个", f"{bound}万元及以下的项目有多少个", f"至多{bound}万的项目几个"),
                          (), frozenset({Decimal(at_most)})))
    return cases


def unit_cases(conn: sqlite3.Connection) -> list[Case]:
    cases = []
    for code, name, short in conn.execute("SELECT code, name, short_name FROM units WHERE is_department = 0 AND is_own = 0"):
        total = _one(conn, "SELECT f.value FROM facts f JOIN tables t ON t.id = f.table_id WHERE t.name = '部门收入总体情况表' "
                           "AND f.canon = 'amount' AND f.unit_code = ? AND f.row_kind = 'unit'", code)
        count = conn.execute("SELECT COUNT(*) FROM projects WHERE unit_code = ?", (code,)).fetchone()[0]
        if total is not None:
            cases.append(Case("value", ("{0}预算多少", "{0}一共多少钱", "{0}的预算是多少"), ((name, short),), frozenset({total})))
        if count:
            cases.append(Case("count", ("{0}有几个项目", "{0}的项目有多少个"), ((name, short),), frozenset({Decimal(count)})))
    return cases


def all_cases(conn: sqlite3.Connection, lexicon: Lexicon, seed: int = 0) -> list[Case]:
    rng = random.Random(seed)
    return measure_cases(conn, lexicon) + project_cases(conn, rng) + unit_cases(conn)


# ----- surface forms -------------------------------------------------------------------------
PREFIXES = ("", "", "请问", "我想知道", "帮我查一下", "想问下")
SUFFIXES = ("", "", "？", "?", "啊", "呀？", "。")
YEARS = ("", "", "2024年", "二〇二四年", "今年")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "0" <= c <= "9" else c for c in text)


def variant(case: Case, rng: random.Random, lexicon: Lexicon) -> str:
    """One way of writing the case: a template, a name per slot, and the typing habits around it."""
    names = [rng.choice(slot) for slot in case.names]
    text = rng.choice(case.forms).format(*names)
    if case.kind == "value" and rng.random() < 0.5:
        text = rng.choice(YEARS) + text
    text = rng.choice(PREFIXES) + text + rng.choice(SUFFIXES)
    roll = rng.random()
    if roll < 0.15:
        text = _S2T.convert(text)
    elif roll < 0.25:
        text = _full_width(text)
    elif roll < 0.35:
        for typo, meant in lexicon.typos.items():
            if meant in text:
                text = text.replace(meant, typo, 1)
                break
    if rng.random() < 0.1:
        text = text.replace("多少", " 多少 ")
    return unicodedata.normalize("NFC", text)


def generate(cases: list[Case], lexicon: Lexicon, count: int, seed: int = 0) -> list[tuple[Case, str, str]]:
    """(case, plain form, variant) triples; the plain form is the case's first template, first names."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        case = cases[i % len(cases)]
        plain = case.forms[0].format(*(slot[0] for slot in case.names))
        out.append((case, plain, variant(case, rng, lexicon)))
    return out


def query_key(described: dict | None) -> tuple:
    """What must not change between paraphrases: the operation, what it is over, the rows and the order."""
    if not described:
        return ()
    subjects = sorted(f"{o['subject']['kind']}:{o['subject']['name']}" if o["subject"] else f"measure:{o['measure']}"
                      for o in described["operands"])
    rows = described["rows"]["dimension"] if described["rows"] else None
    order = described["order"]
    return described["operation"], tuple(subjects), rows, order["descending"], order["top"], order["nth"]


@dataclass
class Report:
    total: int = 0
    same_query: int = 0
    right_figures: int = 0
    wrong: list = None  # (variant, plain, reason)

    def line(self) -> str:
        return (f"{self.total} 个生成问题：查询一致 {self.same_query}（{self.same_query / self.total:.2%}），"
                f"数字正确 {self.right_figures}（{self.right_figures / self.total:.2%}）")


def run(assistant, triples: list[tuple[Case, str, str]]) -> Report:
    """Parse each variant and its plain form, answer the variant, and compare with the SQL figures."""
    report = Report(wrong=[])
    plain_keys: dict[str, tuple] = {}
    for case, plain, text in triples:
        report.total += 1
        if plain not in plain_keys:
            plain_keys[plain] = query_key(assistant.explain(plain)["query"])
        explained = assistant.explain(text)
        same = query_key(explained["query"]) == plain_keys[plain]
        values = {Decimal(f["value"]) for f in explained["answer"]["figures"]}
        right = explained["answer"]["status"] == "answered" and case.expected <= values
        report.same_query += same
        report.right_figures += right
        if not (same and right):
            report.wrong.append((text, plain, "query" if not same else "figures", explained["answer"]["text"][:80]))
    return report

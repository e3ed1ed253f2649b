"""Knowledge files checked once at start-up: a name that names nothing is an error, not a silent no-op."""

from __future__ import annotations

import logging

from bot.catalog import Catalog, norm
from bot.dialogue import FOLLOWUP_WORDS
from bot.executors import EXECUTORS, STORE_WIDE
from bot.lexicon import Lexicon
from bot.listings import COLLECTIONS
from bot.parse import BOUND_WORDS, PROJECTS, ROLES, TOTALS
from bot.query import OPERATIONS
from db.columns import column_rules
from db.template import load_template

log = logging.getLogger(__name__)


class KnowledgeError(ValueError):
    """A knowledge file refers to something that does not exist."""


def _operation_problems(lexicon: Lexicon) -> list[str]:
    """Every operation the knowledge names has an executor, and every executor a declared operation."""
    problems = [f"operators.toml：操作“{op}”没有执行器" for op in sorted(lexicon.operators.operations - set(EXECUTORS) - set(STORE_WIDE))]
    problems += [f"bot/executors.py：操作“{op}”没有在 bot/query.py 中声明" for op in sorted(set(EXECUTORS) - set(OPERATIONS))]
    return problems


def _measure_problems(lexicon: Lexicon) -> list[str]:
    known = {rule.id for rule in column_rules()}
    problems = []
    for m in lexicon.measures.values():
        columns = [m.ref["column"]] + ([m.by_unit["column"]] if m.by_unit else [])
        columns += [c.strip() for path in m.columns.values() for c in path.split("+")]
        problems += [f"measures.toml：{m.name} 的栏目“{c}”不是 columns.toml 中的规范栏目" for c in columns if c not in known]
    problems += [f"measures.toml：缺少代码按名使用的口径“{name}”" for name in (*TOTALS, PROJECTS) if name not in lexicon.measures]
    return problems


def _name_problems(lexicon: Lexicon) -> list[str]:
    ops = lexicon.operators
    problems = [f"operators.toml [roles]：缺少 {name}" for name in ROLES if name not in ops.roles]
    problems += [f"operators.toml [followup]：缺少 {name}" for name in FOLLOWUP_WORDS if name not in ops.followup]
    problems += [f"operators.toml [bounds]：缺少 {name}" for name in BOUND_WORDS if name not in ops.bounds]
    problems += [f"phrases.toml [[collection]]：没有名为“{rows}”的行集" for rows, _, _ in lexicon.phrases.collections
                 if rows not in COLLECTIONS]
    standard = {table.name for table in load_template().tables}
    problems += [f"phrases.toml [[collection]]：没有名为“{table}”的标准表" for table in lexicon.phrases.collection_tables
                 if table not in standard]
    return problems


def unnamed_synonyms(lexicon: Lexicon, catalogs: list[Catalog], named: set[str] = frozenset()) -> list[str]:
    """Synonym keys that name no measure, no 类 and nothing in any loaded document (or in `named`)."""
    names = set(lexicon.measures) | {n for scheme in lexicon.classes.values() for n in scheme.values()} | set(named)
    names |= {norm(e.name) for c in catalogs for e in c.entities} | {e.name for c in catalogs for e in c.entities}
    return sorted(k for k in lexicon.synonyms if k not in names and norm(k) not in names)


def check_knowledge(lexicon: Lexicon, catalogs: list[Catalog], named: set[str] = frozenset()) -> None:
    """Raise KnowledgeError for references to nothing; log synonyms no loaded document has (they are
    national names a document may lack, so they warn rather than stop a service)."""
    problems = _operation_problems(lexicon) + _measure_problems(lexicon) + _name_problems(lexicon)
    if problems:
        raise KnowledgeError("知识文件有误：" + "；".join(problems))
    unused = unnamed_synonyms(lexicon, catalogs, named) if catalogs or named else []
    if unused:
        log.warning("lexicon.toml 中这些同义词在已加载的文件里没有对应：%s", "、".join(unused))

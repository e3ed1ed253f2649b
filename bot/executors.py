"""Operation → executor: the one table that says which code answers which kind of question.

Each executor is a method of `Composer` (bot/compose.py and its parts) that reads only the
`Query`, the document and the conversation state. A new operation is a new entry here plus its
cues in knowledge/operators.toml; bot/validate.py refuses cues that name no executor.
"""

from __future__ import annotations

from typing import Callable

from bot.answer import Answer
from bot.compose import Composer

EXECUTORS: dict[str, Callable[[Composer], Answer]] = {
    "value": Composer.figure_answer, "list": Composer.list_answer, "count": Composer.count_answer,
    "rank": Composer.rank_answer, "sum": Composer.sum_answer, "difference": Composer.compare_answer,
    "ratio": Composer.ratio_answer, "share": Composer.share_answer, "exclusion": Composer.minus_answer,
    "average": Composer.average_answer, "check": Composer.check_answer, "change": Composer.change_answer, "previous": Composer.previous_answer,
    "reason": Composer.reason_answer, "definition": Composer.definition_answer, "describe": Composer.describe_answer,
    "attribute": Composer.attribute_answer, "code": Composer.code_answer, "indicators": Composer.performance_answer,
}
# Over several documents: two years of one department, or several departments.
ACROSS_YEARS: dict[str, Callable[[Composer], Answer]] = {
    op: Composer.growth_answer for op in ("value", "change", "previous", "difference")}
ACROSS_DEPARTMENTS: dict[str, Callable[[Composer], Answer]] = {
    "value": Composer.departments_rank_answer, "rank": Composer.departments_rank_answer,
    "difference": Composer.departments_compare_answer, "sum": Composer.departments_sum_answer,
    "list": Composer.departments_having_answer,
}
STORE_WIDE = ("loaded", "convert")  # answered by the core from every document or from the conversation


def execute(composer: Composer) -> Answer:
    """The executor of the query's operation; over several documents, the one that reads them all."""
    operation, docs = composer.q.operation, composer.docs
    if len(docs) >= 2:
        across = ACROSS_YEARS if len({d.department for d in docs}) == 1 else ACROSS_DEPARTMENTS
        if operation not in across:  # an answer from one document would pass for all of them
            return composer.not_found(composer.say("across.unsupported"))
        return across[operation](composer)
    return EXECUTORS[operation](composer)

"""The answer object every channel renders: status, text, figures, citations."""

from __future__ import annotations

from dataclasses import dataclass, field

ANSWERED = "answered"
CLARIFY = "clarify"
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class Figure:
    """One number shown in an answer: read from a cell, or computed by `formula`."""

    value: str  # decimal text exactly as shown in the answer, e.g. "4.30"
    unit: str  # 万元, 元, 亿元, %, 个, 辆 ...
    table: str | None = None
    row: str | None = None
    column: str | None = None
    formula: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Citation:
    """Where a stated fact was read: document, table (or section), row label, source line."""

    document: str
    table: str
    row: str | None = None
    line: int | None = None
    page: int | None = None  # page of a PDF source
    url: str | None = None  # the source opened at that page: the official address or the app's copy


@dataclass
class Answer:
    status: str
    text: str
    figures: list[Figure] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    session_id: str | None = None
    id: str | None = None  # opaque and unguessable: feedback and exports name the answer by it
    chart: dict | None = None  # bars over some of `figures` (bot/charts.py), for rankings and breakdowns

    def to_dict(self) -> dict:
        """The JSON shape every channel sends (dataclasses.asdict is ten times slower here)."""
        return {
            "status": self.status, "text": self.text,
            "figures": [dict(vars(f)) for f in self.figures], "citations": [dict(vars(c)) for c in self.citations],
            "suggestions": list(self.suggestions), "options": list(self.options), "session_id": self.session_id,
            "id": self.id, "chart": self.chart,
        }


def combine(answers: list[Answer]) -> Answer:
    """One answer to a message that asked several questions: each part in turn, all figures and citations."""
    if len(answers) == 1:
        return answers[0]
    answered = [a for a in answers if a.status == ANSWERED]
    status = ANSWERED if answered else answers[0].status
    citations = list(dict.fromkeys(c for a in answers for c in a.citations))
    return Answer(status, "\n\n".join(a.text for a in answers), [f for a in answers for f in a.figures], citations,
                  answers[-1].suggestions, [o for a in answers for o in a.options])

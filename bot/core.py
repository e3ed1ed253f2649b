"""The answering core: one path from a question to an Answer, shared by every channel."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import uuid
from pathlib import Path

from decimal import Decimal

from bot.answer import ANSWERED, NOT_FOUND, Answer, Citation
from bot.catalog import Catalog
from bot.compose import DEFAULT_SUGGESTIONS, Composer
from bot.config import Settings
from bot.lexicon import Lexicon, load_lexicon
from bot.normalize import normalize
from bot.render import computed
from bot.segment import build_tokenizer, segment
from bot.sessions import MemorySessionStore, SessionStore
from bot.understand import Parse, understand

log = logging.getLogger(__name__)
_HANDLERS = {
    "share": Composer.share_answer, "compare": Composer.compare_answer, "rank": Composer.rank_answer,
    "list": Composer.list_answer, "count": Composer.count_answer, "code": Composer.code_answer,
    "definition": Composer.definition_answer, "performance": Composer.performance_answer,
}


class Assistant:
    """Holds the database, the lexicon and the tokenizer, built once; answers questions."""

    def __init__(self, db_path: Path, lexicon: Lexicon, cache_dir: Path, sessions: SessionStore | None = None) -> None:
        self.conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        self.lexicon = lexicon
        self.sessions = sessions or MemorySessionStore()
        ids = [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY year DESC, id")]
        self.catalogs = [Catalog(self.conn, doc_id, lexicon) for doc_id in ids]
        words = {alias for cat in self.catalogs for e in cat.entities for alias in e.aliases}
        self.tokenizer = build_tokenizer(words, cache_dir)

    @classmethod
    def open(cls, settings: Settings) -> "Assistant":
        """Build the database from the bundled sources if needed, then load everything once."""
        from db.load import ensure_database

        ensure_database(settings.db_path, settings.sources_dir)
        return cls(settings.db_path, load_lexicon(settings.knowledge_dir), settings.cache_dir)

    def overview(self) -> list[dict]:
        return [
            {"document": c.source, "department": c.department, "year": c.year, "kind": c.kind,
             "tables": [{"name": t["name"], "title": t["title"], "unit": t["unit"],
                         "rows": self.conn.execute("SELECT COUNT(*) FROM rows WHERE table_id = ?", (t["id"],)).fetchone()[0]}
                        for t in c.tables.values()]}
            for c in self.catalogs
        ]

    def last_answer(self, session_id: str) -> Answer | None:
        data = self.sessions.get(session_id).get("answer")
        if not data:
            return None
        from bot.answer import Figure
        return Answer(**{**data, "figures": [Figure(**f) for f in data["figures"]],
                         "citations": [Citation(**c) for c in data["citations"]]})

    def answer(self, question: str, session_id: str | None = None) -> Answer:
        """Answer one question in a session; never raises."""
        session_id = session_id or uuid.uuid4().hex
        state = self.sessions.get(session_id)
        try:
            with self.lock:
                answer, explain = self._answer(question if isinstance(question, str) else "", state)
        except Exception:  # one bad question must not take the channel down
            log.exception("answering failed for %r", question[:200] if isinstance(question, str) else question)
            answer = Answer(NOT_FOUND, "抱歉，这个问题处理时出错了。请换个说法再问。", suggestions=DEFAULT_SUGGESTIONS[:3])
        answer.session_id = session_id
        if answer.status == ANSWERED or answer.options:
            state["answer"] = answer.to_dict()
        self.sessions.put(session_id, state)
        return answer

    def explain(self, question: str) -> dict:
        """How a question is understood: tokens, linked entities with scores, intent, what was read."""
        state: dict = {}
        with self.lock:
            answer, parse = self._answer(question, state)
        return {
            "tokens": parse.tokens if parse else [], "intent": parse.intent if parse else None,
            "entities": [{"kind": m.entity.kind, "name": m.entity.name, "code": m.entity.code, "matched": m.text, "score": m.score}
                         for m in (parse.mentions if parse else [])],
            "years": parse.years if parse else [], "unit": parse.unit if parse else None,
            "out_of_scope": parse.out_of_scope if parse else None,
            "rows_read": [c.__dict__ for c in answer.citations], "answer": answer.to_dict(),
        }

    def _answer(self, question: str, state: dict) -> tuple[Answer, Parse | None]:
        if not self.catalogs:
            return Answer(NOT_FOUND, "还没有加载任何预算公开文件。请先运行 budgetbot ingest。"), None
        normalized = normalize(question, self.lexicon.typos, self.lexicon.english)
        if not any(ch.isalnum() for ch in normalized.text):
            return Answer(NOT_FOUND, "请输入一个关于部门预算的问题，例如“三公经费多少”。", suggestions=DEFAULT_SUGGESTIONS[:3]), None
        catalog = self._catalog(normalized.text)
        tokens = segment(self.tokenizer, normalized.text)
        parse = understand(normalized, catalog, self.lexicon, tokens)
        self._follow_up(parse, catalog, state)
        composer = Composer(catalog, parse, state)
        if parse.out_of_scope:
            return composer.not_found(parse.out_of_scope), parse
        if parse.unit:
            state["unit"] = parse.unit
        if parse.intent == "loaded":
            return self._loaded(composer), parse
        if parse.intent in ("change", "why"):
            found = composer.narrative_answer(why=parse.intent == "why")
            return (found or composer.not_found("公开文件没有说明这一点。")), parse
        if parse.intent == "sum" and state.get("list_total") and not parse.mentions:
            unit = state.get("unit") or "万元"
            composer.figures.append(computed(Decimal(state["list_total"]), unit, "上一回答所列各项金额之和"))
            return composer.answer(f"以上合计 {state['list_total']} {unit}。"), parse
        handler = _HANDLERS.get(parse.intent or "", Composer.figure_answer)
        answer = handler(composer)
        if answer.status == NOT_FOUND and handler is not Composer.figure_answer and parse.mentions:
            answer = Composer(catalog, parse, state).figure_answer()
        if answer.status == NOT_FOUND and not parse.mentions:
            answer = composer.narrative_answer() or answer
        return answer, parse

    def _catalog(self, text: str) -> Catalog:
        for catalog in self.catalogs:
            if catalog.department in text or any(str(catalog.year) in text and len(self.catalogs) > 1 for _ in [0]):
                return catalog
        return self.catalogs[0]

    def _follow_up(self, parse: Parse, catalog: Catalog, state: dict) -> None:
        """Fill what a short follow-up leaves out from the session's previous question."""
        focus = state.get("focus")
        if parse.intent == "convert" and state.get("question"):
            previous = normalize(state["question"], self.lexicon.typos, self.lexicon.english)
            previous.unit = parse.unit
            again = understand(previous, catalog, self.lexicon, parse.tokens)
            parse.mentions, parse.intent = again.mentions, again.intent
            return
        residue = re.sub(r"[的吗呢啊了是有那么\s?？,，。]|多少|什么|为什么|为啥|其中|占比|比例|编码|代码|增加|增长|几个|加起来|换成|预算|指标|绩效|呢", "", parse.text)
        elliptical = len(residue) <= 4
        if not parse.mentions and focus and not parse.out_of_scope and elliptical:
            entity = next((e for e in catalog.entities if e.kind == focus["kind"] and e.name == focus["name"]), None)
            if entity is not None:
                from bot.understand import Mention
                parse.mentions = [Mention(entity, entity.name, 0, 100)]
                if focus.get("unit"):
                    unit = next((e for e in catalog.entities if e.kind == "unit" and e.code == focus["unit"]), None)
                    if unit is not None and unit is not entity:
                        parse.mentions.insert(0, Mention(unit, unit.name, 0, 100))
        if parse.intent is None and state.get("intent") in ("share", "list", "count", "code", "performance") and parse.mentions:
            parse.intent = state["intent"]
        if not parse.out_of_scope:
            state["intent"] = parse.intent
            state["question"] = parse.text

    def _loaded(self, composer: Composer) -> Answer:
        lines = []
        for doc in self.overview():
            tables = "、".join(t["name"] for t in doc["tables"])
            units = "、".join(sorted({t["unit"] for t in doc["tables"]}))
            lines.append(f"· {doc['department']} {doc['year']}年部门{doc['kind']}（{doc['document']}，金额单位：{units}）：{tables}")
        return Answer(ANSWERED, "已加载的预算公开文件：\n" + "\n".join(lines),
                      citations=[Citation(d["document"], "文档", d["department"], None) for d in self.overview()],
                      suggestions=DEFAULT_SUGGESTIONS[:3])

"""The answering core: one path from a question to an Answer, shared by every channel."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
import uuid
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from bot.answer import ANSWERED, CLARIFY, NOT_FOUND, Answer, Citation, Figure
from bot.catalog import Catalog
from bot.compose import DEFAULT_SUGGESTIONS, Composer
from bot.config import Settings
from bot.documents import resolve
from bot.executors import check_operations, execute
from bot.lexicon import Lexicon, load_lexicon
from bot.normalize import MAX_CHARS, Normalized, normalize
from bot.parse import Parser, choose_operation
from bot.query import Query
from bot.segment import build_tokenizer, segment
from bot.sessions import MemorySessionStore, SessionStore, SqliteSessionStore
from bot.understand import Mention, Parse, understand

log = logging.getLogger(__name__)
UNDERSTOOD_CACHE = 4096  # questions whose understanding is kept (popular questions repeat)


class Assistant:
    """Holds the database, the lexicon and the tokenizer, built once; answers questions."""

    def __init__(self, db_path: Path, lexicon: Lexicon, cache_dir: Path, sessions: SessionStore | None = None) -> None:
        self.conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        check_operations(lexicon)
        self.lexicon = lexicon
        self.sessions = sessions or MemorySessionStore()
        ids = [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY year DESC, id")]
        self.catalogs = [Catalog(self.conn, doc_id, lexicon) for doc_id in ids]
        # names and years of every loaded document: a question naming another of them is in scope
        self.loaded = frozenset().union(*(c.department_names | {str(c.year)} for c in self.catalogs)) if len(self.catalogs) > 1 else frozenset()
        words = set().union(*(catalog.vocabulary() for catalog in self.catalogs))
        self.tokenizer = build_tokenizer(words, cache_dir)
        self._understood: OrderedDict[tuple[int, str], Parse] = OrderedDict()
        self._normal: OrderedDict[str, Normalized] = OrderedDict()
        self._overview = self._read_overview()

    @classmethod
    def open(cls, settings: Settings) -> "Assistant":
        """Build the database from the bundled sources if needed, then load everything once."""
        from db.load import ensure_database

        ensure_database(settings.db_path, settings.sources_dir)
        sessions = SqliteSessionStore(settings.sessions_path) if settings.sessions_path else None
        return cls(settings.db_path, load_lexicon(settings.knowledge_dir), settings.cache_dir, sessions)

    def overview(self) -> list[dict]:
        """Loaded documents and their tables with row counts (read once: the database is read-only)."""
        return self._overview

    def _read_overview(self) -> list[dict]:
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
        return Answer(**{**data, "figures": [Figure(**f) for f in data["figures"]],
                         "citations": [Citation(**c) for c in data["citations"]]})

    def answer(self, question: str, session_id: str | None = None) -> Answer:
        """Answer one question in a session; never raises."""
        session_id = session_id or uuid.uuid4().hex
        question = question if isinstance(question, str) else ""
        state = self.sessions.get(session_id)
        try:
            if len(question) > MAX_CHARS:
                answer = Answer(NOT_FOUND, f"问题太长了（{len(question)} 字），请控制在 {MAX_CHARS} 字以内。",
                                suggestions=DEFAULT_SUGGESTIONS[:3])
            else:
                with self.lock:
                    answer, _, _ = self._answer(question, state)
        except Exception:  # one bad question must not take the channel down
            log.exception("answering failed for %r", question[:200])
            answer = Answer(NOT_FOUND, "抱歉，这个问题处理时出错了。请换个说法再问。", suggestions=DEFAULT_SUGGESTIONS[:3])
        answer.session_id = session_id
        answer.suggestions = [s for s in answer.suggestions if s != question.strip()][:3]
        if answer.status == ANSWERED or answer.options:
            state["answer"] = answer.to_dict()
        else:
            state.pop("answer", None)  # /source must not show the citation of an earlier question
        self.sessions.put(session_id, state)
        return answer

    def explain(self, question: str) -> dict:
        """How a question is understood: tokens, the typed query (and what came from context), what was read."""
        state: dict = {}
        with self.lock:
            answer, parse, query = self._answer(question, state)
        return {
            "tokens": parse.tokens if parse else [], "query": query.describe() if query else None,
            "rows_read": [c.__dict__ for c in answer.citations], "answer": answer.to_dict(),
        }

    def _answer(self, question: str, state: dict) -> tuple[Answer, Parse | None, Query | None]:
        if not self.catalogs:
            return Answer(NOT_FOUND, "还没有加载任何预算公开文件。请先运行 budgetbot ingest。"), None, None
        normalized = self._normalized(question)
        if not any(ch.isalnum() for ch in normalized.text):
            return Answer(NOT_FOUND, "请输入一个关于部门预算的问题，例如“三公经费多少”。", suggestions=DEFAULT_SUGGESTIONS[:3]), None, None
        scope = resolve(normalized.text, normalized.years, self.catalogs, state.get("doc"))
        catalog = scope.main
        if catalog is None:
            options = [f"{c.department}{c.year}年{c.kind}：{question.strip()}" for c in self.catalogs]
            return Answer(CLARIFY, "已加载多个部门或年度的预算，请问你问的是哪一份？", options=options[:8]), None, None
        state["doc"] = catalog.doc_id
        cached = self._understand(question, normalized, catalog)
        parse = replace(cached, mentions=list(cached.mentions))  # follow-ups edit the parse; the cache keeps its own
        override = self._follow_up(parse, catalog, state)
        query = Parser(parse, catalog, self.lexicon).query(override, tuple(c.doc_id for c in scope.documents))
        composer = Composer(catalog, query, state, scope.documents)
        if query.out_of_scope:
            return composer.not_found(query.out_of_scope), parse, query
        if query.absent:
            return composer.absent_answer(), parse, query
        if query.display_unit:
            state["unit"] = query.display_unit
        if query.operation == "loaded":
            return self._loaded(), parse, query
        return execute(composer), parse, query

    def _normalized(self, question: str) -> Normalized:
        """Normalised once per distinct question text (a copy, since follow-ups may change it)."""
        cached = self._normal.get(question)
        if cached is None:
            cached = self._normal[question] = normalize(question, self.lexicon.typos, self.lexicon.english)
            if len(self._normal) > UNDERSTOOD_CACHE:
                self._normal.popitem(last=False)
        return replace(cached, years=list(cached.years))

    def _understand(self, question: str, normalized: Normalized, catalog: Catalog) -> Parse:
        """Segment and link a question against one document; the same words mean the same, so it is cached."""
        key = (catalog.doc_id, question)
        cached = self._understood.get(key)
        if cached is not None:
            self._understood.move_to_end(key)
            return cached
        parse = understand(normalized, catalog, self.lexicon, segment(self.tokenizer, normalized.text), self.loaded)
        self._understood[key] = parse
        if len(self._understood) > UNDERSTOOD_CACHE:
            self._understood.popitem(last=False)
        return parse

    def _follow_up(self, parse: Parse, catalog: Catalog, state: dict) -> str | None:
        """Fill in what a short follow-up leaves out, from the session's previous questions; returns
        the operation the follow-up keeps, when it keeps the previous one."""
        focus = state.get("focus")
        intent, _, _ = choose_operation(parse.text, self.lexicon)
        override = None
        if intent == "convert" and state.get("question"):
            previous = normalize(state["question"], self.lexicon.typos, self.lexicon.english)
            previous.unit = parse.unit
            again = understand(previous, catalog, self.lexicon, parse.tokens)
            parse.mentions, parse.text = again.mentions, again.text
            return state.get("intent")
        residue = self.lexicon.phrases.follow_up.sub("", re.sub(r"(?:19|20)\d{2}\s*年?", "", parse.text))
        # a follow-up names nothing new: what is left once follow-up words go is at most one character
        elliptical = len(residue) <= 1 or bool(re.search(r"它|该项目|这个项目|这项|该科目|这个科目", parse.text))
        if state.get("blocked") and parse.years == [catalog.year] and elliptical and not parse.mentions:
            retry = normalize(re.sub(r"(?:19|20)\d{2}\s*年?", f"{catalog.year}年", state["blocked"]), self.lexicon.typos, self.lexicon.english)
            again = understand(retry, catalog, self.lexicon, parse.tokens)  # 那2024年呢: the question asked for another year
            parse.mentions, parse.text = again.mentions, again.text
            parse.years = [catalog.year]
            intent, _, _ = choose_operation(parse.text, self.lexicon)
        nth = re.search(r"第(\d+)(?:个|名|项)", parse.text)
        if nth and not parse.mentions and state.get("list"):
            index = int(nth.group(1)) - 1
            if 0 <= index < len(state["list"]):
                name = re.sub(r"^\d+ ", "", state["list"][index])
                entity = next((e for e in catalog.entities if e.name == name and e.kind != "term"), None)
                if entity is not None:  # and the question becomes that name, so "换成元" can replay it
                    parse.mentions, parse.text = [Mention(entity, entity.name, 0, 100)], entity.name
                    intent = "value"
        focused = catalog.find(focus["kind"], focus["name"]) if focus else None
        if focused is not None and not parse.out_of_scope:
            pointing_at_table = re.search(r"表里|表中|那张表|这张表", parse.text)
            share_of = intent == "share" and parse.text.startswith("占") and len(parse.mentions) == 1
            counting_the_list = intent == "count" and state.get("list")
            if (not parse.mentions and elliptical and not counting_the_list) or pointing_at_table:
                parse.mentions = [Mention(focused, focused.name, 0, 100)]
            elif share_of and parse.mentions[0].entity is not focused:
                parse.mentions.insert(0, Mention(focused, focused.name, 0, 100))
            elif re.search(r"^其中|^那|呢[?？]?$", parse.text) and focused.kind in ("func", "econ") and parse.mentions and all(
                    m.entity.kind == "measure" and self.lexicon.measures[m.entity.name].columns for m in parse.mentions):
                parse.mentions.insert(0, Mention(focused, focused.name, 0, 100))  # 行政运行 … (其中)公用经费(呢)
            elif re.search(r"呢[?？]?$|^那", parse.text) and parse.mentions and all(m.entity.kind == "unit" for m in parse.mentions) \
                    and focused.kind in ("measure", "func", "econ") and intent == "value":
                parse.mentions.append(Mention(focused, focused.name, len(parse.text), 100))  # 人员经费 … 那大数据中心呢
        focus_unit = (focus.get("unit") or (focus["code"] if focus["kind"] == "unit" else None)) if focus else None
        if focus_unit and not parse.of("unit") and parse.mentions and re.search(r"^其中|^那|呢[?？]?$", parse.text) and all(
                m.entity.kind == "measure" for m in parse.mentions):  # 大数据中心多少 … 项目支出呢
            unit = next((e for e in catalog.entities if e.kind == "unit" and e.code == focus_unit), None)
            if unit is not None:
                parse.mentions.insert(0, Mention(unit, unit.name, 0, 100))
        follow_on = re.search(r"呢[?？]?$|^那|^还有", parse.text)  # 那大数据中心呢: same question, new subject
        if intent == "value" and parse.mentions and follow_on and state.get("intent") in ("share", "list", "count", "indicators", "change"):
            override = intent = state["intent"]
        if not parse.out_of_scope:
            state["intent"] = intent
            state["question"] = parse.text
            state.pop("blocked", None)
        else:
            state["blocked"] = parse.text
        return override

    def _loaded(self) -> Answer:
        lines, figures = [], []
        for doc in self._overview:
            tables = "、".join(t["name"] for t in doc["tables"])
            units = "、".join(sorted({t["unit"] for t in doc["tables"]}))
            lines.append(f"· {doc['department']} {doc['year']}年部门{doc['kind']}（{doc['document']}，金额单位：{units}）："
                         f"共 {len(doc['tables'])} 张表：{tables}")
            figures.append(Figure(str(len(doc["tables"])), "张", None, None, None, f"{doc['document']} 已加载的表数", None))
        return Answer(ANSWERED, "已加载的预算公开文件：\n" + "\n".join(lines), figures=figures,
                      citations=[Citation(d["document"], f"{d['department']}{d['year']}年部门{d['kind']}", None, 1) for d in self._overview],
                      suggestions=DEFAULT_SUGGESTIONS[:3])

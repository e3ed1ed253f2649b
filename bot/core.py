"""The answering core: one path from a question to an Answer, shared by every channel."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import time
import uuid
from collections import OrderedDict
from contextlib import suppress
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from bot.answer import ANSWERED, CLARIFY, NOT_FOUND, Answer, Citation, Figure, combine
from bot.catalog import Catalog, norm
from bot.charts import chart_of
from bot.compose import DEFAULT_SUGGESTIONS, Composer
from bot.config import Settings
from bot.dialogue import Dialogue, follow_up
from bot.documents import NameIndex, resolve
from bot.executors import execute
from bot.lexicon import Lexicon, load_lexicon
from bot.normalize import MAX_CHARS, Normalized, normalize
from bot.parse import TOTALS, Parser, choose_operation, skeleton
from bot.query import Query
from bot.segment import build_tokenizer, segment
from bot.sessions import MemorySessionStore, SessionStore
from bot.stores import open_sessions
from bot.question_log import QuestionLog, open_log
from bot.understand import Parse, not_understood, understand
from bot.validate import check_knowledge
from db.load import SCHEMA_VERSION

log = logging.getLogger(__name__)
_CLAUSE_END = re.compile(r"(?<=[？?；;！!。，,])")
_PROSE = ("describe", "reason", "definition", "attribute", "indicators")  # a part after a comma that asks these is a question of its own
_COMPUTING = ("ratio", "difference", "share")  # 多多少？是几倍？: a second computation over the same things
_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone surrogate ("\\ud800" in JSON) is not text
UNDERSTOOD_CACHE = 4096  # questions whose understanding is kept (popular questions repeat)


def _without_departments(normalized: Normalized, said: tuple[tuple[int, int], ...]) -> Normalized:
    """The question with the departments it names blanked: 司法局 says which document, not the 司法 subject."""
    if not said:
        return normalized
    text = normalized.text
    for start, end in reversed(said):
        text = text[:start] + " " * (end - start) + text[end:]
    return replace(normalized, text=text)


class Assistant:
    """Holds the database, the lexicon and the tokenizer, built once; answers questions."""

    def __init__(self, db_path: Path, lexicon: Lexicon, cache_dir: Path, sessions: SessionStore | None = None,
                 question_log: QuestionLog | None = None) -> None:
        self.conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.Lock()
        self.lexicon = lexicon
        self.sessions = sessions or MemorySessionStore()
        self.question_log = question_log
        ids = [r[0] for r in self.conn.execute("SELECT id FROM documents ORDER BY year DESC, id")]
        self.catalogs = [Catalog(self.conn, doc_id, lexicon) for doc_id in ids]
        self.by_source = {c.source: c for c in self.catalogs}
        self.names = NameIndex(self.catalogs, lexicon.org_ends, lexicon.org_across, lexicon.org_particles)
        check_knowledge(lexicon, [])  # references to nothing stop the start; unmatched synonyms warn when indexed
        # names of every loaded document: a question naming another of them is in scope; years count per department
        self.loaded = frozenset().union(*(c.department_names for c in self.catalogs)) if len(self.catalogs) > 1 else frozenset()
        self.years: dict[str, frozenset[str]] = {}
        for c in self.catalogs:
            self.years[c.department] = self.years.get(c.department, frozenset()) | {str(c.year)}
        self.tokenizer = build_tokenizer(self._vocabulary(cache_dir), cache_dir)
        self._understood: OrderedDict[tuple[int, str], Parse] = OrderedDict()
        self._normal: OrderedDict[str, Normalized] = OrderedDict()

    def _vocabulary(self, cache_dir: Path) -> set[str]:
        """Every loaded document's names for the segmenter. Building them means indexing every document,
        so the words are kept in the cache, keyed by what was loaded and by the lexicon: a new process
        then indexes only the documents its questions read. Knowledge is checked when they are built."""
        key = hashlib.sha256(json.dumps([
            SCHEMA_VERSION, [c.doc["sha256"] for c in self.catalogs], sorted(self.lexicon.synonyms.items()),
            sorted(self.lexicon.typos.items()), sorted(self.lexicon.measures), sorted(self.lexicon.org_shorten.items()),
        ], ensure_ascii=False).encode("utf-8")).hexdigest()[:16]
        path = cache_dir / f"vocabulary-{key}.txt"
        try:
            return set(path.read_text(encoding="utf-8").split("\n")) - {""}
        except OSError:
            pass
        words: set[str] = set()
        named: set[str] = set()
        for catalog in self.catalogs:  # one index at a time: a province's indexes at once would not fit
            words |= catalog.vocabulary()
            named |= {n for e in catalog.entities for n in (e.name, norm(e.name))}
            catalog.forget_index()
        check_knowledge(self.lexicon, [], named)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp.write_text("\n".join(sorted(words)), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as error:  # a read-only or full cache costs the next start its head start, nothing else
            log.warning("无法写入缓存 %s（%s）：下次启动会慢一些", cache_dir, error.strerror or error)
            with suppress(OSError):
                tmp.unlink()
        return words

    @classmethod
    def open(cls, settings: Settings, sessions: SessionStore | None = None) -> "Assistant":
        """Build the database from the bundled sources if needed, then load everything once."""
        from db.ingest import ensure_database

        ensure_database(settings.db_path, settings.sources_dir)
        return cls(settings.db_path, load_lexicon(settings.knowledge_dir), settings.cache_dir,
                   sessions or open_sessions(settings), open_log(settings))

    @cached_property
    def version(self) -> str:
        """Which loaded documents this assistant serves: a short hash of their contents."""
        shas = sorted(c.doc["sha256"] for c in self.catalogs)
        return hashlib.sha256("".join(shas).encode()).hexdigest()[:12]

    @cached_property
    def _overview(self) -> list[dict]:
        counts = dict(self.conn.execute("SELECT table_id, COUNT(*) FROM rows GROUP BY table_id"))
        return [
            {"document": c.source, "department": c.department, "year": c.year, "kind": c.kind,
             **{k: c.doc[k] for k in ("family", "scope", "page_count", "url")},
             "tables_separate": bool(c.doc["tables_separate"]), "skipped": json.loads(c.doc["skipped"]),
             "tables": [{"name": t["name"], "title": t["title"], "unit": t["unit"], "rows": counts.get(t["id"], 0)}
                        for t in c.tables.values()]}
            for c in self.catalogs
        ]

    def overview(self) -> list[dict]:
        """Loaded documents and their tables with row counts (read when first asked: the database is read-only)."""
        with self.lock:
            return self._overview

    def last_answer(self, session_id: str) -> Answer | None:
        data = Dialogue.from_dict(self.sessions.get(session_id)).answer
        if not data:
            return None
        return Answer(**{**data, "figures": [Figure(**f) for f in data["figures"]],
                         "citations": [Citation(**c) for c in data["citations"]]})

    def answer(self, question: str, session_id: str | None = None, owner: str = "", channel: str = "") -> Answer:
        """Answer one question in a session; never raises. `owner` is the client it comes from (a chat, an
        address: the session store's quota and, hashed, the log's user); `channel` is logged with it."""
        started = time.perf_counter()
        understood: list[tuple[Parse | None, Query | None]] = []
        session_id = _SURROGATE.sub("\ufffd", session_id) if session_id else uuid.uuid4().hex
        question = _SURROGATE.sub("\ufffd", question) if isinstance(question, str) else ""  # no channel can print those
        dialogue = Dialogue.from_dict(self.sessions.get(session_id))
        try:
            if len(question) > MAX_CHARS:
                answer = Answer(NOT_FOUND, f"问题太长了（{len(question)} 字），请控制在 {MAX_CHARS} 字以内。",
                                suggestions=DEFAULT_SUGGESTIONS[:3])
            else:
                with self.lock:
                    results = [self._answer(clause, dialogue) for clause in self._clauses(question, dialogue)]
                answer = combine([a for a, _, _ in results])
                understood = [(parse, query) for _, parse, query in results]
        except Exception:  # one bad question must not take the channel down
            log.exception("answering failed for %r", question[:200])
            answer = Answer(NOT_FOUND, "抱歉，这个问题处理时出错了。请换个说法再问。", suggestions=DEFAULT_SUGGESTIONS[:3])
        answer.session_id = session_id
        answer.id = secrets.token_urlsafe(16)
        answer.chart = chart_of(answer) if answer.status == ANSWERED else None
        self._locate(answer)
        answer.suggestions = [s for s in answer.suggestions if s != question.strip()][:3]
        # /source shows the last answer's citations; never those of an earlier question
        dialogue.answer = answer.to_dict() if answer.status == ANSWERED or answer.options else None
        self.sessions.put(session_id, dialogue.to_dict(), owner or session_id)
        if self.question_log is not None:
            self._record(question, answer, understood, owner or session_id, channel, time.perf_counter() - started)
        return answer

    def _record(self, question: str, answer: Answer, understood: list, owner: str, channel: str, took: float) -> None:
        """One entry of the question log: the question, its typed queries, what was not understood, the answer.
        Only queued here; the log's writer thread builds it."""
        log, now = self.question_log, time.time()

        def entry() -> dict:
            return {
                "id": answer.id, "time": now, "channel": channel or "other", "user": log.user_key(owner),
                "question": question[:2000], "status": answer.status, "text": answer.text[:4000],
                "query": [q.describe() for _, q in understood if q is not None],
                "unknown": list(dict.fromkeys(w for p, _ in understood if p is not None for w in not_understood(p))),
                "documents": list(dict.fromkeys(c.document for c in answer.citations)),
                "figures": [dict(vars(f)) for f in answer.figures],
                "citations": [dict(vars(c)) for c in answer.citations],
                "elapsed_ms": round(took * 1000, 3),
            }

        log.record_later(answer.id, entry)

    def finish(self) -> None:
        """Write what the question log still holds (before the process exits)."""
        if self.question_log is not None:
            self.question_log.flush()

    def source_path(self, name: str) -> Path | None:
        """The file a loaded PDF was read from, by its document name; None when unknown or gone."""
        catalog = self.by_source.get(name)
        if catalog is None or not catalog.is_pdf:
            return None
        path = Path(catalog.doc["source_path"])
        return path if path.is_file() else None

    def say(self, key: str, **fields) -> str:
        """A sentence of knowledge/wording.toml, filled in."""
        return self.lexicon.wording[key].format(**fields)

    def _locate(self, answer: Answer) -> None:
        """Give each citation of a PDF source its page and a link that opens the source there."""
        located = []
        for citation in answer.citations:
            catalog = self.by_source.get(citation.document)
            if catalog is not None and catalog.is_pdf and citation.page is None:
                page = catalog.page_of(citation.line)
                citation = replace(citation, page=page, url=catalog.page_url(page))
            located.append(citation)
        answer.citations = located

    def explain(self, question: str) -> dict:
        """How a question is understood: tokens, the typed query (and what came from context), what was read."""
        with self.lock:
            answer, parse, query = self._answer(question, Dialogue())
        self._locate(answer)
        return {
            "tokens": parse.tokens if parse else [], "query": query.describe() if query else None,
            "rows_read": [c.__dict__ for c in answer.citations], "answer": answer.to_dict(),
        }

    def _answer(self, question: str, dialogue: Dialogue) -> tuple[Answer, Parse | None, Query | None]:
        if not self.catalogs:
            return Answer(NOT_FOUND, "还没有加载任何预算公开文件。请先运行 budgetbot ingest。"), None, None
        normalized = self._normalized(question)
        if not any(ch.isalnum() for ch in normalized.text):
            return Answer(NOT_FOUND, "请输入一个关于部门预算的问题，例如“三公经费多少”。", suggestions=DEFAULT_SUGGESTIONS[:3]), None, None
        scope = resolve(normalized.text, normalized.years, self.catalogs, dialogue.document, self.names)
        catalog = scope.main
        if catalog is None and scope.unknown:
            names = "、".join(dict.fromkeys(c.department for c in self.catalogs[:6]))
            text = self.say("documents.not_loaded", name=scope.unknown, n=len({c.department for c in self.catalogs}), names=names)
            return Answer(NOT_FOUND, text, suggestions=DEFAULT_SUGGESTIONS[:3]), None, None
        if catalog is None:
            options = [f"{c.department}{c.year}年{c.kind}：{question.strip()}" for c in scope.candidates or self.catalogs]
            return Answer(CLARIFY, "已加载多个部门或年度的预算，请问你问的是哪一份？", options=options[:8]), None, None
        dialogue.document = catalog.doc_id
        normalized = _without_departments(normalized, scope.said)
        cached = self._understand(normalized, catalog)
        parse = replace(cached, mentions=list(cached.mentions))  # follow-ups complete the parse; the cache keeps its own
        operation, _, _ = choose_operation(skeleton(parse), self.lexicon)
        follow = follow_up(parse, operation, dialogue, catalog, self.lexicon)
        documents = scope.documents
        if follow.replay is not None and follow.replay.documents:  # 哪个部门三公经费最多 … 换成元: the same documents
            documents = tuple(c for c in self.catalogs if c.doc_id in follow.replay.documents)
        query = follow.replay or replace(
            Parser(parse, catalog, self.lexicon).query(follow.operation, tuple(c.doc_id for c in documents)),
            from_context=tuple(follow.filled))
        if follow.rows is not None:
            query = replace(query, rows=follow.rows)
        if query.out_of_scope:
            dialogue.blocked = query.describe()
        else:
            dialogue.last, dialogue.blocked = query.describe(), None
        composer = Composer(catalog, query, dialogue, documents)
        if query.out_of_scope:
            return composer.not_found(query.out_of_scope), parse, query
        if query.absent:
            return composer.absent_answer(), parse, query
        if query.display_unit:
            dialogue.unit = query.display_unit
        if query.operation == "loaded":
            return self._loaded(), parse, query
        if query.operation == "convert":  # 换成元 with nothing asked before it
            return composer.not_found(composer.say("value.nothing_to_convert")), parse, query
        return execute(composer), parse, query

    def _clauses(self, question: str, dialogue: Dialogue) -> list[str]:
        """The questions one message asks: it is split after ？/；/！/。 where a later part names something of its
        own or recalls what was asked (公用经费呢？两者差多少？) or follows on (…？购置费呢), and after a comma where a
        later part asks what something is for or why (公用经费多少，主要干啥用), follows on, or asks the same of a
        unit (大数据中心有几个项目，局本级几个); a part that only asks again (多多少？) stays with the one before it."""
        parts = [p for p in _CLAUSE_END.split(question) if p.strip()]
        if len(parts) < 2:
            return [question]
        clauses = [parts[0]]
        for part in parts[1:]:
            normalized = self._normalized(part)
            scope = resolve(normalized.text, normalized.years, self.catalogs, dialogue.document, self.names)
            mentions = self._understand(normalized, scope.main).mentions if scope.main is not None else []
            own = [m for m in mentions if not (m.entity.kind == "measure" and m.entity.name in TOTALS)]  # 一共多少钱 asks again
            recalls = any(word in normalized.text for word in self.lexicon.operators.recall)
            comma = clauses[-1].rstrip()[-1:] in "，,"
            asked = choose_operation(normalized.text, self.lexicon)[0]
            before = choose_operation(self._normalized(clauses[-1]).text, self.lexicon)[0]
            again = asked in _COMPUTING and before in _COMPUTING and asked != before
            follows = bool(self.lexicon.operators.followup["follow_on"].search(normalized.text))  # …？购置费呢
            same_for_unit = asked == before and any(m.entity.kind == "unit" for m in own)  # …有几个项目，局本级几个
            if (own or recalls or again or follows) and not comma or (
                    comma and ((asked in _PROSE or again) and not own or follows or same_for_unit)):
                clauses.append(part)
            else:
                clauses[-1] += part
        return clauses

    def _normalized(self, question: str) -> Normalized:
        """Normalised once per distinct question text (a copy, since follow-ups may change it)."""
        cached = self._normal.get(question)
        if cached is None:
            cached = self._normal[question] = normalize(question, self.lexicon.typos, self.lexicon.english)
            if len(self._normal) > UNDERSTOOD_CACHE:
                self._normal.popitem(last=False)
        return replace(cached, years=list(cached.years))

    def _understand(self, normalized: Normalized, catalog: Catalog) -> Parse:
        """Segment and link a question against one document; the same words mean the same, so it is cached."""
        key = (catalog.doc_id, normalized.text)
        cached = self._understood.get(key)
        if cached is not None:
            self._understood.move_to_end(key)
            return cached
        loaded = self.loaded | self.years[catalog.department]  # 西安宣传部2026年: only its 2021 is loaded
        parse = understand(normalized, catalog, self.lexicon, segment(self.tokenizer, normalized.text), loaded)
        self._understood[key] = parse
        if len(self._understood) > UNDERSTOOD_CACHE:
            self._understood.popitem(last=False)
        return parse

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

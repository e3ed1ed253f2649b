"""Answers read from text: 情况说明 sentences, section lists, 名词解释, 绩效指标, codes.

A mixin of Composer: it uses the composer's figures, citations and answer builders.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from difflib import SequenceMatcher

from rapidfuzz import fuzz

from bot import prose
from bot.answer import CLARIFY, Answer, Citation, Figure
from bot.catalog import norm
from bot.render import show
from db.money import convert

MONEY = ("万元", "元", "亿元")
TOTAL_WORDS = ("收入总计", "支出总计", "收入预算", "支出预算", "收支预算总计")  # how the narrative names the budget's totals
SENTENCE_CUTOFF = 70
LABEL_CUTOFF = 66  # rapidfuzz partial ratio: the asked words must (mostly) be what names the number
SECTION_CUTOFF = 90


class TextAnswers:
    def _focus_terms(self) -> list[str]:
        terms = [t for m in self.q.mentions for t in (m.text, m.entity.name)]
        own = self.q.words
        if not terms and (len(own) >= 2 or (own and self.q.counted and self.q.counted != "人")):
            return []  # the question names its own subject (有几辆车): the last topic does not apply
        if not terms and self.state.topic:
            terms = [self.state.topic]
        if not terms and self.state.focus:
            terms = [self.state.focus["name"]]
        return [norm(t) for t in terms if t]

    def _best_sentence(self, change: bool, why: bool, labelled: bool = False) -> tuple[int, str, str, str] | None:
        """(line, heading, sentence or paragraph, paragraph) of the narrative that best answers.

        `labelled`: only sentences where the asked words name one of the sentence's numbers (a
        question for an amount must not be answered by a sentence that merely mentions the word)."""
        key, focus = self._sought(change)
        if not focus and len(key) < (1 if self.q.counted else 2):
            return None
        parts = ([k for k in self.q.word_parts if k] or [key]) if key == self.q.words else [key]
        named = {a for m in self.q.mentions if m.entity.kind != "unit" for a in (*m.entity.aliases, norm(m.entity.name)) if len(a) >= 2}
        best, best_score = None, 0.0
        for line, heading, sentence, paragraph, context in self.c.sentences:
            if labelled and not self._names_a_number(line, sentence, parts):
                continue
            if change and named and not self._states_change_of(line, paragraph, named):
                continue  # a change is only read where the narrative states that very figure
            score, whole = self._sentence_score(key, parts, focus, heading, sentence, context)
            score += self._bonus(change, why, sentence, paragraph)
            if score > best_score:
                best, best_score = (line, heading, paragraph if whole else sentence, paragraph), score
        return best if best_score >= SENTENCE_CUTOFF else None

    def _sought(self, change: bool) -> tuple[str, list[str]]:
        """(words, focus terms) a narrative search looks for; the budget's totals for a change of the budget."""
        key = self.q.words
        focus = self._focus_terms()
        if len(key) < 2 and focus:
            key = ""  # one stray character next to a named subject says nothing
        whole = len(key) < 2 or key in self.c.lexicon.phrases.whole_budget  # 为什么预算涨了: the budget's totals
        if change and whole and not focus:
            return "", [norm("收入总计"), norm("支出总计")]
        return key, focus

    def _states_change_of(self, line: int, paragraph: str, named: set[str]) -> bool:
        return prose.states_change(paragraph) and any(
            any(a in norm(f["label"]) for a in named) for f in self.c.narrative_by_line.get(line, ()))

    @staticmethod
    def _sentence_score(key: str, parts: list[str], focus: list[str], heading: str, sentence: str,
                        context: str) -> tuple[float, bool]:
        """(similarity of a sentence to what is sought, whether the parts asked stand in different sentences)."""
        f_score = max((fuzz.partial_ratio(t, context) for t in focus), default=0)
        k_sentence = sum(fuzz.partial_ratio(k, norm(heading + sentence)) for k in parts) / len(parts) if key else 0
        k_paragraph = sum(fuzz.partial_ratio(k, context) for k in parts) / len(parts) if len(parts) > 1 else 0
        k_score = max(k_sentence, k_paragraph - 5)
        score = (f_score + k_score) / 2 if focus and key else max(f_score, k_score)
        return score, k_paragraph - 5 > k_sentence

    def _bonus(self, change: bool, why: bool, sentence: str, paragraph: str) -> float:
        """What the kind of question adds: a count asked, a change, a reason, an amount."""
        bonus = 0.0
        if self.q.counted:
            bonus += 20 if prose.counts(sentence, self.q.counted) else -20
        if change:
            bonus += 15 if prose.states_change(sentence) else -25
        if why:
            bonus += 15 if "原因" in paragraph else -25
        if self.q.asks_amount and prose.has_number(sentence):
            bonus += 5
        return bonus

    def _names_a_number(self, line: int, sentence: str, parts: list[str]) -> bool:
        return any(f["line"] == line and f["clause"] in sentence and any(
            len(p) >= 2 and fuzz.partial_ratio(p, norm(f["label"])) >= LABEL_CUTOFF for p in parts)
            for f in self.c.narrative_by_line.get(line, ()))

    def sentence_answer(self, why: bool = False, labelled: bool = False) -> Answer | None:
        """The narrative sentence that best states what is asked, with its numbers as figures."""
        change = self.q.operation in ("change", "reason")
        why = why or self.q.operation == "reason"
        best = self._best_sentence(change, why, labelled)
        if best is None:
            return None
        line, heading, sentence, paragraph = best
        if why:
            reason = prose.reason_in(paragraph)
            if reason is None:
                return None
            sentence = reason.strip()
        elif change and not any(t in norm(sentence) for t in self._focus_terms()) and len(paragraph) <= 400:
            sentence = paragraph  # the change is stated apart from the figure it changes
        self._narrative_figures(line, sentence)
        self.citations.append(Citation(self.c.source, f"情况说明：{heading}", None, line))
        current = ""
        if change and self.q.mentions:  # the table's figure beside what the narrative says of its change
            entity = self.q.mentions[-1].entity
            cells = self.cells_of(entity)
            if len(cells) == 1:
                current = f"{self.c.year}年{entity.name}预算 {self.fig(cells[0]).value} {self.unit or cells[0].unit}。"
        said = [m.text for m in self.q.mentions]
        subject = next((m.entity for m in self.q.mentions if m.entity.kind != "unit"), None)
        if subject is not None:  # 机构运转经费多少 … 比上年多了多少 … 为什么: the follow-ups are about it
            self.remember(subject)
        if said or len(self.q.words) >= 2:  # a stray 多 left by 比上年多了多少 is no topic
            self.state.topic = said[0] if said else self.q.words
        return self.answer(f"{current}据公开文件“{heading}”：{sentence}")

    def previous_answer(self) -> Answer:
        """Last year's figure, where the narrative states this year's figure of the same thing and its
        change (2023 = 2024 − 增加) or says it is unchanged (持平); otherwise not_found."""
        previous = self.c.year - 1
        unnamed = self.c.lexicon.operators.roles["last_year"].sub("", self.q.words)
        if not self.q.mentions and not self.state.focus and len(unnamed) <= 1 and "amount_words" not in self.q.flags:
            return self._which_previous(previous)  # 去年的是多少, with nothing asked before
        found = self._stated_change()
        if found is None:
            return self.not_found(f"公开文件只有 {self.c.year} 年预算；没有说明这一项与 {previous} 年相比的变化，无法给出 {previous} 年的数。")
        current, delta, heading, line = found
        return self._previous_from(previous, current, delta, heading, line)

    def _which_previous(self, previous: int) -> Answer:
        """Ask back which figure's last year is meant, offering the measures whose change the narrative states."""
        names = [n for n in self.c.lexicon.measures if self._stated_change({norm(n)}) is not None][:6]
        if not names:
            return self.not_found(self.say("change.no_previous", year=self.c.year, previous=previous))
        return Answer(CLARIFY, self.say("change.which", year=previous, names="、".join(names)), [], [], [],
                      [f"{previous}年{n}是多少" for n in names])

    def _stated_change(self, terms: set[str] | None = None):
        """(this year's narrative figure, its stated change or None for 持平, heading, line) of what is asked
        (the budget's totals when nothing is named); None when the narrative states no change of it."""
        previous = self.c.year - 1
        terms = terms or {t for m in self.q.mentions for t in (*m.entity.aliases, norm(m.entity.name), norm(m.text)) if len(t) >= 2}
        if not terms and (not self.q.words or self.q.words in self.c.lexicon.phrases.whole_budget):
            terms = {norm(t) for t in TOTAL_WORDS}  # 2023年预算是多少: the budget's totals
        terms = terms or ({self.q.words} if len(self.q.words) >= 2 else set())
        paragraphs = self.c.sections_by_line
        for line, facts in self.c.narrative_by_line.items():
            facts = [f for f in facts if f["unit"] in ("万元", "元", "亿元")]
            paragraph = unicodedata.normalize("NFKC", paragraphs[line]["text"]) if line in paragraphs else ""
            current = next((f for f in facts if not prose.is_delta(f["label"]) and any(
                t in norm(f["label"]) or (not self.q.mentions and fuzz.partial_ratio(t, norm(f["label"])) >= 85)
                for t in terms)), None)
            if current is None:
                continue
            later = facts[facts.index(current) + 1:]
            delta = next((f for f in later if prose.is_delta(f["label"]) and f["compared_year"] in (previous, None)), None)
            unchanged = "持平" in paragraph and (str(previous) in paragraph or "上年" in paragraph)
            if (delta is not None or unchanged) and line in paragraphs:
                return current, delta, paragraphs[line]["heading"] or paragraphs[line]["part"], line
        return None

    def stated_change_answer(self, name: str, current, delta, heading: str, line: int) -> Answer:
        """公务接待费 11.26 万元，比上年减少 100.89 万元: the figure and its change as the narrative states them."""
        cite = f"情况说明：{heading}"
        self.citations.append(Citation(self.c.source, cite, current["label"], line))
        self.figures += [Figure(current["value"], current["unit"], cite, current["label"], None, None, line),
                         Figure(delta["value"], delta["unit"], cite, delta["label"], None, None, line)]
        word = "减少" if prose.is_decrease(delta["label"]) else "增加"
        facts = self.c.narrative_by_line.get(line, [])
        later = facts[facts.index(delta) + 1:] if delta in facts else []
        rate = next((f for f in later[:2] if f["unit"] == "%" and prose.is_delta(f["label"])), None)
        said = ""
        if rate is not None:
            self.figures.append(Figure(rate["value"], "%", cite, rate["label"], None, None, line))
            said = f"，{'下降' if prose.is_decrease(rate['label']) else '增长'} {rate['value']}%"
        return self.answer(f"{self.c.year}年{name} {show(Decimal(current['value']))} {current['unit']}，"
                           f"比上年{word} {show(Decimal(delta['value']))} {delta['unit']}{said}（据公开文件“{heading}”）。")

    def rate_check(self) -> Answer | None:
        """Whether a growth rate the question states (41.17%对不对) follows from the narrative's own figures:
        rate = change ÷ (this year − change) × 100%."""
        named = [w for w in self.q.unknown if len(w) >= 3]  # 机构运转经费增长54.27%: the narrative's own words
        found = self._stated_change({norm(named[0])} if named and not self.q.mentions else None)
        if found is None and not self.q.mentions:
            found = self._stated_change({norm("收入总计"), norm("支出总计")})  # 增长41.17%: the budget's own rate
        if found is None or found[1] is None or self.q.stated is None:
            return None
        current, delta, heading, line = found
        cite = Citation(self.c.source, f"情况说明：{heading}", current["label"], line)
        self.citations.append(cite)
        now, change = Decimal(current["value"]), Decimal(delta["value"]) * (-1 if prose.is_decrease(delta["label"]) else 1)
        base = now - change
        if base <= 0:
            return None
        self.figures += [Figure(current["value"], current["unit"], cite.table, current["label"], None, None, line),
                         Figure(delta["value"], delta["unit"], cite.table, delta["label"], None, None, line),
                         Figure(show(base), current["unit"], None, None, None, f"{current['value']} − {show(change)}（上年数）", None)]
        rate = (abs(change) / base * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        self.figures.append(Figure(show(rate), "%", None, None, None, f"{show(abs(change))} ÷ {show(base)} × 100%", None))
        stated = self.q.stated[0]
        self.figures.append(Figure(show(stated), "%", None, None, None, "提问给出的数", None))
        high, low = max(rate, stated), min(rate, stated)
        if rate != stated:
            self.figures.append(Figure(show(high - low), "个百分点", None, None, None, f"{show(high)} − {show(low)}", None))
        verdict = self.say("check.rate_agrees") if rate == stated else self.say("check.rate_differs", gap=show(high - low))
        return self.answer(self.say("check.rate", now=current["value"], unit=current["unit"], delta=delta["value"],
                                    base=show(base), rate=show(rate), stated=show(stated), verdict=verdict))

    def _previous_from(self, previous: int, current, delta, heading: str, line: int) -> Answer:
        cite = Citation(self.c.source, f"情况说明：{heading}", current["label"], line)
        self.citations.append(cite)
        now = Decimal(current["value"])
        self.figures.append(Figure(current["value"], current["unit"], cite.table, current["label"], None, None, line))
        if delta is None:
            self.figures.append(Figure(current["value"], current["unit"], None, None, None, f"与{previous}年持平，等于 {current['value']}", None))
            return self.answer(f"公开文件“{heading}”说明{self.c.year}年 {current['value']} {current['unit']}，与{previous}年持平，"
                               f"故{previous}年同为 {current['value']} {current['unit']}。")
        change = Decimal(delta["value"]) * (-1 if prose.is_decrease(delta["label"]) else 1)
        before = now - change
        self.figures.append(Figure(delta["value"], delta["unit"], cite.table, delta["label"], None, None, line))
        formula = f"{current['value']} − {change}" if change >= 0 else f"{current['value']} + {-change}"
        self.figures.append(Figure(f"{before:.2f}", current["unit"], None, None, None, f"{formula}（{self.c.year}年数减去增加额）", None))
        return self.answer(f"公开文件没有直接列出{previous}年数，按说明推算：{self.c.year}年 {current['value']} {current['unit']}，"
                           f"{delta['label']} {delta['value']} {delta['unit']}，故{previous}年约为 {before:.2f} {current['unit']}。")

    def stated_fact(self, entity) -> sqlite3.Row | None:
        """The narrative amount whose own clause names what is asked (公务接待费预算98.8万元), never one that
        states a change of it (比2025年增加…) or a share; the longest name wins."""
        names = {norm(a) for a in (*entity.aliases, entity.name) if len(norm(a)) >= 2}
        best = None
        for fact in self.c.narrative:
            label = norm(fact["label"])
            if fact["unit"] not in MONEY or prose.CHANGE.search(label) or fact["compared_year"]:
                continue
            if prose.names_another_year(label, self.c.year):
                continue  # 2025年公务接待费预算98万元 is not this year's
            core = prose.LABEL_TAIL.sub("", label)
            size = max((len(n) for n in names if core.endswith(n)), default=0)
            if size and (best is None or size > best[0]):
                best = (size, fact)
        return best[1] if best else None

    def _stated(self, entity, quoted: str) -> tuple[sqlite3.Row, Decimal, str] | None:
        """The narrative fact of a figure no table holds, cited with the numbers of `quoted` ("clause" or
        "sentence") as figures; (fact, value in the display unit, that unit)."""
        fact = self.stated_fact(entity)
        if fact is None:
            return None
        self._narrative_figures(fact["line"], unicodedata.normalize("NFKC", fact[quoted]) if quoted == "sentence" else fact[quoted])
        self.citations.append(Citation(self.c.source, f"情况说明：{fact['heading']}", fact["label"], fact["line"]))
        unit = self.unit or fact["unit"]
        return fact, convert(Decimal(fact["value"]), fact["unit"], unit), unit

    def stated_value(self, entity) -> tuple[Decimal, str, str] | None:
        """(value in the display unit, shown, label) of a figure only the narrative states, with its source."""
        found = self._stated(entity, "clause")
        return (found[1], f"{show(found[1])} {found[2]}", entity.name) if found else None

    def stated_answer(self, entity) -> Answer | None:
        """A figure no loaded table holds, as the narrative states it, with the sentence that says it."""
        found = self._stated(entity, "sentence")
        if found is None:
            return None
        fact, value, unit = found
        sentence = unicodedata.normalize("NFKC", fact["sentence"])
        return self.answer(f"{entity.name}：{show(value)} {unit}。据公开文件“{fact['heading']}”：{sentence}")

    def _narrative_figures(self, line: int, sentence: str) -> None:
        for fact in self.c.narrative:
            if fact["line"] == line and fact["clause"] in sentence:
                value = fact["value"]
                self.figures.append(Figure(value, fact["unit"], f"情况说明：{fact['heading']}", fact["label"], None, None, line))

    def section_answer(self, key: str | None = None) -> Answer | None:
        """All paragraphs under a heading the question names (主要职责, 年度主要任务), or that `key` names."""
        key = self.q.words if key is None else norm(key)
        key = next((heading for word, heading in self.c.lexicon.phrases.section_words.items() if word in key), key)
        if len(key) < 3:  # two characters (一般, 预算) name no heading
            return None
        sections = self.c.sections
        headings = {s["heading"] for s in sections if s["heading"]}
        own = norm(self.c.department)  # "部门主要职责" names the heading "一、<部门全称>主要职责"
        scored = sorted(((fuzz.partial_ratio(key, norm(h).replace(own, "部门")), h) for h in headings), key=lambda x: (-x[0], x[1]))
        if not scored or scored[0][0] < SECTION_CUTOFF:
            return None
        heading = scored[0][1]
        paragraphs = [s for s in sections if s["heading"] == heading]
        numbered = [p for p in paragraphs if prose.is_numbered(p["text"])]
        items = numbered or paragraphs
        source = paragraphs[0]["part"] if paragraphs[0]["part"] in self.c.tables else f"情况说明：{heading}"
        self.citations.append(Citation(self.c.source, source, heading, paragraphs[0]["line"]))
        text = "\n".join(unicodedata.normalize("NFKC", p["text"]) for p in paragraphs)
        for p in paragraphs:
            for fact in self.c.narrative:
                if fact["line"] == p["line"]:
                    self.figures.append(Figure(fact["value"], fact["unit"], source, fact["label"], None, None, p["line"]))
        if not numbered:  # paragraphs are no count of what they list
            return self.answer(f"“{heading}”：\n{text}")
        n = self.count(len(items), "条", None, f"“{heading}”下的条目")
        return self.answer(f"“{heading}”共 {n} 条：\n{text}")

    def definition_answer(self) -> Answer:
        terms = list(dict.fromkeys(e.name for m in self.q.mentions for e in (m.entity, *m.alternates) if e.kind == "term"))
        if len(terms) >= 2:  # 基本支出和项目支出有啥区别: each as the glossary defines it
            rows = [r for r in map(self.c.glossary, terms[:3]) if r is not None]
            for r in rows:
                self.citations.append(Citation(self.c.source, "名词解释", r["term"], r["line"]))
            if len(rows) >= 2:
                return self.answer("\n".join(f"{r['term']}：{r['definition']}" for r in rows))
        row = self.c.glossary(terms[0]) if terms else None
        if row is None:
            key = self.q.words.replace("定义", "").replace("含义", "").replace("意思", "").replace("名词解释", "")
            keys = [k for k in [key, *(norm(m.entity.name) for m in self.q.mentions)] if len(k) >= 2]  # 机构运转经费 of 行政（事业）单位机构运转经费情况
            rows = self.c.conn.execute("SELECT * FROM glossary WHERE document_id = ?", (self.c.doc_id,)).fetchall()
            scored = sorted(((fuzz.partial_ratio(k, norm(r["term"])), r["line"], r) for r in rows for k in keys), key=lambda x: (-x[0], x[1]))
            row = scored[0][2] if scored and scored[0][0] >= 75 else self._sharing_term(key, rows)
        if row is None:
            return self.sentence_answer() or self.not_found("名词解释中没有这个词。")
        self.citations.append(Citation(self.c.source, "名词解释", row["term"], row["line"]))
        return self.answer(f"{row['term']}：{row['definition']}")

    @staticmethod
    def _sharing_term(key: str, rows: list) -> sqlite3.Row | None:
        """The one glossary term sharing the longest run of characters (≥4) with the question's words:
        名词解释里机构运转经费包括哪些费用 → 行政（事业）单位机构运转经费情况."""
        def run(term: str) -> int:
            return SequenceMatcher(None, key, term).find_longest_match(0, len(key), 0, len(term)).size
        scored = sorted(((run(norm(r["term"])), r) for r in rows), key=lambda x: -x[0])
        if not scored or scored[0][0] < 4 or (len(scored) > 1 and scored[1][0] == scored[0][0]):
            return None
        return scored[0][1]

    def performance_answer(self) -> Answer:
        """Targets of 绩效: a project's indicator group, or the department's indicators by name."""
        project = self._indicator_project()
        rows = self.c.indicators(project.name if project else None)
        named = {e.name for e in self.q.of("indicator")}
        if named and not project:
            return self.answer(f"{self.c.department}整体绩效目标：\n" + "\n".join(
                self._indicator_lines([r for r in rows if r["name"] in named])))
        if project and not rows:
            return self.unlinked_indicators(project.name)
        said = self.q.words
        if not project and len(said) >= 2 and not any(said in norm(r["name"]) for r in rows):
            found = self._indicator_prose(said)  # 开展文明单位活动几次: the narrative says it
            if found is not None:
                return found
        picked = self._project_indicators(rows) if project else self._named_indicators(rows, said)
        if not picked:
            return self.sentence_answer() or self.not_found("没有找到这个绩效指标。")
        if project:
            self.remember(project)
        head = f"“{project.name}”的绩效指标" if project else f"{self.c.department}整体绩效目标"
        return self.answer(head + "：\n" + "\n".join(self._indicator_lines(picked)))

    def _indicator_project(self):
        """The project whose targets are asked: named, or the one just answered (它的满意度指标)."""
        projects = self.q.of("project")
        if projects:
            return projects[0]
        focus = self.state.focus or {}
        if focus.get("kind") == "project" and not self.q.of("indicator"):  # 它的满意度指标, 要测评几个系统
            return self.c.find("project", focus["name"])
        return None

    def _indicator_prose(self, said: str) -> Answer | None:
        if any(said in norm(s[2]) for s in self.c.sentences):
            found = self.sentence_answer()
            if found is not None:
                return found
        return self.section_answer()

    def _project_indicators(self, rows: list) -> list:
        """A project's indicators of the level asked (成本/产出/效益/满意度), or those the words name, or all."""
        level = self.q.level
        picked = [r for r in rows if r["level1"].startswith(level)] if level else []
        key = self.c.lexicon.phrases.indicator_noise.sub("", self.q.words)
        return picked or [r for r in rows if len(key) >= 2 and fuzz.partial_ratio(key, norm(r["name"] + r["value"])) >= 75] or rows

    @staticmethod
    def _named_indicators(rows: list, said: str) -> list:
        """The department's indicators whose names are nearest the words asked."""
        scored = [(fuzz.partial_ratio(said, norm(r["name"])) if len(said) >= 2 else 0, r) for r in rows]
        best = max((s for s, _ in scored), default=0)
        return [r for s, r in scored if s == best and s >= 70]

    def _indicator_lines(self, rows: list) -> list[str]:
        """One line per indicator; its numbers become figures read from the indicator's row."""
        lines = []
        for r in rows:
            lines.append(f"· {r['level1'] + '：' if r['level1'] else ''}{r['name']} {r['value']}")
            for number in prose.numbers(r["name"] + " " + r["value"]):
                self.figures.append(Figure(number, "", r["tname"], r["name"], "指标值", None, r["line"]))
            citation = Citation(self.c.source, r["tname"], r["name"], r["line"])
            if citation not in self.citations:
                self.citations.append(citation)
        return lines

    def unlinked_indicators(self, project: str) -> Answer:
        """A project whose indicator group could not be linked: show the candidate groups, marked unconfirmed."""
        groups = self.c.conn.execute(
            "SELECT i.*, t.name AS tname FROM indicators i JOIN tables t ON t.id = i.table_id WHERE i.document_id = ? "
            "AND i.project_id IS NULL AND i.group_no IS NOT NULL AND i.link_note LIKE ? ORDER BY i.line",
            (self.c.doc_id, f"%{project}%")).fetchall()
        if not groups:
            return self.not_found(f"“{project}”在项目绩效目标汇总表中没有能可靠对应的指标组（见 budgetbot audit）。")
        lines = self._indicator_lines(groups)
        note = groups[0]["link_note"]
        return self.answer(f"“{project}”的绩效指标无法确认：项目绩效目标汇总表的指标与项目行没有对齐，{note}。"
                           f"可能属于它的第 {groups[0]['group_no']} 组指标如下（未确认）：\n" + "\n".join(lines))

    def code_answer(self) -> Answer:
        """Code to name (2013704 是什么科目) and name to code (信息安全事务的编码), with the amount."""
        numbers = self.q.codes
        mentions = [m for m in self.q.mentions if m.entity.kind in ("func", "econ", "unit", "project", "measure", "row")]
        if not mentions:
            return self.figure_answer()
        mention = mentions[-1]
        if mention.entity.kind == "project":  # 项目编码 41130024… 对应哪个项目
            return self.attribute_answer()
        candidates = [e for e in (mention.entity, *mention.alternates) if e.code]
        candidates += [e for e in self.c.entities if e.code and e.name == mention.entity.name and e not in candidates]
        prefer = self.q.scheme
        candidates = [e for e in candidates if e.kind in ("func", "econ", "unit")]
        candidates.sort(key=lambda e: (e.kind != prefer, e.kind != "func", e.kind != "econ"))
        if not candidates:
            return self.figure_answer()
        entity = candidates[0]
        self.remember(entity)
        if self.q.scheme == "gov_econ" and entity.kind == "econ":
            return self.gov_econ_answer(entity)
        scheme = {"func": "支出功能分类科目", "econ": "部门预算支出经济分类科目", "unit": "单位"}[entity.kind]
        cells = self.cells_of(entity)
        amount = ""
        if cells:
            total, target = self.add_up(cells)
            amount = f"，{self.c.year}年预算 {show(total)} {target}"
        if numbers and entity.code == numbers[0]:
            return self.answer(f"{entity.code} 是{scheme}“{entity.name}”{amount}。", [f"{entity.name}多少", "有哪些功能科目"])
        others = [e for e in candidates[1:] if e.kind == entity.kind and e.code != entity.code]
        extra = "；同名的还有 " + "、".join(e.code for e in others) if others else ""
        return self.answer(f"“{entity.name}”的{scheme}编码是 {entity.code}{extra}{amount}。", [f"{entity.name}多少", "有哪些功能科目"])

    def names_answer(self) -> Answer:
        """Where the document's tables print a name differently: projects in the performance table, the
        department on a table's 部门名称 line (both as stored when loaded)."""
        projects = [r for r in self.c.conn.execute(
            "SELECT name, perf_name, line, perf_line FROM projects WHERE document_id = ? AND perf_name IS NOT NULL "
            "AND perf_name != name ORDER BY line", (self.c.doc_id,))]
        tables = [t for t in self.c.tables.values() if t["department"] and t["department"] != self.c.department]
        lines = [self.say("names.project", printed=r["perf_name"], name=r["name"]) for r in projects]
        lines += [self.say("names.table", table=t["name"], printed=t["department"], department=self.c.department) for t in tables]
        for r in projects:
            self.citations.append(Citation(self.c.source, "部门预算项目绩效目标汇总表", r["perf_name"], r["perf_line"]))
        for t in tables:
            self.citations.append(Citation(self.c.source, t["name"], "部门名称", t["line"]))
        if not lines:
            return self.answer(self.say("names.same"))
        return self.answer(self.say("names.differ", lines="\n".join(lines)))

    def gov_econ_answer(self, entity) -> Answer:
        """Which 政府经济分类 a 部门经济分类 item's rows are classed under, with each row's amount."""
        rows = self.c.gov_econ_of(entity.code)
        if not rows:
            return self.not_found(f"支出经济分类汇总表没有列出 {entity.code} {entity.name} 对应的政府经济分类。")
        lines = [f"· {code} {name}：{self.fig(cell).value} {self.unit or cell.unit}" for code, name, cell in rows]
        return self.answer(f"{entity.code} {entity.name}在支出经济分类汇总表中对应的政府经济分类：\n" + "\n".join(lines))

    def counted_answer(self) -> Answer | None:
        """A number of things the narrative states with the counter asked (几辆车 → 车辆2辆, 几台设备)."""
        if self.q.counted not in self.c.lexicon.operators.counters.values():
            return None
        facts = [f for f in self.c.narrative if f["unit"].startswith(self.q.counted)]
        if not facts:
            return None
        asked = set(self.q.words + (self.q.noun or "") + "".join(m.text for m in self.q.mentions))
        fact = max(facts, key=lambda f: (len(asked & set(f["label"])), -f["line"]))
        sentence = next((s for line, _, s, _, _ in self.c.sentences if line == fact["line"] and fact["clause"] in s), fact["sentence"])
        self._narrative_figures(fact["line"], sentence)
        self.citations.append(Citation(self.c.source, f"情况说明：{fact['heading']}", fact["label"], fact["line"]))
        return self.answer(f"据公开文件“{fact['heading']}”：{sentence}")

    def enumeration_answer(self, noun: str | None = None) -> Answer | None:
        """How many things a sentence lists (局机关本级预算包括：办公室、…、数据管理监督科等科室); with `noun`,
        the sentence that lists that kind of thing (…等科室), else the best matching one."""
        listed = [(line, heading, s) for line, heading, s, _, _ in self.c.sentences
                  if noun and prose.lists_kind(s, noun)]
        best = listed[0] + (None,) if listed else self._best_sentence(change=False, why=False)
        if best is None:
            return None
        line, heading, sentence, _ = best
        items = prose.enumeration(sentence)
        if not items:
            return None
        self.citations.append(Citation(self.c.source, f"情况说明：{heading}", None, line))
        n = self.count(len(items), "个", None, "句中列举的项")
        return self.answer(f"共 {n} 个：{'、'.join(items)}。（据公开文件“{heading}”：{sentence}）")

    def partial_name_clarify(self) -> Answer | None:
        """Words that are part of several names (离退休, 运行维护费, 外网那个项目): ask which one."""
        key = self.c.lexicon.phrases.kind_words.sub("", self.q.words) or self.q.words
        if len(key) < 2:
            return None
        seen, matches = set(), []
        for entity in self.c.entities:
            if entity.kind in ("func", "econ", "project", "row") and key in norm(entity.name) and entity.name not in seen:
                seen.add(entity.name)
                matches.append(entity)
        return self.clarify(matches, key) if len(matches) >= 2 else None

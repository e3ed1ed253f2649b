"""Answers read from text: 情况说明 sentences, section lists, 名词解释, 绩效指标, codes.

A mixin of Composer: it uses the composer's figures, citations and answer builders.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from rapidfuzz import fuzz

from bot.answer import Answer, Citation, Figure
from bot.catalog import norm

_QUESTION_WORDS = re.compile(
    r"多少钱|是多少|有多少|多少|是什么|什么|怎么样|请问|一下|的|吗|呢|啊|了|是|有没有|有|这个局|这个|那个|那|局里|"
    r"为什么|为何|为啥|原因|比上年|比去年|和去年比|跟去年比|与上年相比|变化|有哪些|哪些|包括|几条|几个|几辆|几台|多少个|"
    r"主要用于|用于|[?？。，,!！\s]"
)
_TRAILING = re.compile(r"(要求|目标|指标值|指标|是多少|多少|占|比例|比重|百分比|百分之几|增加|增长|减少|下降|变化|多了|少了)+$")
_CHANGE = re.compile(r"增加|增长|减少|下降|持平|相比|比上年|增减")
SENTENCE_CUTOFF = 70
SECTION_CUTOFF = 90


class TextAnswers:
    def key(self) -> str:
        """The question's content words: what is left once question words and found names are removed."""
        text = self.p.text
        for m in self.p.mentions:
            text = text.replace(m.text, " ")
        text = re.sub(r"(?:19|20)\d{2}年?", "", text)
        return _TRAILING.sub("", _QUESTION_WORDS.sub("", text))

    def _focus_terms(self) -> list[str]:
        terms = [t for m in self.p.mentions for t in (m.text, m.entity.name)]
        if not terms and self.state.get("topic"):
            terms = [self.state["topic"]]
        if not terms and self.state.get("focus"):
            terms = [self.state["focus"]["name"]]
        return [norm(t) for t in terms if t]

    def sentence_answer(self, why: bool = False) -> Answer | None:
        """The narrative sentence that best states what is asked, with its numbers as figures."""
        change = self.p.intent in ("change", "why")
        why = why or self.p.intent == "why"
        key = self.key()
        focus = self._focus_terms() or ([norm("收入总计"), norm("支出总计")] if change and len(key) < 2 else [])
        counted = re.search(r"(?:几|多少)(辆|台|个|项|家|人|次|条)", self.p.text)
        if not focus and len(key) < (1 if counted else 2):
            return None
        best, best_score = None, 0.0
        for line, heading, sentence, paragraph, context in self.c.sentences:
            f_score = max((fuzz.partial_ratio(t, context) for t in focus), default=0)
            parts = [k for k in re.split(r"和|与|及|、", key) if k] or [key]
            k_sentence = sum(fuzz.partial_ratio(k, norm(heading + sentence)) for k in parts) / len(parts) if key else 0
            k_paragraph = sum(fuzz.partial_ratio(k, context) for k in parts) / len(parts) if len(parts) > 1 else 0
            whole = k_paragraph - 5 > k_sentence  # the parts asked for stand in different sentences
            k_score = max(k_sentence, k_paragraph - 5)
            score = (f_score + k_score) / 2 if focus and key else max(f_score, k_score)
            if counted:
                score += 20 if re.search(rf"\d+\s*{counted.group(1)}", sentence) else -20
            if change:
                score += 15 if _CHANGE.search(sentence) else -25
            if why:
                score += 15 if "原因" in paragraph else -25
            if re.search(r"多少|几", self.p.text) and re.search(r"\d", sentence):
                score += 5
            if score > best_score:
                best, best_score = (line, heading, paragraph if whole else sentence, paragraph), score
        if best is None or best_score < SENTENCE_CUTOFF:
            return None
        line, heading, sentence, paragraph = best
        if why:
            reason = next((s for s in re.split(r"(?<=[。；;])", paragraph) if "原因" in s), None)
            if reason is None:
                return None
            sentence = reason.strip()
        self._narrative_figures(line, sentence)
        self.citations.append(Citation(self.c.source, f"情况说明：{heading}", None, line))
        said = [m.text for m in self.p.mentions]
        self.state["topic"] = (said[0] if said else self.key()) or self.state.get("topic")
        return self.answer(f"据公开文件“{heading}”：{sentence}")

    def _narrative_figures(self, line: int, sentence: str) -> None:
        for fact in self.c.narrative:
            if fact["line"] == line and fact["clause"] in sentence:
                value = fact["value"]
                self.figures.append(Figure(value, fact["unit"], f"情况说明：{fact['heading']}", fact["label"], None, None, line))

    def section_answer(self) -> Answer | None:
        """All paragraphs under a heading the question names (主要职责, 年度主要任务)."""
        key = self.key()
        if len(key) < 2:
            return None
        sections = self.c.sections
        headings = {s["heading"] for s in sections if s["heading"]}
        scored = sorted(((fuzz.partial_ratio(key, norm(h)), h) for h in headings), key=lambda x: (-x[0], x[1]))
        if not scored or scored[0][0] < SECTION_CUTOFF:
            return None
        heading = scored[0][1]
        paragraphs = [s for s in sections if s["heading"] == heading]
        numbered = [p for p in paragraphs if re.match(r"^[（(][一二三四五六七八九十]+[)）]", p["text"])]
        items = numbered or paragraphs
        source = paragraphs[0]["part"] if paragraphs[0]["part"] in self.c.tables else f"情况说明：{heading}"
        self.citations.append(Citation(self.c.source, source, heading, paragraphs[0]["line"]))
        text = "\n".join(unicodedata.normalize("NFKC", p["text"]) for p in paragraphs)
        for p in paragraphs:
            for fact in self.c.narrative:
                if fact["line"] == p["line"]:
                    self.figures.append(Figure(fact["value"], fact["unit"], source, fact["label"], None, None, p["line"]))
        n = self.count(len(items), "条", None, f"“{heading}”下的条目")
        return self.answer(f"“{heading}”共 {n} 条：\n{text}")

    def definition_answer(self) -> Answer:
        terms = [e for m in self.p.mentions for e in (m.entity, *m.alternates) if e.kind == "term"]
        row = self.c.glossary(terms[0].name) if terms else None
        if row is None:
            key = self.key().replace("定义", "").replace("含义", "").replace("意思", "").replace("名词解释", "")
            rows = self.c.conn.execute("SELECT * FROM glossary WHERE document_id = ?", (self.c.doc_id,)).fetchall()
            scored = sorted(((fuzz.partial_ratio(key, norm(r["term"])), r["line"], r) for r in rows), key=lambda x: (-x[0], x[1]))
            row = scored[0][2] if scored and len(key) >= 2 and scored[0][0] >= 75 else None
        if row is None:
            return self.sentence_answer() or self.not_found("名词解释中没有这个词。")
        self.citations.append(Citation(self.c.source, "名词解释", row["term"], row["line"]))
        return self.answer(f"{row['term']}：{row['definition']}")

    def performance_answer(self) -> Answer:
        projects = self.p.of("project")
        if not projects and self.state.get("focus", {}).get("kind") == "project" and len(self.key()) < 2:
            projects = [e for e in self.c.entities if e.kind == "project" and e.name == self.state["focus"]["name"]]
        rows = self.c.indicators(projects[0].name if projects else None)
        if projects and not rows:
            return self.unlinked_indicators(projects[0].name)
        key = self.key()
        for word in ("项目", "绩效", "要完成", "要开展", "完成", "开展", "要"):
            key = key.replace(word, "")
        if projects:
            level = next((lv for lv in ("成本", "产出", "效益", "满意度") if lv in self.p.text), None)
            picked = [r for r in rows if level and r["level1"].startswith(level)] if level else []
            picked = picked or [r for r in rows if len(key) >= 2 and fuzz.partial_ratio(key, norm(r["name"] + r["value"])) >= 75] or rows
        else:
            scored = [(fuzz.partial_ratio(key, norm(r["name"])) if len(key) >= 2 else 0, r) for r in rows]
            best = max((s for s, _ in scored), default=0)
            picked = [r for s, r in scored if s == best and s >= 70]
            if best < 90:
                found = self.sentence_answer()
                if found is not None:
                    return found
        if not picked:
            return self.sentence_answer() or self.not_found("没有找到这个绩效指标。")
        lines = []
        for r in picked:
            lines.append(f"· {r['level1'] + '：' if r['level1'] else ''}{r['name']} {r['value']}")
            for number in re.findall(r"\d+(?:\.\d+)?", r["name"] + " " + r["value"]):
                self.figures.append(Figure(number, "", r["tname"], r["name"], "指标值", None, r["line"]))
            citation = Citation(self.c.source, r["tname"], r["name"], r["line"])
            if citation not in self.citations:
                self.citations.append(citation)
        if projects:
            self.remember(projects[0])
        head = f"“{projects[0].name}”的绩效指标" if projects else f"{self.c.department}整体绩效目标"
        return self.answer(head + "：\n" + "\n".join(lines))

    def unlinked_indicators(self, project: str) -> Answer:
        """A project whose indicator group could not be linked: show the candidate groups, marked unconfirmed."""
        groups = self.c.conn.execute(
            "SELECT i.*, t.name AS tname FROM indicators i JOIN tables t ON t.id = i.table_id WHERE i.document_id = ? "
            "AND i.project_id IS NULL AND i.group_no IS NOT NULL AND i.link_note LIKE ? ORDER BY i.line",
            (self.c.doc_id, f"%{project}%")).fetchall()
        if not groups:
            return self.not_found(f"“{project}”在项目绩效目标汇总表中没有能可靠对应的指标组（见 budgetbot audit）。")
        lines = []
        for r in groups:
            lines.append(f"· {r['level1']}：{r['name']} {r['value']}")
            for number in re.findall(r"\d+(?:\.\d+)?", r["name"] + " " + r["value"]):
                self.figures.append(Figure(number, "", r["tname"], r["name"], "指标值", None, r["line"]))
            citation = Citation(self.c.source, r["tname"], r["name"], r["line"])
            if citation not in self.citations:
                self.citations.append(citation)
        note = groups[0]["link_note"]
        return self.answer(f"“{project}”的绩效指标无法确认：项目绩效目标汇总表的指标与项目行没有对齐，{note}。"
                           f"可能属于它的第 {groups[0]['group_no']} 组指标如下（未确认）：\n" + "\n".join(lines))

    def code_answer(self) -> Answer:
        numbers = re.findall(r"(?<!\d)\d{3,7}(?!\d)", self.p.text)
        mentions = [m for m in self.p.mentions if m.entity.kind in ("func", "econ", "unit", "project", "measure", "row")]
        if not mentions:
            return self.figure_answer()
        mention = mentions[-1]
        candidates = [e for e in (mention.entity, *mention.alternates) if e.code]
        candidates += [e for e in self.c.entities if e.code and e.name == mention.entity.name and e not in candidates]
        prefer = "econ" if "经济" in self.p.text else "func" if "功能" in self.p.text else None
        candidates.sort(key=lambda e: (e.kind != prefer, e.kind != "func", e.kind != "econ"))
        if not candidates:
            return self.figure_answer()
        entity = candidates[0]
        self.remember(entity)
        scheme = {"func": "支出功能分类科目", "econ": "部门预算支出经济分类科目", "unit": "单位"}[entity.kind]
        cells = self.cells_of(entity)
        for cell in cells[:1]:
            self.cite(cell)
        if numbers and entity.code == numbers[0]:
            return self.answer(f"{entity.code} 是{scheme}“{entity.name}”。", [f"{entity.name}多少", "有哪些功能科目"])
        others = [e for e in candidates[1:] if e.kind == entity.kind and e.code != entity.code]
        extra = "；同名的还有 " + "、".join(e.code for e in others) if others else ""
        return self.answer(f"“{entity.name}”的{scheme}编码是 {entity.code}{extra}。", [f"{entity.name}多少", "有哪些功能科目"])

    def partial_name_clarify(self) -> Answer | None:
        """Words that are part of several names (离退休, 运行维护费): ask which one."""
        key = self.key()
        if len(key) < 2:
            return None
        seen, matches = set(), []
        for entity in self.c.entities:
            if entity.kind in ("func", "econ", "project", "row") and key in norm(entity.name) and entity.name not in seen:
                seen.add(entity.name)
                matches.append(entity)
        return self.clarify(matches, key) if len(matches) >= 2 else None

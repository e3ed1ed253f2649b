"""Numbers stated in the narrative (情况说明): each with the clause that says what it is."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from db.recognise import Section

_CLAUSE = re.compile(r"(?:[^，,。；;：:、]|(?<=\d),(?=\d{3}))+")
_NUMBER = re.compile(r"(?<![\d.])(\d[\d,]*(?:\.\d+)?)\s*(万元|亿元|元|%|个|辆|台（套）|台\(套\)|台|项|人|次|家)")
_YEAR_REF = re.compile(r"(?:19|20)\d{2}\s*年")
_TOPIC = re.compile(r"^[(（]?[一二三四五六七八九十\d]*[)）、.]?\s*(?P<topic>[^\d，,。；;：:]{2,15})[。：:]?$")  # "（二）公务接待费。"
_NOT_TOPIC = re.compile(r"是|原因|如下|其中|具体|情况|说明|主要|用于")
_BARE = re.compile(r"^((?:19|20)\d{2}年度?)?(预算数?|安排|为|是|共|年初预算数?)*$")  # a label naming nothing: 2026年预算数


@dataclass
class NarrativeFact:
    heading: str
    label: str  # the clause up to the number, e.g. 收入增加
    clause: str
    sentence: str
    value: Decimal
    unit: str
    line: int
    compared_year: int | None  # 与2023年预算相比 …


def narrative_facts(sections: list[Section], year: int) -> list[NarrativeFact]:
    """Every number with a unit in 第一/第二部分, with its clause and the year it compares to."""
    facts: list[NarrativeFact] = []
    for section in sections:
        if "名词解释" in section.part:
            continue
        text = unicodedata.normalize("NFKC", section.text)
        topic = ""
        for sentence in re.split(r"(?<=[。；;])", text):
            heading = _TOPIC.match(sentence.strip())
            if heading and not _NOT_TOPIC.search(heading.group("topic")):  # a sentence that only names what the next states
                topic = heading.group("topic")
                continue
            compared = None
            for clause_match in _CLAUSE.finditer(sentence):
                clause = clause_match.group(0).strip()
                years = [int(y[:4]) for y in _YEAR_REF.findall(clause)]
                if ("相比" in clause or "比上年" in clause or "持平" in clause) and years:
                    compared = years[0]
                elif "比上年" in clause or "上年" in clause and ("增" in clause or "减" in clause):
                    compared = year - 1
                for number in _NUMBER.finditer(clause):
                    label = clause[: number.start()].strip(" *（(")
                    label = re.sub(r"^(其中|包括|比上年|与上年相比)", "", label).strip()
                    label = re.sub(r"^[(（]?[一二三四五六七八九十\d]+[)）]\s*", "", label).strip()
                    if topic and _BARE.match(label):
                        label = topic + label
                    facts.append(NarrativeFact(
                        heading=section.heading, label=label or clause, clause=clause, sentence=sentence.strip(),
                        value=Decimal(number.group(1).replace(",", "")), unit=number.group(2).replace("(", "（").replace(")", "）"),
                        line=section.line, compared_year=compared,
                    ))
    return facts

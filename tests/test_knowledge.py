"""Knowledge files are checked at start-up: references to nothing stop it with one Chinese line."""

from __future__ import annotations

import logging
import shutil

import pytest

from bot.config import KNOWLEDGE_DIR
from bot.core import Assistant
from bot.lexicon import load_lexicon
from bot.validate import KnowledgeError
from db.ingest import ingest
from tests.conftest import FIXTURE


def knowledge_with(tmp_path, name: str, old: str, new: str):
    folder = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, folder, ignore=shutil.ignore_patterns("sources"))
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return load_lexicon(folder)


@pytest.mark.parametrize("name, old, new, said", [
    ("measures.toml", 'column = "basic.personnel"', 'column = "人员经费"', "规范栏目"),
    ("phrases.toml", 'rows = "经济科目"', 'rows = "经济科"', "行集"),
    ("operators.toml", 'name = "average"', 'name = "mean"', "执行器"),
    ("operators.toml", 'within = ', 'inside = ', "within"),
])
def test_a_reference_to_nothing_is_an_error_at_start_up(settings, assistant, tmp_path, name, old, new, said):
    lexicon = knowledge_with(tmp_path, name, old, new)
    with pytest.raises(KnowledgeError, match=said):
        Assistant(settings.db_path, lexicon, tmp_path / "cache")


def test_synonyms_no_loaded_document_has_are_named_in_a_warning(tmp_path, caplog):
    db = tmp_path / "qingshan.sqlite"
    ingest(db, [FIXTURE])
    with caplog.at_level(logging.WARNING, logger="bot.validate"):
        Assistant(db, load_lexicon(KNOWLEDGE_DIR), tmp_path / "cache")
    assert "信息安全事务" in caplog.text  # a 功能分类 subject the fixture does not print
    assert "南阳市部分市级信息系统等保测评服务项目" not in caplog.text  # the seed's own words live beside it, not in the lexicon


def test_a_question_word_is_added_by_editing_one_data_file(tmp_path):
    """What the README's developer section says: one cue in operators.toml makes 大头 a ranking word."""
    from tests.conftest import SEED

    db = tmp_path / "seed.sqlite"
    ingest(db, [SEED])
    before = Assistant(db, load_lexicon(KNOWLEDGE_DIR), tmp_path / "cache").answer("什么项目占大头", "s")
    lexicon = knowledge_with(tmp_path, "operators.toml", 'name = "rank"\ncues = [["', 'name = "rank"\ncues = [["大头", 4], ["')
    after = Assistant(db, lexicon, tmp_path / "cache").answer("什么项目占大头", "s")
    assert "72.00" not in before.text and "河南省社会保险信息系统维护项目" in after.text and "72.00" in after.text


def test_every_sentence_an_executor_says_is_in_the_wording_file():
    import re

    from bot.config import PROJECT_ROOT

    wording = load_lexicon(KNOWLEDGE_DIR).wording
    used = {key for path in (PROJECT_ROOT / "bot").glob("*.py")
            for key in re.findall(r'\.say\("([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8"))}
    assert len(used) >= 40 and used <= set(wording), sorted(used - set(wording))
    assert set(wording) - used == set(), sorted(set(wording) - used)  # no template that nothing says

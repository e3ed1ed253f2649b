"""Reading published PDFs: broken inputs fail with one clear line; real disclosures load exactly.

The real documents live in ../shared/realdocs (not in the repository); those tests skip when it
is absent. Expected figures come from pdfplumber's own table extraction, not from db/pdf.py.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from bot.config import PROJECT_ROOT, Settings
from db.errors import LoadError
from db.ingest import ingest
from db.load import parse_document

REALDOCS = PROJECT_ROOT.parent / "shared" / "realdocs"
needs_realdocs = pytest.mark.skipif(not REALDOCS.is_dir(), reason="../shared/realdocs is not here")
MONEY = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2}$|^-?\d{1,3}(?:,\d{3})+$")


def minimal_pdf(pages: int, content: bytes = b"") -> bytes:
    """A valid PDF of empty pages (optionally drawing `content`): what a scan without OCR looks like to us."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages)) + b"] /Count %d >>" % pages]
    for i in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>" % (4 + 2 * i))
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@pytest.mark.parametrize("name, data, words", [
    ("scan.pdf", minimal_pdf(3, b"0 0 m 100 100 l S"), "没有文字层"),
    ("broken.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40, "已损坏"),
    ("renamed.pdf", "这是一份文本，不是 PDF".encode(), "不是 PDF"),
    ("huge.pdf", minimal_pdf(401), "超过上限"),
])
def test_an_unreadable_pdf_gets_one_clear_line_and_nothing_loaded_is_lost(tmp_path, name, data, words):
    db = tmp_path / "kb.sqlite"
    good = tmp_path / "good.txt"
    good.write_bytes((PROJECT_ROOT / "knowledge" / "sources" / "nanyang-2024-budget.txt").read_bytes())
    ingest(db, [good])
    before = db.read_bytes()
    bad = tmp_path / name
    bad.write_bytes(data)
    (outcome,) = ingest(db, [bad]).outcomes
    assert outcome.status == "failed" and words in outcome.error and "\n" not in outcome.error
    assert db.read_bytes() == before
    with pytest.raises(LoadError):
        parse_document(bad)


def test_a_pdf_that_is_not_a_budget_is_refused_by_its_title(tmp_path):
    page = b"BT /F1 12 Tf 72 720 Td (Notice) Tj ET"
    pdf = minimal_pdf(1, page).replace(
        b"/MediaBox [0 0 595 842]", b"/MediaBox [0 0 595 842] /Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>")
    path = tmp_path / "notice.pdf"
    path.write_bytes(pdf.replace(b"(Notice)", b"(" + b"Inspection notice " * 3 + b")"))
    with pytest.raises(LoadError) as caught:
        parse_document(path)
    assert "不像部门预算" in str(caught.value)


def _pdfplumber_figures(path: Path) -> Counter:
    import pdfplumber

    found: Counter = Counter()
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                for cell in (c for row in table for c in row if c):
                    found.update(Decimal(t.replace(",", "")) for t in cell.split() if MONEY.match(t))
    return found


@needs_realdocs
@pytest.mark.parametrize("name, department, tables", [
    ("guangzhou-xinfangju-2026-budget.pdf", "广州市信访局", 12),
    ("shanghai-weijianwei-2026-budget.pdf", "上海市中医文献馆", 9),
    ("suzhou-shenjiju-2026-budget.pdf", "苏州市审计局", 13),
])
def test_real_disclosures_load_their_printed_figures_exactly(tmp_path, name, department, tables):
    path = REALDOCS / name
    db = tmp_path / "kb.sqlite"
    (outcome,) = ingest(db, [path]).outcomes
    assert outcome.status == "loaded" and outcome.department == department and outcome.tables == tables
    printed = _pdfplumber_figures(path)
    loaded = Counter(Decimal(v) for (v,) in sqlite3.connect(db).execute("SELECT value FROM facts"))
    matched = sum(min(n, loaded[v]) for v, n in printed.items())
    assert matched >= 0.99 * sum(printed.values())


@needs_realdocs
def test_a_pdf_answer_cites_the_page_its_table_is_printed_on(tmp_path):
    import pdfplumber

    from bot.core import Assistant
    from bot.lexicon import load_lexicon

    path = REALDOCS / "guangzhou-xinfangju-2026-budget.pdf"
    db = tmp_path / "kb.sqlite"
    ingest(db, [path])
    with pdfplumber.open(path) as pdf:
        expected = next(i for i, page in enumerate(pdf.pages, 1)
                        if "“三公”经费预算表" in (page.extract_text() or "") and page.find_tables())
    settings = Settings(db_path=db, cache_dir=tmp_path / "cache")
    assistant = Assistant(db, load_lexicon(settings.knowledge_dir), settings.cache_dir)
    answer = assistant.answer("广州市信访局三公经费多少")
    assert answer.status == "answered" and answer.figures
    pages = {c.page for c in answer.citations if "三公" in c.table}
    assert pages == {expected}
    assert all(c.url.endswith(f"#page={c.page}") for c in answer.citations if c.page)


@needs_realdocs
def test_the_web_app_serves_a_loaded_pdf_where_its_citations_point(tmp_path):
    import httpx

    from bot.core import Assistant
    from bot.lexicon import load_lexicon
    from tests.web_server import serve

    path = REALDOCS / "guangzhou-xinfangju-2026-budget.pdf"
    db = tmp_path / "kb.sqlite"
    ingest(db, [path])
    settings = Settings(db_path=db, cache_dir=tmp_path / "cache")
    assistant = Assistant(db, load_lexicon(settings.knowledge_dir), settings.cache_dir)
    with serve(settings, assistant) as base:
        answer = httpx.post(f"{base}/api/ask", json={"question": "广州市信访局三公经费多少"}).json()
        url = next(c["url"] for c in answer["citations"] if c["page"])
        assert url.startswith(f"/documents/{path.name}#page=") or url.startswith("/documents/")
        pdf = httpx.get(base + url.split("#")[0])
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf" and pdf.content == path.read_bytes()
        assert httpx.get(f"{base}/documents/..%2F..%2Fetc%2Fpasswd").status_code == 404
        assert httpx.get(f"{base}/documents/nanyang-2024-budget.txt").status_code == 404


@needs_realdocs
def test_the_unit_line_every_table_repeats_is_read_for_every_table():
    """上海 prints 编制单位…单位：元 over each table (the 三公 table in 万元): a repeated caption is no running head."""
    import pdfplumber

    path = REALDOCS / "shanghai-weijianwei-2026-budget.pdf"
    doc = parse_document(path).doc
    with pdfplumber.open(path) as pdf:
        printed = [re.search(r"单位[:：]\s*(万元|元)", page.extract_text() or "") for page in pdf.pages if page.find_tables()]
    assert {t.unit for t in doc.tables} == {m.group(1) for m in printed if m}
    assert [t.unit for t in doc.tables if "三公" in t.standard.name] == ["万元"]
    assert all(t.unit == "元" for t in doc.tables if "三公" not in t.standard.name)

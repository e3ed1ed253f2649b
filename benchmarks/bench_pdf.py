"""Benchmark the PDF reader over a folder of disclosures (a script, not a test).

Reports, per document and in all:
- coverage: loaded or failed (and why), tables recognised, tables skipped;
- fidelity without hand labels: of the money figures pdfplumber's own table extraction finds in
  the PDF (its default cell assignment, independent of db/pdf.py), the share loaded as facts
  with exactly that value;
- identities: the template's own checks from the audit (totals equal their rows, 收入总计 =
  支出总计, the same figure in several tables agrees): passed / checked;
- speed: pages per second for the reader alone, and the whole load.

    .venv/bin/python benchmarks/bench_pdf.py ../shared/realdocs [--jobs 2]
"""

from __future__ import annotations

import argparse
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from db.audit import audit  # noqa: E402
from db.ingest import collect, ingest  # noqa: E402

MONEY = re.compile(r"^-?(?:\d{1,3}(?:,\d{3})+|\d+)\.\d{2}$|^-?\d{1,3}(?:,\d{3})+$")


def printed_figures(path: Path) -> tuple[Counter, int]:
    """Money figures in the PDF's ruled tables by pdfplumber's own extraction, and the page count."""
    import pdfplumber

    found: Counter = Counter()
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages:
            for table in page.extract_tables():
                for row in table:
                    for cell in row:
                        for token in (cell or "").split():
                            if MONEY.match(token):
                                found[Decimal(token.replace(",", ""))] += 1
            page.close()
        return found, len(pdf.pages)


def loaded_figures(conn: sqlite3.Connection, name: str) -> Counter:
    rows = conn.execute("SELECT f.value FROM facts f JOIN documents d ON d.id = f.document_id WHERE d.source_file = ?", (name,))
    return Counter(Decimal(v) for (v,) in rows)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args()
    files = [p for p in collect([args.folder]) if p.suffix.lower() == ".pdf"]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite"
        started = time.perf_counter()
        report = ingest(db, files, workers=args.jobs)
        load_seconds = time.perf_counter() - started
        conn = sqlite3.connect(db)
        checks = audit(db)
        total_printed = total_matched = total_pages = 0
        print(f"{'文件':40} {'状态':6} {'表':>3} {'跳过':>4} {'数字':>6} {'精确':>7} {'恒等式':>9}")
        for outcome in report.outcomes:
            printed, pages = printed_figures(outcome.path)
            total_pages += pages
            if outcome.status != "loaded":
                print(f"{outcome.path.name[:40]:40} {outcome.status:6} {outcome.error or ''}")
                continue
            loaded = loaded_figures(conn, outcome.path.name)
            matched = sum(min(n, loaded[value]) for value, n in printed.items())
            total_printed += sum(printed.values())
            total_matched += matched
            mine = [c for c in checks if c.document == outcome.path.name and c.status != "skip"]
            passed = sum(c.status == "pass" for c in mine)
            share = f"{matched / sum(printed.values()):.1%}" if printed else "—"
            print(f"{outcome.path.name[:40]:40} {'已加载':6} {outcome.tables:>3} {len(outcome.skipped):>4} "
                  f"{sum(printed.values()):>6} {share:>7} {passed:>4}/{len(mine):<4}")
        table_checks = [c for c in checks if c.status != "skip"]
        print(f"\n加载 {len(report.of('loaded'))}/{len(files)} 份；跳过表 {sum(len(o.skipped) for o in report.of('loaded'))} 张")
        if total_printed:
            print(f"表中金额精确载入：{total_matched}/{total_printed} = {total_matched / total_printed:.2%}")
        print(f"模板恒等式成立：{sum(c.status == 'pass' for c in table_checks)}/{len(table_checks)}")
        print(f"整体加载：{load_seconds:.1f} 秒，{total_pages} 页，{total_pages / load_seconds:.1f} 页/秒")
    sample = max(files, key=lambda p: p.stat().st_size) if files else None
    if sample:
        from db.pdf import read_pdf

        started = time.perf_counter()
        _, pages = read_pdf(sample, sample.read_bytes())
        seconds = time.perf_counter() - started
        print(f"仅读取（单核）：{sample.name} {max(pages, default=0)} 页 {seconds:.2f} 秒")
    return 0


if __name__ == "__main__":
    sys.exit(main())

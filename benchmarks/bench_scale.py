"""Cold start and memory of a new process at 1, 30, 300 and 1,000 documents (a script, not a test).

The corpus is synthetic but made of real loads: every document of a source database (for
example the 广州 set loaded from its PDFs) is copied under new department names (城市 甲1市 …)
until the count is reached. For each size a new `budgetbot ask` process answers one question, twice: the first builds the
vocabulary cache (`budgetbot ingest` does this itself), the second is what every later process
pays. Wall time and the child's own peak memory are reported.

    .venv/bin/python benchmarks/bench_scale.py /tmp/city.sqlite [--sizes 1,30,300,1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLES = ("facts", "indicators", "projects", "units", "subjects", "sections", "narrative_facts", "glossary")


def grow(source: Path, target: Path, size: int) -> None:
    """A database of `size` documents: the source's documents, then renamed copies of them."""
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target)
    ids = [r[0] for r in conn.execute("SELECT id FROM documents ORDER BY id")]
    if size < len(ids):
        for doc_id in ids[size:]:
            _delete(conn, doc_id)
    copy = 0
    while conn.execute("SELECT COUNT(*) FROM documents").fetchone()[0] < size:
        doc_id = ids[copy % len(ids)]
        copy += 1
        _clone(conn, doc_id, f"甲{copy}市")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


def _delete(conn, doc_id: int) -> None:
    for table in TABLES:
        conn.execute(f"DELETE FROM {table} WHERE document_id = ?", (doc_id,))
    conn.execute("DELETE FROM rows WHERE table_id IN (SELECT id FROM tables WHERE document_id = ?)", (doc_id,))
    conn.execute("DELETE FROM tables WHERE document_id = ?", (doc_id,))
    conn.execute("DELETE FROM documents WHERE id = ?", (doc_id,))


def _columns(conn, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _clone(conn, doc_id: int, city: str) -> None:
    """Copy one document under another city's name (ids remapped; every row keeps its values)."""
    doc = dict(zip(_columns(conn, "documents"), conn.execute("SELECT * FROM documents WHERE id = ?", (doc_id,)).fetchone()))
    old_city = doc["city"] or ""
    doc.update(id=None, department=city + doc["department"].removeprefix(old_city),
               source_file=f"{city}-{doc['source_file']}", city=city)
    new_doc = _insert(conn, "documents", doc)
    table_ids, row_ids = {}, {}
    for row in conn.execute("SELECT * FROM tables WHERE document_id = ?", (doc_id,)).fetchall():
        record = dict(zip(_columns(conn, "tables"), row))
        old = record["id"]
        record.update(id=None, document_id=new_doc)
        table_ids[old] = _insert(conn, "tables", record)
    for row in conn.execute("SELECT r.* FROM rows r JOIN tables t ON t.id = r.table_id WHERE t.document_id = ?", (doc_id,)).fetchall():
        record = dict(zip(_columns(conn, "rows"), row))
        old = record["id"]
        record.update(id=None, table_id=table_ids[record["table_id"]])
        row_ids[old] = _insert(conn, "rows", record)
    projects = {}
    for row in conn.execute("SELECT * FROM projects WHERE document_id = ?", (doc_id,)).fetchall():
        record = dict(zip(_columns(conn, "projects"), row))
        old = record["id"]
        record.update(id=None, document_id=new_doc)
        projects[old] = _insert(conn, "projects", record)
    for table in ("facts", "indicators", "units", "subjects", "sections", "narrative_facts", "glossary"):
        names = _columns(conn, table)
        for row in conn.execute(f"SELECT * FROM {table} WHERE document_id = ?", (doc_id,)).fetchall():
            record = dict(zip(names, row))
            record["document_id"] = new_doc
            if "id" in record:
                record["id"] = None
            if "table_id" in record:
                record["table_id"] = table_ids[record["table_id"]]
            if "row_id" in record:
                record["row_id"] = row_ids[record["row_id"]]
            if record.get("project_id") is not None:
                record["project_id"] = projects[record["project_id"]]
            _insert(conn, table, record)


def _insert(conn, table: str, record: dict) -> int:
    names = ", ".join(record)
    marks = ", ".join("?" for _ in record)
    return conn.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(record.values())).lastrowid


def cold_start(db: Path, cache: Path, question: str) -> tuple[float, float]:
    env = {**os.environ, "BUDGETBOT_DB": str(db), "BUDGETBOT_CACHE": str(cache)}
    started = time.perf_counter()
    child = subprocess.Popen([str(ROOT / ".venv" / "bin" / "budgetbot"), "ask", question], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)  # this child's own peak memory
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"budgetbot ask failed ({child.returncode})")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path, help="a loaded database to copy documents from")
    parser.add_argument("--sizes", default="1,30,300,1000")
    parser.add_argument("--question", default="广州市信访局三公经费多少")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            db = Path(tmp) / f"n{size}.sqlite"
            grow(args.source, db, size)
            cache = Path(tmp) / f"cache{size}"
            first = cold_start(db, cache, args.question)  # builds the segmentation dictionary once
            again = cold_start(db, cache, args.question)
            print(f"{size:>5} 份：首次（建索引缓存）{first[0]:.2f} 秒 {first[1]:.0f} MB；"
                  f"之后新进程 {again[0]:.2f} 秒 {again[1]:.0f} MB；数据库 {db.stat().st_size / 1e6:.0f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

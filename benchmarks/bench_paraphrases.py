"""Metamorphic paraphrase run at scale (a script, not a test; tests/test_paraphrases.py runs 1,500).

Generates N questions from intended queries built with SQL (tests/paraphrases.py), writes each in
many surface forms, and reports how many parse to the same query as the plain form and how many
answers hold the figures SQL gives; lists the most frequent failures.

    .venv/bin/python benchmarks/bench_paraphrases.py [--count 10000] [--seed 1]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.core import Assistant  # noqa: E402
from tests.paraphrases import all_cases, generate, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    db = Path(tempfile.mkdtemp()) / "bench.sqlite"
    assistant = Assistant.open(Settings(db_path=db, cache_dir=db.parent / "cache"))
    conn = sqlite3.connect(db)
    cases = all_cases(conn, assistant.lexicon, seed=args.seed)
    conn.close()
    report = run(assistant, generate(cases, assistant.lexicon, args.count, seed=args.seed))
    print(f"{len(cases)} 个意图；{report.line()}；错误数字 {report.total - report.right_figures}")
    for (plain, why), n in Counter((w[1], w[2]) for w in report.wrong).most_common(15):
        example = next(w for w in report.wrong if w[1] == plain and w[2] == why)
        print(f"  {n:4d} {why:8s} {plain} ← {example[0]}")


if __name__ == "__main__":
    main()

"""Benchmark the answering core (a script, not a test).

Reports per-question latency p50/p99 in-process after a warm-up over the development set,
and cold start: a new `budgetbot ask` process until its answer is printed.
Goals on a 2-core machine: p50 ≤ 1 ms, p99 ≤ 5 ms, cold start ≤ 1.0 s.

    .venv/bin/python benchmarks/bench_core.py [--rounds 5] [--cold 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.core import Assistant  # noqa: E402
from bot.evaluate import load_questions  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def warm(rounds: int, settings: Settings) -> None:
    """In-process latency with the question log off and on, the rounds interleaved so drift hits both alike."""
    assistants = {"off": Assistant.open(replace(settings, log_path=None)), "on": Assistant.open(settings)}
    questions = load_questions(ROOT / "tests" / "data" / "questions.jsonl")
    timings: dict[str, list[float]] = {mode: [] for mode in assistants}
    for round_no in range(rounds + 1):
        for mode in (("off", "on") if round_no % 2 else ("on", "off")):
            assistant = assistants[mode]
            for q in questions:
                session = uuid.uuid4().hex
                for earlier in q.get("context", []):
                    assistant.answer(earlier, session)
                started = time.perf_counter()
                assistant.answer(q["question"], session)
                if round_no:  # round 0 is the warm-up
                    timings[mode].append((time.perf_counter() - started) * 1000)
    assistants["on"].finish()
    for mode, values in timings.items():
        print(f"in-process, question log {mode:>3}: {len(values)} answers, p50 {percentile(values, 50):.3f} ms, "
              f"p99 {percentile(values, 99):.3f} ms, max {max(values):.3f} ms")
    print(f"question log: {assistants['on'].question_log.path}, {assistants['on'].question_log.dropped} dropped")


def cold(runs: int, settings: Settings) -> None:
    env = {**os.environ, "BUDGETBOT_DB": str(settings.db_path), "BUDGETBOT_CACHE": str(settings.cache_dir)}
    budgetbot = [sys.executable, "-m", "bot.cli", "ask", "三公经费多少"]
    subprocess.run(budgetbot, env=env, cwd=ROOT, capture_output=True, check=True)  # builds db and caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(budgetbot, env=env, cwd=ROOT, capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    print(f"cold start (new process to printed answer): median {statistics.median(times):.3f} s, "
          f"min {min(times):.3f} s, max {max(times):.3f} s over {runs} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cold", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.from_env({"BUDGETBOT_DB": f"{tmp}/b.sqlite", "BUDGETBOT_CACHE": f"{tmp}/cache"})
        warm(args.rounds, settings)
        cold(args.cold, settings)


if __name__ == "__main__":
    main()

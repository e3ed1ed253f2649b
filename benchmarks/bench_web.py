"""Load test of POST /api/ask on loopback: answers per second and p50/p99 latency at several concurrencies.

    .venv/bin/python benchmarks/bench_web.py [--seconds 5] [--clients 1,16,64] [--core real|null]

Starts `uvicorn --factory bot.web:app_from_env` (one worker) in a subprocess on 127.0.0.1 with a throw-away
database and the rate limit lifted, then runs keep-alive clients written on raw asyncio streams (an HTTP
client library would cost more CPU than the server on a 2-core machine). Each client has its own session and
asks a fixed mix of real questions, follow-ups included. Every run is bounded in time and in count.

It also prints the ceiling set by the answering core alone (the same mix called in-process, one thread), and
`--core null` serves a canned answer instead of the core, to measure what the web stack itself can carry.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# A conversation each client repeats: direct questions, follow-ups that need the session, and misses.
QUESTIONS = [
    "三公经费多少",
    "公务接待费多少",
    "局本级预算多少",
    "那大数据中心呢？",
    "收入预算总计多少",
    "2024年政府性基金预算支出多少",
    "人员经费占基本支出多少",
    "项目支出有哪些",
    "大数据中心项目有哪些",
    "今天天气怎么样",
]
MAX_REQUESTS_PER_CLIENT = 200_000


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)


def null_core_app():
    """uvicorn factory for `--core null`: the real app around a stub that returns one canned real-sized answer."""
    from bot.answer import ANSWERED, Answer, Citation, Figure
    from bot.config import Settings
    from bot.web import create_app

    class CannedAssistant:
        def answer(self, question: str, session_id: str) -> Answer:
            return Answer(
                ANSWERED,
                "2024年“三公”经费预算 4.30 万元。（其中：因公出国（境）费 0.00，公务用车购置及运行费 4.00，公务接待费 0.30）",
                [Figure("4.30", "万元", "一般公共预算“三公”经费支出情况表", "合计", "2024年预算数", None, 465)],
                [Citation("nanyang-2024-budget.txt", "一般公共预算“三公”经费支出情况表", "合计", 465)],
                ["“三公”经费占比多少", "比2023年增加多少", "有哪些项目"],
                [],
                session_id,
            )

        def overview(self) -> list[dict]:
            return []

    return create_app(Settings.from_env(), CannedAssistant())


def core_ceiling(db: Path, seconds: float) -> tuple[float, float]:
    """(answers/s, ms per answer) of the core alone on the same mix, in this process, one thread."""
    from bot.config import Settings
    from bot.core import Assistant

    assistant = Assistant.open(Settings.from_env({**os.environ, "BUDGETBOT_DB": str(db), "BUDGETBOT_CACHE": str(db.parent / "cache")}))
    for question in QUESTIONS:
        assistant.answer(question, "warm-up")
    count, began = 0, time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline and count < MAX_REQUESTS_PER_CLIENT:
        assistant.answer(QUESTIONS[count % len(QUESTIONS)], f"ceiling-{(count // len(QUESTIONS)) % 64}")
        count += 1
    elapsed = time.perf_counter() - began
    return count / elapsed, elapsed / count * 1000


def request_bytes(port: int, question: str, session: str) -> bytes:
    body = json.dumps({"question": question, "session_id": session}, ensure_ascii=False).encode()
    head = (
        f"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def client(port: int, number: int, deadline: float, result: Result) -> None:
    session = f"bench-{os.getpid()}-{number}"
    requests = [request_bytes(port, q, session) for q in QUESTIONS]
    start = number % len(requests)  # clients start at different points of the conversation
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for count, payload in enumerate(itertools.islice(itertools.cycle(requests), start, None)):
            if count >= MAX_REQUESTS_PER_CLIENT or time.perf_counter() >= deadline:
                break
            began = time.perf_counter()
            try:
                writer.write(payload)
                status, body = await read_response(reader)
            except (OSError, asyncio.IncompleteReadError, ValueError) as error:
                result.errors += 1
                result.error_samples.append(repr(error))
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            result.latencies.append(time.perf_counter() - began)
            if status != 200:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}")
                continue
            kind = json.loads(body)["status"]
            result.statuses[kind] = result.statuses.get(kind, 0) + 1
    finally:
        writer.close()


async def run_level(port: int, clients: int, seconds: float) -> tuple[Result, float]:
    # Warm-up: open connections and let the server settle before measuring.
    await asyncio.gather(*(client(port, n, time.perf_counter() + 0.3, Result()) for n in range(clients)))
    result = Result()
    began = time.perf_counter()
    await asyncio.gather(*(client(port, n, began + seconds, result) for n in range(clients)))
    return result, time.perf_counter() - began


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(app: str, port: int, db: Path, http: str, loop: str, access_log: bool, workers: int = 1) -> subprocess.Popen:
    env = {
        **os.environ,
        **({"BUDGETBOT_SESSIONS": str(db.parent / "sessions.sqlite")} if workers > 1 else {}),
        "BUDGETBOT_DB": str(db),
        "BUDGETBOT_CACHE": str(db.parent / "cache"),
        "BUDGETBOT_RATE_LIMIT": "1000000000",  # one client address makes every request here
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable, "-m", "uvicorn", "--factory", app,
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--http", http, "--loop", loop, "--log-level", "warning",
    ]
    if not access_log:
        command.append("--no-access-log")
    server = subprocess.Popen(command, env=env, cwd=ROOT)
    deadline = time.monotonic() + 120  # the first start builds the database
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("server did not become healthy")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per concurrency level")
    parser.add_argument("--clients", default="1,16,64", help="comma-separated concurrency levels")
    parser.add_argument("--http", default="auto", choices=["auto", "h11", "httptools"], help="uvicorn HTTP parser")
    parser.add_argument("--loop", default="auto", choices=["auto", "asyncio", "uvloop"], help="uvicorn event loop")
    parser.add_argument("--core", default="real", choices=["real", "null"], help="null: canned answers, web stack only")
    parser.add_argument("--app", default=None, help="uvicorn app factory to load (overrides --core)")
    parser.add_argument("--access-log", action="store_true", help="keep uvicorn's per-request access log on")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers (>1 shares sessions in SQLite)")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:  # run as a script from a checkout: import the project for the core ceiling
        sys.path.insert(0, str(ROOT))
    levels = [int(part) for part in args.clients.split(",")]

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        port = free_port()
        app = args.app or {"real": "bot.web:app_from_env", "null": "benchmarks.bench_web:null_core_app"}[args.core]
        server = start_server(app, port, Path(tmp) / "budget.sqlite", args.http, args.loop, args.access_log, args.workers)
        try:
            print(f"app={app} uvicorn http={args.http} loop={args.loop} access_log={args.access_log}, {os.cpu_count()} cores")
            if args.core == "real" and args.app is None:
                rate, per_answer = core_ceiling(Path(tmp) / "budget.sqlite", min(args.seconds, 3.0))
                print(f"core alone (in-process, one thread): {rate:.0f} answers/s, {per_answer:.2f} ms/answer")
            print(f"{'clients':>7} {'answers/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'errors':>7}  statuses")
            for clients in levels:
                result, elapsed = asyncio.run(run_level(port, clients, args.seconds))
                latencies = sorted(result.latencies)
                answered = sum(result.statuses.values())
                print(
                    f"{clients:>7} {answered / elapsed:>10.0f} {percentile(latencies, 0.50) * 1000:>8.2f}"
                    f" {percentile(latencies, 0.99) * 1000:>8.2f} {latencies[-1] * 1000 if latencies else 0:>8.2f}"
                    f" {result.errors:>7}  {dict(sorted(result.statuses.items()))}"
                )
                for sample in result.error_samples[:3]:
                    print("        error:", sample)
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

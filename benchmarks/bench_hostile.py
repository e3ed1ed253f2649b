"""Load under attack against a real `budgetbot serve` process: p99 and lost requests, then memory over many requests.

    .venv/bin/python benchmarks/bench_hostile.py [--phase undisturbed|disturbed|memory|all|a,b]
                                                 [--seconds 300] [--requests 1000000] [--clients 64]

Acceptance being measured: "a 64-client load of 5 minutes with 1,000 half-open sockets and one
header-flooding client beside it keeps p99 within twice the undisturbed figure and loses no request;
memory stays flat over 1,000,000 requests".

Phases (each starts its own server: `python -m bot.cli serve --host 127.0.0.1 --port P`, one worker,
rate limit off, file-descriptor limit `--nofile` like `LimitNOFILE=8192` in the systemd unit):

  undisturbed  `--clients` keep-alive clients from 127.0.0.1 (a trusted address, as a reverse proxy would be)
               each hold one conversation (its own session id) through the question mix of bench_web.py
               for `--seconds`. Any non-200 answer or failed exchange is a lost request.
  disturbed    the same load while two attacker processes run beside it: `--half-open` sockets that send
               nothing, spread over 127.0.0.2.. (`--attack-addresses` of them, so each address stays under
               the per-client cap) and reopened when the server closes them at its request deadline or
               refuses them with 503; and one client on its own address streaming an endless request header,
               reconnecting whenever it is cut off. The attackers count what the server did to them.
  memory       `--requests` answers without a session id (each one opens a new session) with every tenth a
               follow-up in the session the previous answer returned; the server's VmRSS is sampled every
               `--sample-every` requests.

The load generator is raw asyncio streams on uvloop (an HTTP client library costs more CPU than the server on
2 cores); the attackers are separate processes (this file run with --attacker) so they do not share its loop.
Results are also written as JSON to the work directory; the disturbed phase compares its p99 with the
undisturbed result there.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import resource
import select
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_web import QUESTIONS, percentile
from tests.hostile import free_port, rss_kib, wait_healthy

FOLLOW_UPS = ["那大数据中心呢？", "比2023年增加多少", "有哪些项目"]
DIRECT = [q for q in QUESTIONS if q not in FOLLOW_UPS]
CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def listen_queue(port: int) -> int | None:
    """Connections waiting in the kernel's accept queue of the listening socket on `port` (rx_queue of /proc/net/tcp)."""
    wanted = f":{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        parts = line.split()
        if parts[1].endswith(wanted) and parts[3] == "0A":
            return int(parts[4].split(":")[1], 16)
    return None


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def spread(values: list) -> dict:
    values = sorted(v for v in values if v is not None)
    if not values:
        return {"min": None, "median": None, "max": None}
    return {"min": values[0], "median": values[len(values) // 2], "max": values[-1]}


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat), to see what else ran beside the benchmark."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLK_TCK  # all but idle and iowait (guest is in user)


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ----------------------------------------------------------------------------------------------- the server

class Server:
    """`python -m bot.cli serve` with the benchmark's settings; its log goes to `workdir/server-<name>.log`."""

    def __init__(self, args, name: str) -> None:
        self.args, self.name = args, name
        self.log = Path(args.workdir) / f"server-{name}.log"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> Server:
        args = self.args
        env = {**os.environ,
               "BUDGETBOT_DB": str(args.db), "BUDGETBOT_CACHE": str(args.cache),
               "BUDGETBOT_RATE_LIMIT": "0", "BUDGETBOT_REQUEST_TIMEOUT": str(args.request_timeout),
               "FORWARDED_ALLOW_IPS": "127.0.0.1", "PYTHONUNBUFFERED": "1",
               "BUDGETBOT_LOG": "off" if args.log == "off" else str(Path(args.workdir) / "questions.sqlite")}
        for name in ("BUDGETBOT_SESSIONS", "BUDGETBOT_REDIS_URL", "BUDGETBOT_WORKERS", "BUDGETBOT_ENV_FILE",
                     "BUDGETBOT_MAX_CONNECTIONS", "BUDGETBOT_MAX_CONNECTIONS_PER_CLIENT"):
            env.pop(name, None)  # the defaults (1000 in all, 64 per client) are what is being measured
        nofile = args.nofile

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

        command = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=args.source, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            preexec_fn=limit)
        wait_healthy(self.base, self.process, self.log, timeout=120)
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> int | None:
        if self.process is None:
            return None
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        return self.process.returncode

    def log_report(self) -> dict:
        """What the server's log says: refused-connection lines and their counts, errors, line kinds."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        lines = text.splitlines()
        refusal_lines = [line for line in lines if "拒绝连接" in line]
        refused = Counter()
        for line in refusal_lines:
            for why, n in re.findall(r"([^：，]+?) (\d+) 次", line.split("拒绝连接", 1)[1]):
                refused[re.sub(r"^127\.0\.0\.\d+ ", "127.0.0.x ", why.strip())] += int(n)
        kinds = Counter()
        for line in lines:
            kind = re.sub(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ ", "", line)
            kind = re.sub(r"\d+(\.\d+)*(:\d+)?", "N", kind)
            kinds[kind[:140]] += 1
        errors = [line for line in lines if re.search(r"\bERROR\b|Traceback|Exception|CRITICAL", line)]
        return {"log": str(self.log), "bytes": len(text.encode()), "lines": len(lines),
                "refusal_lines": len(refusal_lines), "refusal_line_samples": refusal_lines[:3] + refusal_lines[-2:],
                "refused_by_reason": dict(refused), "refused_total": sum(refused.values()),
                "error_lines": len(errors), "error_samples": errors[:8], "kinds": kinds.most_common(12)}


def print_log_report(report: dict) -> None:
    print(f"  server log {report['log']}: {report['lines']} lines, {report['bytes'] / 2**20:.1f} MiB")
    print(f"  log lines mentioning 拒绝连接: {report['refusal_lines']}; refusals they count: "
          f"{report['refused_total']} {report['refused_by_reason']}")
    for line in dict.fromkeys(report["refusal_line_samples"]):
        print("    |", line[:220])
    print(f"  error lines (ERROR/Traceback/Exception): {report['error_lines']}")
    for line in report["error_samples"]:
        print("    !", line[:220])
    print("  most frequent log line kinds (digits → N):")
    for kind, n in report["kinds"]:
        print(f"    {n:>9}  {kind}")


# ------------------------------------------------------------------------------------------ load generator

def request_bytes(port: int, question: str, session: str | None, forwarded: str | None = None) -> bytes:
    payload = {"question": question} if session is None else {"question": question, "session_id": session}
    body = json.dumps(payload, ensure_ascii=False).encode()
    proxy = f"X-Forwarded-For: {forwarded}\r\n" if forwarded else ""
    head = (f"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{proxy}"
            f"Content-Length: {len(body)}\r\n\r\n").encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, the server will close the connection)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, close = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            close = True
    return status, await reader.readexactly(length), close


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)  # requests begun inside the window
    ok: int = 0  # 200s inside the window
    lost: int = 0  # inside the window
    lost_outside: int = 0  # during warm-up / settling / drain
    ok_outside: int = 0
    lost_kinds: Counter = field(default_factory=Counter)
    lost_samples: list[str] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    reconnects: int = 0
    connect_failures: int = 0
    done: int = 0  # every completed exchange, for the memory phase


@dataclass
class Window:
    begin: float = float("inf")
    end: float = float("inf")
    stop: bool = False


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, load: Load) -> None:
        for attempt in range(200):
            try:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port,
                                                                         local_addr=("127.0.0.1", 0))
                return
            except OSError:
                load.connect_failures += 1
                await asyncio.sleep(0.05)
        raise RuntimeError("cannot connect to the server")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    async def exchange(self, payload: bytes) -> tuple[int, bytes, bool]:
        self.writer.write(payload)
        return await asyncio.wait_for(read_response(self.reader), 60)


def note_lost(load: Load, inside: bool, kind: str, sample: str) -> None:
    if inside:
        load.lost += 1
    else:
        load.lost_outside += 1
    load.lost_kinds[("" if inside else "(outside window) ") + kind] += 1
    if len(load.lost_samples) < 10:
        load.lost_samples.append(("" if inside else "(outside window) ") + sample)


async def one_request(conn: Connection, load: Load, payload: bytes, window: Window | None) -> dict | None:
    """Send `payload`, record the outcome; the answer's JSON on a 200, else None."""
    began = time.perf_counter()
    inside = window is None or window.begin <= began < window.end
    if conn.writer is None:
        await conn.open(load)
        load.reconnects += 1
    try:
        status, body, close = await conn.exchange(payload)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ValueError,
            IndexError) as error:
        conn.close()
        note_lost(load, inside, type(error).__name__, repr(error)[:200])
        return None
    elapsed = time.perf_counter() - began
    load.done += 1
    if close:
        conn.close()
    if status != 200:
        note_lost(load, inside, f"HTTP {status}", f"HTTP {status}: {body[:160].decode('utf-8', 'replace')}")
        return None
    try:
        answer = json.loads(body)
        kind = answer["status"]
    except (ValueError, KeyError, TypeError) as error:
        note_lost(load, inside, "bad JSON", f"{error!r}: {body[:160]!r}")
        return None
    if inside:
        load.ok += 1
        load.latencies.append(elapsed)
        load.statuses[kind] += 1
    else:
        load.ok_outside += 1
    return answer


async def converse(conn: Connection, number: int, load: Load, window: Window) -> None:
    """One client: its own session, the question mix in a loop (follow-ups included), until window.stop."""
    session = f"hostile-{os.getpid()}-{number}"
    payloads = [request_bytes(conn.port, q, session) for q in QUESTIONS]
    index = number % len(payloads)
    try:
        while not window.stop:
            await one_request(conn, load, payloads[index], window)
            index = (index + 1) % len(payloads)
    finally:
        conn.close()


def latency_summary(load: Load, elapsed: float) -> dict:
    values = sorted(load.latencies)
    return {"requests": load.ok + load.lost, "ok": load.ok, "lost": load.lost, "seconds": elapsed,
            "rps": load.ok / elapsed if elapsed else 0.0,
            "p50_ms": percentile(values, 0.50) * 1000, "p90_ms": percentile(values, 0.90) * 1000,
            "p99_ms": percentile(values, 0.99) * 1000, "p999_ms": percentile(values, 0.999) * 1000,
            "max_ms": (values[-1] * 1000) if values else float("nan"),
            "lost_outside_window": load.lost_outside, "ok_outside_window": load.ok_outside,
            "lost_kinds": dict(load.lost_kinds), "lost_samples": load.lost_samples,
            "answer_statuses": dict(load.statuses), "reconnects": load.reconnects,
            "connect_failures": load.connect_failures}


def progress(message: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------ attackers

class Attacker:
    """This file run with `--attacker KIND`: SIGUSR1 resets its counters (the window begins), SIGTERM stops it
    and it prints one JSON line of results."""

    def __init__(self, kind: str, args, port: int) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--attacker", kind, "--port", str(port),
                   "--half-open", str(args.half_open), "--attack-addresses", str(args.attack_addresses),
                   "--refused-backoff", str(args.refused_backoff), "--flood-chunk", str(args.flood_chunk),
                   "--flood-stall", str(args.flood_stall)]
        self.kind = kind
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)

    def begin_window(self) -> None:
        self.process.send_signal(signal.SIGUSR1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def finish(self) -> dict:
        self.stop()
        try:
            out, _ = self.process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
            return {"kind": self.kind, "error": "did not stop in 60 s"}
        try:
            return json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            return {"kind": self.kind, "error": f"no result (exit {self.process.returncode}): {out[-500:]}"}


def attack_sources(count: int) -> list[str]:
    return [f"127.0.0.{2 + i}" for i in range(count)]


async def half_open_attack(args) -> dict:
    """`--half-open` silent sockets from `--attack-addresses` addresses, each reopened when the server ends it."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    sources = attack_sources(args.attack_addresses)
    stats: Counter = Counter()
    held_for: list[float] = []
    silent: dict[int, tuple[float, str]] = {}  # holder -> (opened at, source) while the server has said nothing
    samples: list[tuple[float, int]] = []  # (monotonic, sockets open and silent for more than 1 s)
    per_source_max: Counter = Counter()
    window_began = [time.monotonic()]

    def reset() -> None:
        stats.clear()
        held_for.clear()
        samples.clear()
        per_source_max.clear()
        window_began[0] = time.monotonic()

    loop.add_signal_handler(signal.SIGUSR1, reset)

    async def holder(number: int) -> None:
        source = sources[number % len(sources)]
        while not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", args.port, local_addr=(source, 0))
            except OSError as error:
                stats[f"connect error {type(error).__name__}"] += 1
                await asyncio.sleep(0.5)
                continue
            stats["opened"] += 1
            silent[number] = (time.monotonic(), source)
            try:
                data = await reader.read(4096)
            except OSError:
                data = None
            finally:
                opened, _ = silent.pop(number, (time.monotonic(), source))
                writer.close()
            lasted = time.monotonic() - opened
            if data is None:
                stats["reset by server"] += 1
            elif data.startswith(b"HTTP/1.1 503"):
                stats["refused 503"] += 1
                if b"server_busy" not in data:
                    stats["503 without server_busy body"] += 1
                await asyncio.sleep(args.refused_backoff)
            elif not data:
                stats["accepted, closed silently by server"] += 1
                held_for.append(lasted)
            else:
                first = data.split(b"\r\n", 1)[0].decode("ascii", "replace")
                stats[f"answered {first}"] += 1

    async def sampler() -> None:
        while not stop.is_set():
            await asyncio.sleep(1.0)
            now = time.monotonic()
            held = [source for opened, source in list(silent.values()) if now - opened > 1.0]
            samples.append((now, len(held)))
            for source, n in Counter(held).items():
                per_source_max[source] = max(per_source_max[source], n)

    tasks = [asyncio.create_task(holder(n)) for n in range(args.half_open)]
    tasks.append(asyncio.create_task(sampler()))
    await stop.wait()
    now = time.monotonic()
    held_at_end = sum(1 for opened, _ in silent.values() if now - opened > 1.0)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    counts = [n for _, n in samples]
    return {"kind": "half-open", "sockets": args.half_open, "sources": f"{sources[0]}..{sources[-1]}",
            "seconds": now - window_began[0], "outcomes": dict(stats),
            "held_silent_gt1s": {"min": min(counts, default=0), "median": statistics.median(counts) if counts else 0,
                                 "max": max(counts, default=0), "at_end": held_at_end},
            "max_held_per_source": max(per_source_max.values(), default=0),
            "silent_close_after_s": {"min": min(held_for, default=0), "median": statistics.median(held_for)
                                     if held_for else 0, "max": max(held_for, default=0)},
            "cpu_s": own_cpu()}


def flood_attack(args) -> dict:
    """One client streaming `GET / HTTP/1.1` with an endless header, reconnecting whenever it is cut off."""
    state = {"stop": False, "began": time.monotonic()}
    source = attack_sources(args.attack_addresses + 1)[-1]
    stats: Counter = Counter()
    replies: Counter = Counter()
    sent_per_connection: list[int] = []
    seconds_per_connection: list[float] = []

    def stop(*_) -> None:
        state["stop"] = True

    def reset(*_) -> None:
        stats.clear()
        replies.clear()
        sent_per_connection.clear()
        seconds_per_connection.clear()
        state["began"] = time.monotonic()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGUSR1, reset)
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: flood\r\nX-Flood: "
    chunk = b"a" * args.flood_chunk
    while not state["stop"]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((source, 0))
        sock.settimeout(15)
        try:
            sock.connect(("127.0.0.1", args.port))
        except OSError as error:
            stats[f"connect error {type(error).__name__}"] += 1
            sock.close()
            time.sleep(0.1)
            continue
        opened = time.monotonic()
        stats["connections"] += 1
        sent, reply, how = 0, b"", "stopped"
        sock.setblocking(False)
        poller = select.poll()
        poller.register(sock, select.POLLIN | select.POLLOUT)
        data = head + chunk
        progressed = time.monotonic()
        try:
            while not state["stop"]:
                events = poller.poll(1000)  # wake each second to see the stop flag
                mask = events[0][1] if events else 0
                if mask & (select.POLLIN | select.POLLHUP | select.POLLERR):  # the server answered or closed
                    reply = sock.recv(65536)
                    how = "server answered" if reply else "server closed"
                    break
                if mask & select.POLLOUT:
                    try:
                        written = sock.send(data if sent == 0 else chunk)
                    except BlockingIOError:
                        continue
                    sent += written
                    progressed = time.monotonic()
                elif time.monotonic() - progressed > args.flood_stall:
                    how = f"stalled {args.flood_stall:g} s (nothing read by the server), gave up"
                    break
        except BrokenPipeError:
            how = "broken pipe"
        except ConnectionResetError:
            how = "reset"
        if reply:
            sock.setblocking(True)
            sock.settimeout(2)
            try:
                while len(reply) < 1 << 16:
                    more = sock.recv(65536)
                    if not more:
                        break
                    reply += more
            except OSError:
                pass
        sock.close()
        if state["stop"] and how == "stopped":  # the connection still open when the attack ended
            state["open_at_stop"] = {"bytes_written": sent, "seconds_open": time.monotonic() - opened}
            break
        stats[how] += 1
        status = reply.split(b"\r\n", 1)[0].decode("ascii", "replace") if reply else "(no reply)"
        body = reply.split(b"\r\n\r\n", 1)[1][:80].decode("utf-8", "replace") if b"\r\n\r\n" in reply else ""
        replies[f"{status} {body}".strip()] += 1
        sent_per_connection.append(sent)
        seconds_per_connection.append(time.monotonic() - opened)
    values = sorted(sent_per_connection)
    durations = sorted(seconds_per_connection)
    return {"kind": "header-flood", "source": source, "seconds": time.monotonic() - state["began"],
            "outcomes": dict(stats), "replies": dict(replies.most_common(8)),
            "open_at_stop": state.get("open_at_stop"),
            "bytes_written_per_connection": {"min": values[0] if values else 0,
                                             "median": values[len(values) // 2] if values else 0,
                                             "p99": percentile(values, 0.99) if values else 0,
                                             "max": values[-1] if values else 0},
            "total_bytes_written": sum(values),
            "seconds_per_connection": {"min": durations[0] if durations else 0,
                                       "median": durations[len(durations) // 2] if durations else 0,
                                       "max": durations[-1] if durations else 0},
            "cpu_s": own_cpu()}


def attacker_main(args) -> int:
    raise_nofile()
    if args.attacker == "half-open":
        try:
            import uvloop
            result = uvloop.run(half_open_attack(args))
        except ImportError:
            result = asyncio.run(half_open_attack(args))
    else:
        result = flood_attack(args)
    print(json.dumps(result, ensure_ascii=False), flush=True)
    return 0


def print_attacker(result: dict) -> None:
    if "error" in result:
        print(f"  attacker {result['kind']}: FAILED {result['error']}")
        return
    if result["kind"] == "half-open":
        held = result["held_silent_gt1s"]
        print(f"  half-open attacker: {result['sockets']} sockets from {result['sources']} "
              f"(cpu {result['cpu_s']:.1f} s); over the window:")
        for what, n in sorted(result["outcomes"].items()):
            print(f"    {what:<40} {n:>9}")
        print(f"    held open and silent (>1 s), sampled each second: min {held['min']}, median {held['median']}, "
              f"max {held['max']}, at end {held['at_end']}; most from one address: {result['max_held_per_source']}")
        closed = result["silent_close_after_s"]
        print(f"    accepted sockets closed by the server after {closed['min']:.2f}/{closed['median']:.2f}/"
              f"{closed['max']:.2f} s (min/median/max)")
    else:
        per = result["bytes_written_per_connection"]
        print(f"  header-flood attacker from {result['source']} (cpu {result['cpu_s']:.1f} s): "
              f"{result['outcomes'].get('connections', 0)} connections begun in {result['seconds']:.0f} s, "
              f"{result['total_bytes_written'] / 2**20:.1f} MiB written")
        for what, n in sorted(result["outcomes"].items()):
            print(f"    {what:<40} {n:>9}")
        print(f"    bytes written into the socket before being cut off, per connection: min {per['min']}, "
              f"median {per['median']}, p99 {per['p99']}, max {per['max']} "
              f"(includes kernel buffers: an upper bound on what the server read)")
        if result.get("open_at_stop"):
            still = result["open_at_stop"]
            print(f"    connection still open (not cut off) when the attack ended: {still['bytes_written']} bytes "
                  f"written, open {still['seconds_open']:.1f} s")
        took = result["seconds_per_connection"]
        print(f"    seconds from connect to cut-off per connection: min {took['min']:.3f}, median {took['median']:.3f}, "
              f"max {took['max']:.3f}")
        print("    server's replies:")
        for reply, n in result["replies"].items():
            print(f"      {n:>9}  {reply}")


# ------------------------------------------------------------------------------------------------- phases

async def fresh_probe(port: int, window: Window, probes: list) -> None:
    """A new visitor: a fresh connection from 127.0.0.1 and one question; (began, seconds or None, what)."""
    began = time.perf_counter()
    inside = window.begin <= began < window.end
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 60)
    except (OSError, TimeoutError) as error:
        probes.append((inside, None, f"connect {type(error).__name__}"))
        return
    try:
        writer.write(request_bytes(port, DIRECT[len(probes) % len(DIRECT)], None))
        status, _, _ = await asyncio.wait_for(read_response(reader), 60)
        probes.append((inside, time.perf_counter() - began, f"HTTP {status}"))
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError, IndexError) as error:
        probes.append((inside, None, f"{type(error).__name__}"))
    finally:
        writer.close()


async def sample_server(server: Server, window: Window, seen: dict, probes: list, every: float) -> None:
    """Each `every` seconds: the accept queue, the server's descriptors and a fresh-connection probe."""
    pending = set()
    while not window.stop:
        now = time.perf_counter()
        if window.begin <= now < window.end:
            seen["accept_queue"].append(listen_queue(server.port))
            seen["fds"].append(open_fds(server.pid))
            task = asyncio.create_task(fresh_probe(server.port, window, probes))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.sleep(every)
    await asyncio.gather(*pending)


def probe_summary(probes: list) -> dict:
    inside = [(seconds, what) for within, seconds, what in probes if within]
    times = sorted(seconds for seconds, _ in inside if seconds is not None)
    return {"probes": len(inside), "outcomes": dict(Counter(what for _, what in inside)),
            "p50_ms": percentile(times, 0.5) * 1000, "max_ms": times[-1] * 1000 if times else float("nan"),
            "over_1s": sum(1 for t in times if t > 1), "over_10s": sum(1 for t in times if t > 10)}


async def load_phase(args, server: Server, disturbed: bool) -> dict:
    window = Window()
    load = Load()
    seen: dict = {"accept_queue": [], "fds": []}
    probes: list = []
    conns = [Connection(server.port) for _ in range(args.clients)]
    await asyncio.gather(*(conn.open(load) for conn in conns))  # connected before any attacker
    tasks = [asyncio.create_task(converse(conn, n, load, window)) for n, conn in enumerate(conns)]
    tasks.append(asyncio.create_task(sample_server(server, window, seen, probes, args.probe_every)))
    await asyncio.sleep(args.warmup)
    attackers: list[Attacker] = []
    if disturbed:
        if args.half_open:
            attackers.append(Attacker("half-open", args, server.port))
        if args.flood:
            attackers.append(Attacker("flood", args, server.port))
        await asyncio.sleep(args.settle)
        for attacker in attackers:
            if attacker.process.poll() is not None:
                raise RuntimeError(f"attacker {attacker.kind} exited {attacker.process.returncode}")
    rss_before = rss_kib(server.pid)
    server_cpu, own, busy = cpu_seconds(server.pid), own_cpu(), machine_busy_seconds()
    attackers_cpu = {a.process.pid: cpu_seconds(a.process.pid) for a in attackers}
    for attacker in attackers:
        attacker.begin_window()
    window.begin = time.perf_counter()
    window.end = window.begin + args.seconds
    rss_max = rss_before
    while (remaining := window.end - time.perf_counter()) > 0.01:
        await asyncio.sleep(min(args.progress_every, remaining))
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited {server.process.returncode}")
        rss_max = max(rss_max, rss_kib(server.pid))
        progress(f"{args.phase_name}: {time.perf_counter() - window.begin:.0f}/{args.seconds:.0f} s, "
                 f"{load.ok} ok, {load.lost} lost, server RSS {rss_kib(server.pid) / 1024:.1f} MiB, "
                 f"accept queue {listen_queue(server.port)}, server fds {open_fds(server.pid)}")
    elapsed = time.perf_counter() - window.begin
    server_cpu, own, busy = cpu_seconds(server.pid) - server_cpu, own_cpu() - own, machine_busy_seconds() - busy
    attackers_cpu = sum(cpu_seconds(pid) - before for pid, before in attackers_cpu.items())
    rss_after = rss_kib(server.pid)
    for attacker in attackers:  # they stop counting at the window's end, before the load stops
        attacker.stop()
    window.stop = True
    await asyncio.gather(*tasks)
    results = [attacker.finish() for attacker in attackers]
    summary = latency_summary(load, elapsed)
    summary.update({"clients": args.clients, "probe_every": args.probe_every, "server_cpu_s": server_cpu, "loadgen_cpu_s": own,
                    "attackers_cpu_s": attackers_cpu, "machine_busy_s": busy,
                    "other_cpu_s": busy - server_cpu - own - attackers_cpu,
                    "server_rss_kib": {"before": rss_before, "max": rss_max, "after": rss_after},
                    "accept_queue": spread(seen["accept_queue"]), "server_fds": spread(seen["fds"]),
                    "fresh_connections": probe_summary(probes),
                    "attackers": results})
    return summary


def print_load(name: str, summary: dict) -> None:
    print(f"  {summary['clients']} clients, {summary['seconds']:.1f} s measured: {summary['requests']} requests, "
          f"{summary['ok']} ok, LOST {summary['lost']}, {summary['rps']:.1f} req/s")
    print(f"  latency ms: p50 {summary['p50_ms']:.2f}  p90 {summary['p90_ms']:.2f}  p99 {summary['p99_ms']:.2f}  "
          f"p99.9 {summary['p999_ms']:.2f}  max {summary['max_ms']:.2f}")
    print(f"  answer statuses: {dict(sorted(summary['answer_statuses'].items()))}")
    print(f"  outside the window (warm-up/settle/drain): {summary['ok_outside_window']} ok, "
          f"{summary['lost_outside_window']} lost; reconnects {summary['reconnects']}, "
          f"connect failures {summary['connect_failures']}")
    if summary["lost_kinds"]:
        print(f"  lost by kind: {summary['lost_kinds']}")
        for sample in summary["lost_samples"][:5]:
            print("    lost:", sample)
    rss = summary["server_rss_kib"]
    print(f"  CPU over the window: server {summary['server_cpu_s']:.1f} s "
          f"({summary['server_cpu_s'] / summary['seconds'] * 100:.0f}% of a core), load generator "
          f"{summary['loadgen_cpu_s']:.1f} s ({summary['loadgen_cpu_s'] / summary['seconds'] * 100:.0f}%), attackers "
          f"{summary['attackers_cpu_s']:.1f} s; whole machine busy {summary['machine_busy_s']:.1f} s of "
          f"{summary['seconds'] * os.cpu_count():.0f}, of which OTHER processes {summary['other_cpu_s']:.1f} s "
          f"({summary['other_cpu_s'] / summary['seconds'] * 100:.0f}% of a core)")
    print(f"  server RSS MiB: before {rss['before'] / 1024:.1f}, max {rss['max'] / 1024:.1f}, "
          f"after {rss['after'] / 1024:.1f}")
    queue, fds = summary["accept_queue"], summary["server_fds"]
    print(f"  sampled every {summary['probe_every']:g} s: kernel accept queue of the listening socket min/median/max "
          f"{queue['min']}/{queue['median']}/{queue['max']}; server open fds {fds['min']}/{fds['median']}/{fds['max']}")
    fresh = summary["fresh_connections"]
    print(f"  fresh-connection probes (a new visitor from 127.0.0.1, connect + one question, 60 s timeout): "
          f"{fresh['probes']}, outcomes {fresh['outcomes']}, p50 {fresh['p50_ms']:.1f} ms, max {fresh['max_ms']:.1f} ms, "
          f">1 s: {fresh['over_1s']}, >10 s: {fresh['over_10s']}")
    for result in summary["attackers"]:
        print_attacker(result)


def forwarded_address(index: int, clients: int) -> str | None:
    """The visitor behind the proxy for request `index`: one of `clients` addresses in 10/8, or None (no header)."""
    if clients <= 0:
        return None
    n = index % clients
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def memory_phase(args, server: Server) -> dict:
    load = Load()
    total = args.requests
    taken = [0]
    samples: list[tuple[int, int, float]] = [(0, rss_kib(server.pid), time.perf_counter())]
    began = time.perf_counter()
    server_cpu, own, busy = cpu_seconds(server.pid), own_cpu(), machine_busy_seconds()

    def sample_if_due() -> None:
        if load.done and load.done % args.sample_every == 0 and samples[-1][0] != load.done:
            now = time.perf_counter()
            rss = rss_kib(server.pid)
            previous = samples[-1]
            samples.append((load.done, rss, now))
            progress(f"memory: {load.done} requests, RSS {rss / 1024:.1f} MiB, "
                     f"{(load.done - previous[0]) / (now - previous[2]):.0f} req/s, lost {load.lost}")

    async def client(number: int) -> None:
        conn = Connection(server.port)
        await conn.open(load)
        last_session, last_address = None, None
        try:
            while taken[0] < total:
                index = taken[0]
                taken[0] += 1
                if index % 10 == 9 and last_session:
                    payload = request_bytes(server.port, FOLLOW_UPS[(index // 10) % len(FOLLOW_UPS)], last_session,
                                            last_address)
                else:
                    last_address = forwarded_address(index, args.forwarded_clients)
                    payload = request_bytes(server.port, DIRECT[index % len(DIRECT)], None, last_address)
                answer = await one_request(conn, load, payload, None)
                if answer is not None:
                    last_session = answer.get("session_id") or last_session
                sample_if_due()
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(args.memory_clients)))
    elapsed = time.perf_counter() - began
    server_cpu, own, busy = cpu_seconds(server.pid) - server_cpu, own_cpu() - own, machine_busy_seconds() - busy
    if samples[-1][0] != load.done:
        samples.append((load.done, rss_kib(server.pid), time.perf_counter()))
    summary = latency_summary(load, elapsed)
    summary.update({"server_cpu_s": server_cpu, "loadgen_cpu_s": own, "machine_busy_s": busy,
                    "other_cpu_s": busy - server_cpu - own})
    summary.update({"clients": args.memory_clients, "forwarded_clients": args.forwarded_clients, "rss_series": [(n, rss) for n, rss, _ in samples],
                    "rate_series": [(n, (n - p) / (t - pt)) for (p, _, pt), (n, _, t) in itertools.pairwise(samples)]})
    return summary


def print_memory(summary: dict, sample_every: int) -> None:
    print(f"  visitor addresses behind the proxy (X-Forwarded-For): {summary['forwarded_clients'] or 'none (all 127.0.0.1)'}")
    print(f"  {summary['clients']} clients, {summary['requests']} requests in {summary['seconds']:.0f} s: "
          f"{summary['ok']} ok, LOST {summary['lost']}, {summary['rps']:.1f} req/s; "
          f"latency p50 {summary['p50_ms']:.2f} ms, p99 {summary['p99_ms']:.2f} ms, max {summary['max_ms']:.2f} ms")
    print(f"  answer statuses: {dict(sorted(summary['answer_statuses'].items()))}")
    if summary["lost_kinds"]:
        print(f"  lost by kind: {summary['lost_kinds']}")
        for sample in summary["lost_samples"][:5]:
            print("    lost:", sample)
    print(f"  CPU: server {summary['server_cpu_s']:.0f} s, load generator {summary['loadgen_cpu_s']:.0f} s; whole machine "
          f"busy {summary['machine_busy_s']:.0f} s, of which OTHER processes {summary['other_cpu_s']:.0f} s "
          f"({summary['other_cpu_s'] / summary['seconds'] * 100:.0f}% of a core)")
    rates = dict(summary["rate_series"])
    print(f"  server VmRSS every {sample_every} requests:")
    print(f"    {'requests':>10} {'RSS MiB':>9} {'req/s':>7}")
    for n, rss in summary["rss_series"]:
        print(f"    {n:>10} {rss / 1024:>9.1f} {rates.get(n, float('nan')):>7.0f}")
    series = summary["rss_series"]
    base = next(((n, rss) for n, rss in series if n >= 100_000), None)
    if base and series[-1][0] > base[0]:
        growth = series[-1][1] - base[1]
        print(f"  growth from {base[0]} to {series[-1][0]} requests: {growth / 1024:+.1f} MiB "
              f"({growth / base[1] * 100:+.1f}%), {growth * 1024 / (series[-1][0] - base[0]):+.1f} bytes/request")
        tail = [rss for n, rss in series if n >= base[0]]
        print(f"  RSS range from {base[0]} on: min {min(tail) / 1024:.1f} MiB, max {max(tail) / 1024:.1f} MiB")
    else:
        print("  (fewer than 100,000 requests plus one sample: no growth figure from the 100k sample)")


def save(args, name: str, summary: dict) -> None:
    path = Path(args.workdir) / f"result-{name}.json"
    path.write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M:%S"), "argv": sys.argv, **summary},
                               ensure_ascii=False, indent=1, default=str))


def prepare_db(args) -> None:
    if Path(args.db).exists():
        return
    env = {**os.environ, "BUDGETBOT_DB": str(args.db), "BUDGETBOT_CACHE": str(args.cache)}
    subprocess.run([sys.executable, "-m", "bot.cli", "ask", "三公经费多少"], cwd=args.source, env=env, check=True,
                   stdout=subprocess.DEVNULL)


def run_phase(args, name: str) -> dict:
    args.phase_name = name
    server = Server(args, name).start()
    print(f"\n=== {name} === server pid {server.pid} on {server.base}, log {server.log}", flush=True)
    try:
        runner = uvloop_run()
        if name == "memory":
            summary = runner(memory_phase(args, server))
        else:
            summary = runner(load_phase(args, server, disturbed=name == "disturbed"))
    finally:
        code = server.stop()
    summary["server_exit"] = code
    summary["server_log"] = server.log_report()
    if name == "memory":
        print_memory(summary, args.sample_every)
    else:
        print_load(name, summary)
    print(f"  server exit code after SIGINT: {code}")
    print_log_report(summary["server_log"])
    save(args, name, summary)
    sys.stdout.flush()
    return summary


def uvloop_run():
    try:
        import uvloop
        return uvloop.run
    except ImportError:
        return asyncio.run


def compare(args, results: dict) -> None:
    disturbed = results.get("disturbed")
    if disturbed is None:
        return
    undisturbed = results.get("undisturbed")
    source = "this run"
    if undisturbed is None:
        path = Path(args.workdir) / "result-undisturbed.json"
        if not path.exists():
            print("\n(no undisturbed result to compare the disturbed p99 with)")
            return
        undisturbed = json.loads(path.read_text())
        source = f"{path} ({undisturbed.get('when')}, {undisturbed.get('seconds', 0):.0f} s)"
    ratio = disturbed["p99_ms"] / undisturbed["p99_ms"]
    print(f"\n=== disturbed vs undisturbed (undisturbed from {source}) ===")
    print(f"  p99 {disturbed['p99_ms']:.2f} ms / {undisturbed['p99_ms']:.2f} ms = {ratio:.2f}x  "
          f"({'within' if ratio <= 2 else 'ABOVE'} the 2x bound)")
    print(f"  p50 {disturbed['p50_ms']:.2f} / {undisturbed['p50_ms']:.2f} ms, "
          f"req/s {disturbed['rps']:.1f} / {undisturbed['rps']:.1f}")
    print(f"  lost requests: disturbed {disturbed['lost']} (outside window {disturbed['lost_outside_window']}), "
          f"undisturbed {undisturbed['lost']}")
    for name, result in (("undisturbed", undisturbed), ("disturbed", disturbed)):
        fresh = result.get("fresh_connections")
        if fresh:
            failed = fresh["probes"] - fresh["outcomes"].get("HTTP 200", 0)
            print(f"  new connections ({name}): {fresh['probes']} probes, {failed} not answered within 60 s, "
                  f"p50 {fresh['p50_ms']:.0f} ms, max {fresh['max_ms']:.0f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", default="all", help="undisturbed, disturbed, memory, all, or a comma list")
    parser.add_argument("--seconds", type=float, default=300.0, help="measured seconds of each load phase")
    parser.add_argument("--requests", type=int, default=1_000_000, help="requests of the memory phase")
    parser.add_argument("--sample-every", type=int, default=50_000, help="memory phase: requests between RSS samples")
    parser.add_argument("--clients", type=int, default=64, help="load clients of the (un)disturbed phases")
    parser.add_argument("--forwarded-clients", type=int, default=0,
                        help="memory phase: send X-Forwarded-For from this many distinct visitor addresses (as nginx "
                             "would from 127.0.0.1) so sessions are owned by many clients; 0: every request is "
                             "127.0.0.1's (one owner, capped at its per-owner session quota)")
    parser.add_argument("--memory-clients", type=int, default=64, help="clients of the memory phase")
    parser.add_argument("--half-open", type=int, default=1000, help="half-open sockets the attacker holds")
    parser.add_argument("--attack-addresses", type=int, default=16, help="127.0.0.2.. addresses they come from")
    parser.add_argument("--refused-backoff", type=float, default=1.0,
                        help="seconds a half-open socket waits after a 503 before reopening")
    parser.add_argument("--flood", type=int, default=1, choices=[0, 1], help="run the header-flooding client")
    parser.add_argument("--flood-chunk", type=int, default=16384, help="bytes per send of the header flood")
    parser.add_argument("--flood-stall", type=float, default=180.0,
                        help="seconds the flood waits on a connection that takes no more bytes before reconnecting")
    parser.add_argument("--log", default="on", choices=["on", "off"],
                        help="the server's question log (BUDGETBOT_LOG): on, in the work directory, or off")
    parser.add_argument("--request-timeout", type=float, default=10.0, help="BUDGETBOT_REQUEST_TIMEOUT")
    parser.add_argument("--nofile", type=int, default=8192, help="the server's RLIMIT_NOFILE (LimitNOFILE)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before attackers start")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds for the attackers to set up")
    parser.add_argument("--probe-every", type=float, default=2.0,
                        help="seconds between samples of the accept queue and fresh-connection probes")
    parser.add_argument("--progress-every", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--workdir", default="/tmp/benchhostile", help="database copy, logs and results")
    parser.add_argument("--source", default=str(ROOT),
                        help="project tree the server runs from (e.g. a snapshot of a commit); default this checkout")
    parser.add_argument("--attacker", choices=["half-open", "flood"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attacker:
        return attacker_main(args)

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    args.db, args.cache = workdir / "budget.sqlite", workdir / "cache"
    prepare_db(args)
    nofile = raise_nofile()
    phases = ["undisturbed", "disturbed", "memory"] if args.phase == "all" else args.phase.split(",")
    for name in phases:
        if name not in ("undisturbed", "disturbed", "memory"):
            parser.error(f"unknown phase {name}")
    print(f"bench_hostile: server from {args.source}, work directory {workdir}")
    print(f"bench_hostile: {os.cpu_count()} cores, load generator RLIMIT_NOFILE {nofile}, server LimitNOFILE "
          f"{args.nofile}, request timeout {args.request_timeout} s, question log {args.log}, phases {phases}")
    print(f"  load: {args.clients} clients x {args.seconds:.0f} s; attack: {args.half_open} half-open sockets from "
          f"{args.attack_addresses} addresses (backoff {args.refused_backoff} s after a 503), "
          f"header flood {'on' if args.flood else 'off'}; memory: {args.requests} requests, "
          f"{args.memory_clients} clients")
    results = {}
    for name in phases:
        results[name] = run_phase(args, name)
    compare(args, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

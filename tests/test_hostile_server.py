"""Hostile connections against a real `budgetbot serve` process: header floods, half-open and dribbling
sockets under a low file-descriptor limit. Every attack must fail safely while a normal client is served."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.hostile import raw_socket, read_until_closed, rss_kib, server_process

ATTACKER = "127.0.0.2"  # not a trusted proxy address: capped per client
PER_CLIENT = 20
TIMEOUT = "1"  # seconds for a whole request to arrive


@pytest.fixture(scope="module")
def server(settings, assistant, tmp_path_factory):
    """One server for the module: request deadline 1 s, 20 connections per client, 256 file descriptors."""
    log = tmp_path_factory.mktemp("hostile") / "server.log"
    env = {"BUDGETBOT_DB": str(settings.db_path), "BUDGETBOT_CACHE": str(settings.cache_dir),
           "BUDGETBOT_REQUEST_TIMEOUT": TIMEOUT, "BUDGETBOT_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
           "BUDGETBOT_RATE_LIMIT": "0"}
    with server_process(env, log, nofile=256) as (base, process):
        yield base, process, log


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def answered(base: str) -> dict:
    response = httpx.post(base + "/api/ask", json={"question": "三公经费多少"}, timeout=10)
    assert response.status_code == 200
    return response.json()


def state_of(sock) -> str:
    """'closed' if the server closed `sock` without a byte, 'open' if it is still open, else what it sent."""
    sock.settimeout(0.3)
    try:
        data = sock.recv(65536)
    except TimeoutError:
        return "open"
    return "closed" if data == b"" else data.decode("latin-1")


def test_a_header_flood_is_cut_off_and_others_are_served(server):
    base, process, _ = server
    before = rss_kib(process.pid)
    flood = raw_socket(port_of(base), ATTACKER)
    flood.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Flood: ")
    sent, refused = 0, False
    try:
        while sent < 100 * 2**20:
            flood.sendall(b"a" * 65536)
            sent += 65536
            if sent == 2**20:  # a normal client meanwhile
                assert answered(base)["status"] == "answered"
    except (BrokenPipeError, ConnectionResetError):
        refused = True
    reply = read_until_closed(flood)
    flood.close()
    assert refused or reply, "the server kept reading a 100 MiB header"
    assert not reply.startswith(b"HTTP/1.1 200")
    assert sent < 100 * 2**20
    assert rss_kib(process.pid) - before < 50 * 1024  # it never held the header in memory
    assert answered(base)["figures"]


def test_half_open_sockets_cannot_exhaust_descriptors(server):
    """Far more sockets than the process has descriptors, from one client: the surplus is refused with a
    503 at once, the rest closed when the request deadline passes; a normal client is served throughout."""
    base, _, log = server
    port = port_of(base)
    sockets = [raw_socket(port, ATTACKER) for _ in range(400)]
    try:
        assert answered(base)["status"] == "answered"
        for sock in sockets:
            sock.settimeout(5)
        replies = [read_until_closed(sock) for sock in sockets]
        refused = [r for r in replies if r.startswith(b"HTTP/1.1 503")]
        # at most PER_CLIENT are let in at a time; a slot frees when the 1 s deadline closes one, so a slow
        # machine opening the 400 over a few seconds lets in a few batches, never more
        assert len(refused) >= 400 - 4 * PER_CLIENT
        assert all(r == b"" or r.startswith((b"HTTP/1.1 503", b"HTTP/1.1 408")) for r in replies)
        assert all(b'"server_busy"' in r for r in refused)
        assert len(replies) == 400  # every socket was closed by the server, none left hanging
        assert answered(base)["status"] == "answered"
    finally:
        for sock in sockets:
            sock.close()
    assert "拒绝连接" in log.read_text(encoding="utf-8", errors="replace")


def test_a_dribbled_request_head_times_out_with_408(server):
    base, _, _ = server
    sock = raw_socket(port_of(base), ATTACKER)
    sock.settimeout(0.3)
    closed = b""
    for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
        try:
            sock.send(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            closed = sock.recv(4096)
        except TimeoutError:
            continue
        break
    sock.settimeout(5)
    reply = closed + read_until_closed(sock)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 408")
    assert "request_timeout" in reply.decode("utf-8")


def test_a_dribbled_body_is_closed_and_does_not_stop_the_server(server):
    base, _, _ = server
    sock = raw_socket(port_of(base), ATTACKER)
    sock.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"q")
    sock.settimeout(5)
    read_until_closed(sock)  # the server closes it when the deadline passes
    with pytest.raises(OSError):
        for _ in range(50):
            sock.sendall(b"x")
            time.sleep(0.05)
    sock.close()
    assert answered(base)["status"] == "answered"


def test_an_idle_keep_alive_connection_is_closed_without_a_reply(server):
    base, _, _ = server
    sock = raw_socket(port_of(base), ATTACKER)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    reply = read_until_closed(sock)
    sock.close()
    assert reply.startswith(b"HTTP/1.1 200")
    assert b"HTTP/1.1 408" not in reply  # an idle connection after a response just closes


def test_normal_clients_keep_being_served_beside_an_attack(server):
    """Eight clients asking while one attacker holds its connections open and another floods headers."""
    base, _, _ = server
    port = port_of(base)
    stop = threading.Event()

    def attack() -> None:
        while not stop.is_set():
            held = []
            for _ in range(PER_CLIENT + 10):
                try:
                    held.append(raw_socket(port, ATTACKER))
                except OSError:
                    break
            stop.wait(0.2)
            for sock in held:
                sock.close()

    attacker = threading.Thread(target=attack, daemon=True)
    attacker.start()
    failures: list[str] = []

    def client() -> None:
        with httpx.Client(base_url=base, timeout=10) as http:
            for _ in range(15):
                response = http.post("/api/ask", json={"question": "基本支出多少"})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:80]}")

    clients = [threading.Thread(target=client) for _ in range(8)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    stop.set()
    attacker.join()
    assert failures == []


def test_local_addresses_other_than_proxies_are_capped_separately(server):
    """The cap is per client address: 127.0.0.3 is served while 127.0.0.2 is at its limit."""
    base, _, _ = server
    port = port_of(base)
    held = [raw_socket(port, ATTACKER) for _ in range(PER_CLIENT)]
    try:
        extra = raw_socket(port, ATTACKER)
        assert read_until_closed(extra).startswith(b"HTTP/1.1 503")
        extra.close()
        other = raw_socket(port, "127.0.0.3")
        other.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert read_until_closed(other).startswith(b"HTTP/1.1 200")
        other.close()
    finally:
        for sock in held:
            sock.close()



def test_a_new_visitor_is_served_when_silent_sockets_hold_every_connection(settings, tmp_path):
    """Silent sockets from many addresses take every connection the descriptors allow, and the request deadline
    is far away: a new visitor still gets an answer, because the oldest silent socket is closed for it."""
    env = {"BUDGETBOT_DB": str(settings.db_path), "BUDGETBOT_CACHE": str(settings.cache_dir),
           "BUDGETBOT_REQUEST_TIMEOUT": "60", "BUDGETBOT_MAX_CONNECTIONS": "40", "BUDGETBOT_RATE_LIMIT": "0"}
    with server_process(env, tmp_path / "server.log") as (base, _):
        port = port_of(base)
        silent = [raw_socket(port, f"127.0.1.{1 + n % 8}") for n in range(40)]
        try:
            time.sleep(1.5)  # older than the grace: these may be closed for a newcomer
            visitors = [httpx.Client(base_url=base, timeout=10) for _ in range(3)]  # each keeps its connection
            for visitor in visitors:
                assert visitor.post("/api/ask", json={"question": "三公经费多少"}).json()["status"] == "answered"
            states = [state_of(sock) for sock in silent]
            assert states.count("closed") >= 3 and set(states) <= {"closed", "open"}  # no reply, just closed
            assert states.index("open") >= 3  # the oldest went first
            for visitor in visitors:
                visitor.close()
        finally:
            for sock in silent:
                sock.close()
        assert "关闭一直不发数据的连接" in (tmp_path / "server.log").read_text(encoding="utf-8", errors="replace")

"""Run the real web app under uvicorn on 127.0.0.1 (a free port) in a background thread, for tests.

The assistant is passed in (the session-wide real one from conftest), so servers start in milliseconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from bot.config import Settings
from bot.web import create_app


def free_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a free port (bind first when a URL must be known in advance)."""
    # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted sockets only when it sees that proto,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def base_url(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextmanager
def serve(settings: Settings, assistant, sock: socket.socket | None = None, **app_options) -> Iterator[str]:
    """Serve `create_app(settings, assistant, **app_options)` on `sock` (default: a free port).

    Yields the base URL; stops the server and closes the socket on exit.
    """
    sock = sock or free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings, assistant, **app_options),
        log_level="warning",
        access_log=False,
        lifespan="on",
        proxy_headers=False,  # tests are all from 127.0.0.1; no X-Forwarded-For spoofing of the client key
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"uvicorn-{port}")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test web server did not start")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

"""Helpers for testing a hybrid app, for users' own tests and turnout's.

```python
from turnout.testing import client, run_server

async def test_home():
    async with client(app) as c:              # runs the app's lifespan around the client
        assert (await c.get("/shop/")).status_code == 200

def test_streaming():
    with run_server(app) as base_url:          # a real Uvicorn on a free 127.0.0.1 port
        httpx.get(base_url + "/shop/")
```
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

from turnout.lifespan import Lifespan


@contextlib.asynccontextmanager
async def client(
    app: ASGIApp, *, base_url: str = "http://testserver", raise_app_exceptions: bool = True, **kwargs: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An `httpx.AsyncClient` over `app` (no server), with the app's lifespan run around it.

    `ASGITransport` buffers whole bodies and never disconnects: use `run_server` to test
    streaming and disconnects. With `raise_app_exceptions=False`, an exception that the app lets
    out reaches the client as the 500 response the app sent, instead of being raised in the test.
    """
    state: dict[str, Any] = {}

    async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
        # What a server does with the state that the lifespan returned: a copy in every request.
        if scope["type"] != "lifespan":
            scope = {**scope, "state": dict(state)}
        await app(scope, receive, send)

    async with Lifespan(app, state=state):
        transport = httpx.ASGITransport(app=with_state, raise_app_exceptions=raise_app_exceptions)
        async with httpx.AsyncClient(transport=transport, base_url=base_url, **kwargs) as http:
            yield http


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def run_server(app: ASGIApp | str, *, startup_timeout: float = 20.0, **config: Any) -> Iterator[str]:
    """Serve `app` on a real Uvicorn on a free 127.0.0.1 port, in a thread; gives the base URL.

    Keyword arguments go to `uvicorn.Config` (for example `http="h11"` for Uvicorn's own h11
    protocol). By default it runs turnout's protocol, as `turnout serve` does. The server stops
    when the block ends.
    """
    from turnout.server import protocol

    config.setdefault("http", protocol())
    port = free_port()
    config.setdefault("log_level", "warning")
    config.setdefault("timeout_graceful_shutdown", 5)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, **config))

    def serve() -> None:
        with contextlib.suppress(SystemExit):  # Uvicorn exits when start-up fails: reported below
            server.run()

    thread = threading.Thread(target=serve, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the server stopped during start-up; see its log")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the server did not start within {startup_timeout} s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(startup_timeout)

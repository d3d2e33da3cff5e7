from __future__ import annotations

import pytest
from starlette.types import Message, Receive, Scope, Send

from turnout import Turnout
from turnout.lifespan import Lifespan, LifespanError
from turnout.testing import client


async def no_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        raise RuntimeError("this app does not do lifespan")


async def failing_shutdown(scope: Scope, receive: Receive, send: Send) -> None:
    assert scope["type"] == "lifespan"
    await receive()
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.failed", "message": "disk full"})


async def raising_shutdown(scope: Scope, receive: Receive, send: Send) -> None:
    await receive()
    await send({"type": "lifespan.startup.complete"})
    message: Message = await receive()
    raise RuntimeError(f"cannot handle {message['type']}")


@pytest.mark.anyio
async def test_an_app_without_lifespan_support_is_let_be() -> None:
    async with Lifespan(no_lifespan) as lifespan:
        assert not lifespan.supported
    app = Turnout()
    app.mount_asgi("/x", no_lifespan, name="x")
    async with client(app) as http:
        assert (await http.get("/nothing")).status_code == 404


@pytest.mark.anyio
async def test_a_failed_shutdown_is_reported() -> None:
    with pytest.raises(LifespanError, match="disk full"):
        async with Lifespan(failing_shutdown):
            pass
    with pytest.raises(LifespanError, match="raised during shutdown"):
        async with Lifespan(raising_shutdown):
            pass

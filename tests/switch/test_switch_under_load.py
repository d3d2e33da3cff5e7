"""Switches flipped at run time under load, on a real Uvicorn: no request fails or mixes the sides.

Eight clients fetch pages of a pair whose legacy side streams its answer in two chunks, a little
slowly, while another client flips the switch between `legacy`, `new`, `canary 50%` and `shadow`
every few milliseconds through the admin API (the server runs the app on its own event loop, in
another thread, so the flips go through HTTP as an operator's would). Each request reads the state
once, when it is routed: every answer comes whole from the side that `X-Served-By` names.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from typing import NamedTuple

import anyio
import httpx
import pytest
from flask import Flask, Response
from starlette.requests import Request
from starlette.responses import StreamingResponse

from tests.switch.pairs import validated
from turnout import Turnout
from turnout.switch.health import Thresholds
from turnout.testing import run_server

CLIENTS = 8
REQUESTS_PER_CLIENT = 50
STATES = ["legacy", "new", "canary 50%", "shadow"]
FLIP_EVERY = 0.003
TOKEN = "x" * 32
SIDES = {"wsgi:shop": "legacy", "asgi:page_v2": "new"}


class Answer(NamedTuple):
    number: int
    status: int
    served_by: str
    body: str


def legacy_shop() -> Flask:
    app = Flask("shop")

    @app.get("/pages/<int:number>")
    def page(number: int) -> Response:
        def chunks() -> Iterator[bytes]:
            time.sleep(0.005)
            yield f"legacy:{number};".encode()
            time.sleep(0.001)
            yield f"legacy:{number};".encode()

        return Response(chunks(), mimetype="text/plain")

    app.wsgi_app = validated(app.wsgi_app)  # type: ignore[method-assign,assignment]
    return app


async def page_v2(request: Request) -> StreamingResponse:
    number = request.path_params["number"]

    async def chunks() -> AsyncIterator[bytes]:
        yield f"new:{number};".encode()
        await asyncio.sleep(0.001)
        yield f"new:{number};".encode()

    return StreamingResponse(chunks(), media_type="text/plain")


def hybrid() -> Turnout:
    app = Turnout(admin_path="/_turnout", admin_token=TOKEN)
    app.mount_wsgi("/shop", legacy_shop(), name="shop")
    app.add_route("/shop/pages/{number:int}", page_v2, methods=["GET"], name="page_v2")
    # The new side's latency under a loaded test machine is not what this test is about.
    app.configure_switch("page_v2", "legacy", noise_sample=0, rollback=Thresholds(p99_ratio=None))
    return app


@pytest.mark.anyio
@pytest.mark.server
async def test_flipping_a_switch_under_load_never_fails_or_mixes_the_sides() -> None:
    app = hybrid()
    answers: list[Answer] = []
    flips: list[tuple[str, int]] = []
    done = anyio.Event()

    with run_server(app) as base:

        async def fetch(client_number: int) -> None:
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                for request_number in range(REQUESTS_PER_CLIENT):
                    number = client_number * 1000 + request_number
                    response = await http.get(f"/shop/pages/{number}")
                    served = response.headers.get("x-served-by", "")
                    answers.append(Answer(number, response.status_code, served, response.text))

        async def flip() -> None:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as admin:
                for state in itertools.cycle(STATES):
                    if done.is_set():
                        return
                    body = {"state": state, "who": "load test", "why": "flip"}
                    response = await admin.put("/_turnout/switches/page_v2", json=body)
                    flips.append((state, response.status_code))
                    await asyncio.sleep(FLIP_EVERY)

        async def clients() -> None:
            async with anyio.create_task_group() as fetching:
                for client_number in range(CLIENTS):
                    fetching.start_soon(fetch, client_number)
            done.set()

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(flip)
                tasks.start_soon(clients)

    assert len(answers) == CLIENTS * REQUESTS_PER_CLIENT
    assert [a for a in answers if a.status != 200] == []
    mixed = [a for a in answers if a.served_by not in SIDES or a.body != f"{SIDES[a.served_by]}:{a.number};" * 2]
    assert mixed == []
    assert {SIDES[a.served_by] for a in answers} == {"legacy", "new"}
    assert all(status == 200 for _, status in flips)
    assert len(flips) >= 2 * len(STATES) and {state for state, _ in flips} == set(STATES)
    assert [c.after for c in app.switches.history] == [state for state, _ in flips]

"""Requests of one visitor that run at the same time never bring back a key that one of them deleted."""

from __future__ import annotations

import anyio
import httpx
import pytest

from tests.sessions.apps import GATE_TIMEOUT, Gate, build_app
from turnout.testing import client


async def while_held(http: httpx.AsyncClient, gate: Gate, method: str, path: str) -> httpx.Response:
    """Sends `method path` to a legacy view that waits at `gate`; gives its response once released."""
    responses: list[httpx.Response] = []

    async def slow() -> None:
        responses.append(await http.request(method, path))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(slow)
        assert await anyio.to_thread.run_sync(gate.entered.wait, GATE_TIMEOUT)
        # The slow request has loaded its session and waits in its view: delete x meanwhile.
        await http.post("/new/delete/x")
        gate.release.set()
    return responses[0]


@pytest.mark.anyio
async def test_a_slow_reader_does_not_write_back_what_it_read(store_url: str | None) -> None:
    gate = Gate()
    async with client(build_app(redis_url=store_url, gate=gate)) as http:
        await http.post("/new/write/x/1")
        with anyio.fail_after(GATE_TIMEOUT * 2):
            slow = await while_held(http, gate, "GET", "/legacy/slow/x/unused")
        assert slow.json() == {"value": "1"}  # it read x before the delete
        assert "set-cookie" not in slow.headers
        assert (await http.get("/new/read/x")).json() == {"value": None}


@pytest.mark.anyio
async def test_a_slow_writer_does_not_bring_back_a_deleted_key(store_url: str | None) -> None:
    gate = Gate()
    async with client(build_app(redis_url=store_url, gate=gate)) as http:
        await http.post("/new/write/x/1")
        with anyio.fail_after(GATE_TIMEOUT * 2):
            slow = await while_held(http, gate, "POST", "/legacy/slow/y/2")
        assert slow.json() == {"value": None}
        assert (await http.get("/new/read/x")).json() == {"value": None}  # still deleted
        assert (await http.get("/legacy/read/y")).json() == {"value": "2"}  # and the slow write kept


@pytest.mark.anyio
async def test_with_redis_many_writers_at_once_all_keep_their_writes(redis_url: str) -> None:
    async with client(build_app(redis_url=redis_url)) as http:
        await http.post("/new/write/start/1")  # one session id, which every writer then shares

        async def write(index: int) -> None:
            side = "legacy" if index % 2 else "new"
            assert (await http.post(f"/{side}/write/key{index}/{index}")).status_code == 204

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                for index in range(20):
                    tasks.start_soon(write, index)
        values = [(await http.get(f"/new/read/key{index}")).json()["value"] for index in range(20)]
    assert values == [str(index) for index in range(20)]

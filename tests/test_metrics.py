from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.metrics import MULTIPROCESS
from turnout.testing import client


def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK" if environ["PATH_INFO"] != "/boom" else "500 Oops", [])
    return [b"legacy"]


async def product(request: Request) -> Response:
    return PlainTextResponse("new")


def app(**options: object) -> Turnout:
    turnout = Turnout(metrics_path="/metrics", **options)  # type: ignore[arg-type]
    turnout.mount_wsgi("/shop", legacy, name="shop")
    turnout.add_route("/shop/products/{id:int}", product, name="product_v2")
    return turnout


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def key(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@pytest.mark.anyio
async def test_counts_per_route_template_method_status_side_and_mount() -> None:
    async with client(app()) as http:
        for product_id in (1, 2, 3):
            await http.get(f"/shop/products/{product_id}")
        await http.get("/shop/cart")
        await http.post("/shop/cart")
        await http.get("/shop/boom")
        await http.get("/nowhere")
        await http.request("BREW", "/shop/cart")
        text = (await http.get("/metrics")).text
    counts = samples(text, "turnout_requests_total")
    assert counts[key(route="/shop/products/{id:int}", method="GET", status="2xx", side="asgi", mount="-")] == 3
    assert counts[key(route="/shop", method="GET", status="2xx", side="wsgi", mount="shop")] == 1
    assert counts[key(route="/shop", method="POST", status="2xx", side="wsgi", mount="shop")] == 1
    assert counts[key(route="/shop", method="GET", status="5xx", side="wsgi", mount="shop")] == 1
    assert counts[key(route="-", method="GET", status="4xx", side="-", mount="-")] == 1
    assert counts[key(route="/shop", method="OTHER", status="2xx", side="wsgi", mount="shop")] == 1
    assert not any("products/1" in dict(k)["route"] for k in counts)  # templates, never raw paths
    waits = samples(text, "turnout_legacy_queue_wait_seconds_count")
    assert waits[key(mount="shop")] == 4
    assert samples(text, "turnout_legacy_threads_busy")[key(mount="shop")] == 0
    assert samples(text, "turnout_legacy_threads_stuck")[key(mount="shop")] == 0
    durations = samples(text, "turnout_request_duration_seconds_count")
    assert durations[key(route="/shop/products/{id:int}", method="GET", status="2xx", side="asgi", mount="-")] == 3


@pytest.mark.anyio
async def test_gauges_show_busy_and_queued_threads() -> None:
    release = threading.Event()

    def slow(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        release.wait(5)
        start_response("200 OK", [])
        return [b""]

    turnout = Turnout(metrics_path="/metrics")
    turnout.mount_wsgi("/slow", slow, name="slow", threads=1)
    async with client(turnout) as http:
        first = asyncio.create_task(http.get("/slow/a"))
        second = asyncio.create_task(http.get("/slow/b"))
        while turnout.wsgi_mounts[0].budget.running == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        text = (await http.get("/metrics")).text
        release.set()
        await first
        await second
    assert samples(text, "turnout_legacy_threads_busy")[key(mount="slow")] == 1
    assert samples(text, "turnout_legacy_requests_queued")[key(mount="slow")] == 1


@pytest.mark.anyio
async def test_the_endpoint_is_protected() -> None:
    async with client(app(metrics_allow=["10.0.0.1"], metrics_token="s3cret")) as http:
        assert (await http.get("/metrics")).status_code == 403
        assert (await http.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 403
        allowed = await http.get("/metrics", headers={"Authorization": "Bearer s3cret"})
    assert allowed.status_code == 200 and "turnout_requests_total" in allowed.text


@pytest.mark.anyio
async def test_metrics_are_off_by_default() -> None:
    turnout = Turnout()
    async with client(turnout) as http:
        assert (await http.get("/metrics")).status_code == 404
    assert turnout.metrics is None


SCRIPT = """
import asyncio, sys
from turnout import Turnout
from turnout.testing import client
from starlette.responses import PlainTextResponse

async def product(request):
    return PlainTextResponse("new")

def make():
    app = Turnout(metrics_path="/metrics")
    app.add_route("/products/{id:int}", product)
    return app

async def main():
    first, second = make(), make()  # two workers' worth of metrics, in one directory
    async with client(first) as http:
        await http.get("/products/1")
    async with client(second) as http:
        await http.get("/products/2")
        print((await http.get("/metrics")).text)

asyncio.run(main())
"""


def test_multiprocess_mode_sums_what_every_worker_wrote(tmp_path: Path) -> None:
    # prometheus_client picks its mode at import, so this runs in a fresh interpreter.
    env = {**os.environ, MULTIPROCESS: str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    counts = samples(done.stdout, "turnout_requests_total")
    assert counts[key(route="/products/{id:int}", method="GET", status="2xx", side="asgi", mount="-")] == 2

"""The applications the servers under test import (`benchsuite.apps:NAME`), the same for every peer.

- `flask_app`: the legacy side. `/hello` and `/json` are the small responses; `/download?mib=N`
  streams N MiB from a generator of 64 KiB chunks; `/upload` reads the body from
  `request.stream` in 64 KiB chunks and answers with the number of bytes it read.
- `starlette_app`: the new side, `/new/hello` and `/new/json`.
- `turnout_app`: both, as a user would write it: `flask_app` mounted at `/` with `mount_wsgi`
  and its default limits, and the new routes added with `add_route`.
- `a2wsgi_app`: `flask_app` in plain `a2wsgi.WSGIMiddleware`.
- `turnout_isolation` and `a2wsgi_isolation`: two legacy apps and a native route, for the test of
  isolation: `/busy/sleep` (1 s asleep), `/busy/spin` (20 ms of pure Python), `/busy/ping`, the
  fast `/other/fast` of a second legacy app, and the native `/native`.
- `turnout_shadow_off`, `turnout_shadow_slow` and `turnout_shadow_crash`: one route served by both
  sides, `/pair/json` (Flask's `jsonify` of the legacy JSON, and a Starlette endpoint with the same
  pattern), and its switch at `legacy` (the shadow off) or at `shadow` with a new side that is slow
  (200 ms asleep, then a JSON that differs in one field) or that raises. The switch never rolls
  back by itself, so that the shadow stays on for the whole measurement; the admin API is on, for
  the shadow's counts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator

from a2wsgi import WSGIMiddleware
from flask import Flask, Response, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import Mount, Route

from turnout import Turnout
from turnout.switch.health import Thresholds

CHUNK = 64 * 1024
MiB = 1024 * 1024
HELLO = "Hello, world!"
PAYLOAD = {"message": HELLO, "id": 42, "tags": ["legacy", "wsgi"], "ok": True}
SLEEP = 1.0
SPIN = 0.02
SHADOW_SLEEP = 0.2
SHADOW_MAX_IN_FLIGHT = 16
SHADOW_TIMEOUT = 10.0
SHADOW_SWITCH = "pair_json"
# The admin API only answers loopback, and the servers only listen there.
ADMIN_PATH = "/_turnout"
ADMIN_TOKEN = "benchsuite-loopback-only-admin-token"

_ZEROS = b"\0" * CHUNK

# -- the legacy side ------------------------------------------------------------------------

flask_app = Flask("legacy")


@flask_app.get("/hello")
def hello() -> str:
    return HELLO


@flask_app.get("/json")
def json() -> Response:
    return jsonify(PAYLOAD)


@flask_app.get("/download")
def download() -> Response:
    size = int(request.args.get("mib", "1")) * MiB

    def chunks() -> Iterator[bytes]:
        for _ in range(size // CHUNK):
            yield _ZEROS

    return Response(chunks(), mimetype="application/octet-stream", headers={"Content-Length": str(size - size % CHUNK)})


@flask_app.post("/upload")
def upload() -> str:
    stream = request.stream
    total = 0
    while chunk := stream.read(CHUNK):
        total += len(chunk)
    return str(total)


# -- the new side ---------------------------------------------------------------------------


async def new_hello(request: Request) -> StarletteResponse:
    return PlainTextResponse(HELLO)


async def new_json(request: Request) -> StarletteResponse:
    return JSONResponse(PAYLOAD)


starlette_app = Starlette(routes=[Route("/new/hello", new_hello), Route("/new/json", new_json)])

# -- both, through turnout or plain a2wsgi --------------------------------------------------

turnout_app = Turnout()
turnout_app.mount_wsgi("/", flask_app, name="legacy")
turnout_app.add_route("/new/hello", new_hello, methods=["GET"], name="new_hello")
turnout_app.add_route("/new/json", new_json, methods=["GET"], name="new_json")

a2wsgi_app = WSGIMiddleware(flask_app)  # type: ignore[arg-type]

# -- isolation: a saturated legacy mount beside a native route and a second legacy mount ----

busy_app = Flask("busy")
other_app = Flask("other")


@busy_app.get("/sleep")
def sleep() -> str:
    time.sleep(SLEEP)
    return "slept"


@busy_app.get("/spin")
def spin() -> str:
    # Pure Python, so the thread holds the GIL but for the interpreter's switch interval.
    end = time.perf_counter() + SPIN
    turns = 0
    while time.perf_counter() < end:
        turns += 1
    return str(turns)


@busy_app.get("/ping")
def ping() -> str:
    return "pong"


@other_app.get("/fast")
def fast() -> str:
    return "fast"


async def native(request: Request) -> StarletteResponse:
    return PlainTextResponse(HELLO)


turnout_isolation = Turnout()
turnout_isolation.mount_wsgi("/busy", busy_app, name="busy")
turnout_isolation.mount_wsgi("/other", other_app, name="other")
turnout_isolation.add_route("/native", native, methods=["GET"], name="native")

a2wsgi_isolation = Starlette(
    routes=[
        Route("/native", native),
        Mount("/busy", WSGIMiddleware(busy_app)),  # type: ignore[arg-type]
        Mount("/other", WSGIMiddleware(other_app)),  # type: ignore[arg-type]
    ]
)

# -- shadow: one route on both sides, its switch at `legacy` or at `shadow` -------------------

pair_app = Flask("pair")
pair_app.add_url_rule("/hello", view_func=hello)
pair_app.add_url_rule("/pair/json", "pair_json", view_func=json)


async def pair_slow(request: Request) -> StarletteResponse:
    await asyncio.sleep(SHADOW_SLEEP)
    return JSONResponse({**PAYLOAD, "tags": ["new", "asgi"]})


async def pair_crash(request: Request) -> StarletteResponse:
    raise RuntimeError("the new side crashed (on purpose: benchsuite's shadow scenario)")


def shadow_app(new_side: Callable[[Request], Awaitable[StarletteResponse]], state: str) -> Turnout:
    app = Turnout(
        admin_path=ADMIN_PATH,
        admin_token=ADMIN_TOKEN,
        shadow_max_in_flight=SHADOW_MAX_IN_FLIGHT,
        shadow_timeout=SHADOW_TIMEOUT,
    )
    app.mount_wsgi("/", pair_app, name="legacy")
    app.add_route("/pair/json", new_side, methods=["GET"], name=SHADOW_SWITCH)
    # Without this, the slow side's p99 or the crashing side's 500s would put the switch back to `legacy`.
    never = Thresholds(error_rate=None, p99_ratio=None, mismatch_rate=None)
    app.configure_switch(SHADOW_SWITCH, state, rollback=never)
    return app


turnout_shadow_off = shadow_app(pair_slow, "legacy")
turnout_shadow_slow = shadow_app(pair_slow, "shadow")
turnout_shadow_crash = shadow_app(pair_crash, "shadow")

"""The admin API of the switches (`turnout.switch.admin`), through an in-process client."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from flask import Flask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tests.switch.pair_app import (
    AUTH,
    LEGACY,
    NEW,
    PATTERN,
    TOKEN,
    canary_users,
    never_lagging,
    settle,
    shop_app,
)
from turnout import ConfigError, Turnout
from turnout._types import Environ, StartResponse
from turnout.lifespan import Lifespan
from turnout.switch.state import Setting
from turnout.testing import client

pytestmark = pytest.mark.anyio

ADMIN = "/_turnout"
ITEM = f"{ADMIN}/switches/item_v2"


def admin_app(**options: Any) -> Turnout:
    """The shop with the admin API on, and a second pair (`cart_v2`) so that lists have more than one switch."""
    app = shop_app(admin_path=ADMIN, admin_token=TOKEN, **options)

    async def cart(request: Request) -> Response:
        return PlainTextResponse("new cart")

    app.add_route("/shop/cart", cart, methods=["GET"], name="cart_v2")
    return app


@contextlib.asynccontextmanager
async def client_at(app: Turnout, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """Like `turnout.testing.client`, with requests that come from `address`."""
    async with Lifespan(app):
        transport = httpx.ASGITransport(app=app, client=(address, 1234))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


# -- on, off, and who may call it -------------------------------------------------------------


async def test_the_admin_api_is_off_by_default() -> None:
    app = shop_app()
    assert app.admin is None
    async with client(app) as http:
        for path in (f"{ADMIN}/switches", ITEM, f"{ADMIN}/history"):
            assert (await http.get(path, headers=AUTH)).status_code == 404
        assert (await http.put(ITEM, headers=AUTH, json={"state": "legacy"})).status_code == 404
    assert app.switches["item_v2"].setting == Setting("new")


@pytest.mark.parametrize("token", [None, "", "x" * 15], ids=["none", "empty", "15 characters"])
async def test_turning_it_on_needs_a_token_of_16_characters(token: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        Turnout(admin_path=ADMIN, admin_token=token)
    assert info.value.key == "admin_token"
    message = str(info.value)
    assert "key 'admin_token': the admin API needs a token of at least 16 characters" in message
    assert "fix: make one with: python -c" in message
    assert Turnout(admin_path=ADMIN, admin_token="x" * 16).admin is not None


REQUESTS = [
    ("GET", f"{ADMIN}/switches"),
    ("GET", ITEM),
    ("GET", f"{ITEM}/diffs"),
    ("GET", f"{ADMIN}/history"),
    ("PUT", ITEM),
]


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_a_request_without_the_right_token_is_refused(method: str, path: str) -> None:
    app = admin_app()
    body = {"state": "legacy", "who": "mallory"}
    async with client(app) as http:
        missing = await http.request(method, path, json=body, headers={"Accept": "application/json"})
        wrong = await http.request(
            method, path, json=body, headers={"Authorization": f"Bearer {TOKEN[:-1]}x", "Accept": "application/json"}
        )
        not_bearer = await http.request(method, path, json=body, headers={"Authorization": TOKEN})
    for refused in (missing, wrong, not_bearer):
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="turnout"'
    assert missing.json()["error"] == "The admin API needs its token."
    assert "item_v2" not in missing.text  # nothing about the switches leaks before the token is checked
    assert app.switches["item_v2"].setting == Setting("new")
    assert not app.switches.history


@pytest.mark.parametrize(("method", "path"), REQUESTS)
async def test_an_address_outside_admin_allow_is_refused_even_with_the_token(method: str, path: str) -> None:
    app = admin_app()
    async with client_at(app, "10.1.2.3") as http:
        refused = await http.request(method, path, json={"state": "legacy"}, headers=AUTH)
    assert refused.status_code == 403
    assert refused.json()["error"] == "The admin API is not open to this address."
    assert app.switches["item_v2"].setting == Setting("new")


async def test_behind_a_trusted_proxy_the_client_address_is_the_one_that_counts() -> None:
    app = admin_app()  # the peer, 127.0.0.1, is a trusted proxy and is in admin_allow
    async with client(app) as http:
        forwarded = await http.get(f"{ADMIN}/switches", headers={**AUTH, "X-Forwarded-For": "203.0.113.9"})
    assert forwarded.status_code == 403


async def test_admin_allow_opens_it_to_a_network() -> None:
    app = admin_app(admin_allow=["10.0.0.0/8"])
    async with client_at(app, "10.1.2.3") as http:
        listed = await http.get(f"{ADMIN}/switches", headers=AUTH)
        moved = await http.put(ITEM, headers=AUTH, json={"state": "legacy", "who": "ops"})
        assert (await http.get(f"{ADMIN}/switches")).status_code == 401  # the token is still needed
    assert listed.status_code == 200
    assert moved.json()["change"]["who"] == "ops from 10.1.2.3"
    async with client(app) as http:  # loopback is not in the list any more
        assert (await http.get(f"{ADMIN}/switches", headers=AUTH)).status_code == 403


# -- reading -----------------------------------------------------------------------------------


async def test_lists_every_switch_with_its_state_pattern_and_legacy_endpoints() -> None:
    app = admin_app(metrics_path="/metrics")
    async with client(app) as http:
        response = await http.get(f"{ADMIN}/switches", headers=AUTH)
    assert response.status_code == 200
    switches = response.json()["switches"]
    # turnout's own endpoints (admin, metrics) and the legacy routes that have no new side are not switches
    assert [s["route"] for s in switches] == ["cart_v2", "item_v2"]
    item = switches[1]
    assert item == {
        "route": "item_v2",
        "pattern": PATTERN,
        "legacy": ["shop:item"],
        "state": "new",
        "sticky": "cookie",
        "rolled_back": None,
        "served": {"legacy": 0, "new": 0},
        "shadow": {"sent": 0, "matched": 0, "mismatched": 0, "dropped": 0, "skipped": 0},
    }
    assert switches[0]["pattern"] == "/shop/cart" and switches[0]["legacy"] == ["shop:cart"]


async def test_one_switch_in_detail_has_its_health_and_noise() -> None:
    app = admin_app()
    async with client(app) as http:
        for id in (2, 4):
            assert (await http.get(f"/shop/items/{id}")).headers["x-served-by"] == NEW
        detail = (await http.get(ITEM, headers=AUTH)).json()
    assert (detail["route"], detail["pattern"], detail["state"]) == ("item_v2", PATTERN, "new")
    assert detail["served"] == {"legacy": 0, "new": 2}
    health = detail["health"]
    assert health["window"] == 60.0
    assert health["new"]["requests"] == 2 and health["new"]["errors"] == 0
    assert health["legacy"]["requests"] == 0
    assert detail["noise"] == {"samples": 0, "fields": []}


@pytest.mark.parametrize(
    "ref",
    ["item_v2", quote(PATTERN, safe=""), "shop:item", quote("shop:item", safe="")],
    ids=["name", "url-encoded pattern", "legacy endpoint", "url-encoded legacy endpoint"],
)
async def test_a_switch_is_found_by_name_pattern_or_legacy_endpoint(ref: str) -> None:
    async with client(admin_app()) as http:
        response = await http.get(f"{ADMIN}/switches/{ref}", headers=AUTH)
        moved = await http.put(f"{ADMIN}/switches/{ref}", headers=AUTH, json={"state": "legacy"})
        served = await http.get("/shop/items/3")
    assert response.status_code == 200
    assert response.json()["route"] == "item_v2"
    assert moved.json()["change"]["route"] == "item_v2"
    assert served.headers["x-served-by"] == LEGACY


async def test_an_unknown_switch_is_a_404_that_lists_the_switches() -> None:
    app = admin_app()
    async with client(app) as http:
        for method in ("GET", "PUT"):
            response = await http.request(method, f"{ADMIN}/switches/item_v3", headers=AUTH, json={"state": "new"})
            assert response.status_code == 404
            error = response.json()["error"]
            assert error.startswith("there is no switch for 'item_v3'")
            assert error.endswith("switches: cart_v2, item_v2")
        assert (await http.get(f"{ADMIN}/switches/item_v3/diffs", headers=AUTH)).status_code == 404
    assert not app.switches.history


# -- moving ------------------------------------------------------------------------------------


async def test_put_moves_the_switch_and_the_next_request_follows() -> None:
    app = admin_app()
    never_lagging(app)
    async with client(app) as http:
        assert (await http.get("/shop/items/3")).headers["x-served-by"] == NEW

        moved = await http.put(ITEM, headers=AUTH, json={"state": "legacy", "who": "alice", "why": "price bug"})
        assert moved.status_code == 200
        assert moved.json()["change"]["before"] == "new"
        assert moved.json()["change"]["after"] == "legacy"
        assert moved.json()["switch"]["state"] == "legacy"
        legacy = await http.get("/shop/items/3")
        assert (legacy.headers["x-served-by"], legacy.json()["price"]) == (LEGACY, 10)

        assert (await http.put(ITEM, headers=AUTH, json={"state": "shadow"})).json()["switch"]["state"] == "shadow"
        shadowed = await http.get("/shop/items/3")
        assert (shadowed.headers["x-served-by"], shadowed.json()["price"]) == (LEGACY, 10)  # the user gets legacy
        await settle(app)
        assert app.switches["item_v2"].shadowed == 1  # and the new side got a copy

        assert (await http.put(ITEM, headers=AUTH, json={"state": "new"})).json()["switch"]["state"] == "new"
        new = await http.get("/shop/items/3")
        assert (new.headers["x-served-by"], new.json()["price"]) == (NEW, 12)


@pytest.mark.parametrize(
    "body",
    [{"state": "canary 10%"}, {"state": "canary", "percent": 10}, {"state": "Canary 10"}],
    ids=["text", "percent", "loose"],
)
async def test_put_a_canary_sends_its_share_of_users_to_the_new_side(body: dict[str, object]) -> None:
    app = admin_app()
    inside, outside = canary_users(10)
    async with client(app) as http:
        moved = await http.put(ITEM, headers=AUTH, json=body)
        assert moved.status_code == 200
        assert moved.json()["change"]["after"] == "canary 10%"
        assert moved.json()["switch"]["state"] == "canary" and moved.json()["switch"]["percent"] == 10
        for _ in range(3):  # the same user lands on the same side every time
            chosen = await http.get("/shop/items/3", headers={"Cookie": f"turnout_canary={inside}"})
            assert chosen.headers["x-served-by"] == NEW
            left = await http.get("/shop/items/3", headers={"Cookie": f"turnout_canary={outside}"})
            assert left.headers["x-served-by"] == LEGACY
    assert app.switches["item_v2"].setting == Setting("canary", 10)


async def test_every_change_is_kept_in_history_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    app = admin_app()
    async with client(app) as http:
        assert (await http.get(f"{ADMIN}/history", headers=AUTH)).json() == {"history": []}
        with caplog.at_level(logging.INFO, logger="turnout.switch"):
            await http.put(ITEM, headers=AUTH, json={"state": "shadow", "who": "alice", "why": "compare first"})
            await http.put(ITEM, headers=AUTH, json={"state": "canary 10%", "who": "alice", "why": "first users"})
            await http.put(f"{ADMIN}/switches/shop:cart", headers=AUTH, json={"state": "legacy"})
        history = (await http.get(f"{ADMIN}/history", headers=AUTH)).json()["history"]
    assert [(c["route"], c["before"], c["after"], c["who"], c["why"], c["automatic"]) for c in history] == [
        ("item_v2", "new", "shadow", "alice from 127.0.0.1", "compare first", False),
        ("item_v2", "shadow", "canary 10%", "alice from 127.0.0.1", "first users", False),
        ("cart_v2", "new", "legacy", "admin API from 127.0.0.1", "", False),
    ]
    assert history[0]["at"] <= history[1]["at"] <= history[2]["at"]
    records = [r for r in caplog.records if r.name == "turnout.switch"]
    assert [(r.levelno, r.getMessage()) for r in records] == [
        (logging.INFO, "switch item_v2: new -> shadow by alice from 127.0.0.1: compare first"),
        (logging.INFO, "switch item_v2: shadow -> canary 10% by alice from 127.0.0.1: first users"),
        (logging.INFO, "switch cart_v2: new -> legacy by admin API from 127.0.0.1"),
    ]


SEND_JSON = 'Send JSON such as {"state": "canary 10%", "who": "alice", "why": "first users"}.'
STATES = "use legacy, shadow, new, or canary N% (N from 0 to 100, e.g. 'canary 10%')"
BAD_MOVES = {
    "not JSON": (b"canary 10%", SEND_JSON),
    "empty": (b"", SEND_JSON),
    "no state": (b'{"who": "alice"}', SEND_JSON),
    "not an object": (b'["shadow"]', SEND_JSON),
    "state not a string": (b'{"state": 10}', SEND_JSON),
    "canary 150%": (b'{"state": "canary 150%"}', "a canary share is between 0% and 100%, not 150%"),
    "percent 150": (b'{"state": "canary", "percent": 150}', "a canary share is between 0% and 100%, not 150%"),
    "negative percent": (b'{"state": "canary", "percent": -5}', "a canary share is between 0% and 100%, not -5%"),
    "sideways": (b'{"state": "sideways"}', f"'sideways' is not a switch state; {STATES}"),
    "canary without a share": (b'{"state": "canary"}', f"'canary' is not a switch state; {STATES}"),
    "boolean percent": (b'{"state": "canary", "percent": true}', "percent is a number from 0 to 100."),
    "string percent": (b'{"state": "canary", "percent": "10"}', "percent is a number from 0 to 100."),
    "percent of a shadow": (b'{"state": "shadow", "percent": 10}', "only a canary has a share of users, not 'shadow'"),
}


@pytest.mark.parametrize(("body", "error"), BAD_MOVES.values(), ids=BAD_MOVES.keys())
async def test_a_bad_move_is_a_400_that_says_what_is_accepted(body: bytes, error: str) -> None:
    app = admin_app()
    async with client(app) as http:
        response = await http.put(ITEM, headers={**AUTH, "Content-Type": "application/json"}, content=body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert app.switches["item_v2"].setting == Setting("new")
    assert not app.switches.history


async def test_a_body_over_16_kib_is_refused_with_413() -> None:
    app = admin_app()
    head = b'{"state": "legacy", "why": "'
    async with client(app) as http:
        at_limit = head + b"x" * (16 * 1024 - len(head) - 2) + b'"}'
        assert len(at_limit) == 16 * 1024
        assert (await http.put(ITEM, headers=AUTH, content=at_limit)).status_code == 200
        too_large = await http.put(ITEM, headers=AUTH, content=at_limit.replace(b'"legacy"', b'"new"   ') + b" ")
    assert too_large.status_code == 413
    assert too_large.json()["error"] == "The request body is too large."
    assert app.switches["item_v2"].setting == Setting("legacy")
    assert len(app.switches.history) == 1
    assert len(app.switches.history[0].why) == 500  # what is kept of a long reason


# -- diffs ---------------------------------------------------------------------------------------


async def shadowed(app: Turnout, http: httpx.AsyncClient, ids: list[int]) -> None:
    """Move the item switch to shadow and send one GET for each id, each with its request id."""
    never_lagging(app)
    assert (await http.put(ITEM, headers=AUTH, json={"state": "shadow"})).status_code == 200
    for id in ids:
        response = await http.get(f"/shop/items/{id}", headers={"X-Request-ID": f"req-{id}"})
        assert response.json()["price"] == 10  # users always get the legacy answer
        await settle(app)


async def test_diffs_show_each_mismatch_with_its_request_id_difference_and_both_bodies() -> None:
    app = admin_app()
    async with client(app) as http:
        await shadowed(app, http, [1, 2, 3, 4, 5])
        response = await http.get(f"{ITEM}/diffs", headers=AUTH)
        one = await http.get(f"{ITEM}/diffs?limit=1", headers=AUTH)
    assert response.status_code == 200
    found = response.json()
    assert found["route"] == "item_v2"
    assert found["outcomes"] == {"matched": 2, "mismatched": 3, "dropped": 0, "skipped": 0}
    mismatches = found["mismatches"]
    assert [m["request_id"] for m in mismatches] == ["req-5", "req-3", "req-1"]  # newest first
    newest = mismatches[0]
    assert (newest["method"], newest["path"]) == ("GET", "/shop/items/5")
    assert newest["differences"] == [{"where": "$.price", "field": "$.price", "legacy": "10", "new": "12"}]
    assert json.loads(newest["legacy"]["body"]) == {"id": 5, "name": "item 5", "price": 10}
    assert json.loads(newest["new"]["body"]) == {"id": 5, "name": "item 5", "price": 12}
    assert newest["legacy"]["status"] == newest["new"]["status"] == 200
    assert [m["request_id"] for m in one.json()["mismatches"]] == ["req-5"]


async def test_diffs_keep_the_query_string_of_the_request() -> None:
    app = admin_app()
    async with client(app) as http:
        await shadowed(app, http, [])
        await http.get("/shop/items/7?ref=home", headers={"X-Request-ID": "with-query"})
        await settle(app)
        found = (await http.get(f"{ITEM}/diffs", headers=AUTH)).json()
    assert [(m["request_id"], m["path"]) for m in found["mismatches"]] == [("with-query", "/shop/items/7?ref=home")]


async def test_diffs_of_a_switch_never_shadowed_are_empty() -> None:
    async with client(admin_app()) as http:
        found = (await http.get(f"{ADMIN}/switches/shop:item/diffs", headers=AUTH)).json()
    assert found == {
        "route": "item_v2",
        "outcomes": {"matched": 0, "mismatched": 0, "dropped": 0, "skipped": 0},
        "mismatches": [],
    }


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1", "", "2.5"])
async def test_a_bad_diffs_limit_is_a_400(limit: str) -> None:
    async with client(admin_app()) as http:
        response = await http.get(f"{ITEM}/diffs?limit={limit}", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"] == "limit is a whole number from 1 to 50."


async def test_a_limit_of_unicode_digits_is_a_400_not_a_500() -> None:
    async with client(admin_app(), raise_app_exceptions=False) as http:
        response = await http.get(f"{ITEM}/diffs?limit=²", headers=AUTH)
    assert response.status_code == 400


async def test_a_put_to_the_diffs_of_a_switch_does_not_move_it() -> None:
    app = admin_app()
    async with client(app) as http:
        response = await http.put(f"{ITEM}/diffs", headers=AUTH, json={"state": "legacy"})
    assert app.switches["item_v2"].setting == Setting("new")
    assert response.status_code == 405


async def test_a_switch_whose_pattern_ends_in_diffs_is_found_by_its_pattern() -> None:
    app = admin_app()

    async def diffs(request: Request) -> Response:
        return PlainTextResponse("new diffs")

    legacy = Flask(__name__)
    legacy.add_url_rule("/diffs", "diffs", lambda: "legacy diffs")
    app.mount_wsgi("/reports", legacy, name="reports")
    app.add_route("/reports/diffs", diffs, methods=["GET"], name="diffs_v2")
    async with client(app) as http:
        by_name = await http.get(f"{ADMIN}/switches/diffs_v2", headers=AUTH)
        by_pattern = await http.get(f"{ADMIN}/switches/{quote('/reports/diffs', safe='')}", headers=AUTH)
    assert by_name.json()["pattern"] == "/reports/diffs"
    assert by_pattern.status_code == 200


async def test_turnouts_own_endpoints_are_not_switches() -> None:
    app = admin_app(metrics_path="/metrics")
    names = [s.name for s in app.switches]
    assert names == ["cart_v2", "item_v2"]
    assert not any(entry.endpoint.startswith("turnout_") for s in app.switches for entry in (s.new, *s.legacy))


async def test_turnouts_own_endpoints_are_not_switches_under_a_legacy_catch_all() -> None:
    def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"legacy"]

    app = Turnout(admin_path=ADMIN, admin_token=TOKEN, metrics_path="/metrics")
    app.mount_wsgi("/", legacy, name="legacy")  # the usual first step: the whole legacy app behind turnout
    async with client(app) as http:
        listed = (await http.get(f"{ADMIN}/switches", headers=AUTH)).json()["switches"]
        locked_out = await http.put(
            f"{ADMIN}/switches/turnout_admin_switch", headers=AUTH, json={"state": "legacy", "who": "oops"}
        )
        after = await http.put(f"{ADMIN}/switches/turnout_admin_switch", headers=AUTH, json={"state": "new"})
    assert after.headers["x-served-by"] == "asgi:turnout_admin_switch"  # not the legacy app's answer
    assert locked_out.status_code == 404
    assert listed == []

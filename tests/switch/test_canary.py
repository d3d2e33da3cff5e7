"""A canary: the share of users it sends to the new side, and that each user keeps their side.

Users are told apart by turnout's own cookie (`turnout_canary`), a header, or a value in the
shared session. Most of the 10,000 simulated users are checked on fabricated scopes; a few
hundred go through the real app, where the side that answered is the one `X-Served-By` names.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence

import anyio
import httpx
import pytest
from starlette.types import Scope

from tests.switch.pairs import NO_LATENCY_ROLLBACK, SECRET, Shop, build, served_by
from turnout import Turnout
from turnout.sessions import FlaskCookieCodec
from turnout.switch.canary import COOKIE, COOKIE_MAX_AGE, Sticky, in_canary
from turnout.testing import client

ITEM = "/shop/items/3"
SIMULATED = 10_000
THROUGH_THE_APP = 500
CONCURRENT = 16


def within_binomial_bound(hits: int, n: int, p: float) -> bool:
    """Whether `hits` of `n` draws with probability `p` is within 4.5 standard deviations of the mean."""
    return abs(hits - n * p) <= 4.5 * math.sqrt(n * p * (1 - p))


def cookie_scope(value: str) -> Scope:
    return {"type": "http", "headers": [(b"cookie", f"theme=dark; {COOKIE}={value}".encode())]}


def header_scope(value: str) -> Scope:
    return {"type": "http", "headers": [(b"x-user", value.encode())]}


def user_cookie(user: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={user}"}


async def for_each(users: Sequence[str], visit: Callable[[str], Awaitable[None]]) -> None:
    """Run `visit` for every user, `CONCURRENT` at a time, within a bounded time."""
    limit = anyio.CapacityLimiter(CONCURRENT)

    async def limited(user: str) -> None:
        async with limit:
            await visit(user)

    with anyio.fail_after(30):
        async with anyio.create_task_group() as tasks:
            for user in users:
                tasks.start_soon(limited, user)


def canary_app(state: str, **options: object) -> Turnout:
    app = build(Shop())
    options.setdefault("rollback", NO_LATENCY_ROLLBACK)
    app.configure_switch("item_v2", state, **options)  # type: ignore[arg-type]
    return app


# -- the share -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("sticky", "scope_of"), [("cookie", cookie_scope), ("header:X-User", header_scope)])
@pytest.mark.parametrize("percent", [1, 10, 30, 50])
def test_the_share_of_10000_users_is_within_a_binomial_bound(
    sticky: str, scope_of: Callable[[str], Scope], percent: int
) -> None:
    known_by = Sticky.parse(sticky)
    keys = []
    for n in range(SIMULATED):
        key, fresh = known_by.user(scope_of(f"user-{n}"))
        assert fresh is None  # a user who is known gets no new cookie
        keys.append(key)
    assert len(set(keys)) == SIMULATED
    hits = sum(in_canary(key, percent) for key in keys)
    assert within_binomial_bound(hits, SIMULATED, percent / 100), hits


def test_raising_the_share_keeps_every_user_already_on_the_new_side() -> None:
    keys = [Sticky().user(cookie_scope(f"user-{n}"))[0] for n in range(SIMULATED)]
    for low, high in [(0, 1), (1, 10), (10, 30), (30, 50), (50, 99.5), (99.5, 100)]:
        assert all(in_canary(key, high) for key in keys if in_canary(key, low)), (low, high)
    assert not any(in_canary(key, 0) for key in keys)
    assert all(in_canary(key, 100) for key in keys)


@pytest.mark.anyio
async def test_users_through_the_app_keep_their_side_and_raising_the_share_keeps_them_on_new() -> None:
    app = canary_app("canary 10%")
    users = [f"visitor-{n:04d}" for n in range(THROUGH_THE_APP)]
    first: dict[str, str] = {}
    later: dict[str, set[str]] = {user: set() for user in users}
    after_raise: dict[str, str] = {}
    failures: list[str] = []

    async with client(app) as http:

        async def get(user: str) -> str:
            response = await http.get(ITEM, headers=user_cookie(user))
            if response.status_code != 200 or response.json()["side"] != served_by(response):
                failures.append(f"{user}: {response.status_code} {response.text}")
            if "set-cookie" in response.headers:
                failures.append(f"{user} has a cookie and was given another: {response.headers['set-cookie']}")
            return served_by(response)

        async def visit(user: str) -> None:
            first[user] = await get(user)

        async def revisit(user: str) -> None:
            for _ in range(3):
                later[user].add(await get(user))

        async def after(user: str) -> None:
            after_raise[user] = await get(user)

        await for_each(users, visit)
        await for_each(users, revisit)
        app.switches.set("item_v2", "canary 30%", who="alice", why="more users")
        await for_each(users, after)

    assert failures == []
    on_new = {user for user, side in first.items() if side == "new"}
    assert within_binomial_bound(len(on_new), THROUGH_THE_APP, 0.10), len(on_new)
    assert on_new == {user for user in users if in_canary("c:" + user, 10)}
    assert all(later[user] == {first[user]} for user in users)  # each user, asked again, lands on the same side
    now_on_new = {user for user, side in after_raise.items() if side == "new"}
    assert on_new <= now_on_new
    assert within_binomial_bound(len(now_on_new), THROUGH_THE_APP, 0.30), len(now_on_new)


@pytest.mark.anyio
async def test_a_header_sticky_canary_follows_the_header() -> None:
    app = canary_app("canary 50%", sticky="header:X-User")
    users = [f"api-client-{n}" for n in range(60)]
    sides: dict[str, set[str]] = {user: set() for user in users}
    async with client(app) as http:
        for user in users:
            for _ in range(2):
                response = await http.get(ITEM, headers={"X-User": user})
                assert "set-cookie" not in response.headers
                sides[user].add(served_by(response))
    assert sides == {user: {"new" if in_canary("h:" + user, 50) else "legacy"} for user in users}


@pytest.mark.anyio
@pytest.mark.parametrize(("state", "side"), [("canary 0%", "legacy"), ("canary 100%", "new")])
async def test_canary_0_is_all_legacy_and_100_all_new(state: str, side: str) -> None:
    app = canary_app(state)
    async with client(app) as http:
        served = {served_by(await http.get(ITEM, headers=user_cookie(f"user-{n}"))) for n in range(50)}
        served |= {served_by(await http.get(ITEM)) for _ in range(10)}  # and users without a cookie
    assert served == {side}


@pytest.mark.anyio
async def test_one_canary_share_puts_a_user_on_the_same_side_of_every_route() -> None:
    app = build(Shop())
    app.configure_switch("item_v2", "canary 50%", rollback=NO_LATENCY_ROLLBACK)
    app.configure_switch("stamp_v2", "canary 50%", noise_sample=0, rollback=NO_LATENCY_ROLLBACK)
    async with client(app) as http:
        for n in range(40):
            item = await http.get(ITEM, headers=user_cookie(f"user-{n}"))
            stamp = await http.get("/shop/stamp", headers=user_cookie(f"user-{n}"))
            assert served_by(item) == served_by(stamp)


# -- turnout's cookie ----------------------------------------------------------------------------


def canary_cookie(response: httpx.Response) -> tuple[str, list[str]] | None:
    """The value and the attributes of the `turnout_canary` cookie that `response` sets."""
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        if name == COOKIE:
            value, *attributes = [part.strip() for part in rest.split(";")]
            return value, attributes
    return None


@pytest.mark.anyio
async def test_a_new_user_gets_a_cookie_and_keeps_their_side_with_it() -> None:
    app = canary_app("canary 50%")
    sides: list[str] = []
    for _ in range(20):
        async with client(app) as http:  # a new browser: an empty cookie jar
            first = await http.get(ITEM)
            cookie = canary_cookie(first)
            assert cookie is not None
            value, attributes = cookie
            assert attributes == ["Path=/", f"Max-Age={COOKIE_MAX_AGE}", "HttpOnly", "SameSite=Lax"]
            side = served_by(first)
            assert side == ("new" if in_canary("c:" + value, 50) else "legacy")
            for _ in range(3):
                again = await http.get(ITEM)  # the jar sends the cookie back
                assert served_by(again) == side
                assert canary_cookie(again) is None
            sides.append(side)
    assert set(sides) == {"legacy", "new"}


@pytest.mark.anyio
async def test_the_cookie_is_set_only_while_a_canary_needs_it() -> None:
    app = canary_app("new")
    async with client(app) as http:
        assert canary_cookie(await http.get(ITEM)) is None
        app.switches.set("item_v2", "shadow")
        assert canary_cookie(await http.get(ITEM)) is None
        app.switches.set("item_v2", "canary 10%")
        assert canary_cookie(await http.get(ITEM)) is not None


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("base_url", "headers", "trusted", "secure"),
    [
        ("http://testserver", {}, True, False),
        ("https://testserver", {}, True, True),
        ("http://testserver", {"X-Forwarded-Proto": "https"}, True, True),  # behind a trusted proxy
        ("http://testserver", {"X-Forwarded-Proto": "https"}, False, False),  # a peer that is not trusted
    ],
)
async def test_the_cookie_is_secure_over_https(
    base_url: str, headers: dict[str, str], trusted: bool, secure: bool
) -> None:
    app = build(Shop(), trusted_proxies=["127.0.0.1"] if trusted else [])
    app.configure_switch("item_v2", "canary 50%")
    async with client(app, base_url=base_url) as http:
        response = await http.get(ITEM, headers=headers)
    cookie = canary_cookie(response)
    assert cookie is not None
    assert ("Secure" in cookie[1]) is secure


# -- a user known by the session -----------------------------------------------------------------


def session_of(user_id: str) -> str:
    return FlaskCookieCodec([SECRET]).dumps({"_user_id": user_id})


@pytest.mark.anyio
async def test_a_session_sticky_canary_follows_the_user_id_in_the_session() -> None:
    app = build(Shop(), sessions=True)
    app.configure_switch("item_v2", "canary 50%", sticky="session:_user_id", rollback=NO_LATENCY_ROLLBACK)
    ids = [str(n) for n in range(40)]
    on_new = [i for i in ids if in_canary("s:" + i, 50)]
    on_legacy = [i for i in ids if not in_canary("s:" + i, 50)]
    assert on_new and on_legacy
    async with client(app) as http:
        for user_id in ids:
            # The same user from two browsers (two canary cookies) is on one side: the user id's.
            for browser in ("laptop", "phone"):
                cookies = f"session={session_of(user_id)}; {COOKIE}={browser}"
                response = await http.get(ITEM, headers={"Cookie": cookies})
                assert served_by(response) == ("new" if user_id in on_new else "legacy"), (user_id, browser)
                assert canary_cookie(response) is None
        # Two users of one browser (one canary cookie) are each on their own side.
        shared = f"{COOKIE}=family-laptop"
        new_user = await http.get(ITEM, headers={"Cookie": f"session={session_of(on_new[0])}; {shared}"})
        legacy_user = await http.get(ITEM, headers={"Cookie": f"session={session_of(on_legacy[0])}; {shared}"})
        assert (served_by(new_user), served_by(legacy_user)) == ("new", "legacy")
        # Without a user id in the session, turnout's cookie stands in.
        anonymous = await http.get(ITEM)
    cookie = canary_cookie(anonymous)
    assert cookie is not None
    assert served_by(anonymous) == ("new" if in_canary("c:" + cookie[0], 50) else "legacy")

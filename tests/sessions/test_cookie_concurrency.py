"""With the session in the cookie, requests of one visitor that run at the same time are merged, not raced.

Each request reads the cookie value it was sent; the one that saves last finds, in the store's
journal, the values written since, and applies its own changes to the newest instead of writing
back what it read.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response

from tests.sessions.apps import GATE_TIMEOUT, SECRET, Gate, add_new_routes, legacy_app
from turnout import Turnout
from turnout.sessions import enable_shared_sessions
from turnout.sessions.cookie import NONCE_KEY, CookieStore, FlaskCookieCodec
from turnout.sessions.journal import MAX_HOPS, Chain, SuccessorJournal, digest
from turnout.sessions.store import CookieUpdate, DeleteCookie, SetCookie
from turnout.testing import run_server


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def decoded(store: CookieStore, update: CookieUpdate) -> dict[str, Any]:
    """The session that a `SetCookie` carries."""
    assert isinstance(update, SetCookie)
    loaded = store.codec.loads(update.value)
    assert loaded is not None
    return loaded[0]


async def written(store: CookieStore, **data: Any) -> str:
    """A cookie value that `store` wrote for a visitor with `data`."""
    session = await store.load(None)
    session.update(data)
    update = await store.save(session)
    assert isinstance(update, SetCookie)
    return update.value


# -- the store ------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_key_deleted_by_one_request_is_not_brought_back_by_one_that_saves_later() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, a=1, b=2)
    deleting, setting = await store.load(cookie), await store.load(cookie)  # two requests at once
    del deleting["b"]
    assert decoded(store, await store.save(deleting)) == {"a": 1}
    setting["c"] = 3
    assert setting["b"] == 2  # it read b before the delete
    assert decoded(store, await store.save(setting)) == {"a": 1, "c": 3}


@pytest.mark.anyio
async def test_a_delete_that_saves_last_keeps_the_other_requests_write() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, a=1, b=2)
    deleting, setting = await store.load(cookie), await store.load(cookie)
    setting["c"] = 3
    assert decoded(store, await store.save(setting)) == {"a": 1, "b": 2, "c": 3}
    del deleting["b"]
    assert decoded(store, await store.save(deleting)) == {"a": 1, "c": 3}


@pytest.mark.anyio
async def test_a_logout_is_not_undone_by_a_request_that_saves_later() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, _user_id="7", cart={"3": 1})
    logout, writer, login = await store.load(cookie), await store.load(cookie), await store.load(cookie)
    logout.clear()
    assert isinstance(await store.save(logout), DeleteCookie)
    writer["theme"] = "dark"
    assert writer["cart"] == {"3": 1}
    # As with Redis, the later request's own changes apply to the cleared session, and nothing else.
    assert decoded(store, await store.save(writer)) == {"theme": "dark"}
    login["_user_id"] = "8"  # a login of its own is a change of its own, and is kept
    assert decoded(store, await store.save(login)) == {"theme": "dark", "_user_id": "8"}


@pytest.mark.anyio
async def test_a_request_that_empties_the_session_last_deletes_the_cookie() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, a=1)
    logout, deleting = await store.load(cookie), await store.load(cookie)
    logout.clear()
    assert isinstance(await store.save(logout), DeleteCookie)
    del deleting["a"]
    assert isinstance(await store.save(deleting), DeleteCookie)


@pytest.mark.anyio
async def test_a_request_that_read_a_newer_value_finds_the_writes_of_older_ones() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, a=1)
    first, slow = await store.load(cookie), await store.load(cookie)
    first["b"] = 2
    newer = await store.save(first)
    assert isinstance(newer, SetCookie)
    later = await store.load(newer.value)  # sent the first request's cookie, before the slow one saved
    slow["cart"] = {"1": 1}
    assert decoded(store, await store.save(slow)) == {"a": 1, "b": 2, "cart": {"1": 1}}
    later["d"] = 4
    del later["a"]
    assert decoded(store, await store.save(later)) == {"b": 2, "cart": {"1": 1}, "d": 4}


@pytest.mark.anyio
async def test_a_value_changed_in_place_is_merged_too() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, cart={"1": 1}, a=1)
    first, second = await store.load(cookie), await store.load(cookie)
    del first["a"]
    await store.save(first)
    second["cart"]["1"] = 2
    assert decoded(store, await store.save(second)) == {"cart": {"1": 2}}


@pytest.mark.anyio
async def test_only_requests_that_change_something_write() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET], max_age=100))
    cookie = await written(store, a=1)
    reader, writer = await store.load(cookie), await store.load(cookie)
    writer["a"] = 2
    await store.save(writer)
    assert reader["a"] == 1 and await store.save(reader) is None
    aging, writer = await store.load(cookie), await store.load(cookie)
    aging.stale = True  # past half its life: it would be signed again, but a newer cookie was just signed
    writer["b"] = 1
    await store.save(writer)
    assert await store.save(aging) is None


@pytest.mark.anyio
async def test_a_newest_value_that_cannot_be_read_any_more_leaves_the_request_its_own_snapshot() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, a=1)
    session = await store.load(cookie)
    store.journal.record([digest(cookie)], "expired-or-signed-with-a-dropped-key")
    session["b"] = 2
    assert decoded(store, await store.save(session)) == {"a": 1, "b": 2}  # as without the journal


@pytest.mark.anyio
async def test_two_visitors_with_equal_sessions_never_get_each_others_writes() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    # Signed in the same second, equal sessions give equal cookies; the store's nonce tells them apart.
    mine, theirs = await written(store, lang="fr"), await written(store, lang="fr")
    assert mine != theirs
    flask_made = store.codec.dumps({"lang": "fr"})  # Flask's own cookie, with no nonce, held by both
    for my_cookie, their_cookie in [(mine, theirs), (flask_made, flask_made)]:
        me, them = await store.load(my_cookie), await store.load(their_cookie)
        me["_user_id"] = "7"
        assert decoded(store, await store.save(me)) == {"lang": "fr", "_user_id": "7"}
        them["cart"] = {"1": 1}
        assert decoded(store, await store.save(them)) == {"lang": "fr", "cart": {"1": 1}}


@pytest.mark.anyio
async def test_the_nonce_is_not_part_of_the_session_and_flask_reads_the_cookie() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]))
    cookie = await written(store, a=1)
    assert (await store.load(cookie)).as_dict() == {"a": 1}
    flask_app = legacy_app()
    with flask_app.test_client() as legacy:
        legacy.set_cookie("session", cookie)
        assert legacy.get("/read/a").json == {"value": 1}
        nonce = legacy.get(f"/read/{NONCE_KEY}").json
        assert nonce is not None and isinstance(nonce["value"], str)  # Flask alone sees one key more


@pytest.mark.anyio
async def test_without_a_journal_the_last_save_wins_as_before() -> None:
    store = CookieStore(FlaskCookieCodec([SECRET]), journal_size=0)
    cookie = await written(store, a=1, b=2)
    deleting, setting = await store.load(cookie), await store.load(cookie)
    del deleting["b"]
    await store.save(deleting)
    setting["c"] = 3
    assert decoded(store, await store.save(setting)) == {"a": 1, "b": 2, "c": 3}
    assert len(store.journal) == 0


# -- the journal's bounds -------------------------------------------------------------------


def test_the_oldest_entries_go_first_when_the_journal_is_full() -> None:
    journal = SuccessorJournal(max_entries=3, clock=FakeClock())
    for index in range(5):
        journal.record([digest(f"v{index}")], f"v{index + 1}")
    assert len(journal) == 3
    assert journal.newest(digest("v0")) is None and journal.newest(digest("v1")) is None
    assert journal.newest(digest("v2")) == Chain([digest("v2"), digest("v3"), digest("v4")], "v5")
    journal.record([digest("v2")], "v2b")  # recorded again: the newest entry now
    journal.record([digest("x")], "y")
    assert journal.newest(digest("v3")) is None and journal.newest(digest("v2")) == Chain([digest("v2")], "v2b")


def test_entries_older_than_the_ttl_are_ignored_then_dropped() -> None:
    clock = FakeClock()
    journal = SuccessorJournal(ttl=300, clock=clock)
    journal.record([digest("old")], "new")
    clock.now += 299
    assert journal.newest(digest("old")) == Chain([digest("old")], "new")
    journal.record([digest("new")], None)  # the session emptied: the chain ends there
    assert journal.newest(digest("old")) == Chain([digest("old"), digest("new")], None)
    clock.now += 1
    assert journal.newest(digest("old")) is None  # expired: and the chain is not followed past it
    assert journal.newest(digest("new")) == Chain([digest("new")], None)
    journal.record([digest("other")], "value")
    assert len(journal) == 2  # the expired entry is gone


def test_a_cycle_is_followed_only_so_far() -> None:
    journal = SuccessorJournal(clock=FakeClock())
    journal.record([digest("a")], "b")
    journal.record([digest("b")], "a")
    chain = journal.newest(digest("a"))
    assert chain is not None and len(chain.superseded) == MAX_HOPS


@pytest.mark.anyio
async def test_past_the_ttl_a_request_writes_what_it_has_as_before() -> None:
    clock = FakeClock()
    store = CookieStore(FlaskCookieCodec([SECRET]))
    store.journal = SuccessorJournal(ttl=300, clock=clock)
    cookie = await written(store, a=1, b=2)
    deleting, setting = await store.load(cookie), await store.load(cookie)
    del deleting["b"]
    await store.save(deleting)
    clock.now += 300
    setting["c"] = 3
    assert decoded(store, await store.save(setting)) == {"a": 1, "b": 2, "c": 3}


# -- through the app, on a real server ------------------------------------------------------


def racing_app(gate: Gate) -> Turnout:
    """`build_app`'s two sides, and a new endpoint that writes a key only once `gate` lets it go."""

    async def slow_write(request: Request) -> Response:
        await anyio.to_thread.run_sync(gate.hold)  # its session was loaded before it got here
        request.session[request.path_params["key"]] = request.path_params["value"]
        return Response(status_code=204)

    app = Turnout()
    app.mount_wsgi("/legacy", legacy_app(), name="legacy")
    add_new_routes(app)
    app.add_route("/new/slow-write/{key}/{value}", slow_write, methods=["POST"], name="slow_write")
    enable_shared_sessions(app, secret_key=SECRET)
    return app


def cookie_from(response: httpx.Response) -> dict[str, str]:
    """The `Cookie` header that sends back the session cookie `response` set."""
    value = response.cookies.get("session")
    assert value, f"no session cookie in {response.headers.get_list('set-cookie')}"
    return {"cookie": f"session={value}"}


@pytest.mark.server
@pytest.mark.anyio
async def test_a_key_deleted_on_the_legacy_side_stays_deleted_when_a_slower_new_request_saves_last() -> None:
    gate = Gate()
    with run_server(racing_app(gate)) as base:
        async with httpx.AsyncClient(base_url=base, timeout=GATE_TIMEOUT * 2) as http:
            cookie = cookie_from(await http.post("/new/write/a/1"))
            cookie = cookie_from(await http.post("/new/write/b/2", headers=cookie))
            responses: dict[str, httpx.Response] = {}

            async def slow() -> None:
                responses["slow"] = await http.post("/new/slow-write/c/3", headers=cookie)

            with anyio.fail_after(GATE_TIMEOUT * 2):
                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(slow)
                    assert await anyio.to_thread.run_sync(gate.entered.wait, GATE_TIMEOUT)
                    # Same cookie, at the same time, on the other side.
                    responses["delete"] = await http.post("/legacy/delete/b", headers=cookie)
                    gate.release.set()
            assert "slow" in responses and "set-cookie" in responses["delete"].headers
            last = cookie_from(responses["slow"])  # the browser keeps the cookie that came last
            values = [(await http.get(f"/legacy/read/{key}", headers=last)).json()["value"] for key in "abc"]
    assert values == ["1", None, "3"]

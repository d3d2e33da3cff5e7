"""Automatic rollback, through the real app: a failing new side sends its route back by itself.

A switch judges its thresholds at most every `VERDICT_EVERY` seconds; most tests here set that to
0, so that the request which crosses a threshold is the one that rolls the switch back. One test
keeps the real pace.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

import turnout.switch.board
from tests.switch.pairs import Shop, build, served_by, shadows_done, steady
from turnout.switch.health import Thresholds
from turnout.switch.state import LEGACY, Setting
from turnout.testing import client

ITEM = "/shop/items/3"
BOUND = 40  # no test sends more failing requests than this, whatever happens
# Over 20% of the new side's answers 5xx, out of at least 10 in the last 10 s; latency does not count.
ERRORS = Thresholds(error_rate=0.2, p99_ratio=None, min_requests=10, window=10)


@pytest.fixture
def judge_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(turnout.switch.board, "VERDICT_EVERY", 0.0)


@pytest.fixture
def switch_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The records of the `turnout.switch` logger, even where logging was set up not to propagate them.

    (`turnout serve` configures the `turnout` logger with `propagate = False`.)
    """
    logger = logging.getLogger("turnout.switch")
    blocked = False
    ancestor: logging.Logger | None = logger
    while ancestor is not None:
        blocked = blocked or not ancestor.propagate
        ancestor = ancestor.parent
    if blocked:
        logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="turnout.switch"):
            yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def metric(text: str, name: str, route: str) -> float | None:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels.get("route") == route:
                return sample.value
    return None


@pytest.mark.anyio
@pytest.mark.usefixtures("judge_every_request")
async def test_a_new_side_answering_5xx_rolls_back_to_legacy_and_stays_there(
    switch_log: pytest.LogCaptureFixture,
) -> None:
    shop = Shop()
    app = build(shop, metrics_path="/metrics")
    app.configure_switch("item_v2", "new", noise_sample=0, rollback=ERRORS)
    switch = app.switches["item_v2"]
    async with client(app) as http:
        for _ in range(5):
            response = await http.get(ITEM)
            assert response.status_code == 200 and served_by(response) == "new"
        shop.new_status = 500
        failed = 0
        for _ in range(BOUND):
            response = await http.get(ITEM)
            if served_by(response) == "legacy":
                break
            assert response.status_code == 500
            failed += 1
        # 5 of 10 requests failed (over 20%): the 10th, the first with enough requests, rolled it back.
        assert failed == 5
        assert response.status_code == 200 and response.json()["side"] == "legacy"
        assert switch.setting == LEGACY

        shop.new_status = 200  # the new side is healthy again: the switch stays where it went
        for _ in range(5):
            response = await http.get(ITEM)
            assert response.status_code == 200 and served_by(response) == "legacy"
        scraped = (await http.get("/metrics")).text  # the ASGI client comes from 127.0.0.1: allowed
        assert metric(scraped, "turnout_switch_rollbacks_total", "item_v2") == 1
        assert metric(scraped, "turnout_switch_rolled_back", "item_v2") == 1
        assert metric(scraped, "turnout_switch_new_share", "item_v2") == 0

        change = app.switches.set("item_v2", "new", who="alice", why="fixed the price code")
        response = await http.get(ITEM)
        assert response.status_code == 200 and served_by(response) == "new"
        scraped = (await http.get("/metrics")).text
        assert metric(scraped, "turnout_switch_rolled_back", "item_v2") == 0
        assert metric(scraped, "turnout_switch_rollbacks_total", "item_v2") == 1

    rolled_back = [c for c in app.switches.history if c.automatic]
    assert len(rolled_back) == 1
    assert (rolled_back[0].before, rolled_back[0].after, rolled_back[0].who) == ("new", "legacy", "turnout")
    assert "5xx" in rolled_back[0].why and "(5 of 10)" in rolled_back[0].why
    assert switch.rolled_back is None and change.automatic is False  # someone moved it forward: it judges afresh
    [warning] = [r for r in switch_log.records if r.levelno == logging.WARNING]
    assert warning.name == "turnout.switch"
    assert "item_v2: new -> legacy by turnout: rolled back: new side answered 5xx" in warning.getMessage()


@pytest.mark.anyio
@pytest.mark.usefixtures("judge_every_request")
async def test_the_rollback_is_held_until_someone_moves_the_switch() -> None:
    shop = Shop()
    shop.new_status = 500
    app = build(shop)
    app.configure_switch("item_v2", "new", noise_sample=0, rollback=ERRORS)
    switch = app.switches["item_v2"]
    async with client(app) as http:
        for _ in range(10):
            await http.get(ITEM)
        assert switch.setting == LEGACY
        held = switch.rolled_back
        assert held is not None and held.automatic and "5xx" in held.why
        # Setting the state it is already in is not moving it: the rollback still holds.
        app.switches.set("item_v2", "legacy", who="bob")
        assert switch.rolled_back is held
        shop.new_status = 200
        app.switches.set("item_v2", "canary 100%", who="bob", why="try again")
        assert switch.rolled_back is None
        for _ in range(12):
            response = await http.get(ITEM)
            assert response.status_code == 200 and served_by(response) == "new"
    assert switch.setting == Setting("canary", 100.0)


@pytest.mark.anyio
async def test_the_rollback_happens_at_the_real_verdict_pace() -> None:
    shop = Shop()
    shop.new_status = 500
    app = build(shop)
    app.configure_switch("item_v2", "new", noise_sample=0, rollback=ERRORS)
    statuses = []
    async with client(app) as http:
        for _ in range(BOUND):
            response = await http.get(ITEM)
            statuses.append(response.status_code)
            if served_by(response) == "legacy":
                break
            await asyncio.sleep(0.03)
    # Judged at most every 0.25 s: a few more failures than the 10 needed, never the whole bound.
    assert 10 <= statuses.count(500) < BOUND - 10
    assert statuses[-1] == 200 and app.switches["item_v2"].setting == LEGACY


@pytest.mark.anyio
@pytest.mark.usefixtures("judge_every_request")
async def test_shadow_mismatches_roll_back_to_legacy() -> None:
    shop = Shop()
    shop.new_price = 12
    app = steady(build(shop))
    app.configure_switch(
        "item_v2",
        "shadow",
        ignore_fields=["side"],
        noise_sample=0,
        rollback=Thresholds(mismatch_rate=0.5, min_requests=10, error_rate=None, p99_ratio=None),
    )
    switch = app.switches["item_v2"]
    async with client(app) as http:
        for _ in range(BOUND):
            response = await http.get(ITEM)
            assert response.status_code == 200 and served_by(response) == "legacy"
            await shadows_done(app)
            if switch.setting == LEGACY:
                break
        shadowed = len(shop.new_calls)
        for _ in range(5):
            assert served_by(await http.get(ITEM)) == "legacy"
        await asyncio.sleep(0.05)
        await shadows_done(app)
    assert shadowed == 10  # the 10th comparison, the first with enough of them, rolled it back
    assert len(shop.new_calls) == shadowed  # no shadow once it is on legacy
    assert switch.outcomes["mismatched"] == 10
    # The first 5 shadowed requests also asked the legacy side a second time (to learn its noise).
    assert len(shop.legacy_calls) == 10 + 5 + 5
    held = switch.rolled_back
    assert held is not None and (held.before, held.after) == ("shadow", "legacy")
    assert "shadow responses differed" in held.why and "(10 of 10)" in held.why


@pytest.mark.anyio
@pytest.mark.usefixtures("judge_every_request")
async def test_a_failing_canary_rolls_back_to_shadow_where_it_came_from() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch(
        "item_v2",
        "shadow",
        ignore_fields=["side"],
        noise_sample=0,
        rollback=ERRORS,
    )
    switch = app.switches["item_v2"]
    async with client(app) as http:
        for _ in range(3):
            assert served_by(await http.get(ITEM)) == "legacy"
        await shadows_done(app)
        assert switch.outcomes["matched"] == 3

        app.switches.set("item_v2", "canary 100%", who="alice", why="all users")
        shop.new_status = 500
        statuses = []
        for _ in range(BOUND):
            response = await http.get(ITEM)
            statuses.append(response.status_code)
            if served_by(response) == "legacy":
                break
        assert switch.setting == Setting("shadow")
        assert statuses[-1] == 200 and statuses.count(500) == 7  # 7 of 10 new answers were 5xx
        await shadows_done(app)  # the shadow of the request that found the switch back in shadow

        # Back in shadow: users get the legacy side, the new side still gets copies in the background,
        # and its failures there do not move the switch again.
        before = len(shop.new_calls)
        for _ in range(12):
            response = await http.get(ITEM)
            assert response.status_code == 200 and served_by(response) == "legacy"
            await shadows_done(app)
        assert len(shop.new_calls) == before + 12
    held = switch.rolled_back
    assert held is not None and (held.before, held.after) == ("canary 100%", "shadow")
    assert "5xx" in held.why
    assert switch.setting == Setting("shadow")


@pytest.mark.anyio
@pytest.mark.usefixtures("judge_every_request")
async def test_a_shadow_whose_new_side_fails_rolls_back_to_legacy() -> None:
    shop = Shop()
    shop.new_raises = True
    app = steady(build(shop))
    app.configure_switch(
        "item_v2",
        "shadow",
        ignore_fields=["side"],
        noise_sample=0,
        rollback=ERRORS,
    )
    async with client(app) as http:
        for _ in range(BOUND):
            response = await http.get(ITEM)
            assert response.status_code == 200  # the user never sees the shadow's failures
            await shadows_done(app)
            if app.switches["item_v2"].setting == LEGACY:
                break
    held = app.switches["item_v2"].rolled_back
    assert held is not None and (held.before, held.after) == ("shadow", "legacy")
    assert "5xx" in held.why and "(10 of 10)" in held.why

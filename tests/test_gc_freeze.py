"""What start-up made is frozen once per process, so that the collector's full passes skip it."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import write_config
from turnout import ConfigError, Turnout, _gc
from turnout.testing import client


@pytest.fixture
def fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(_gc, "_done", False)
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_process")
async def test_start_up_freezes_once_and_full_passes_then_walk_only_new_objects() -> None:
    made_at_start_up = [[index] for index in range(20_000)]  # long-lived containers, as an app's
    async with client(Turnout()):
        frozen = gc.get_freeze_count()
        assert frozen >= len(made_at_start_up)
        walked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        assert id(made_at_start_up[0]) not in walked
        async with client(Turnout()):  # a second app in the same process does not freeze again
            assert gc.get_freeze_count() <= frozen  # objects freed since leave it; none join
    assert made_at_start_up[-1] == [19_999]


@pytest.mark.anyio
@pytest.mark.usefixtures("fresh_process")
async def test_it_can_be_turned_off() -> None:
    async with client(Turnout(gc_freeze=False)):
        assert gc.get_freeze_count() == 0


@pytest.mark.usefixtures("fresh_process")
def test_nothing_is_frozen_while_the_collector_is_off() -> None:
    gc.disable()
    try:
        assert not _gc.freeze_startup()
    finally:
        gc.enable()
    assert gc.get_freeze_count() == 0
    assert _gc.freeze_startup()
    assert not _gc.freeze_startup()


def test_turnout_toml_turns_it_off(tmp_path: Path) -> None:
    assert Turnout.from_config(write_config(tmp_path, "[app]\n")).router.gc_freeze
    app = Turnout.from_config(write_config(tmp_path, "[app]\ngc_freeze = false\n"))
    assert not app.router.gc_freeze


def test_a_wrong_value_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="app.gc_freeze"):
        Turnout.from_config(write_config(tmp_path, '[app]\ngc_freeze = "no"\n'))

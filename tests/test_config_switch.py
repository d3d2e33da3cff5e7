"""`[admin]` and `[[switch]]` in turnout.toml, and `[app] shadow_max_in_flight` and `shadow_timeout`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import isolated_imports, write_config
from turnout import ConfigError, Thresholds, Turnout
from turnout.config import AdminConfig, SwitchConfig, load_config
from turnout.switch.canary import Sticky
from turnout.switch.options import SwitchOptions
from turnout.switch.state import Setting
from turnout.testing import client

TOKEN = "config-admin-token-0123456789"

# The pair: the Flask app's `/items/<int:item_id>` (shop:legacy_item) and the native `item_v2`.
PAIR = """
    [[wsgi]]
    prefix = "/shop"
    app = "tests.fixtures.apps:legacy"
    name = "shop"

    [[route]]
    path = "/shop/items/{item_id:int}"
    endpoint = "tests.fixtures.apps:item_v2"
    methods = ["GET"]
    name = "item_v2"
"""

GOOD = (
    """
    [app]
    shadow_max_in_flight = 4
    shadow_timeout = 2.5

    [admin]
    path = "/ops/turnout"
    token_env = "SHOP_ADMIN_TOKEN"
    allow = ["127.0.0.1", "10.0.0.0/8"]
"""
    + PAIR
    + """
    [[switch]]
    route = "item_v2"
    state = "shadow"
    sticky = "header:X-User-Id"
    idempotent = true
    ignore_fields = ["generated_at", "$.items[*].id"]
    ignore_headers = ["X-Cache"]
    noise_sample = 0.25
    error_rate = false
    p99_ratio = 4
    mismatch_rate = 0.02
    window = 30
    min_requests = 50
"""
)

DECLARED = SwitchOptions(
    setting=Setting("shadow"),
    sticky=Sticky("header", "x-user-id"),
    idempotent=True,
    ignore_fields=("generated_at", "$.items[*].id"),
    ignore_headers=("X-Cache",),
    noise_sample=0.25,
    rollback=Thresholds(error_rate=None, p99_ratio=4.0, mismatch_rate=0.02, window=30.0, min_requests=50),
)


@pytest.fixture(autouse=True)
def sandbox() -> Iterator[None]:
    with isolated_imports():
        yield


def test_a_good_file_loads_admin_and_switches(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, GOOD))
    assert config.admin == AdminConfig(
        path="/ops/turnout", token_env="SHOP_ADMIN_TOKEN", allow=("127.0.0.1", "10.0.0.0/8")
    )
    assert config.switches == (SwitchConfig(route="item_v2", options=DECLARED, key="switch[0]"),)
    assert (config.app.shadow_max_in_flight, config.app.shadow_timeout) == (4, 2.5)


def test_admin_and_switches_are_off_unless_declared(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, PAIR))
    assert (config.admin, config.switches) == (None, ())
    app = Turnout.from_config(config.path)
    assert app.admin is None
    assert app.switches["item_v2"].setting == Setting("new")  # a pair is a switch, at new, without [[switch]]
    assert app.switches["item_v2"].options == SwitchOptions()
    defaults = load_config(write_config(tmp_path, "[admin]\n")).admin
    assert defaults == AdminConfig(path="/_turnout", token_env="TURNOUT_ADMIN_TOKEN", allow=("127.0.0.1", "::1"))


@pytest.mark.anyio
async def test_the_built_app_has_the_declared_switch_and_admin_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_ADMIN_TOKEN", TOKEN)
    app = Turnout.from_config(write_config(tmp_path, GOOD))
    switch = app.switches["item_v2"]
    assert switch.setting == Setting("shadow")
    assert switch.options == DECLARED
    assert switch.rules.ignores_field("$.items[3].id") and switch.rules.ignores_field("$.meta.generated_at")
    assert "x-cache" in switch.rules.ignore_headers
    assert switch.health.thresholds == DECLARED.rollback
    assert (app.router.shadows.max_in_flight, app.router.shadows.timeout) == (4, 2.5)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with client(app) as http:
        served = await http.get("/shop/items/3")
        assert (served.text, served.headers["x-served-by"]) == ("legacy item 3", "wsgi:shop")  # shadow: legacy serves
        listed = (await http.get("/ops/turnout/switches", headers=auth)).json()["switches"]
        assert (await http.get("/_turnout/switches", headers=auth)).status_code == 404
    assert [(s["route"], s["state"], s["sticky"]) for s in listed] == [("item_v2", "shadow", "header:x-user-id")]


@pytest.mark.parametrize(
    "switch",
    [
        'route = "item_v2"\nstate = "canary 10%"',
        'route = "item_v2"\nstate = "canary"\npercent = 10',
        'route = "shop:legacy_item"\nstate = "canary"\npercent = 10.0',
        'route = "/shop/items/{item_id:int}"\nstate = "canary:10"',
    ],
    ids=["text", "percent", "by legacy endpoint", "by pattern"],
)
def test_a_canary_is_written_either_way_and_the_route_by_any_name(tmp_path: Path, switch: str) -> None:
    app = Turnout.from_config(write_config(tmp_path, f"{PAIR}\n[[switch]]\n{switch}\n"))
    assert app.switches["item_v2"].setting == Setting("canary", 10)


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        ("", Thresholds()),
        ("error_rate = 0.5\np99_ratio = false", Thresholds(error_rate=0.5, p99_ratio=None)),
        ("mismatch_rate = 1\nerror_rate = 1", Thresholds(error_rate=1.0, mismatch_rate=1.0)),
    ],
    ids=["defaults", "one off", "bounds"],
)
def test_thresholds_can_be_turned_off_one_by_one(tmp_path: Path, lines: str, expected: Thresholds) -> None:
    config = load_config(write_config(tmp_path, f'[[switch]]\nroute = "item_v2"\n{lines}\n'))
    assert config.switches[0].options.rollback == expected


def switch_file(*lines: str) -> str:
    return "[[switch]]\n" + "".join(f"{line}\n" for line in lines)


# Each case: the file, then what the message must contain: where (line and key), the problem, the fix.
MISTAKES = {
    "unknown key": (
        switch_file('route = "item_v2"', 'stat = "shadow"'),
        ":3: key 'switch[0].stat'",
        "unknown key 'stat'",
        "did you mean 'state'?",
    ),
    "no route": (
        switch_file('state = "shadow"'),
        ":1: key 'switch[0].route'",
        "[[switch]] needs 'route'",
        'add route = "product_v2"',
    ),
    "bad state": (
        switch_file('route = "item_v2"', 'state = "sideways"'),
        ":3: key 'switch[0].state'",
        "'sideways' is not a switch state; use legacy, shadow, new, or canary N%",
        'state = "canary", percent = 10',
    ),
    "canary without a share": (
        switch_file('route = "item_v2"', 'state = "canary"'),
        ":3: key 'switch[0].state'",
        "'canary' is not a switch state",
        'state = "canary", percent = 10',
    ),
    "canary share over 100": (
        switch_file('route = "item_v2"', 'state = "canary 150%"'),
        ":3: key 'switch[0].state'",
        "a canary share is between 0% and 100%, not 150%",
        'state = "canary", percent = 10',
    ),
    "percent over 100": (
        switch_file('route = "item_v2"', 'state = "canary"', "percent = 101"),
        ":3: key 'switch[0].state'",  # state and percent are read together: the state's line
        "a canary share is between 0% and 100%, not 101%",
        'state = "canary", percent = 10',
    ),
    "percent not a number": (
        switch_file('route = "item_v2"', 'state = "canary"', 'percent = "10%"'),
        ":4: key 'switch[0].percent'",
        "must be a number from 0 to 100, not a string",
        "percent = 10",
    ),
    "percent of a shadow": (
        switch_file('route = "item_v2"', 'state = "shadow"', "percent = 10"),
        ":3: key 'switch[0].state'",
        "only a canary has a share of users, not 'shadow'",
        'state = "canary", percent = 10',
    ),
    "bad sticky": (
        switch_file('route = "item_v2"', 'sticky = "ip"'),
        ":3: key 'switch[0].sticky'",
        "'ip' does not say how to know a user; use 'cookie', 'cookie:NAME', 'header:NAME' or 'session:KEY'",
        'sticky = "header:X-User-Id"',
    ),
    "sticky header with a space": (
        switch_file('route = "item_v2"', 'sticky = "header:X User"'),
        ":3: key 'switch[0].sticky'",
        "does not say how to know a user",
        'sticky = "header:X-User-Id"',
    ),
    "bad ignore field": (
        switch_file('route = "item_v2"', 'ignore_fields = ["$.items[oops"]'),
        ":3: key 'switch[0].ignore_fields'",
        "invalid ignore field pattern '$.items[oops'",
        '["name", "$.path.to.field", "$.items[*].id"]',
    ),
    "ignore fields not strings": (
        switch_file('route = "item_v2"', "ignore_fields = [1]"),
        ":3: key 'switch[0].ignore_fields'",
        "must be an array of strings, but holds an integer",
        "ignore_fields = [",
    ),
    "noise sample over 1": (
        switch_file('route = "item_v2"', "noise_sample = 1.5"),
        ":3: key 'switch[0].noise_sample'",
        "must be between 0 and 1, not 1.5",
        "noise_sample = 0.1",
    ),
    "negative noise sample": (
        switch_file('route = "item_v2"', "noise_sample = -0.1"),
        ":3: key 'switch[0].noise_sample'",
        "must be at least 0, not -0.1",
        "noise_sample = 0.1",
    ),
    "error rate over 1": (
        switch_file('route = "item_v2"', "error_rate = 5"),
        ":3: key 'switch[0].error_rate'",
        "must be between 0.0001 and 1, or false, not 5",
        "error_rate = 0.05",
    ),
    "error rate zero": (
        switch_file('route = "item_v2"', "error_rate = 0"),
        ":3: key 'switch[0].error_rate'",
        "must be between 0.0001 and 1, or false, not 0",
        "error_rate = 0.05",
    ),
    "error rate true": (
        switch_file('route = "item_v2"', "error_rate = true"),
        ":3: key 'switch[0].error_rate'",
        "or false, not True",
        "error_rate = 0.05",
    ),
    "error rate as text": (
        switch_file('route = "item_v2"', 'error_rate = "5%"'),
        ":3: key 'switch[0].error_rate'",
        "must be a number, or false to turn the check off, not a string",
        "error_rate = 0.05",
    ),
    "p99 ratio under 1": (
        switch_file('route = "item_v2"', "p99_ratio = 0.5"),
        ":3: key 'switch[0].p99_ratio'",
        "must be between 1 and 1000, or false, not 0.5",
        "p99_ratio = 3",
    ),
    "mismatch rate over 1": (
        switch_file('route = "item_v2"', "mismatch_rate = 2"),
        ":3: key 'switch[0].mismatch_rate'",
        "must be between 0.0001 and 1, or false, not 2",
        "mismatch_rate = 0.0001",
    ),
    "window under a second": (
        switch_file('route = "item_v2"', "window = 0.5"),
        ":3: key 'switch[0].window'",
        "must be at least 1, not 0.5",
        "window = 60",
    ),
    "min_requests zero": (
        switch_file('route = "item_v2"', "min_requests = 0"),
        ":3: key 'switch[0].min_requests'",
        "must be at least 1, not 0",
        "min_requests = 20",
    ),
    "idempotent as text": (
        switch_file('route = "item_v2"', 'idempotent = "yes"'),
        ":3: key 'switch[0].idempotent'",
        "must be true or false, not a string",
        "idempotent = false",
    ),
    "a duplicate switch": (
        switch_file('route = "item_v2"', 'state = "shadow"') + "\n" + switch_file('route = "item_v2"', 'state = "new"'),
        ":6: key 'switch[1].route'",
        "the route 'item_v2' has a switch already, at switch[0]",
        "keep one [[switch]] per route",
    ),
    "switch as a table": (
        '[switch]\nroute = "item_v2"\n',
        ":1: key 'switch'",
        "must be an array of tables, not a table",
        "write one [[switch]] section (double brackets) for each entry",
    ),
    "admin path without a slash": (
        '[admin]\npath = "ops"\n',
        ":2: key 'admin.path'",
        "'ops' is not a path under '/'",
        'write it as "/_turnout"',
    ),
    "admin path at the root": (
        '[admin]\npath = "/"\n',
        ":2: key 'admin.path'",
        "'/' is not a path under '/'",
        'write it as "/_turnout"',
    ),
    "admin token in the file": (
        '[admin]\ntoken = "s3cret-s3cret-s3cret"\n',
        ":2: key 'admin.token'",
        "unknown key 'token'",
        "did you mean 'token_env'?",
    ),
    "admin allow not an array": (
        '[admin]\nallow = "10.0.0.0/8"\n',
        ":2: key 'admin.allow'",
        "must be an array of strings, not a string",
        'allow = ["127.0.0.1", "10.0.0.0/8"]',
    ),
    "shadow_max_in_flight zero": (
        "[app]\nshadow_max_in_flight = 0\n",
        ":2: key 'app.shadow_max_in_flight'",
        "must be at least 1, not 0",
        "shadow_max_in_flight = 16",
    ),
    "shadow_timeout zero": (
        "[app]\nshadow_timeout = 0\n",
        ":2: key 'app.shadow_timeout'",
        "must be more than 0, not 0",
        "shadow_timeout = 10",
    ),
}


@pytest.mark.parametrize(("text", "where", "problem", "fix"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_names_file_line_key_and_fix(
    tmp_path: Path, text: str, where: str, problem: str, fix: str
) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    head, _, tail = message.partition("\n  fix: ")
    assert problem in head
    assert fix in tail


@pytest.mark.parametrize(
    ("switches", "key", "line"),
    [
        (['route = "shop:nothing"'], "switch[0].route", 13),
        (['route = "item_v2"', 'route = "product_v2"'], "switch[1].route", 16),
        (['route = "shop:legacy_index"'], "switch[0].route", 13),  # a legacy route with no new side
    ],
    ids=["unknown", "the second of two", "legacy only"],
)
def test_a_switch_for_a_route_that_is_no_pair_names_its_key(
    tmp_path: Path, switches: list[str], key: str, line: int
) -> None:
    text = PAIR + "".join(f"\n[[switch]]\n{route}\n" for route in switches)
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        Turnout.from_config(path)
    message = str(info.value)
    assert info.value.key == key
    assert message.startswith(f"{path}:{line}: key '{key}': a switch is declared for ")
    assert "but no route that both sides serve has that name, pattern or legacy endpoint" in message
    assert "switches: item_v2" in message
    assert "fix: name a route both sides serve (see `turnout switch`)" in message


def test_two_switches_for_one_route_under_different_names_are_a_mistake(tmp_path: Path) -> None:
    text = PAIR + '\n[[switch]]\nroute = "item_v2"\nstate = "shadow"\n\n[[switch]]\nroute = "shop:legacy_item"\n'
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError, match="switch already"):
        Turnout.from_config(path)


@pytest.mark.parametrize(
    ("token", "state"),
    [(None, "is not set"), ("", "is not set"), ("x" * 15, "is shorter than 16 characters")],
    ids=["unset", "empty", "short"],
)
def test_the_admin_token_comes_from_its_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str | None, state: str
) -> None:
    if token is None:
        monkeypatch.delenv("SHOP_ADMIN_TOKEN", raising=False)
    else:
        monkeypatch.setenv("SHOP_ADMIN_TOKEN", token)
    path = write_config(tmp_path, '[server]\nport = 8000\n\n[admin]\ntoken_env = "SHOP_ADMIN_TOKEN"\n')
    assert load_config(path).admin is not None  # the file is right: the environment is checked when the app is built
    with pytest.raises(ConfigError) as info:
        Turnout.from_config(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}:5: key 'admin.token_env': the admin API's token: the environment variable SHOP_ADMIN_TOKEN {state}"
    )
    assert (
        '\n  fix: export SHOP_ADMIN_TOKEN="$(python -c "import secrets; print(secrets.token_urlsafe(32))")"' in message
    )
    monkeypatch.setenv("SHOP_ADMIN_TOKEN", "x" * 16)
    assert Turnout.from_config(path).admin is not None


def test_an_admin_allow_that_is_not_an_address_names_its_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", TOKEN)
    path = write_config(tmp_path, '[admin]\nallow = ["localhost"]\n')
    with pytest.raises(ConfigError) as info:
        Turnout.from_config(path)
    assert info.value.key == "admin.allow"

"""`turnout switch` and `turnout diffs` against a real server with the admin API on."""

from __future__ import annotations

import json
import pwd
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tests.fixtures import write_config
from tests.switch.pair_app import LEGACY, NEW, PATTERN, TOKEN, never_lagging, shop_app, wait_for_outcomes
from turnout import Turnout
from turnout.cli import main
from turnout.switch.state import Setting
from turnout.testing import free_port, run_server

pytestmark = pytest.mark.server


@dataclass(frozen=True)
class Served:
    app: Turnout
    base: str

    @property
    def url(self) -> str:
        return self.base + "/_turnout"

    @property
    def port(self) -> int:
        port = urlsplit(self.base).port
        assert port is not None
        return port


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The shop on a real Uvicorn, with the admin API on and its token exported; the working directory is empty."""
    monkeypatch.chdir(tmp_path)  # no ./turnout.toml, unless a test writes one
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", TOKEN)
    app = shop_app(admin_path="/_turnout", admin_token=TOKEN)
    never_lagging(app)
    with run_server(app) as base:
        yield Served(app, base)


def failed(capsys: pytest.CaptureFixture[str], status: int) -> str:
    """The error a failed command printed, checked for the shape every error has."""
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.startswith("turnout: error: ")
    assert "\n  fix: " in err
    assert "Traceback" not in err
    return err


# -- listing and moving ----------------------------------------------------------------------


def test_switch_lists_the_switches_as_a_table(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert httpx.get(served.base + "/shop/items/3").headers["x-served-by"] == NEW
    assert main(["switch", "--url", served.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "ROUTE",
        "PATTERN",
        "STATE",
        "LEGACY",
        "SERVED",
        "L/N",
        "SHADOW",
        "OK/DIFF",
        "ROLLED",
        "BACK",
    ]
    assert [line.split() for line in lines[1:]] == [["item_v2", PATTERN, "new", "shop:item", "0/1", "0/0", "-"]]
    assert lines[1].index(PATTERN) == lines[0].index("PATTERN")  # aligned


def test_switch_moves_a_route_and_says_from_what_to_what(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["switch", "item_v2", "canary", "25%", "--url", served.url, "--why", "first users", "--who", "alice"])
    assert status == 0
    assert capsys.readouterr().out == "item_v2: new -> canary 25%\n"
    switches = served.app.switches
    assert switches["item_v2"].setting == Setting("canary", 25)
    change = switches.history[-1]
    assert (change.who, change.why, change.automatic) == ("alice from 127.0.0.1", "first users", False)

    assert main(["switch", "item_v2", "legacy", "--url", served.url, "--who", "bob"]) == 0
    assert capsys.readouterr().out == "item_v2: canary 25% -> legacy\n"
    assert httpx.get(served.base + "/shop/items/3").headers["x-served-by"] == LEGACY


def test_who_defaults_to_the_users_name(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGNAME", "carol")
    assert main(["switch", "item_v2", "shadow", "--url", served.url]) == 0
    assert served.app.switches.history[-1].who == "carol from 127.0.0.1"


def test_who_without_a_user_name_is_no_traceback(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.delenv(name, raising=False)

    def no_entry(uid: int) -> pwd.struct_passwd:
        raise KeyError(f"getpwuid(): uid not found: {uid}")

    monkeypatch.setattr(pwd, "getpwuid", no_entry)
    status = main(["switch", "item_v2", "shadow", "--url", served.url])
    assert status == 0 or capsys.readouterr().err.startswith("turnout: error: ")


def test_switch_finds_a_route_by_its_pattern_or_legacy_endpoint(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["switch", PATTERN, "shadow", "--url", served.url, "--who", "alice"]) == 0
    assert capsys.readouterr().out == "item_v2: new -> shadow\n"
    assert main(["switch", "shop:item", "--url", served.url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines[1:]] == [["item_v2", PATTERN, "shadow"]]


def test_switch_json(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["switch", "--url", served.url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["route"], s["pattern"], s["state"], s["legacy"]) for s in listed] == [
        ("item_v2", PATTERN, "new", ["shop:item"])
    ]
    assert main(["switch", "item_v2", "--url", served.url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["health"]["window"] == 60.0
    assert main(["switch", "item_v2", "canary", "5", "--url", served.url, "--json", "--who", "alice"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["change"]["before"], done["change"]["after"]) == ("new", "canary 5%")
    assert (done["switch"]["state"], done["switch"]["percent"]) == ("canary", 5)


def test_diffs_prints_the_mismatches_after_shadow_traffic(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["switch", "item_v2", "shadow", "--url", served.url, "--who", "alice"]) == 0
    capsys.readouterr()
    for id in (1, 2, 3):
        response = httpx.get(f"{served.base}/shop/items/{id}", headers={"X-Request-ID": f"req-{id}"})
        assert (response.headers["x-served-by"], response.json()["price"]) == (LEGACY, 10)
    wait_for_outcomes(served.app, 3)

    assert main(["diffs", "item_v2", "--url", served.url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "item_v2: 1 matched, 2 mismatched, 0 dropped, 0 skipped"
    assert "GET /shop/items/3  request id req-3\n  $.price: legacy 10  new 12\n" in out
    assert "GET /shop/items/1  request id req-1\n  $.price: legacy 10  new 12" in out
    assert out.index("req-3") < out.index("req-1")  # newest first
    assert "req-2" not in out  # it matched

    assert main(["diffs", "shop:item", "--url", served.url, "--limit", "1", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert [m["request_id"] for m in found["mismatches"]] == ["req-3"]
    assert found["mismatches"][0]["differences"][0]["where"] == "$.price"


def test_diffs_without_mismatches_says_so(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diffs", "item_v2", "--url", served.url]) == 0
    assert capsys.readouterr().out == (
        "item_v2: 0 matched, 0 mismatched, 0 dropped, 0 skipped\nno mismatches recorded\n"
    )


# -- where the admin API is ------------------------------------------------------------------


def test_the_url_comes_from_server_port_and_admin_in_the_config(
    served: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # load_config only checks the file: [server] and [admin] are enough to find the API.
    path = write_config(tmp_path, f"[server]\nport = {served.port}\n\n[admin]\n", name="ops.toml")
    assert main(["switch", "--config", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["item_v2", PATTERN, "new"]
    assert main(["switch", "item_v2", "legacy", "--config", str(path), "--who", "alice"]) == 0
    assert capsys.readouterr().out == "item_v2: new -> legacy\n"
    assert main(["diffs", "item_v2", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith("item_v2: 0 matched")


def test_the_config_can_name_another_token_variable_and_a_host_of_any_address(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TURNOUT_ADMIN_TOKEN")
    monkeypatch.setenv("SHOP_ADMIN", TOKEN)
    write_config(tmp_path, f'[server]\nhost = "0.0.0.0"\nport = {served.port}\n\n[admin]\ntoken_env = "SHOP_ADMIN"\n')
    assert main(["switch"]) == 0  # ./turnout.toml; a server bound to every address is reached on 127.0.0.1
    assert capsys.readouterr().out.splitlines()[1].startswith("item_v2")


def test_a_config_without_admin_names_the_file_and_the_fix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, "[server]\nport = 8123\n")
    err = failed(capsys, main(["switch", "--config", str(path)]))
    assert err.startswith(f"turnout: error: {path}: has no [admin] section, so the app has no admin API\n")
    assert 'fix: add [admin] (path = "/_turnout", token_env = "TURNOUT_ADMIN_TOKEN")' in err


def test_without_config_or_url_it_calls_the_demos_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", 8000)) == 0:
            pytest.skip("something listens on 127.0.0.1:8000, where the demo would be")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", TOKEN)
    for argv in (["switch"], ["diffs", "item_v2"]):
        err = failed(capsys, main(argv))
        assert err.startswith("turnout: error: cannot reach the admin API at http://127.0.0.1:8000/_turnout: ")
        assert "or give its URL with --url" in err


# -- refusals and failures -------------------------------------------------------------------


def test_the_token_must_be_in_the_environment(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TURNOUT_ADMIN_TOKEN")
    err = failed(capsys, main(["switch", "item_v2", "legacy", "--url", served.url]))
    assert err == (
        "turnout: error: the environment variable TURNOUT_ADMIN_TOKEN (the admin API's token) is not set\n"
        "  fix: export TURNOUT_ADMIN_TOKEN with the token the server was started with\n"
    )
    assert served.app.switches["item_v2"].setting == Setting("new")


def test_a_wrong_token_is_refused(
    served: Served, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", "not-the-token-but-long-enough")
    err = failed(capsys, main(["switch", "item_v2", "legacy", "--who", "alice", "--url", served.url]))
    assert err.startswith("turnout: error: the admin API answered 401: The admin API needs its token.\n")
    assert "fix: export the admin token in the environment variable the config names ([admin] token_env)" in err
    assert served.app.switches["item_v2"].setting == Setting("new")


def test_an_unknown_route_lists_the_switches(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["switch", "item_v3"], ["switch", "item_v3", "legacy", "--who", "alice"], ["diffs", "item_v3"]):
        err = failed(capsys, main([*argv, "--url", served.url]))
        assert err.startswith("turnout: error: the admin API answered 404: there is no switch for 'item_v3'")
        assert "switches: item_v2" in err
        assert "fix: check the route's name with `turnout switch`, or the URL with --url" in err


def test_an_unknown_state_says_which_states_there_are(served: Served, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["switch", "item_v2", "canary", "150%", "--url", served.url, "--who", "alice"])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err == ("turnout: error: the admin API answered 400: a canary share is between 0% and 100%, not 150%\n")
    status = main(["switch", "item_v2", "sideways", "--url", served.url, "--who", "alice"])
    assert status == 2
    assert "use legacy, shadow, new, or canary N%" in capsys.readouterr().err
    assert served.app.switches["item_v2"].setting == Setting("new")


def test_an_unreachable_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", TOKEN)
    url = f"http://127.0.0.1:{free_port()}/_turnout"
    err = failed(capsys, main(["switch", "--url", url]))
    assert err.startswith(f"turnout: error: cannot reach the admin API at {url}: ")
    assert "fix: start the app with `turnout serve`, with an [admin] section, or give its URL with --url" in err


def test_a_url_without_a_scheme_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", TOKEN)
    failed(capsys, main(["switch", "--url", "localhost/_turnout"]))


def test_a_url_that_is_not_the_admin_api_is_an_error_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TURNOUT_ADMIN_TOKEN", TOKEN)

    async def page(request: Request) -> Response:
        return PlainTextResponse("<html>a web page</html>", media_type="text/html")

    other = Turnout()
    other.add_route("/{anything:path}", page)
    with run_server(other) as base:
        failed(capsys, main(["switch", "--url", base]))

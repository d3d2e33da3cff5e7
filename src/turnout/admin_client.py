"""The client side of the admin API, for `turnout switch` and `turnout diffs`.

It speaks plain HTTP with the standard library to a running `turnout serve`, with the token from
an environment variable (never from the command line, where `ps` would show it to everyone).
A failure is a `AdminClientError` whose message says what went wrong and what to do.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from turnout._text import aligned
from turnout.exceptions import TurnoutError

TIMEOUT = 10.0


class AdminClientError(TurnoutError):
    """The admin API could not be reached, or refused the request."""


@dataclass(frozen=True, slots=True)
class AdminClient:
    """Calls the admin API at `base` (`http://127.0.0.1:8000/_turnout`) with `token`."""

    base: str
    token: str

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        url = self.base.rstrip("/") + path
        try:
            request = urllib.request.Request(
                url,
                data=data,
                method=method,
                headers={
                    "Authorization": f"Bearer {self.token}",
                    "Accept": "application/json",
                    **({"Content-Type": "application/json"} if data is not None else {}),
                },
            )
        except ValueError:
            raise AdminClientError(
                f"{self.base!r} is not an http:// URL\n  fix: write it as http://HOST:PORT/_turnout"
            ) from None
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            detail = _detail(exc.read())
            fix = {
                401: "export the admin token in the environment variable the config names ([admin] token_env)",
                403: "run it from an address in [admin] allow",
                404: "check the route's name with `turnout switch`, or the URL with --url",
            }.get(exc.code, "")
            raise AdminClientError(
                f"the admin API answered {exc.code}: {detail}" + (f"\n  fix: {fix}" if fix else "")
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise AdminClientError(
                f"cannot reach the admin API at {self.base}: {reason}\n"
                "  fix: start the app with `turnout serve`, with an [admin] section, or give its URL with --url"
            ) from None
        try:
            return json.loads(answer)
        except ValueError:
            raise AdminClientError(
                f"{url} answered, but not as turnout's admin API does (no JSON)\n"
                "  fix: check the URL: the [admin] path of the app, e.g. http://127.0.0.1:8000/_turnout"
            ) from None

    def switches(self) -> list[dict[str, Any]]:
        found = self._call("GET", "/switches")
        if not isinstance(found, dict) or not isinstance(found.get("switches"), list):
            raise AdminClientError(f"{self.base} answered JSON, but not turnout's list of switches\n  fix: check --url")
        switches: list[dict[str, Any]] = found["switches"]
        return switches

    def switch(self, route: str) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", f"/switches/{_quote(route)}")
        return found

    def move(self, route: str, state: str, *, who: str, why: str) -> dict[str, Any]:
        done: dict[str, Any] = self._call("PUT", f"/switches/{_quote(route)}", {"state": state, "who": who, "why": why})
        return done

    def diffs(self, route: str, limit: int) -> dict[str, Any]:
        found: dict[str, Any] = self._call("GET", f"/switches/{_quote(route)}/diffs?limit={limit}")
        return found


def _quote(route: str) -> str:
    return urllib.parse.quote(route, safe="")


def _detail(body: bytes) -> str:
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace").strip()[:500] or "(no detail)"
    if isinstance(data, dict) and "error" in data:
        return str(data["error"])
    return str(data)[:500]


def format_switches(switches: list[dict[str, Any]]) -> str:
    """Switches as an aligned table, one per line."""
    header = ("ROUTE", "PATTERN", "STATE", "LEGACY", "SERVED L/N", "SHADOW OK/DIFF", "ROLLED BACK")
    rows = [header]
    for s in switches:
        state = f"canary {s['percent']:g}%" if s["state"] == "canary" else s["state"]
        shadow = s["shadow"]
        rolled = s["rolled_back"]
        rows.append(
            (
                s["route"],
                s["pattern"],
                state,
                ",".join(s["legacy"]),
                f"{s['served']['legacy']}/{s['served']['new']}",
                f"{shadow['matched']}/{shadow['mismatched']}",
                "-" if rolled is None else rolled["why"],
            )
        )
    return "\n".join(aligned(rows))


def format_diffs(found: dict[str, Any]) -> str:
    """A switch's recent mismatches, as text."""
    outcomes = found["outcomes"]
    lines = [
        f"{found['route']}: {outcomes['matched']} matched, {outcomes['mismatched']} mismatched, "
        f"{outcomes['dropped']} dropped, {outcomes['skipped']} skipped"
    ]
    for m in found["mismatches"]:
        lines.append(f"\n{m['method']} {m['path']}  request id {m['request_id']}")
        for d in m["differences"]:
            lines.append(f"  {d['where']}: legacy {d['legacy']}  new {d['new']}")
    if not found["mismatches"]:
        lines.append("no mismatches recorded")
    return "\n".join(lines)

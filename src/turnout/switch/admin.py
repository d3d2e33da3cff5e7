"""The admin API: list the switches, move one, read its mismatches. Off by default.

`Turnout(admin_path="/_turnout", admin_token=...)` turns it on. A request must come from an
address in `admin_allow` (loopback by default; behind a trusted proxy, the client's own address)
AND carry `Authorization: Bearer <admin_token>`: an address alone is not enough, since anyone on
the host shares it.

```
GET  /_turnout/switches                   every switch, with its state and figures
GET  /_turnout/switches/{route}           one switch, with its health and learned noise
PUT  /_turnout/switches/{route}           {"state": "canary 10%", "who": "alice", "why": "..."}
GET  /_turnout/switches/{route}/diffs     its recent mismatches, newest first (?limit=N)
GET  /_turnout/history                    every change of state, newest last
```
`{route}` is a switch's name, its pattern or a legacy `mount:endpoint`, URL-encoded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from turnout.errors import error_response
from turnout.exceptions import SwitchError
from turnout.operator_access import OperatorAccess
from turnout.switch.board import Switchboard

MIN_TOKEN = 16
BODY_LIMIT = 16 * 1024
DIFFS_SHOWN = 20


class Admin:
    """The endpoints of the admin API, over one `Switchboard`."""

    def __init__(self, board: Switchboard, *, token: str, allow: Iterable[str]) -> None:
        assert len(token) >= MIN_TOKEN, f"the admin token must have at least {MIN_TOKEN} characters"
        self.board = board
        self.access = OperatorAccess(token, allow)

    def refusal(self, request: Request) -> Response | None:
        if not self.access.from_allowed_address(request):
            return error_response(request.scope, 403, "The admin API is not open to this address.")
        if not self.access.has_token(request):
            return error_response(
                request.scope, 401, "The admin API needs its token.", {"WWW-Authenticate": 'Bearer realm="turnout"'}
            )
        return None

    async def switches(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        return JSONResponse({"switches": [s.to_dict() for s in self.board]})

    async def switch(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        ref: str = request.path_params["route"]
        diffs = False
        try:
            switch = self.board[ref]
        except SwitchError as exc:
            # `.../diffs` is a switch's diffs page, unless the whole reference is a switch itself.
            base = ref.removesuffix("/diffs")
            if base == ref:
                return error_response(request.scope, 404, str(exc))
            try:
                switch = self.board[base]
            except SwitchError as base_exc:
                return error_response(request.scope, 404, str(base_exc))
            ref, diffs = base, True
        if request.method == "PUT":
            if diffs:
                return error_response(request.scope, 405, "The diffs are read only.", {"Allow": "GET, HEAD"})
            return await self._move(request, ref)
        if diffs:
            limit = _limit(request.query_params.get("limit"))
            if limit is None:
                return error_response(request.scope, 400, "limit is a whole number from 1 to 50.")
            shown = [m.to_dict(switch.noise) for m in reversed(switch.mismatches)]
            shown = [m for m in shown if m["differences"]][:limit]  # noise learned since may hide some
            return JSONResponse({"route": switch.name, "outcomes": switch.outcomes, "mismatches": shown})
        return JSONResponse(switch.to_dict(detail=True))

    async def _move(self, request: Request, ref: str) -> Response:
        body = await request.body()
        if len(body) > BODY_LIMIT:
            return error_response(request.scope, 413, "The request body is too large.")
        try:
            data: Any = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("state"), str):
            return error_response(
                request.scope, 400, 'Send JSON such as {"state": "canary 10%", "who": "alice", "why": "first users"}.'
            )
        percent = data.get("percent")
        if percent is not None and (isinstance(percent, bool) or not isinstance(percent, int | float)):
            return error_response(request.scope, 400, "percent is a number from 0 to 100.")
        who = _printable(str(data.get("who") or "admin API")[:100])
        client = request.client
        if client is not None:
            who += f" from {client.host}"
        try:
            why = _printable(str(data.get("why") or "")[:500])
            change = self.board.set(ref, data["state"], percent=percent, who=who, why=why)
        except SwitchError as exc:
            return error_response(request.scope, 400, str(exc))
        return JSONResponse({"change": change.to_dict(), "switch": self.board[ref].to_dict()})

    async def history(self, request: Request) -> Response:
        refused = self.refusal(request)
        if refused is not None:
            return refused
        return JSONResponse({"history": [c.to_dict() for c in self.board.history]})


def _limit(text: str | None) -> int | None:
    if text is None:
        return DIFFS_SHOWN
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 50:
        return None
    return int(text)


def _printable(text: str) -> str:
    """`text` with control characters escaped: a `who` or `why` must not forge a line of the log."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)

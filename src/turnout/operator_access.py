"""Who may reach turnout's operator endpoints (the metrics, the admin API of the switches).

Both check the same two things: the client's address against a list of addresses and networks
(after `EdgeMiddleware` has taken it from a trusted proxy), and an `Authorization: Bearer`
token, compared in constant time. The metrics take either; the admin API wants both.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from starlette.requests import Request

from turnout.middleware.proxy_headers import TrustedProxies


class OperatorAccess:
    """An address list and an optional token; `OperatorAccess("s3cret", ["127.0.0.1", "10.0.0.0/8"])`."""

    def __init__(self, token: str | None, allow: Iterable[str]) -> None:
        self.token = token
        self.allow = TrustedProxies(allow)  # a name that is not an address raises ValueError

    def from_allowed_address(self, request: Request) -> bool:
        client = request.client
        return client is not None and client.host in self.allow

    def has_token(self, request: Request) -> bool:
        """Whether the request carries the token (the scheme `Bearer` in any case, as RFC 9110 has it)."""
        if self.token is None:
            return False
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), self.token.encode())

"""Honour `X-Forwarded-For`, `-Proto` and `-Host` only from trusted proxies.

From a trusted peer, the client address becomes the right-most address in `X-Forwarded-For`
that is not itself a trusted proxy, the scheme comes from `X-Forwarded-Proto` and the `Host`
header from `X-Forwarded-Host`. Both sides see the result: `request.client`, `request.url`,
and in the environ `REMOTE_ADDR`, `wsgi.url_scheme` and `HTTP_HOST`. From any other peer the
headers are left as they came and change nothing.

`turnout serve` turns Uvicorn's own proxy handling off and uses this one, so that one setting
(`trusted_proxies`) decides for both sides. `EdgeMiddleware` calls it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

from turnout._memo import Memo

DEFAULT_TRUSTED = ("127.0.0.1", "::1")
_SCHEMES = {"http": ("http", "ws"), "https": ("https", "wss")}


class TrustedProxies:
    """A set of addresses and networks (`"10.0.0.0/8"`), or `"*"` for any peer."""

    def __init__(self, entries: Iterable[str]) -> None:
        entries = list(entries)
        self.any = "*" in entries
        self.networks = [ipaddress.ip_network(e, strict=False) for e in entries if e != "*"]
        # Peers are few; forwarded addresses may not be: the table is bounded.
        self._known: Memo[object, bool] = Memo(self._trusted, 4096)

    def __contains__(self, host: object) -> bool:
        if self.any:
            return True
        return self._known[host]

    def _trusted(self, host: object) -> bool:
        try:
            address = ipaddress.ip_address(str(host))
        except ValueError:
            return False
        return any(address in network for network in self.networks)


def apply_forwarded(
    scope: Scope,
    trusted: TrustedProxies,
    forwarded_for: bytes | None,
    forwarded_proto: bytes | None,
    forwarded_host: bytes | None,
) -> None:
    """Rewrite the client, scheme and Host of `scope` from `X-Forwarded-*`, sent by a trusted peer."""
    if forwarded_for is not None:
        hops = [h.strip() for h in forwarded_for.decode("latin-1").split(",") if h.strip()]
        for hop in reversed(hops):
            if hop not in trusted or hop == hops[0]:
                scope["client"] = (hop, 0)
                break
    if forwarded_proto is not None:
        proto = forwarded_proto.decode("latin-1").split(",")[-1].strip().lower()
        if proto in _SCHEMES:
            scope["scheme"] = _SCHEMES[proto][0 if scope["type"] == "http" else 1]
    if forwarded_host is not None:
        host = forwarded_host.split(b",")[-1].strip()
        if host:
            scope["headers"] = [(n, v) for n, v in scope["headers"] if n != b"host"] + [(b"host", host)]

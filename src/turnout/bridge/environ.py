"""The PEP 3333 environ of a legacy request.

turnout builds the environ itself instead of calling a2wsgi's `build_environ`, because that
one (in a2wsgi 1.10):
- takes `PATH_INFO` from the decoded path, so `%2F` turns into a separator, and cuts the mount
  prefix with `startswith`, without checking where a segment ends;
- lets a `SCRIPT_NAME` variable of the process environment replace every mount's prefix;
- joins repeated `Cookie` headers with `,` (RFC 6265 wants `; `);
- maps `X-Forwarded_For` onto the same key as `X-Forwarded-For`, so a client can spoof it;
- leaves `wsgi.input_terminated` unset, so Werkzeug reads a chunked upload as empty.
Here `SCRIPT_NAME` and `PATH_INFO` come from the raw path split at the mount's segments, header
names with an underscore are dropped (as gunicorn does since 22.0), and `wsgi.input` ends
exactly where the body ends, so `wsgi.input_terminated` is set for a body sent without a length.
"""

from __future__ import annotations

import sys
from typing import Any
from urllib.parse import unquote_to_bytes

from starlette.types import Scope

from turnout._memo import Memo
from turnout._types import Environ

_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _environ_key(name: bytes) -> str | None:
    """The environ key of a request header, or `None` for a name with an underscore."""
    if b"_" in name:
        return None
    if name == b"content-type":
        return "CONTENT_TYPE"
    if name == b"content-length":
        return "CONTENT_LENGTH"
    return "HTTP_" + name.decode("latin-1").upper().replace("-", "_")


_header_keys: Memo[bytes, str | None] = Memo(_environ_key, 1024)


def wsgi_path(raw: str) -> str:
    """A raw (percent-encoded) path as PEP 3333 wants it: decoded, then bytes-as-latin-1."""
    if "%" not in raw:
        return raw
    return unquote_to_bytes(raw).decode("latin-1")


def _base_environ(scheme: str, server: Any, http_version: str, root_path: str, script_name: str) -> Environ:
    """The keys that are the same for every request of one mount over one listening socket."""
    server = server or ("localhost", None)
    return {
        "SCRIPT_NAME": root_path.encode("utf-8").decode("latin-1") + wsgi_path(script_name),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]) if server[1] else _DEFAULT_PORTS.get(scheme, "80"),
        "SERVER_PROTOCOL": f"HTTP/{http_version}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


# The base environs, by what they are made of: a request copies one (a C-level copy) instead of
# working out the same ten keys again.
_bases: Memo[tuple[Any, ...], Environ] = Memo(lambda made_of: _base_environ(*made_of), 256)


def build_environ(scope: Scope, *, script_name: str, path_info: str) -> Environ:
    """The environ for `scope`, with the mount's `script_name` and the rest as `path_info`.

    Both are raw (percent-encoded) here and decoded into latin-1 "bytes as str". The caller sets
    `wsgi.input`.
    """
    get = scope.get
    server = get("server")
    if type(server) is list:
        server = tuple(server)
    made_of = (get("scheme", "http"), server, get("http_version", "1.1"), get("root_path", ""), script_name)
    environ = _bases[made_of].copy()
    environ["REQUEST_METHOD"] = scope["method"]
    environ["PATH_INFO"] = wsgi_path(path_info)
    environ["QUERY_STRING"] = get("query_string", b"").decode("latin-1")
    environ["asgi.scope"] = scope
    client = get("client")
    if client is not None:
        environ["REMOTE_ADDR"] = str(client[0])
        environ["REMOTE_PORT"] = str(client[1])
    keys = _header_keys
    for name, value in scope["headers"]:
        key = keys[name]
        if key is None:
            continue
        text = value.decode("latin-1")
        if key in environ:
            text = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + text
        environ[key] = text
    state = get("state")
    if isinstance(state, dict) and "request_id" in state:
        # The id turnout kept or made, in place of whatever the client sent.
        environ["HTTP_X_REQUEST_ID"] = state["request_id"]
    if "HTTP_TRANSFER_ENCODING" in environ and "CONTENT_LENGTH" not in environ:
        # A chunked body: no length to read up to, so tell the app that the input ends on its own.
        # (With a length, apps read `read(n)` up to it, which is all wsgiref's validator allows.)
        environ["wsgi.input_terminated"] = True
    return environ

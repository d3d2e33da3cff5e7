"""The `turnout` command: `turnout serve` runs the app on Uvicorn, `turnout routes` prints its table.

```
turnout serve [CONFIG] [--host H] [--port P] [--workers N] [--reload] [--log-level L]
turnout routes [CONFIG] [--json]
```
Without CONFIG, both use `./turnout.toml` if there is one, else the built-in demo. A user's
mistake (a `TurnoutError`) prints one `turnout: error: ...` message and exits with status 2:
a traceback would bury the line that says what to fix.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from turnout import __version__
from turnout._serve import CONFIG_ENV, FACTORY, load_demo
from turnout.app import Turnout
from turnout.config import CONFIG_FILE, LOG_LEVELS, ServerConfig, build_app, load_config
from turnout.exceptions import TurnoutError
from turnout.metrics import MULTIPROCESS
from turnout.middleware.access_log import AccessLog
from turnout.server import HEADER_TIMEOUT_VARIABLE, protocol

EXIT_USAGE = 2


def _port(text: str) -> int:
    port = _integer(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 1 and 65535, not {port}")
    return port


def _positive(text: str) -> int:
    number = _integer(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {number}")
    return number


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the `turnout` command."""
    parser = argparse.ArgumentParser(
        prog="turnout", description="Serve legacy WSGI apps and new async endpoints behind one routing table."
    )
    parser.add_argument("--version", action="version", version=f"turnout {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    config_help = f"path of the config file (default: ./{CONFIG_FILE} if it exists, else the built-in demo)"

    serve = commands.add_parser("serve", help="serve the app on Uvicorn", description="Serve the app on Uvicorn.")
    serve.add_argument("config", nargs="?", metavar="CONFIG", help=config_help)
    serve.add_argument("--host", help="address to bind (overrides [server] host; default 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port to bind (overrides [server] port; default 8000)")
    serve.add_argument("--workers", type=_positive, help="worker processes (overrides [server] workers; default 1)")
    serve.add_argument(
        "--reload",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="restart when a file changes (overrides [server] reload)",
    )
    serve.add_argument(
        "--log-level", type=str.lower, choices=LOG_LEVELS, help="Uvicorn's log level (overrides [server] log_level)"
    )
    serve.set_defaults(handler=_serve)

    routes = commands.add_parser(
        "routes", help="print the shared routing table", description="Print the shared routing table."
    )
    routes.add_argument("config", nargs="?", metavar="CONFIG", help=config_help)
    routes.add_argument("--json", action="store_true", help="print JSON instead of a table")
    routes.set_defaults(handler=_routes)
    return parser


def _config_path(argument: str | None) -> Path | None:
    if argument is not None:
        return Path(argument)
    default = Path(CONFIG_FILE)
    return default if default.is_file() else None


def _load(path: Path | None) -> tuple[Turnout, ServerConfig]:
    if path is None:
        return load_demo(), ServerConfig()
    config = load_config(path)
    return build_app(config, Turnout), config.server


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _serve(args: argparse.Namespace) -> int:
    path = _config_path(args.config)
    app, server = _load(path)
    host: str = args.host or server.host
    port: int = args.port or server.port
    workers: int = args.workers or server.workers
    reload: bool = server.reload if args.reload is None else args.reload
    log_level: str = args.log_level or server.log_level
    # Built and printed before Uvicorn starts, so a duplicate route fails here, in one clear message.
    print(app.table.format())
    print(f"\nturnout: serving on {_url(host, port)}", flush=True)
    # Uvicorn's own X-Forwarded-* handling is off: the app's `trusted_proxies` decides, for both sides.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": log_level,
        "proxy_headers": False,
        # Uvicorn's protocols with a deadline for reading a request's headers (see turnout.server).
        "http": protocol(),
        # In-flight requests get the grace period at SIGTERM or Ctrl-C; then the process exits.
        "timeout_graceful_shutdown": app.router.shutdown_grace,
    }
    os.environ[HEADER_TIMEOUT_VARIABLE] = str(server.header_timeout)
    if path is None and app.access_log is None:
        app.access_log = AccessLog("text")  # the demo logs each request, with its request id
    if app.access_log is not None:
        options["access_log"] = False  # turnout's own line replaces Uvicorn's
    if app.metrics is not None and workers > 1 and not os.environ.get(MULTIPROCESS):
        # Each worker writes its figures here, and a scrape of any worker sums them all.
        os.environ[MULTIPROCESS] = tempfile.mkdtemp(prefix="turnout-metrics-")
    if workers > 1 or reload:
        # Each worker, and each reload, is a fresh process: it rebuilds the app from the file.
        if path is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = str(path.resolve())
        reload_dirs = [str(path.resolve().parent)] if reload and path is not None else None
        uvicorn.run(FACTORY, factory=True, workers=workers, reload=reload, reload_dirs=reload_dirs, **options)
    else:
        uvicorn.run(app, **options)
    return 0


def _routes(args: argparse.Namespace) -> int:
    app, _ = _load(_config_path(args.config))
    print(app.table.to_json() if args.json else app.table.format())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `turnout` command with `argv` (default: `sys.argv[1:]`); gives the exit status.

    ```python
    main(["routes", "turnout.toml", "--json"])
    ```
    """
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except TurnoutError as exc:
        print(f"turnout: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return status

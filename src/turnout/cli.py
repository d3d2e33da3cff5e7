"""The `turnout` command: `turnout serve` runs the app on Uvicorn, `turnout routes` prints its table,
`turnout report` how much of the legacy side the new side has replaced.

```
turnout serve [CONFIG] [--host H] [--port P] [--workers N] [--reload] [--log-level L]
turnout routes [CONFIG] [--json] [--side wsgi|asgi] [--mount NAME] [--status active|replaced]
turnout report [CONFIG] [--json] [--fail-under N]
turnout switch [ROUTE [STATE]] [--config CONFIG] [--url URL] [--why TEXT] [--who NAME] [--json]
turnout diffs ROUTE [--config CONFIG] [--url URL] [--limit N] [--json]
```
`switch` and `diffs` talk to a running `turnout serve` through its admin API (an `[admin]`
section), with the token from the environment variable that section names.
Without CONFIG, all use `./turnout.toml` if there is one, else the built-in demo. A user's
mistake (a `TurnoutError`) prints one `turnout: error: ...` message and exits with status 2:
a traceback would bury the line that says what to fix. `turnout report --fail-under N` exits
with status 1 when less than N% of the legacy routes are replaced, to gate CI on progress.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn

from turnout import __version__
from turnout._serve import CONFIG_ENV, FACTORY, load_demo
from turnout.admin_client import AdminClient, format_diffs, format_switches
from turnout.app import Turnout
from turnout.config import CONFIG_FILE, LOG_LEVELS, AdminConfig, ServerConfig, build_app, load_config
from turnout.exceptions import ConfigError, TurnoutError
from turnout.logs import logging_config
from turnout.metrics import MULTIPROCESS
from turnout.middleware.access_log import AccessLog
from turnout.report import format_report, migration_report, report_json
from turnout.routing.table import format_entries as format_entries  # `turnout.cli.format_entries`, as before
from turnout.routing.warnings import format_warnings, table_warnings
from turnout.server import HEADER_TIMEOUT_VARIABLE, protocol
from turnout.switch.shared import STATES_ENV

EXIT_BELOW_TARGET = 1
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


def _percentage(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, not {text!r}") from None
    if not 0 <= number <= 100:
        raise argparse.ArgumentTypeError(f"must be between 0 and 100, not {text}")
    return number


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
    routes.add_argument("--side", choices=("wsgi", "asgi"), help="only the routes of this side")
    routes.add_argument("--mount", metavar="NAME", help="only the routes of the mount with this name")
    routes.add_argument("--status", choices=("active", "replaced"), help="only the routes with this status")
    routes.set_defaults(handler=_routes)

    report = commands.add_parser(
        "report",
        help="print how much of each legacy app the new side has replaced",
        description="Print, for each legacy mount and each blueprint, namespace or first path segment in it, "
        "how many legacy routes the new side has replaced and which remain.",
    )
    report.add_argument("config", nargs="?", metavar="CONFIG", help=config_help)
    report.add_argument("--json", action="store_true", help="print JSON instead of text")
    report.add_argument(
        "--fail-under",
        type=_percentage,
        metavar="N",
        help="exit with status 1 when less than N%% of the legacy routes are replaced (0 to 100)",
    )
    report.set_defaults(handler=_report)

    admin_help = (
        f"the config whose [server] and [admin] say where the admin API is (default: ./{CONFIG_FILE} if it exists, "
        "else the demo's, http://127.0.0.1:8000/_turnout)"
    )
    switch = commands.add_parser(
        "switch",
        help="list the switches, or move one to legacy, shadow, canary N%% or new",
        description="Without ROUTE, list every switch of a running turnout; with ROUTE, show it; "
        "with ROUTE STATE, move it (STATE: legacy, shadow, new, or canary N%%).",
    )
    switch.add_argument("route", nargs="?", metavar="ROUTE", help="a new route's name, its pattern, or mount:endpoint")
    switch.add_argument("state", nargs="*", metavar="STATE", help="legacy, shadow, new, or canary N%%")
    switch.add_argument("--config", metavar="CONFIG", help=admin_help)
    switch.add_argument("--url", help="the admin API's URL, e.g. http://127.0.0.1:8000/_turnout")
    switch.add_argument("--why", default="", help="why the switch moves: logged, and kept in its history")
    switch.add_argument("--who", default=None, help="who moves it (default: your user name)")
    switch.add_argument("--json", action="store_true", help="print JSON instead of text")
    switch.set_defaults(handler=_switch)

    diffs = commands.add_parser(
        "diffs",
        help="print the recent mismatches of a route in shadow",
        description="Print the recent requests whose shadow answer differed from the legacy one, newest first.",
    )
    diffs.add_argument("route", metavar="ROUTE", help="a new route's name, its pattern, or mount:endpoint")
    diffs.add_argument("--config", metavar="CONFIG", help=admin_help)
    diffs.add_argument("--url", help="the admin API's URL, e.g. http://127.0.0.1:8000/_turnout")
    diffs.add_argument("--limit", type=_positive, default=10, help="how many mismatches to show (default 10, max 50)")
    diffs.add_argument("--json", action="store_true", help="print JSON instead of text")
    diffs.set_defaults(handler=_diffs)
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
    options["log_config"] = logging_config()  # every line of a request shows its request id
    if app.metrics is not None and workers > 1 and not os.environ.get(MULTIPROCESS):
        # Each worker writes its figures here, and a scrape of any worker sums them all.
        os.environ[MULTIPROCESS] = tempfile.mkdtemp(prefix="turnout-metrics-")
    if workers > 1 and not os.environ.get(STATES_ENV):
        # An admin request reaches one worker: the others take its changes of state from this file.
        os.environ[STATES_ENV] = str(Path(tempfile.mkdtemp(prefix="turnout-switches-")) / "states.json")
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
    table = app.table
    if args.mount is not None:
        mounts = sorted({e.owner for e in table.entries if e.kind == "mount" and e.owner is not None})
        if args.mount not in mounts:
            print(
                f"turnout: error: no mount named {args.mount!r}\n  fix: use one of: {', '.join(mounts) or '(none)'}",
                file=sys.stderr,
            )
            return EXIT_USAGE
    filtered = args.side is not None or args.mount is not None or args.status is not None
    entries = [
        e
        for e in table.entries
        if (args.side is None or e.side == args.side)
        and (args.mount is None or e.owner == args.mount)
        and (args.status is None or e.status == args.status)
    ]
    shown = set(entries)
    warnings = [w for w in table_warnings(table) if w.legacy in shown or w.new in shown]
    if args.json:
        print(json.dumps([e.to_dict() for e in entries], indent=2) if filtered else table.to_json())
        if warnings:
            print(format_warnings(warnings), file=sys.stderr)  # stdout stays one JSON document
    else:
        print(format_entries(entries) if filtered else table.format())
        if warnings:
            print("\n" + format_warnings(warnings))
    return 0


def _report(args: argparse.Namespace) -> int:
    app, _ = _load(_config_path(args.config))
    table = app.table
    report = migration_report(table, app.switches)
    warnings = table_warnings(table)
    print(report_json(report, warnings=warnings) if args.json else format_report(report, warnings=warnings))
    if args.fail_under is not None and report.percent < args.fail_under:
        print(
            f"turnout: {report.percent:.1f}% of the legacy routes are replaced, "
            f"below --fail-under {args.fail_under:g}% ({len(report.remaining)} remain)",
            file=sys.stderr,
        )
        return EXIT_BELOW_TARGET
    return 0


def _admin_client(args: argparse.Namespace) -> AdminClient:
    path = _config_path(args.config)
    admin = AdminConfig()
    url: str | None = args.url
    if path is not None:
        config = load_config(path)
        if config.admin is None and url is None:
            raise ConfigError(
                "has no [admin] section, so the app has no admin API",
                file=str(path),
                fix='add [admin] (path = "/_turnout", token_env = "TURNOUT_ADMIN_TOKEN") and restart turnout serve',
            )
        admin = config.admin or admin
        if url is None:
            host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(config.server.host, config.server.host)
            url = _url(host, config.server.port) + admin.path
    if url is None:  # no config: the demo, where `turnout serve` puts it
        server = ServerConfig()
        url = _url(server.host, server.port) + admin.path
    token = os.environ.get(admin.token_env, "")
    if not token:
        raise ConfigError(
            f"the environment variable {admin.token_env} (the admin API's token) is not set",
            fix=f"export {admin.token_env} with the token the server was started with",
        )
    return AdminClient(url, token)


def _switch(args: argparse.Namespace) -> int:
    client = _admin_client(args)
    if args.route is None:
        switches = client.switches()
        print(json.dumps(switches, indent=2) if args.json else format_switches(switches))
        return 0
    if not args.state:
        found = client.switch(args.route)
        print(json.dumps(found, indent=2) if args.json else format_switches([found]))
        return 0
    who = args.who or _user_name()
    done = client.move(args.route, " ".join(args.state), who=who, why=args.why)
    if args.json:
        print(json.dumps(done, indent=2))
    else:
        change = done["change"]
        print(f"{change['route']}: {change['before']} -> {change['after']}")
    return 0


def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's user with no name: say so rather than fail
        return "unknown user"


def _diffs(args: argparse.Namespace) -> int:
    found = _admin_client(args).diffs(args.route, min(args.limit, 50))
    print(json.dumps(found, indent=2) if args.json else format_diffs(found))
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

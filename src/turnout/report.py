"""The migration map: how much of each legacy app the new side has taken over, and what is left.

A legacy route counts as done when the table marks it `replaced`: new routes with its exact
pattern serve all its methods. Routes are grouped within their mount the way the legacy app
groups them: by blueprint for a Flask endpoint `bp.view`, by namespace for a Django name
`ns:view`, and otherwise by the first path segment under the mount (`/cart`, or `/` for the
mount's root). The bare prefix of a mount and Flask's `static` endpoints are not routes anyone
migrates, so they are not counted; neither are the routes of an app turnout cannot read (it
is one opaque prefix in the table).

`migration_report(table)` computes it; `format_report` and `report_json` render it for
`turnout report`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from turnout._text import aligned
from turnout.bridge.mount import WSGIMount
from turnout.routing.table import RouteEntry, RouteTable, TableRoute
from turnout.routing.warnings import RouteWarning, format_warnings
from turnout.routing.werkzeug_routes import WerkzeugRoutes
from turnout.switch.board import Switch


def _percent(replaced: int, total: int) -> float:
    """The share replaced, in percent, rounded down to a tenth: 100.0 only when all are done."""
    if total == 0:
        return 100.0
    return (replaced * 1000 // total) / 10


@dataclass(frozen=True, slots=True)
class GroupProgress:
    """One group of a legacy mount: a blueprint, a namespace, or a first path segment (`/cart`)."""

    name: str
    total: int
    replaced: int
    remaining: tuple[RouteEntry, ...]

    @property
    def percent(self) -> float:
        return _percent(self.replaced, self.total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.name,
            "total": self.total,
            "replaced": self.replaced,
            "remaining": len(self.remaining),
            "percent": self.percent,
            "remaining_routes": [entry.to_dict() for entry in self.remaining],
        }


@dataclass(frozen=True, slots=True)
class MountProgress:
    """One legacy mount: its groups, and whether turnout can read its app's routes at all."""

    name: str
    prefix: str
    defined_at: str | None
    groups: tuple[GroupProgress, ...]
    routes_known: bool = True

    @property
    def total(self) -> int:
        return sum(group.total for group in self.groups)

    @property
    def replaced(self) -> int:
        return sum(group.replaced for group in self.groups)

    @property
    def remaining(self) -> tuple[RouteEntry, ...]:
        return tuple(entry for group in self.groups for entry in group.remaining)

    @property
    def percent(self) -> float:
        return _percent(self.replaced, self.total)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "prefix": self.prefix,
            "defined_at": self.defined_at,
            "routes_known": self.routes_known,
            "total": self.total,
            "replaced": self.replaced,
            "remaining": len(self.remaining),
            "percent": self.percent,
            "groups": [group.to_dict() for group in self.groups],
        }


class HeldSwitch(NamedTuple):
    """A route the new side has, whose switch is not at `new` yet."""

    route: str
    pattern: str
    state: str
    legacy: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"route": self.route, "pattern": self.pattern, "state": self.state, "legacy": list(self.legacy)}


@dataclass(frozen=True, slots=True)
class MigrationReport:
    """Every legacy mount's progress, and the routes left out of the counts (Flask's `static`).

    ```python
    report = migration_report(app.table)
    print(f"{report.replaced} of {report.total} legacy routes replaced ({report.percent}%)")
    ```
    """

    mounts: tuple[MountProgress, ...]
    not_counted: tuple[RouteEntry, ...] = ()
    held: tuple[HeldSwitch, ...] = ()
    """Pairs whose switch still sends some or all users to the legacy side: not counted as replaced."""

    @property
    def total(self) -> int:
        return sum(mount.total for mount in self.mounts)

    @property
    def replaced(self) -> int:
        return sum(mount.replaced for mount in self.mounts)

    @property
    def remaining(self) -> tuple[RouteEntry, ...]:
        return tuple(entry for mount in self.mounts for entry in mount.remaining)

    @property
    def percent(self) -> float:
        """The share of legacy routes replaced, rounded down to a tenth; 100.0 when there are none."""
        return _percent(self.replaced, self.total)


def _is_flask(route: TableRoute) -> bool:
    target = route.target
    return isinstance(target, WSGIMount) and isinstance(target.source, WerkzeugRoutes)


def _is_static(endpoint: str) -> bool:
    """Flask's `static` endpoint, or a blueprint's (`bp.static`): files, not views to migrate."""
    return endpoint == "static" or endpoint.endswith(".static")


def route_group(entry: RouteEntry, *, depth: int, flask: bool) -> str:
    """The group of a legacy route within its mount (`depth` is the number of segments of its prefix).

    ```python
    route_group(entry, depth=1, flask=True)   # "admin" for the endpoint "admin.users"
    ```
    """
    endpoint = entry.endpoint
    if flask:
        if "." in endpoint:
            return endpoint.rpartition(".")[0]
    elif ":" in endpoint:
        return endpoint.rpartition(":")[0]
    parts = entry.pattern.split("/")
    return "/" + (parts[depth + 1] if len(parts) > depth + 1 else "")


def migration_report(table: RouteTable, switches: Iterable[Switch] = ()) -> MigrationReport:
    """How many routes of each legacy mount, and of each group in it, the new side has replaced.

    A legacy route counts as replaced when new routes take its pattern for all its methods, and
    the `switches` of those pairs (`app.switches`) are at `new`: a route in `legacy`, `shadow` or
    a canary is still served by the legacy side, and is listed as held.

    ```python
    report = migration_report(app.table)
    for mount in report.mounts:
        for group in mount.groups:
            print(mount.name, group.name, group.replaced, group.total, [e.pattern for e in group.remaining])
    ```
    """
    held_switches = tuple(s for s in switches if s.setting.state != "new")
    held = {entry for switch in held_switches for entry in switch.legacy}
    prefixes: dict[str, TableRoute] = {}
    routes: dict[str, list[TableRoute]] = {}
    for route in table.routes:
        if route.entry.side != "wsgi":
            continue
        owner = route.entry.owner or route.entry.endpoint
        routes.setdefault(owner, [])
        if route.is_route:
            routes[owner].append(route)
        else:
            prefixes[owner] = route
    mounts = []
    not_counted: list[RouteEntry] = []
    for owner, owned in routes.items():
        prefix = prefixes.get(owner)
        depth = 0 if prefix is None else len(prefix.pattern.segments)
        flask = _is_flask(prefix or owned[0])
        groups: dict[str, list[RouteEntry]] = {}
        for route in owned:
            entry = route.entry
            if flask and _is_static(entry.endpoint):
                not_counted.append(entry)
                continue
            groups.setdefault(route_group(entry, depth=depth, flask=flask), []).append(entry)
        progress = tuple(
            GroupProgress(
                name,
                len(entries),
                sum(_replaced(entry, held) for entry in entries),
                tuple(sorted((e for e in entries if not _replaced(e, held)), key=lambda e: (e.pattern, e.endpoint))),
            )
            for name, entries in sorted(groups.items())
        )
        mounts.append(
            MountProgress(
                owner,
                "/" if prefix is None else prefix.entry.pattern,
                None if prefix is None else prefix.entry.defined_at,
                progress,
                routes_known=bool(owned),
            )
        )
    held_rows = tuple(HeldSwitch(s.name, s.pattern, str(s.setting), tuple(s.legacy_endpoints)) for s in held_switches)
    return MigrationReport(tuple(mounts), tuple(not_counted), held_rows)


def _replaced(entry: RouteEntry, held: set[RouteEntry]) -> bool:
    return entry.status == "replaced" and entry not in held


# -- rendering -------------------------------------------------------------------------------------


def _prefix_pattern(prefix: str) -> str:
    return prefix.rstrip("/") + "/**"


def format_report(report: MigrationReport, *, warnings: Sequence[RouteWarning] = ()) -> str:
    """The report as text, as `turnout report` prints it: a summary line, a table of mounts and
    groups, the routes that remain, what was not counted, and the table's warnings."""
    lines = [
        f"Legacy routes replaced by new ones: {report.replaced} of {report.total} ({report.percent:.1f}%)",
        "",
    ]
    if not report.mounts:
        lines.append("No legacy mounts: nothing to migrate.")
    else:
        rows: list[tuple[str, ...]] = [("MOUNT / GROUP", "ROUTES", "REPLACED", "REMAINING", "DONE")]
        for mount in report.mounts:
            label = f"{mount.name} ({_prefix_pattern(mount.prefix)})"
            if not mount.routes_known:
                rows.append((label, "-", "-", "-", "-"))
                continue
            rows.append(_figures(label, mount.total, mount.replaced, len(mount.remaining), mount.percent))
            for group in mount.groups:
                rows.append(
                    _figures(f"  {group.name}", group.total, group.replaced, len(group.remaining), group.percent)
                )
        rows.append(_figures("TOTAL", report.total, report.replaced, len(report.remaining), report.percent))
        lines.extend(aligned(rows, right=(1, 2, 3, 4)))
        lines.extend(_held(report))
        lines.extend(_remaining(report))
        lines.append("")
        lines.extend(_not_counted(report))
    text = format_warnings(warnings)
    if text:
        lines.extend(["", text])
    return "\n".join(lines)


def _figures(label: str, total: int, replaced: int, remaining: int, percent: float) -> tuple[str, ...]:
    return (label, str(total), str(replaced), str(remaining), f"{percent:.1f}%")


def _remaining(report: MigrationReport) -> list[str]:
    remaining = report.remaining
    if not remaining:
        return []
    lines = ["", f"Remaining ({len(remaining)}):"]
    rows: list[tuple[str, ...]] = []
    heads: dict[int, str] = {}  # a heading before the row at this index
    for mount in report.mounts:
        for group in mount.groups:
            if group.remaining:
                heads[len(rows)] = f"  {mount.name} {group.name}"
            for entry in group.remaining:
                methods = "*" if entry.methods is None else ",".join(sorted(entry.methods))
                rows.append((entry.pattern, methods, entry.endpoint, entry.defined_at or "-"))
    for index, line in enumerate(aligned(rows, indent="    ")):
        if index in heads:
            lines.append(heads[index])
        lines.append(line)
    return lines


def _held(report: MigrationReport) -> list[str]:
    if not report.held:
        return []
    lines = ["", f"Held on the legacy side by their switch ({len(report.held)}, not counted as replaced):"]
    rows = [(h.route, h.pattern, h.state, ", ".join(h.legacy)) for h in report.held]
    lines.extend(aligned(rows, indent="  "))
    return lines


def _not_counted(report: MigrationReport) -> list[str]:
    prefixes = ", ".join(f"{_prefix_pattern(m.prefix)} ({m.name})" for m in report.mounts)
    lines = [f"Not counted: the bare prefix of each mount: {prefixes}."]
    if report.not_counted:
        static = ", ".join(f"{e.pattern} ({e.owner}: {e.endpoint})" for e in report.not_counted)
        lines.append(f"Not counted: Flask's static endpoints: {static}.")
    unknown = [m for m in report.mounts if not m.routes_known]
    if unknown:
        names = ", ".join(f"{_prefix_pattern(m.prefix)} ({m.name})" for m in unknown)
        lines.append(f"Not counted: mounts whose app's routes turnout cannot read, each one opaque prefix: {names}.")
    return lines


def report_json(report: MigrationReport, *, warnings: Sequence[RouteWarning] = ()) -> str:
    """The report as JSON, as `turnout report --json` prints it.

    The keys: `total`, `replaced`, `remaining`, `percent`, `mounts` (each with its `groups` and
    their `remaining_routes`), `not_counted` (`mount_prefixes` and Flask's `static` routes) and
    `warnings`.
    """
    data = {
        "total": report.total,
        "replaced": report.replaced,
        "remaining": len(report.remaining),
        "percent": report.percent,
        "mounts": [mount.to_dict() for mount in report.mounts],
        "held": [held.to_dict() for held in report.held],
        "not_counted": {
            "mount_prefixes": [_prefix_pattern(mount.prefix) for mount in report.mounts],
            "static": [entry.to_dict() for entry in report.not_counted],
        },
        "warnings": [warning.to_dict() for warning in warnings],
    }
    return json.dumps(data, indent=2)

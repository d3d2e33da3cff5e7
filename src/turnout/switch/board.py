"""The switchboard: every route both sides have, the state of its switch, and what it has seen.

A switch exists for each new route that has a legacy route with the same pattern (a pair in the
routing table), or that lies under the prefix of a legacy app whose routes cannot be read (which
answers every path under it). It is named after the new route: the route's `name` for a native route,
`mount:name` for a route of an ASGI mount. It can also be found by its pattern, or by the
legacy endpoint it pairs with (`shop:product`).

The state changes at run time, with no restart: each request reads it once, when it is routed,
so a request in flight finishes on the side it started on. Every change is logged on the
`turnout.switch` logger with who and why, and kept in `history`.

Each switch keeps sliding-window figures of both sides (`RouteHealth`). When the new side crosses
a threshold, the switch goes back by itself to the last state that served the legacy side
(`legacy` or `shadow`; `legacy` when the shadow comparisons were the problem), logs why at
WARNING, and stays there until someone moves it forward again.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from turnout.exceptions import SwitchError
from turnout.routing.table import RouteEntry, RouteTable, TableRoute
from turnout.switch.compare import Captured, CompareRules, Difference, NoiseFilter
from turnout.switch.health import RouteHealth
from turnout.switch.options import FIRST_NOISE_SAMPLES, SwitchOptions
from turnout.switch.state import LEGACY, Setting

logger = logging.getLogger("turnout.switch")

MISMATCHES_KEPT = 50
HISTORY_KEPT = 1000
VERDICT_EVERY = 0.25  # seconds between two checks of one switch's thresholds
Outcome = Literal["matched", "mismatched", "dropped", "skipped"]
OUTCOMES: tuple[Outcome, ...] = ("matched", "mismatched", "dropped", "skipped")


@dataclass(frozen=True, slots=True)
class Change:
    """One change of a switch's state, by a person (`who`) or by turnout (`automatic`)."""

    at: float
    route: str
    before: str
    after: str
    who: str
    why: str
    automatic: bool = False
    remote: bool = False  # made by another worker, and taken from the shared states (`turnout.switch.shared`)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "route": self.route,
            "before": self.before,
            "after": self.after,
            "who": self.who,
            "why": self.why,
            "automatic": self.automatic,
            "remote": self.remote,
        }


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One shadowed request whose two answers differed."""

    at: float
    request_id: str | None
    method: str
    path: str
    differences: tuple[Difference, ...]
    legacy: Captured
    new: Captured

    def to_dict(self, noise: NoiseFilter | None = None) -> dict[str, Any]:
        differences = self.differences if noise is None else noise.filter(self.differences)
        return {
            "at": self.at,
            "request_id": self.request_id,
            "method": self.method,
            "path": self.path,
            "differences": [d.to_dict() for d in differences],
            "legacy": self.legacy.to_dict(),
            "new": self.new.to_dict(),
        }


@dataclass
class Switch:
    """The switch of one pair: a new route and the legacy route(s) with the same pattern."""

    name: str
    pattern: str
    new: RouteEntry
    legacy: tuple[RouteEntry, ...]
    options: SwitchOptions
    setting: Setting
    rules: CompareRules
    health: RouteHealth
    noise: NoiseFilter = field(default_factory=NoiseFilter)
    mismatches: deque[Mismatch] = field(default_factory=lambda: deque(maxlen=MISMATCHES_KEPT))
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    served: dict[str, int] = field(default_factory=lambda: {"legacy": 0, "new": 0})
    last_safe: Setting = LEGACY
    rolled_back: Change | None = None
    shadowed: int = 0  # requests sent to the new side in the background
    _checked: float = 0.0

    @property
    def legacy_endpoints(self) -> list[str]:
        return [f"{e.owner}:{e.endpoint}" for e in self.legacy]

    def wants_noise_sample(self, draw: float) -> bool:
        """Whether this shadowed request also goes to the legacy side a second time."""
        return self.noise.samples < FIRST_NOISE_SAMPLES or draw < self.options.noise_sample

    def to_dict(self, *, detail: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "route": self.name,
            "pattern": self.pattern,
            "legacy": self.legacy_endpoints,
            **self.setting.to_dict(),
            "sticky": str(self.options.sticky),
            "rolled_back": None if self.rolled_back is None else self.rolled_back.to_dict(),
            "served": dict(self.served),
            "shadow": {"sent": self.shadowed, **self.outcomes},
        }
        if detail:
            data["health"] = self.health.snapshot()
            data["noise"] = {"samples": self.noise.samples, "fields": sorted(self.noise.fields)}
        return data


class SwitchObserver(Protocol):
    """Told of what happens to switches (the metrics are one)."""

    def changed(self, switch: Switch, change: Change) -> None: ...

    def outcome(self, switch: Switch, outcome: Outcome) -> None: ...


class Switchboard:
    """Every switch of an app: `app.switches`.

    ```python
    app.switches.set("product_v2", "canary 10%", who="alice", why="first users")
    app.switches["product_v2"].setting          # Setting(state='canary', percent=10.0)
    [s.to_dict() for s in app.switches]         # what `turnout switch` lists
    ```
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.declared: dict[str, SwitchOptions] = {}
        self._switches: dict[str, Switch] = {}
        self._by_ref: dict[str, Switch] = {}
        self.history: deque[Change] = deque(maxlen=HISTORY_KEPT)
        self.observers: list[SwitchObserver] = []
        self._clock = clock

    # -- building -----------------------------------------------------------------------------

    def declare(self, route: str, options: SwitchOptions) -> None:
        """The options of the switch of `route` (a new route's name, a pattern, or `mount:endpoint`)."""
        self.declared[route] = options

    def bind(self, table: RouteTable) -> None:
        """Make a switch for every pair in `table`, and attach it to the new route.

        A switch that existed before (the table is rebuilt when a route is added) keeps its state.
        A declared route that names no pair is a mistake: `SwitchError` says which ones exist.
        """
        old = self._switches
        self._switches = {}
        self._by_ref = {}
        for route in table.routes:
            if route.legacy:
                self._add(route, old)
        declared_by: dict[str, str] = {}
        for ref, options in self.declared.items():
            switch = self._by_ref.get(ref)
            if switch is None:
                raise SwitchError(self._unknown(ref, "a switch is declared for"))
            if switch.name in declared_by:
                raise SwitchError(
                    f"the route {ref!r} has a switch already, declared as {declared_by[switch.name]!r}: "
                    f"both name the switch {switch.name!r}; keep one declaration"
                )
            declared_by[switch.name] = ref
            if options is not switch.options:
                self._configure(switch, options)

    def _add(self, route: TableRoute, old: dict[str, Switch]) -> None:
        entry = route.entry
        name = entry.endpoint if entry.owner is None else f"{entry.owner}:{entry.endpoint}"
        if name in self._switches:  # two new routes of one name: tell them apart by methods
            name += "[" + ",".join(sorted(entry.methods or ("*",))) + "]"
        previous = old.get(name)
        if previous is not None and previous.pattern == entry.pattern:
            switch = previous
            switch.new, switch.legacy = entry, tuple(r.entry for r in route.legacy)
        else:
            options = SwitchOptions()
            switch = Switch(
                name=name,
                pattern=entry.pattern,
                new=entry,
                legacy=tuple(r.entry for r in route.legacy),
                options=options,
                setting=options.setting,
                rules=options.rules,
                health=RouteHealth(options.rollback, clock=self._clock),
            )
        route.switch = switch
        self._switches[name] = switch
        refs = [name, entry.pattern, *switch.legacy_endpoints]
        for ref in refs:
            self._by_ref.setdefault(ref, switch)

    def _configure(self, switch: Switch, options: SwitchOptions) -> None:
        switch.options = options
        switch.setting = options.setting
        switch.rules = options.rules
        switch.health = RouteHealth(options.rollback, clock=self._clock)

    # -- reading ------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Switch]:
        return iter(sorted(self._switches.values(), key=lambda s: s.name))

    def __len__(self) -> int:
        return len(self._switches)

    def __getitem__(self, ref: str) -> Switch:
        """The switch of `ref`: a new route's name, its pattern, or a legacy `mount:endpoint`."""
        switch = self._by_ref.get(ref)
        if switch is None:
            raise SwitchError(self._unknown(ref, "there is no switch for"))
        return switch

    def _unknown(self, ref: str, what: str) -> str:
        names = ", ".join(sorted(self._switches)) or "none: no route is served by both sides"
        return (
            f"{what} {ref!r}, but no route that both sides serve has that name, pattern or legacy endpoint\n"
            f"  switches: {names}"
        )

    # -- changing -----------------------------------------------------------------------------

    def set(
        self, ref: str, setting: Setting | str, *, percent: float | None = None, who: str = "python", why: str = ""
    ) -> Change:
        """Move the switch of `ref` to `setting` (`"shadow"`, `"canary 10%"`, `Setting("new")`)."""
        switch = self[ref]
        if isinstance(setting, str):
            try:
                setting = Setting.parse(setting, percent)
            except ValueError as exc:
                raise SwitchError(str(exc)) from None
        if setting.serves_legacy:
            switch.last_safe = setting
        elif switch.setting.serves_legacy:
            switch.last_safe = switch.setting
        moved = setting != switch.setting
        return self._change(switch, setting, who=who, why=why, holds=False if moved else None)

    def adopt(self, name: str, setting: Setting, *, who: str, why: str, rolled_back: bool) -> None:
        """Take a change that another worker made (see `turnout.switch.shared`); unknown names are ignored."""
        switch = self._switches.get(name)
        if switch is None or (setting == switch.setting and rolled_back == (switch.rolled_back is not None)):
            return
        if setting.serves_legacy:
            switch.last_safe = setting
        self._change(switch, setting, who=who, why=why, remote=True, holds=rolled_back)

    def _change(
        self,
        switch: Switch,
        setting: Setting,
        *,
        who: str,
        why: str,
        automatic: bool = False,
        remote: bool = False,
        holds: bool | None = None,
    ) -> Change:
        """Move `switch`, log it, keep it in the history and tell the observers.

        `holds`: the change is (`True`) or ends (`False`) a rollback that holds the route back;
        `None` leaves that as it is. It is settled before the observers hear of the change.
        """
        change = Change(
            at=time.time(),
            route=switch.name,
            before=str(switch.setting),
            after=str(setting),
            who=who,
            why=why,
            automatic=automatic,
            remote=remote,
        )
        switch.setting = setting
        if holds and switch.rolled_back is None:
            switch.rolled_back = change
        elif holds is False and switch.rolled_back is not None:
            switch.rolled_back = None  # moved forward: it judges afresh
            switch.health.reset()
        self.history.append(change)
        level = logging.WARNING if automatic else logging.INFO
        logger.log(
            level,
            "switch %s: %s -> %s by %s%s",
            switch.name,
            change.before,
            change.after,
            who,
            f": {why}" if why else "",
        )
        for observer in self.observers:
            observer.changed(switch, change)
        return change

    # -- watching -----------------------------------------------------------------------------

    def record(self, switch: Switch, side: Literal["legacy", "new"], status: int, duration: float) -> None:
        """One response of `side` on `switch`'s route; may roll the switch back."""
        switch.health.record(side, status, duration)
        self._judge(switch)

    def compared(self, switch: Switch, outcome: Outcome) -> None:
        """One shadowed request's outcome; a comparison may roll the switch back."""
        switch.outcomes[outcome] += 1
        if outcome in ("matched", "mismatched"):
            switch.health.record_comparison(outcome == "mismatched")
            self._judge(switch)
        for observer in self.observers:
            observer.outcome(switch, outcome)

    def _judge(self, switch: Switch) -> None:
        if switch.rolled_back is not None or switch.setting.state == "legacy":
            return
        now = self._clock()
        if now - switch._checked < VERDICT_EVERY:
            return
        switch._checked = now
        reason = switch.health.verdict()
        if reason is None:
            return
        target = switch.last_safe
        if switch.setting.state == "shadow" or target == switch.setting:
            target = LEGACY
        self._change(switch, target, who="turnout", why=f"rolled back: {reason}", automatic=True, holds=True)

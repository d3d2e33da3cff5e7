"""A switch's setting: which side serves a route that both sides have.

```
legacy        the legacy side serves
shadow        the legacy side serves; the new side gets a copy of the request, and the two answers are compared
canary N%     N% of users get the new side, the same users every time
new           the new side serves (the default for a route both sides have)
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

State = Literal["legacy", "shadow", "canary", "new"]
STATES: tuple[State, ...] = ("legacy", "shadow", "canary", "new")
SYNTAX = "legacy, shadow, new, or canary N% (N from 0 to 100, e.g. 'canary 10%')"

_CANARY = re.compile(r"canary\s*[ :=]?\s*(\d+(?:\.\d+)?)\s*%?")


@dataclass(frozen=True, slots=True)
class Setting:
    """A state, and for `canary` the share of users, in percent, that the new side serves."""

    state: State
    percent: float = 0.0

    def __post_init__(self) -> None:
        if self.state not in STATES:
            raise ValueError(f"{self.state!r} is not a switch state; use {SYNTAX}")
        if not 0 <= self.percent <= 100:
            raise ValueError(f"a canary share is between 0% and 100%, not {self.percent:g}%")
        if self.state != "canary" and self.percent:
            raise ValueError(f"only a canary has a share of users, not {self.state!r}")

    @classmethod
    def parse(cls, text: str, percent: float | None = None) -> Setting:
        """`"shadow"`, `"canary 10%"`, `"canary:10"`, or `("canary", 10)`; a `ValueError` says what is accepted."""
        words = text.strip().lower()
        if words in ("legacy", "shadow", "new"):
            if percent is not None:
                raise ValueError(f"only a canary has a share of users, not {words!r}")
            return cls(words)  # type: ignore[arg-type]
        if words == "canary" and percent is not None:
            return cls("canary", float(percent))
        found = _CANARY.fullmatch(words)
        if found is None or percent is not None:
            raise ValueError(f"{text!r} is not a switch state; use {SYNTAX}")
        return cls("canary", float(found.group(1)))

    @property
    def serves_legacy(self) -> bool:
        """Whether every user gets the legacy side's answer: a safe place to roll back to."""
        return self.state in ("legacy", "shadow")

    def __str__(self) -> str:
        return f"canary {self.percent:g}%" if self.state == "canary" else self.state

    def to_dict(self) -> dict[str, object]:
        return {"state": self.state, "percent": self.percent} if self.state == "canary" else {"state": self.state}


LEGACY = Setting("legacy")
NEW = Setting("new")

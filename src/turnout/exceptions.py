"""The errors turnout raises for a user's mistake.

```
TurnoutError                 every error below; catch this one to catch them all
 ├── ConfigError             turnout.toml is wrong: names the file, the key and the fix
 ├── ImportStringError       a "pkg.module:attr" string does not give the object it should
 ├── RouteError              the routing table cannot be built
 │    ├── PatternError       a path pattern cannot be parsed
 │    └── DuplicateRouteError  two routes on one side share a pattern and methods
 └── SwitchError             no switch has that name, or a state is not one a switch can take
```

A programmer's mistake (a wrong type passed to a constructor) fails with an `assert` instead.
"""

from __future__ import annotations


class TurnoutError(Exception):
    """Base class of every error that turnout raises for a user's mistake."""


class ConfigError(TurnoutError):
    """`turnout.toml` (or the equivalent Python call) is wrong.

    The message names the file, the key and what to do about it.
    """

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None, fix: str | None = None):
        self.file = file
        self.key = key
        self.fix = fix
        parts = []
        if file is not None:
            parts.append(file)
        if key is not None:
            parts.append(f"key {key!r}")
        where = ": ".join(parts)
        text = f"{where}: {message}" if where else message
        if fix:
            text += f"\n  fix: {fix}"
        super().__init__(text)


class ImportStringError(TurnoutError):
    """A `"pkg.module:attr"` import string does not import, or gives the wrong kind of object."""


class RouteError(TurnoutError):
    """The shared routing table cannot be built."""


class PatternError(RouteError):
    """A path pattern cannot be parsed."""


class DuplicateRouteError(RouteError):
    """Two routes on the same side have the same pattern and overlapping methods."""


class SwitchError(TurnoutError):
    """A switch that does not exist was named, or a state it cannot take was asked for.

    The message lists the switches that exist, or the states that are accepted.
    """

from __future__ import annotations

import inspect

import turnout


def test_all_names_are_exported() -> None:
    public = {
        name
        for name in dir(turnout)
        if not name.startswith("_") and not inspect.ismodule(getattr(turnout, name)) and name != "annotations"
    }
    assert set(turnout.__all__) == public | {"__version__"}

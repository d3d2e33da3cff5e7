from __future__ import annotations

import turnout


def test_all_names_are_exported() -> None:
    public = {name for name in dir(turnout) if not name.startswith("_")} - {
        "app",
        "exceptions",
        "routing",
        "bridge",
        "errors",
        "lifespan",
        "testing",
        "config",
        "importer",
        "cli",
        "demo",
        "annotations",
        "_types",
    }
    assert set(turnout.__all__) == public | {"__version__"}

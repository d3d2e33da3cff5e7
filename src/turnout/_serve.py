"""The app factory that `turnout serve --workers N` and `--reload` hand to Uvicorn.

Uvicorn starts each worker (and each reload) in a fresh process that imports the app by
name, so the app cannot be passed as an object: the worker finds the config file through
an environment variable that `turnout serve` sets, and builds the app again.
"""

from __future__ import annotations

import os

from turnout.app import Turnout
from turnout.exceptions import ImportStringError
from turnout.importer import import_from_string

CONFIG_ENV = "TURNOUT_CONFIG"
DEMO = "turnout.demo:app"
FACTORY = "turnout._serve:create_app"


def load_demo() -> Turnout:
    """The built-in demo app, `turnout.demo:app`."""
    try:
        app = import_from_string(DEMO)
    except ImportStringError as exc:
        raise ImportStringError(
            f"no config file given and no ./turnout.toml here, and the built-in demo does not import: {exc}\n"
            "  fix: pass the path of a turnout.toml, or install the demo's extra: pip install 'turnout[demo]'"
        ) from exc
    assert isinstance(app, Turnout), f"{DEMO} must be a Turnout, not {type(app).__name__}"
    return app


def create_app() -> Turnout:
    """Build the app of the config file named by `$TURNOUT_CONFIG`, or the demo when it is unset."""
    path = os.environ.get(CONFIG_ENV)
    return Turnout.from_config(path) if path else load_demo()

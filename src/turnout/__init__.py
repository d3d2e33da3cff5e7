"""turnout: move a WSGI app to async one route at a time.

The legacy WSGI app and the new async endpoints run in one Uvicorn process, behind one
shared routing table:

```python
from turnout import Turnout

app = Turnout()
app.mount_wsgi("/shop", flask_app, name="shop", threads=16)

@app.route("/shop/products/{id:int}", name="product_v2")
async def product(request): ...
```
"""

from __future__ import annotations

from turnout.app import Turnout
from turnout.exceptions import (
    ConfigError,
    DuplicateRouteError,
    ImportStringError,
    PatternError,
    RouteError,
    SwitchError,
    TurnoutError,
)
from turnout.routing.table import RouteEntry, RouteTable
from turnout.sessions import enable_shared_sessions
from turnout.switch.board import Switchboard
from turnout.switch.health import Thresholds

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DuplicateRouteError",
    "ImportStringError",
    "PatternError",
    "RouteEntry",
    "RouteError",
    "RouteTable",
    "SwitchError",
    "Switchboard",
    "Thresholds",
    "Turnout",
    "TurnoutError",
    "__version__",
    "enable_shared_sessions",
]

"""Flask's shorthand to build URLs of the shared table: `turnout_url_for`, the way `flask.url_for` is used.

```python
from turnout.integrations.flask import turnout_url_for

@app.get("/cart")
def cart():
    return render_template("cart.html", checkout=turnout_url_for("checkout_v2"), api=turnout_url_for("api:items"))
```
Register it for templates with `app.jinja_env.globals["turnout_url_for"] = turnout_url_for`.
"""

from __future__ import annotations

from typing import Any

from flask import request

from turnout.integrations.urls import turnout_url

__all__ = ["turnout_url_for"]


def turnout_url_for(name: str, /, **params: Any) -> str:
    """The path of `name` in the shared table (see `turnout.integrations.urls.turnout_url`), during a request."""
    return turnout_url(request.environ, name, **params)

"""`{% turnout_url %}`: a URL of turnout's shared table in a Django template.

```django
{% load turnout %}
<a href="{% turnout_url "api:items" %}">items</a>
<a href="{% turnout_url "shop:product" id=product.id %}">in the old shop</a>
{% turnout_url "product_v2" id=3 as link %}
```
The template needs the request in its context: the `django.template.context_processors.request`
context processor, with `render(request, ...)`.
"""

from __future__ import annotations

from typing import Any

from django import template  # type: ignore[import-untyped,unused-ignore]

from turnout.exceptions import TurnoutError
from turnout.integrations.urls import turnout_url as url_from_environ

register = template.Library()


@register.simple_tag(takes_context=True)  # type: ignore[untyped-decorator]
def turnout_url(context: Any, name: str, **params: Any) -> str:
    """The path of `name` in the shared table, for the request in the template's context."""
    request = context.get("request")
    if request is None:
        raise TurnoutError(
            "{% turnout_url %} needs the request in the template's context: add "
            "'django.template.context_processors.request' to the template engine's context_processors "
            "and render with render(request, ...)"
        )
    return url_from_environ(request.META, name, **params)

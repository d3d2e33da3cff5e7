"""What the templates rendered by both sides need: where they are, and the links in them.

`base.html` and `product.html` are rendered by the legacy shop and by the new side. Flask's
`url_for` exists only in the shop's templates, so these two take their links ready-made, from
`shop_links`, which each side calls with its own way of reversing a legacy endpoint, and the
header's `visitor` from the session both sides share. The page comes out the same whichever
side renders it, and a visitor does not see the seam.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

TEMPLATES = Path(__file__).parent / "templates"


Reverse = Callable[..., str]
"""`reverse(endpoint, **values)` gives the path of a legacy shop endpoint, as Flask's `url_for` does."""


def shop_links(reverse: Reverse) -> dict[str, str]:
    """The links of the shared layout and product page, reversed with `reverse`."""
    return {
        "products": reverse("index"),
        "cart": reverse("cart"),
        "account": reverse("login"),
        "logout": reverse("logout"),
        "add_to_cart": reverse("cart_add"),
        "css": reverse("static", filename="shop.css"),
    }


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is looking, as the layout's header shows it: their name, and how much is in their cart."""

    name: str | None
    cart_items: int


def visitor(name: str | None, cart: Mapping[str, int]) -> Visitor:
    """The header's visitor; each side passes the user and the cart it reads from the shared session."""
    return Visitor(name or None, sum(cart.values()))

"""The demo shop's products, read by both sides: the legacy Flask shop and the new endpoints.

Keeping them in one module is what lets a route move to the new side without its data
moving with it, as it would in a real migration where both sides read the same database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_QUANTITY = 20
"""The most of one product a cart can hold."""


def format_price(cents: int) -> str:
    """A price as the pages show it: `format_price(1450) == "€14.50"`."""
    return f"€{cents // 100}.{cents % 100:02d}"


def stock_of(product: Product) -> int:
    """How many of a product the warehouse holds (made up, but the same on both sides)."""
    return (product.id * 7) % 13


@dataclass(frozen=True, slots=True)
class Product:
    id: int
    name: str
    price_cents: int
    description: str

    @property
    def price(self) -> str:
        return format_price(self.price_cents)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "price_cents": self.price_cents,
            "price": self.price,
            "description": self.description,
        }


PRODUCTS: tuple[Product, ...] = (
    Product(1, "Turnout, left-hand", 1450, "A left-hand turnout for H0 track, 15° frog, with a live frog."),
    Product(2, "Turnout, right-hand", 1450, "The mirror image of the left-hand one, for the other side of the yard."),
    Product(3, "Point motor", 2295, "A slow-motion point motor with two changeover contacts for frog polarity."),
    Product(4, "Colour-light signal", 1875, "A two-aspect signal with warm white LEDs and a ladder you can climb."),
    Product(5, "Buffer stop", 690, "A sprung buffer stop, for the end of the line that every layout has."),
    Product(6, "Track cleaning wagon", 3900, "A wagon with a weighted felt pad that keeps the rails bright."),
)

_BY_ID = {product.id: product for product in PRODUCTS}


def find_product(product_id: int) -> Product | None:
    """The product with this id, or `None`."""
    return _BY_ID.get(product_id)


@dataclass(frozen=True, slots=True)
class CartLine:
    product: Product
    quantity: int

    @property
    def subtotal(self) -> str:
        return format_price(self.product.price_cents * self.quantity)


def cart_lines(cart: Mapping[str, int]) -> list[CartLine]:
    """The lines of a cart kept in the session: quantities by product id (a string, as JSON keys must be).

    Both sides read the cart from the shared session; a product removed from the catalogue
    since it was added is left out.
    """
    lines = []
    for key, quantity in cart.items():
        product = find_product(int(key))
        if product is not None:
            lines.append(CartLine(product, quantity))
    return lines


def cart_total(lines: list[CartLine]) -> str:
    return format_price(sum(line.product.price_cents * line.quantity for line in lines))

"""The new side's pages: the welcome page at `/`, the product page that replaces the shop's, and the account.

They extend the shop's own templates and link to its pages by their legacy endpoint names
(`request.app.url_path_for("shop:cart")`), so the links follow the shop wherever it is mounted.
They read the session the shop writes (`request.session`, shared with Flask's `session`), and
the shop's user as `request.user` (through `load_user`); the account page adds to the cart and
logs out on the new side, and the shop sees both.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from starlette.authentication import SimpleUser
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from turnout.demo.catalog import MAX_QUANTITY, PRODUCTS, cart_lines, cart_total, find_product
from turnout.demo.layout import TEMPLATES, Reverse, shop_links, visitor
from turnout.demo.shop import DEMO_USER

templates = Jinja2Templates(directory=TEMPLATES)

USER_KEY = "user"
"""Where the shop keeps the user name in the session (a Flask-Login app would use `_user_id`)."""


def load_user(user_id: str) -> SimpleUser | None:
    """The demo's `user_loader`: the user whose name the shop put in the session, as `request.user`."""
    return SimpleUser(user_id) if user_id == DEMO_USER else None


def reverse_legacy(request: Request) -> Reverse:
    """Reverses a legacy shop endpoint as the shop's `url_for` would, behind a proxy's `root_path` too."""
    root_path: str = request.scope.get("root_path", "")

    def reverse(endpoint: str, /, **values: Any) -> str:
        return root_path + str(request.app.url_path_for(f"shop:{endpoint}", **values))

    return reverse


def reverse_new(request: Request, name: str, /, **values: Any) -> str:
    """The path of a new route."""
    root_path: str = request.scope.get("root_path", "")
    return root_path + str(request.app.url_path_for(name, **values))


def _cart(request: Request) -> dict[str, int]:
    cart: dict[str, int] = request.session.get("cart", {})
    return cart


def layout(request: Request) -> dict[str, Any]:
    """What `base.html` needs, from the new side: the shop's links, and who is looking."""
    links = shop_links(reverse_legacy(request))
    # The header's logout button posts to the side that rendered the page: here, the new one.
    links["logout"] = reverse_new(request, "account_logout")
    user = request.user
    name = user.display_name if user.is_authenticated else None
    return {"links": links, "visitor": visitor(name, _cart(request))}


async def home(request: Request) -> Response:
    context = {
        **layout(request),
        "product_url": reverse_new(request, "product_v2", product_id=PRODUCTS[0].id),
        "account_url": reverse_new(request, "account"),
        "api_url": reverse_new(request, "api_products"),
        "routes": request.app.table.entries,
    }
    return templates.TemplateResponse(request, "home.html", context)


async def product_page(request: Request) -> Response:
    product_id: int = request.path_params["product_id"]
    product = find_product(product_id)
    if product is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    context = {**layout(request), "product": product, "max_quantity": MAX_QUANTITY}
    return templates.TemplateResponse(request, "product.html", context)


async def account(request: Request) -> Response:
    lines = cart_lines(_cart(request))
    context = {
        **layout(request),
        "lines": lines,
        "total": cart_total(lines),
        "add_url": reverse_new(request, "account_cart"),
        "max_quantity": MAX_QUANTITY,
    }
    return templates.TemplateResponse(request, "account.html", context)


async def account_cart_add(request: Request) -> Response:
    """Adds one of a product to the cart, on the new side; the shop's cart page shows it."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    product_id = form.get("product_id", [""])[0]
    product = find_product(int(product_id)) if product_id.isdecimal() else None
    if product is None:
        raise HTTPException(400, "There is no such product.")
    cart = dict(_cart(request))
    key = str(product.id)
    cart[key] = min(cart.get(key, 0) + 1, MAX_QUANTITY)
    request.session["cart"] = cart
    return RedirectResponse(reverse_new(request, "account"), 303)


async def account_logout(request: Request) -> Response:
    """Logs out on the new side: the shared session is cleared, so the shop forgets the user too."""
    request.session.clear()
    return RedirectResponse(reverse_legacy(request)("index"), 303)

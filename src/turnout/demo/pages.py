"""The new side's pages: the welcome page at `/`, and the product page that replaces the shop's.

They extend the shop's own templates and link to its pages by their legacy endpoint names
(`request.app.url_path_for("shop:cart")`), so the links follow the shop wherever it is mounted.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from turnout.demo.catalog import MAX_QUANTITY, PRODUCTS, find_product
from turnout.demo.layout import TEMPLATES, Reverse, shop_links

templates = Jinja2Templates(directory=TEMPLATES)


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


async def home(request: Request) -> Response:
    context = {
        "links": shop_links(reverse_legacy(request)),
        "product_url": reverse_new(request, "product_v2", product_id=PRODUCTS[0].id),
        "api_url": reverse_new(request, "api_products"),
        "routes": request.app.table.entries,
    }
    return templates.TemplateResponse(request, "home.html", context)


async def product_page(request: Request) -> Response:
    product_id: int = request.path_params["product_id"]
    product = find_product(product_id)
    if product is None:
        raise HTTPException(404, f"There is no product {product_id}.")
    context = {"links": shop_links(reverse_legacy(request)), "product": product, "max_quantity": MAX_QUANTITY}
    return templates.TemplateResponse(request, "product.html", context)

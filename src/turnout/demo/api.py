"""The new side's JSON API over the shop's catalogue: `GET /api/products` and `GET /api/products/{id}`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from turnout.demo.catalog import PRODUCTS, Product, find_product, stock_of
from turnout.demo.pages import reverse_new


def _product(request: Request, product: Product) -> dict[str, Any]:
    return {**product.to_json(), "url": reverse_new(request, "product_v2", product_id=product.id)}


async def list_products(request: Request) -> JSONResponse:
    return JSONResponse({"products": [_product(request, product) for product in PRODUCTS]})


async def get_product(request: Request) -> JSONResponse:
    product_id: int = request.path_params["product_id"]
    product = find_product(product_id)
    if product is None:
        # The shape of turnout's own JSON errors, so a client handles one kind of error body.
        return JSONResponse({"error": f"There is no product {product_id}.", "status": 404}, status_code=404)
    return JSONResponse(_product(request, product))


async def stock(request: Request) -> JSONResponse:
    """The new version of the shop's `/shop/api/stock/{id}`, in shadow: it answers `price` in
    euros as a number, where the shop answers a formatted string. `turnout diffs stock_v2` shows it."""
    product = find_product(request.path_params["product_id"])
    if product is None:
        return JSONResponse({"error": "Not Found", "status": 404}, status_code=404)
    return JSONResponse(
        {
            "product_id": product.id,
            "name": product.name,
            "price": product.price_cents / 100,
            "in_stock": stock_of(product),
            "checked_at": datetime.now(UTC).isoformat(),
        }
    )

"""The legacy side of the demo: a small Flask shop, written the way Flask apps usually are.

It knows nothing about turnout. It builds every link with `url_for`, so its links keep working
under the `/shop` prefix that turnout gives it through `SCRIPT_NAME`, and it keeps the user and
the cart in Flask's cookie `session`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Flask, abort, g, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.security import check_password_hash, generate_password_hash

from turnout.demo.catalog import MAX_QUANTITY, PRODUCTS, cart_lines, cart_total, find_product, stock_of
from turnout.demo.layout import TEMPLATES, shop_links, visitor

# Not a secret: it is published with turnout. A real app reads its key from the environment.
DEMO_SECRET_KEY = "turnout-demo-secret-key-not-secret"
DEMO_USER = "demo"
DEMO_PASSWORD = "demo-password"

# A real shop keeps only the hashes, in its database; the demo hashes its one password at import.
_PASSWORD_HASHES = {DEMO_USER: generate_password_hash(DEMO_PASSWORD)}


def _cart() -> dict[str, int]:
    """The cart in the session: quantities by product id (a string, as JSON keys must be)."""
    cart: dict[str, int] = session.get("cart", {})
    return cart


def create_shop() -> Flask:
    """The legacy shop, a Flask app to mount under `/shop`."""
    shop = Flask(__name__, template_folder=str(TEMPLATES))
    shop.config.update(SECRET_KEY=DEMO_SECRET_KEY, SESSION_COOKIE_SAMESITE="Lax")

    @shop.before_request
    def load_user() -> None:
        g.user = session.get("user")

    @shop.context_processor
    def layout() -> dict[str, Any]:
        return {"links": shop_links(url_for), "visitor": visitor(g.user, _cart())}

    @shop.get("/")
    def index() -> ResponseReturnValue:
        return render_template("index.html", products=PRODUCTS)

    # The new side replaces this page (see `turnout.demo.pages.product_page`); it stays here, as
    # it would in a real migration, until the new one has proved itself.
    @shop.get("/products/<int:product_id>")
    def product(product_id: int) -> ResponseReturnValue:
        found = find_product(product_id)
        if found is None:
            abort(404)
        return render_template("product.html", product=found, max_quantity=MAX_QUANTITY)

    # A JSON endpoint that the new side is rewriting (`turnout.demo.api.stock`): its switch starts
    # in `shadow`, so this one answers and the new one is compared with it.
    @shop.get("/api/stock/<int:product_id>")
    def stock(product_id: int) -> ResponseReturnValue:
        found = find_product(product_id)
        if found is None:
            abort(404)
        return jsonify(
            product_id=found.id,
            name=found.name,
            price=found.price,
            in_stock=stock_of(found),
            checked_at=datetime.now(UTC).isoformat(),
        )

    @shop.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        error = None
        if request.method == "POST":
            username = request.form.get("username", "")
            stored = _PASSWORD_HASHES.get(username)
            if stored is not None and check_password_hash(stored, request.form.get("password", "")):
                session["user"] = username
                return redirect(url_for("index"), 303)
            error = "Wrong user name or password."
        return render_template("login.html", error=error, demo_user=DEMO_USER, demo_password=DEMO_PASSWORD)

    @shop.post("/logout")
    def logout() -> ResponseReturnValue:
        session.clear()
        return redirect(url_for("index"), 303)

    @shop.get("/cart")
    def cart() -> ResponseReturnValue:
        lines = cart_lines(_cart())
        return render_template("cart.html", lines=lines, total=cart_total(lines))

    @shop.post("/cart")
    def cart_add() -> ResponseReturnValue:
        found = find_product(request.form.get("product_id", 0, type=int))
        # Not `get("quantity", 1, type=int)`, which would turn a mistyped quantity into 1.
        quantity_text = request.form.get("quantity", "1")
        quantity = int(quantity_text) if quantity_text.isdecimal() else 0
        if found is None or not 1 <= quantity <= MAX_QUANTITY:
            abort(400)
        cart = _cart()
        key = str(found.id)
        cart[key] = min(cart.get(key, 0) + quantity, MAX_QUANTITY)
        session["cart"] = cart
        return redirect(url_for("cart"), 303)

    return shop

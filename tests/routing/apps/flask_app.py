"""A Flask app with a blueprint, whose views link to the other sides with `turnout_url_for`."""

from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify, url_for

from turnout.integrations.flask import turnout_url_for


def flask_app() -> Flask:
    app = Flask("flask_shop")
    items = Blueprint("items", __name__, url_prefix="/items")

    @items.get("/<int:item_id>")
    def item(item_id: int) -> Response:
        return jsonify(
            {
                "view": "item",
                "self": url_for("items.item", item_id=item_id),
                "django": turnout_url_for("dj:blog:post-detail", pk=item_id),
                "api": turnout_url_for("api:user", uid=item_id),
            }
        )

    @items.post("/")
    def create() -> Response:
        return jsonify(view="create")

    @app.get("/")
    def index() -> Response:
        return jsonify(view="index")

    app.register_blueprint(items)
    return app

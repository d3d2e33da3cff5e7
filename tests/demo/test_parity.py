"""The legacy shop behind turnout answers exactly as it does on its own.

Each request goes to the shop twice: directly, through `httpx.WSGITransport` with `SCRIPT_NAME`
set to `/shop`, and through a turnout app that mounts it at `/shop`. Both copies are wrapped in
`wsgiref.validate.validator`, so an environ or a response handling that breaks PEP 3333 fails
the test. The wrapper hides the shop's `url_map`, so turnout serves it as an opaque prefix and
no route is replaced: the pages that the demo replaces are compared too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from wsgiref.validate import validator

import httpx
import itsdangerous
import pytest

from turnout import Turnout
from turnout.demo import create_app
from turnout.demo.catalog import PRODUCTS
from turnout.demo.shop import DEMO_PASSWORD, DEMO_USER, create_shop
from turnout.testing import client

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

ADDED_BY_TURNOUT = {"x-served-by", "x-request-id"}


@pytest.fixture(autouse=True)
def one_second_for_every_session_cookie(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Flask signs its session cookie with the current second; the two copies of a response are
    # only the same if they are signed in the same second.
    now = int(time.time())
    monkeypatch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: now)
    yield


class ShopPair:
    """The shop reached directly and through turnout, each with its own cookie jar."""

    def __init__(self, direct: httpx.Client, through_turnout: httpx.AsyncClient) -> None:
        self.direct = direct
        self.through_turnout = through_turnout

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Sends the request (`path` under the mount) both ways, checks the answers match, gives one."""
        direct = self.direct.request(method, path, **kwargs)
        mounted = await self.through_turnout.request(method, "/shop" + path, **kwargs)
        assert_same(direct, mounted)
        return mounted

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", path, **kwargs)


def headers_of(response: httpx.Response) -> list[tuple[str, str]]:
    return [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in response.headers.raw]


def assert_same(direct: httpx.Response, mounted: httpx.Response) -> None:
    assert not ADDED_BY_TURNOUT & set(direct.headers)
    assert ADDED_BY_TURNOUT <= set(mounted.headers)
    assert mounted.headers["x-served-by"] == "wsgi:shop"
    assert mounted.status_code == direct.status_code
    assert mounted.content == direct.content
    direct_headers = [(name, value) for name, value in headers_of(direct) if name != "date"]
    mounted_headers = [(n, v) for n, v in headers_of(mounted) if n != "date" and n not in ADDED_BY_TURNOUT]
    assert mounted_headers == direct_headers
    # Werkzeug dates a file response with the current second, which may tick between the two.
    assert ("date" in mounted.headers) == ("date" in direct.headers)
    if "date" in direct.headers:
        delta = parsedate_to_datetime(mounted.headers["date"]) - parsedate_to_datetime(direct.headers["date"])
        assert abs(delta.total_seconds()) <= 2


def validated_shop() -> WSGIApplication:
    """The shop behind wsgiref's validator, which checks the environ it gets and what it answers."""
    shop = create_shop()

    def shop_without_input_terminated(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # turnout sets `wsgi.input_terminated` (as gunicorn does), so Werkzeug reads a body with
        # `read()` and no size, which the validator refuses: it predates that extension.
        environ = {key: value for key, value in environ.items() if key != "wsgi.input_terminated"}
        return shop(environ, start_response)

    return validator(shop_without_input_terminated)


@contextlib.asynccontextmanager
async def shop_pair() -> AsyncIterator[ShopPair]:
    app = Turnout()
    app.mount_wsgi("/shop", validated_shop(), name="shop")
    transport = httpx.WSGITransport(app=validated_shop(), script_name="/shop")
    with httpx.Client(transport=transport, base_url="http://testserver") as direct:
        async with client(app) as through_turnout:
            yield ShopPair(direct, through_turnout)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/?sort=price&page=2",
        "/login",
        "/cart",
        "/products/1",
        "/products/999",
        "/products/one",
        "/static/shop.css",
        "/static/missing.css",
        "/nowhere",
    ],
)
async def test_a_page_is_the_same_through_turnout(path: str) -> None:
    async with shop_pair() as shop:
        await shop.get(path)


@pytest.mark.anyio
@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "DELETE"])
async def test_other_methods_are_answered_the_same(method: str) -> None:
    async with shop_pair() as shop:
        await shop.request(method, "/")
        await shop.request(method, "/logout")


@pytest.mark.anyio
async def test_a_stylesheet_the_browser_has_is_a_304_both_ways() -> None:
    async with shop_pair() as shop:
        first = await shop.get("/static/shop.css")
        again = await shop.get("/static/shop.css", headers={"if-none-match": first.headers["etag"]})
    assert again.status_code == 304


@pytest.mark.anyio
async def test_a_wrong_password_is_refused_the_same_way() -> None:
    async with shop_pair() as shop:
        response = await shop.post("/login", data={"username": DEMO_USER, "password": "wrong"})
        await shop.get("/")
    assert "Wrong user name or password." in response.text


@pytest.mark.anyio
async def test_logging_in_and_out_is_the_same_through_turnout() -> None:
    async with shop_pair() as shop:
        response = await shop.post("/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
        assert response.status_code == 303
        assert "set-cookie" in response.headers
        assert "Signed in" in (await shop.get("/")).text
        await shop.get("/login")
        await shop.get("/cart")
        response = await shop.post("/logout")
        assert response.status_code == 303
        assert "Signed in" not in (await shop.get("/")).text


@pytest.mark.anyio
async def test_the_cart_is_the_same_through_turnout() -> None:
    async with shop_pair() as shop:
        await shop.post("/cart", data={"product_id": "3", "quantity": "2"})
        await shop.post("/cart", data={"product_id": "5"})
        await shop.post("/cart", data={"product_id": "999"})
        await shop.post("/cart", content=b"product_id=6&quantity=4", headers={"content-type": "text/plain"})
        response = await shop.get("/cart")
    assert '<td class="number">2</td>' in response.text


@pytest.mark.anyio
async def test_the_new_product_page_renders_the_page_it_replaces() -> None:
    # A visitor must not see the seam: the new page is the legacy page, byte for byte.
    transport = httpx.WSGITransport(app=validated_shop(), script_name="/shop")
    with httpx.Client(transport=transport, base_url="http://testserver") as legacy:
        async with client(create_app()) as demo:
            for product in PRODUCTS:
                old = legacy.get(f"/products/{product.id}")
                new = await demo.get(f"/shop/products/{product.id}")
                assert new.headers["x-served-by"] == "asgi:product_v2"
                assert (new.status_code, new.headers["content-type"]) == (old.status_code, old.headers["content-type"])
                assert new.text == old.text
            assert (await demo.get("/shop/products/999")).status_code == legacy.get("/products/999").status_code

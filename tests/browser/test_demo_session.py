"""The demo in a real headless Chromium: one login, one cart and one logout across both sides.

Playwright drives Debian's `/usr/bin/chromium` (never a downloaded browser) against the demo on
a real Uvicorn. Every wait has a timeout. Under `CI=true` a missing Chromium fails the test;
elsewhere it is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.sessions.servers import executable
from turnout.demo import create_app
from turnout.demo.catalog import PRODUCTS
from turnout.demo.shop import DEMO_PASSWORD, DEMO_USER
from turnout.testing import run_server

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LAUNCH_TIMEOUT_MS = 30_000
TIMEOUT_MS = 10_000
SIGNED_IN = f"Signed in as {DEMO_USER}"


@pytest.fixture
def browser() -> Iterator[Browser]:
    path = executable("chromium", fallback="/usr/bin/chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, timeout=LAUNCH_TIMEOUT_MS)
        try:
            yield launched
        finally:
            launched.close()


def open_page(browser: Browser) -> Page:
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    return context.new_page()


@pytest.mark.server
def test_log_in_on_the_legacy_side_shop_on_both_and_log_out_on_the_new_side(browser: Browser) -> None:
    product = PRODUCTS[0]
    with run_server(create_app()) as base:
        page = open_page(browser)

        # Log in through the legacy login form.
        page.goto(f"{base}/shop/login")
        page.fill('input[name="username"]', DEMO_USER)
        page.fill('input[name="password"]', DEMO_PASSWORD)
        page.click("form.stacked button[type=submit]")
        page.wait_for_url(f"{base}/shop/")
        expect(page.locator("p.notice")).to_contain_text(SIGNED_IN)
        [cookie] = page.context.cookies()
        assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["secure"]) == (
            "session",
            True,
            "Lax",
            False,
        )

        # Follow a link to a page served by the new side: it knows who is logged in.
        with page.expect_response(f"{base}/shop/products/{product.id}") as new_page:
            page.click(f'a[href="/shop/products/{product.id}"]')
        assert new_page.value.headers["x-served-by"] == "asgi:product_v2"
        expect(page.locator("form.visitor")).to_contain_text(SIGNED_IN)

        # Add to the cart from the new page (its form posts to the legacy shop): the legacy cart has it.
        page.fill('input[name="quantity"]', "2")
        page.click("article button[type=submit]")
        page.wait_for_url(f"{base}/shop/cart")
        expect(page.locator("h1")).to_have_text(f"{DEMO_USER}’s cart")
        expect(page.locator("tbody td.number").first).to_have_text("2")

        # The new account page shows the same cart, and adds to it on the new side.
        page.goto(f"{base}/")
        page.click('a[href="/account"]')
        page.wait_for_url(f"{base}/account")
        expect(page.locator("main")).to_contain_text(f"Signed in as {DEMO_USER}.")
        expect(page.locator("tbody tr")).to_contain_text(product.name)
        page.click("tbody button[type=submit]")
        page.wait_for_url(f"{base}/account")
        expect(page.locator("tbody td.number").first).to_have_text("3")
        page.click('a[href="/shop/cart"] >> nth=1')  # "The shop's cart page", below the table
        page.wait_for_url(f"{base}/shop/cart")
        expect(page.locator("tbody td.number").first).to_have_text("3")
        expect(page.locator('header a[href="/shop/cart"]')).to_have_text("Cart (3)")

        # Log out on the new side: the legacy side has forgotten the user and the cart.
        page.goto(f"{base}/account")
        with page.expect_response(f"{base}/account/logout") as logout:
            page.click("form.visitor button")
        assert logout.value.status == 303
        page.wait_for_url(f"{base}/shop/")
        expect(page.locator("body")).not_to_contain_text("Signed in")
        assert page.context.cookies() == []
        page.goto(f"{base}/shop/cart")
        expect(page.locator("main")).to_contain_text("Your cart is empty.")
        page.goto(f"{base}/shop/login")
        expect(page.locator('input[name="password"]')).to_be_visible()

"""Pages as people see them on a phone and a desktop, on the seed manuscript: tables keep
the column they are about, nothing widens the page past the screen, the public search
sits under its header, and refusals keep the site around them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from sections import permissions
from tests.browser.conftest import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 900}
SECTION = "imaging-applications-in-health-care"

# Each page, and the column header without which its table says nothing.
PAGES = {
    "todo-board": ("/todos/of/{m}/", "Item"),
    "citation-health": ("/references/of/{m}/", "Title"),
    "section-history": (f"/m/{{m}}/{SECTION}/history/", "New"),
    "activity": ("/activity/of/{m}/", "Kind"),
    "claims": ("/claims/of/{m}/", "Claimant"),
}


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_tables_on_a_phone_keep_their_columns_and_fit_the_screen(
    browser, live_server, seed, artifacts
):
    user, context, page = sign_in(browser, live_server, "maya@example.org")
    permissions.make_maintainer(user)
    page.set_viewport_size(PHONE)
    for name, (address, column) in PAGES.items():
        page.goto(live_server.url + address.format(m=seed.slug))
        page.screenshot(path=artifacts / f"phone-{name}.png", full_page=True)
        header = page.get_by_role("columnheader", name=column, exact=True).first
        expect(header).to_be_visible()
        assert fits_the_screen(page), f"{name} scrolls sideways at 390 px"
    # The TODO board's point: what each item says, readable on the phone.
    page.goto(f"{live_server.url}/todos/of/{seed.slug}/")
    expect(page.get_by_role("cell", name="TODO: expand outline")).to_be_visible()
    context.close()


def test_public_search_lines_up_under_its_header(browser, live_server, seed, artifacts):
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(live_server.url)
        page.get_by_role("link", name="Read the public preview").click()
        page.get_by_label("Search the text").fill("deep learning")
        page.get_by_role("button", name="Search").click()
        results = page.locator(".search-hits")
        expect(
            results.get_by_role("link", name="What is deep learning?")
        ).to_be_visible()
        page.screenshot(path=artifacts / f"public-search-{width}.png", full_page=True)
        title = page.get_by_role("heading", level=1).bounding_box()
        count = page.get_by_text("results.").bounding_box()
        assert abs(count["x"] - title["x"]) < 2, (width, count["x"], title["x"])
        assert fits_the_screen(page)
        context.close()


def test_refused_and_missing_pages_say_so_inside_the_site(
    browser, live_server, seed, artifacts
):
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    page.set_viewport_size(PHONE)
    response = page.goto(f"{live_server.url}/authors/of/{seed.slug}/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="You may not do this")).to_be_visible()
    expect(page.get_by_text("Only maintainers may do this.")).to_be_visible()
    page.screenshot(path=artifacts / "forbidden-390.png", full_page=True)
    response = page.goto(f"{live_server.url}/m/{seed.slug}/no-such-section/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    page.screenshot(path=artifacts / "not-found-390.png", full_page=True)
    page.get_by_role("link", name="Back to the front page").click()
    expect(page.get_by_role("heading", name=seed.title)).to_be_visible()
    assert fits_the_screen(page)
    context.close()

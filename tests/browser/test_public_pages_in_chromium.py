"""Each manuscript's public pages in a real browser: the public finds a manuscript's
preview from the welcome page and searches it there; a member reads a second
manuscript's preview, its figure loaded, on a phone and on a desktop."""

from __future__ import annotations

import pytest

from sections import figures, importing
from sections.models import Manuscript
from tests.browser.conftest import sign_in
from tests.conftest import SEED
from tests.factories import make_manuscript, make_section, png, preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_public_reads_and_searches_a_manuscript_at_its_own_address(
    browser, live_server, artifacts
):
    from playwright.sync_api import expect

    seed = importing.import_path(SEED, format="text").manuscript
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(live_server.url)
        page.screenshot(path=artifacts / f"welcome-{width}.png")
        page.get_by_role("link", name="Read the public preview").click()
        expect(page).to_have_url(f"{live_server.url}{preview_url(seed)}")
        expect(page.get_by_role("heading", level=1)).to_have_text(seed.title)
        assert fits_the_screen(page), f"the preview scrolls sideways at {width} px"
        page.screenshot(path=artifacts / f"preview-of-{width}.png")
        page.get_by_label("Search the text").fill("deep learning")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(
            f"{live_server.url}/preview/{seed.slug}/search/?q=deep+learning"
        )
        page.get_by_role("link", name="What is deep learning?").click()
        expect(page).to_have_url(
            f"{live_server.url}/preview/{seed.slug}/#what-is-deep-learning"
        )
        context.close()


def test_a_member_reads_a_second_manuscripts_preview_with_its_figure(
    browser, live_server, artifacts
):
    from playwright.sync_api import expect

    make_section(make_manuscript("First review"), "Intro", body="Aardvarks.")
    second = make_manuscript("Second review", visibility=Manuscript.Visibility.PRIVATE)
    user, signed_in, _ = sign_in(browser, live_server, "carol@example.org")
    figures.add(second, name="plot.png", data=png(40, 20), by=user)
    make_section(
        second,
        "Narwhals",
        body="Narwhals grow tusks.\n\n![A red plot](images/plot.png)",
    )
    signed_in.close()
    for width in (390, 1280):
        _, context, page = sign_in(browser, live_server, f"reader{width}@example.org")
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}{preview_url(second)}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Second review")
        expect(page.locator("#main")).to_contain_text("Narwhals grow tusks.")
        expect(page.locator("#main")).not_to_contain_text("Aardvarks")
        plot = page.get_by_role("img", name="A red plot")
        expect(plot).to_be_visible()
        assert plot.evaluate("image => image.naturalWidth") == 40
        assert fits_the_screen(page), f"the preview scrolls sideways at {width} px"
        page.screenshot(path=artifacts / f"second-preview-{width}.png", full_page=True)
        context.close()
    # The public may not read it: the same address is a 404 page for them.
    anonymous = browser.new_context()
    page = anonymous.new_page()
    response = page.goto(f"{live_server.url}{preview_url(second)}")
    assert response.status == 404
    anonymous.close()

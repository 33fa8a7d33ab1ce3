"""The standalone HTML export opens offline, from a file, with nothing fetched."""

from __future__ import annotations

import pytest

from sections import exporting

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_standalone_html_shows_title_and_bibliography_offline(browser, seed, tmp_path):
    from playwright.sync_api import expect

    page_path = tmp_path / "review.html"
    page_path.write_text(exporting.standalone_html(seed), encoding="utf-8")
    context = browser.new_context(offline=True)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    page.goto(page_path.as_uri())

    expect(page.get_by_role("heading", level=1, name=seed.title)).to_be_visible()
    references = page.locator("#references")
    expect(references.get_by_role("heading", name="References")).to_be_visible()
    expect(references.locator("li").first).to_be_visible()
    # The stylesheet applied: the inline CSS is the page's only styling.
    assert page.evaluate("document.styleSheets.length") >= 1
    assert requested
    assert all(url.startswith("file:") for url in requested), requested
    context.close()

"""A body's outside image shows on the public page, served by the app under the
page's own policy; the reader's browser never asks the other host."""

from __future__ import annotations

import pytest

from tests.factories import make_manuscript, make_section, png, preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_outside_image_shows_on_the_preview_through_the_app(
    browser, live_server, httpserver, settings, artifacts
):
    from playwright.sync_api import expect

    settings.OUTBOUND_ALLOWED_ADDRESSES = [
        "127.0.0.1"
    ]  # the image host is on 127.0.0.1
    httpserver.expect_request("/large-figure.png").respond_with_data(
        png(480, 240), content_type="image/png"
    )
    manuscript = make_manuscript("Illustrated review")
    make_section(
        manuscript,
        "Intro",
        body=(
            "Deep learning reads images well.\n\n"
            f"![Figure 1: a red rectangle]({httpserver.url_for('/large-figure.png')})\n\n"
            "The figure above came through the app."
        ),
    )

    requested: list[str] = []
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{live_server.url}{preview_url()}")

        figure = page.get_by_role("img", name="Figure 1: a red rectangle")
        expect(figure).to_be_visible()
        # Loaded and decoded, not a broken-image box.
        assert figure.evaluate("image => image.complete && image.naturalWidth") == 480
        # A figure wider than a phone is scaled to the column, not cut off.
        box = figure.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        page.screenshot(path=str(artifacts / f"preview-proxied-image-{width}.png"))
        assert all(url.startswith(live_server.url) for url in requested), requested
        context.close()
    # Fetched once by the app, then served from its cache to the second reader.
    assert len(httpserver.log) == 1

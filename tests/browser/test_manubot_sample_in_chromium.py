"""The sample Manubot manuscript, imported, reads as Manubot shows it: the text
before its first heading has no heading of its own, and the outline says where
that text comes from."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.browser.conftest import sign_in
from tests.factories import preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).parents[1] / "fixtures" / "manubot-sample"
SHOTS = Path(os.environ.get("SHOTS", "/tmp/shots-roundtrip"))


def test_the_front_matter_shows_without_a_heading_and_the_outline_names_its_file(
    browser, live_server, artifacts
):
    from playwright.sync_api import expect

    call_command("import_manuscript", str(SAMPLE), stdout=io.StringIO())
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/")
        row = page.get_by_role("link", name="00.front-matter.md (no heading)")
        expect(row).to_be_visible()
        expect(page.get_by_role("link", name="Front matter")).to_have_count(0)
        page.screenshot(path=str(SHOTS / f"outline-{width}.png"), full_page=True)

        page.goto(f"{live_server.url}{preview_url()}")
        front = page.locator("section.manuscript-section").first
        expect(front).to_contain_text("Draft notice")
        # No heading of its own: the section starts with its text.
        first = front.evaluate("section => section.firstElementChild.tagName")
        assert first not in {"H1", "H2", "H3", "H4", "H5", "H6"}, first
        expect(front.locator(":scope > h2 > a.anchor")).to_have_count(0)
        expect(page.get_by_role("heading", name="Authors")).to_be_visible()
        # The contents list only what has a heading.
        toc = page.locator("nav.toc li")
        expect(toc.first).to_have_text("Authors")
        page.screenshot(path=str(SHOTS / f"preview-{width}.png"), full_page=True)

        page.goto(f"{live_server.url}/")
        page.get_by_role("link", name="00.front-matter.md (no heading)").click()
        page.get_by_role("link", name="Edit", exact=True).first.click()
        expect(page.get_by_label("Title")).to_have_value("")
        expect(page.get_by_text("it has no heading")).to_be_visible()
        page.screenshot(path=str(SHOTS / f"editor-{width}.png"))
    context.close()

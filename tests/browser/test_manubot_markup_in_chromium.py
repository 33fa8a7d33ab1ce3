"""The imported sample Manubot manuscript, as a reader sees its pandoc markup in
Chromium: no braces or `]{.`, the banner and the note styled, the footnote numbered
and linked both ways."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sections import importing
from tests.factories import preview_url

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "manubot-sample"
SHOTS = Path("/tmp/shots-markdown")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reader_sees_the_manubot_samples_markup_styled(browser, live_server):
    from playwright.sync_api import expect

    importing.import_path(SAMPLE)
    SHOTS.mkdir(exist_ok=True)
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}{preview_url()}")
        text = page.locator("body").inner_text()
        for syntax in ("]{.", "{.page_break_before", "{height=", ":::", "-->"):
            assert syntax not in text, syntax

        banner = page.locator(".banner.lightred")
        expect(banner).to_contain_text("Draft notice")
        # Styled: a coloured block, not running text.
        assert banner.evaluate("e => getComputedStyle(e).display") == "block"
        assert banner.evaluate("e => getComputedStyle(e).backgroundColor") not in {
            "rgba(0, 0, 0, 0)",
            "transparent",
        }
        note = page.locator("div.note")
        expect(note).to_contain_text("Reviewers: the numbers in this subsection")
        assert note.evaluate("e => getComputedStyle(e).borderLeftStyle") == "solid"
        expect(page.get_by_role("heading", name="Abstract", exact=True)).to_be_visible()

        reference = page.locator("a.footnote-ref")
        expect(reference).to_have_text("1")
        reference.click()
        footnote = page.locator("li:target")
        expect(footnote).to_contain_text("Count data are often modelled")
        # Its citation is a numbered link like any other.
        expect(footnote.locator("a.cite")).to_have_text(re.compile(r"^\d+"))
        footnote.screenshot(path=str(SHOTS / f"footnote-{width}.png"))
        footnote.locator("a.footnote-backref").click()
        expect(page.locator("sup:target")).to_have_count(1)

        page.goto(f"{live_server.url}{preview_url()}")
        page.screenshot(path=str(SHOTS / f"sample-top-{width}.png"))
        note.scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / f"sample-note-{width}.png"))
        context.close()

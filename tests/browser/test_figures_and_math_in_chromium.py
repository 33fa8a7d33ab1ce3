"""The sample manuscript's figures, table and equation in Chromium: a cross-reference
takes the reader to its figure, and the math is laid out as MathML, not as text."""

from __future__ import annotations

from pathlib import Path

import pytest

from sections import importing
from tests.factories import preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "manubot-sample"


def test_a_cross_reference_leads_to_its_figure_and_the_math_is_typeset(
    browser, live_server, artifacts
):
    from playwright.sync_api import expect

    importing.import_path(SAMPLE)

    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}{preview_url()}")
        # No figure, table or equation is wider than the screen.
        overflowing = page.evaluate(
            """width => [...document.querySelectorAll(
                    '.manuscript :is(figure, figure *, table, math, [id^="eq:"])')]
                .filter(e => e.getBoundingClientRect().right > width + 1)
                .map(e => e.tagName + '#' + e.id + '.' + e.className).slice(0, 5)""",
            width,
        )
        assert overflowing == []

        reference = page.locator('a.xref[href="#fig:overview"]').first
        expect(reference).to_have_text("1")
        reference.click()
        target = page.locator(":target")
        expect(target).to_have_attribute("id", "fig:overview")
        expect(target.locator("figcaption")).to_contain_text(
            "Figure 1: Overview of the model families"
        )
        expect(target).to_be_in_viewport()

        equation = page.locator('[id="eq:loss"]')
        equation.scroll_into_view_if_needed()
        expect(equation).to_contain_text("(1)")
        math = equation.locator("math")
        box = math.bounding_box()
        assert box["width"] > 0
        assert box["height"] > 0
        # Laid out as MathML: the square's 2 sits above its base, and the equation
        # fits the column (it scrolls within itself if it must).
        superscript = math.locator("msup > mn").bounding_box()
        base = math.locator("msup > mrow").bounding_box()
        assert superscript["y"] < base["y"]
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        page.screenshot(path=str(artifacts / f"figures-and-math-{width}.png"))
        page.locator("table caption").scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"table-caption-{width}.png"))
        context.close()


def test_a_contributors_section_page_numbers_its_figures_and_typesets_math(
    browser, live_server, artifacts
):
    from playwright.sync_api import expect

    from tests.browser.conftest import sign_in

    manuscript = importing.import_path(SAMPLE).manuscript
    introduction = manuscript.sections.get(title="Introduction")
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/m/{manuscript.slug}/{introduction.slug}/")
        expect(page.locator("figcaption").first).to_contain_text("Figure 1:")
        expect(page.locator("table caption")).to_contain_text("Table 1:")
        equation = page.locator('[id="eq:loss"]')
        expect(equation).to_contain_text("(1)")
        box = equation.locator("math").bounding_box()
        assert box["width"] > 0
        assert box["x"] + box["width"] <= width
        page.locator("figure").first.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"section-figures-{width}.png"))
    context.close()

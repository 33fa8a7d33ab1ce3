"""The standalone HTML export opens offline, from a file, with nothing fetched, and
its own policy keeps whatever a body holds from running or calling out."""

from __future__ import annotations

import re

import pytest

from sections import assembly, exporting
from sections.models import SectionRender
from tests.factories import make_manuscript, make_section

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


def test_standalone_html_runs_no_script_and_loads_nothing_a_body_names(
    browser, tmp_path, httpserver
):
    from playwright.sync_api import expect

    httpserver.expect_request(re.compile("/.*")).respond_with_data(
        "", content_type="image/png"
    )
    internal = httpserver.url_for("").rstrip("/")
    manuscript = make_manuscript("Opened from disk")
    section = make_section(
        manuscript, "Intro", body=f'Read offline.\n\n<img src="{internal}/body.png">'
    )
    assembly.render_section(section)
    # Markup that got past the sanitiser into the stored fragment: the page's own
    # policy is the wall that is left once the file is on someone's disk.
    fragment = SectionRender.objects.get(section=section)
    hostile = (
        f'<img src="{internal}/fragment.png">'
        "<img src=x onerror=\"document.body.dataset.ran='onerror'\">"
        "<script>document.body.dataset.ran = 'script'</script>"
        f"<script>new Image().src = '{internal}/script'</script>"
        f'<iframe src="{internal}/frame"></iframe>'
        f'<link rel="stylesheet" href="{internal}/style.css">'
    )
    fragment.segments.append(hostile)
    fragment.public_segments.append(hostile)
    fragment.save(update_fields=["segments", "public_segments"])
    page_path = tmp_path / "hostile.html"
    page_path.write_text(exporting.standalone_html(manuscript), encoding="utf-8")
    # Online, unlike the offline test: the policy is what refuses, not the context.
    context = browser.new_context()
    page = context.new_page()

    page.goto(page_path.as_uri())  # waits for load: scripts and images are done

    expect(
        page.get_by_role("heading", level=1, name="Opened from disk")
    ).to_be_visible()
    assert page.evaluate("document.body.dataset.ran") is None
    assert [entry[0].path for entry in httpserver.log] == []
    # The inline stylesheets still apply (allowed by their hashes).
    assert (
        page.evaluate(
            "getComputedStyle(document.querySelector('.preview-layout')).display"
        )
        == "grid"
    )
    context.close()

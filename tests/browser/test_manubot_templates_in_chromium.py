"""The sample Manubot manuscript in Chromium: readers see its templates' output (date,
author line, affiliations, contributions, COI table), a contributor edits a template
with the live preview, and a broken template shows its line to them and nothing to
the public. Screenshots at phone and desktop widths go to /tmp/shots-templates/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from sections.models import Manuscript
from tests.browser.conftest import sign_in
from tests.factories import preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "manubot-sample"
SHOTS = Path("/tmp/shots-templates")
WIDTHS = {"phone": 390, "desktop": 1280}


@pytest.fixture
def sample(db) -> Manuscript:
    call_command("import_manuscript", str(SAMPLE))
    return Manuscript.objects.get()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)


def test_readers_see_the_templates_output_and_never_the_template(
    browser, live_server, sample
):
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}{preview_url()}")

    front = page.locator("[id='00front-matter']")
    expect(front).to_contain_text(
        re.compile(r"was automatically generated\s+on \w+ \d{1,2}, \d{4}\.")
    )
    authors = page.locator("#authors")
    expect(authors).to_contain_text(
        # (the ORCID icons' {height=...} attributes are the Markdown's business)
        re.compile(r"Ana Duarte1,2,†,\s.*Byung Kim2,\s+Chiara Rossi3", re.DOTALL)
    )
    expect(authors.locator("li")).to_have_text(
        [
            "Department of Genome Sciences, Example University, Springfield",
            "Center for Cell Atlases, Example Institute, Shelbyville",
            "Department of Statistics, Another University, Capital City",
        ]
    )
    expect(page.locator("#author-contributions")).to_contain_text(
        "Revised the imaging section: Ana Duarte."
    )
    expect(page.locator("#competing-interests tbody tr")).to_have_count(3)
    expect(page.locator("#competing-interests tbody tr").nth(1)).to_have_text(
        re.compile(r"Byung Kim\s*Consults for Example Genomics Inc\.\s*2020-03-09")
    )
    for mark in ("{%", "{{", "{##"):
        expect(page.locator("main")).not_to_contain_text(mark)
    shoot(page, "public-preview")
    context.close()


def test_a_contributor_breaks_a_template_sees_the_line_and_readers_see_a_blank(
    browser, live_server, sample
):
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    target = sample.sections.get(slug="author-contributions")
    page.goto(f"{live_server.url}{target.get_absolute_url()}")
    page.get_by_role("link", name="Edit").click()

    text = page.get_by_label("Text (Markdown")
    expect(text).to_have_value(re.compile(r"\{% for v2, authors in manubot\.authors"))
    preview = page.locator("#live-preview")
    text.press("Control+End")
    text.type("\n")  # the preview follows typing
    # Its first render builds the template's variables: on a loaded machine (a whole
    # suite beside it) that took longer than the default 5 s once.
    expect(preview).to_contain_text(
        "Drafted one or more subsections: Byung Kim.", timeout=15_000
    )

    text.fill(
        "Everyone helped.\n\n"
        "{% for author in manubot.authors %}\n"
        "{{ author.name | shout }}\n"
        "{% endfor %}\n"
    )
    expect(preview.locator(".template-error")).to_have_text(
        "Template error on line 4: No filter named 'shout'."
    )
    expect(preview).to_contain_text("Everyone helped.")
    shoot(page, "editor-template-error")

    page.get_by_label("Summary of your edit").fill("Break the template")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message")).to_have_text("Saved.")
    expect(page.locator("article.body .template-error")).to_contain_text("line 4")
    shoot(page, "section-template-error")

    reader = browser.new_context().new_page()
    reader.goto(f"{live_server.url}{preview_url()}")
    section = reader.locator("#author-contributions")
    expect(section).to_contain_text("Everyone helped.")
    expect(section).not_to_contain_text("Template error")
    expect(section).not_to_contain_text("Ana Duarte")
    expect(section).not_to_contain_text("{%")
    context.close()

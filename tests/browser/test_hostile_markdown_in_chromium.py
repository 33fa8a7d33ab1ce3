"""The hostile corpus, rendered and opened in Chromium with JavaScript on: nothing runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from sections import assembly
from sections.citations import records
from sections.models import ManuscriptRender
from tests.factories import make_manuscript, make_section, make_user, preview_url

CORPUS = (Path(__file__).resolve().parents[1] / "fixtures" / "hostile.md").read_text()

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def hostile_manuscript():
    manuscript = make_manuscript("Hostile <script>window.__xss = 100</script> review")
    section = make_section(
        manuscript,
        "Title <img src=x onerror='window.__xss = 101'>",
        slug="hostile",
        body=CORPUS,
    )
    records.sync_section(section)
    for audience in ManuscriptRender.Audience:
        assembly.assemble(manuscript, audience=audience)
    return manuscript


DANGEROUS_DOM = """() => {
  const RENDERED = "main.manuscript, article.body";  // where contributors' text shows
  const found = [];
  // The corpus's quoted paragraph must stay words on the page, not attributes.
  if (!document.body.textContent.includes('" autofocus onfocus="window.__xss = 32" x="'))
    found.push("the quoted paragraph is not text");
  for (const el of document.querySelectorAll("body *")) {
    if (["SCRIPT", "IFRAME", "OBJECT", "EMBED", "FORM", "BASE", "META", "STYLE"].includes(el.tagName)
        && el.closest(RENDERED)) found.push(el.tagName);
    for (const attr of el.attributes) {
      if (attr.name.startsWith("on") || attr.name === "autofocus"
          || (attr.name === "style" && el.closest(RENDERED)))
        found.push(`${el.tagName} ${attr.name}`);
      if (["href", "src", "action", "data"].includes(attr.name)
          && /^\\s*(javascript|data|vbscript):/i.test(attr.value))
        found.push(`${el.tagName} ${attr.name}=${attr.value}`);
    }
  }
  return found;
}"""


def open_and_watch(page, url: str | None = None) -> list[str]:
    """Open a page, collecting dialogs, errors and dangerous markup; return them.

    The page's context bypasses our Content-Security-Policy, so this checks the
    sanitizer alone: the policy is a second wall, not the one under test.
    """
    events: list[str] = []
    page.on(
        "dialog",
        lambda dialog: (events.append(f"dialog: {dialog.message}"), dialog.dismiss()),
    )
    page.on("pageerror", lambda error: events.append(f"error: {error}"))
    if url is not None:
        page.goto(url)
    page.wait_for_load_state("load")
    # Hover and focus every link and element, to fire what handlers might be left.
    for element in page.query_selector_all("a, img, details, input, svg, video"):
        element.hover(
            force=True, timeout=1000, no_wait_after=True
        ) if element.is_visible() else None
    if page.evaluate("() => window.__xss") is not None:
        events.append(f"window.__xss = {page.evaluate('() => window.__xss')}")
    return events + page.evaluate(DANGEROUS_DOM)


def test_nothing_in_the_hostile_corpus_runs_in_the_public_preview(
    browser, live_server, hostile_manuscript, artifacts
):
    page = browser.new_page(bypass_csp=True)
    assert open_and_watch(page, f"{live_server.url}{preview_url()}") == []
    assert "Hostile <script>" in page.title()
    page.screenshot(path=str(artifacts / "hostile-preview.png"), full_page=True)
    page.close()


def test_nothing_in_the_hostile_corpus_runs_on_the_contributor_section_page(
    browser, live_server, hostile_manuscript, artifacts
):
    client = Client()
    client.force_login(make_user("carol@example.org"))
    context = browser.new_context(bypass_csp=True)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    url = f"{live_server.url}/m/{hostile_manuscript.slug}/hostile/"
    assert open_and_watch(page, url) == []
    assert page.url == url, "the contributor should be signed in"
    assert page.locator("article.body").count() == 1
    page.screenshot(path=str(artifacts / "hostile-section.png"), full_page=True)
    context.close()


def test_nothing_in_the_hostile_corpus_runs_in_the_standalone_html_export(
    browser, live_server, hostile_manuscript, artifacts
):
    # The export is a download: opened as a file would be, its own policy and all.
    client = Client()
    client.force_login(make_user("carol@example.org"))
    url = f"/export/{hostile_manuscript.slug}/html/"
    export = client.get(url).content.decode()
    page = browser.new_page()
    page.set_content(export)  # what ran while it loaded leaves window.__xss set
    assert open_and_watch(page) == []
    page.screenshot(path=str(artifacts / "hostile-standalone.png"), full_page=True)
    page.close()

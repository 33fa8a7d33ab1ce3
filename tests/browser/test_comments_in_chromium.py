"""Quoting in a real browser: a selection in the section becomes the comment's quote."""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from sections.models import Comment
from tests.factories import make_manuscript, make_section

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = (
    "Deep learning has **changed** how [protein structure](https://example.org) is "
    "predicted [@doi:10.1038/nature14539].\n\nContact maps remain the hard part.\n"
)
SELECT_FIRST_PARAGRAPH = """() => {
  const range = document.createRange();
  range.selectNodeContents(document.querySelector("article.body p"));
  const selection = getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
}"""


def test_selecting_a_passage_quotes_it_in_a_new_comment(
    browser, live_server, contributor
):
    section = make_section(make_manuscript("A review"), "Protein", body=BODY)
    client = Client()
    client.force_login(contributor)
    context = browser.new_context()
    context.add_cookies(
        [
            {
                "name": "sessionid",
                "value": client.cookies["sessionid"].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    page.goto(live_server.url + section.get_absolute_url())
    quote_field = page.locator("#comment-form [data-quote-field]")
    expect(quote_field).to_be_hidden()

    page.evaluate(SELECT_FIRST_PARAGRAPH)
    expect(quote_field).to_be_visible()
    expect(page.locator("#comment-quote")).to_have_value(
        "Deep learning has changed how protein structure is predicted."
    )
    page.fill("#comment-body", "Which paper?")
    page.click("#comment-form button[type=submit]")

    expect(page.locator(".comment-body")).to_have_text("Which paper?")
    expect(page.locator(".comment-quote")).to_contain_text("Deep learning has changed")
    expect(quote_field).to_be_hidden()  # the fresh form, swapped in by htmx
    assert Comment.objects.get().quote.startswith("Deep learning has changed")
    context.close()

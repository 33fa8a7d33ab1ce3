"""Contributors in Chromium: sign in, edit with the live preview, save, keep a draft
through a closed tab, and meet a conflict with a second person, losing nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sections import revisions
from tests.browser.conftest import sign_in
from tests.factories import make_manuscript, make_section, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = "First paragraph, cited [@doi:10.1/known].\n\nSecond paragraph.\n"


@pytest.fixture
def section(db):
    author = make_user("maya@example.org")
    section = make_section(make_manuscript("Browser review"), "Intro", body="")
    revisions.save_edit(section, body=BODY, by=author, overwrite=True)
    section.refresh_from_db()
    return section


def open_editor(page, live_server, section) -> None:
    page.goto(f"{live_server.url}{section.get_absolute_url()}")
    page.get_by_role("link", name="Edit").click()
    expect(
        page.get_by_role("heading", name=f"Editing “{section.title}”")
    ).to_be_visible()


def test_edit_with_live_preview_of_a_new_citation_then_save(
    browser, live_server, section, artifacts
):
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    open_editor(page, live_server, section)

    text = page.get_by_label("Text (Markdown")
    text.press("End")
    text.press("Control+End")
    text.type("\nA new claim [@doi:10.1/new] and an old one [@doi:10.1/known].")
    preview = page.locator("#live-preview")
    expect(preview).to_contain_text("A new claim")
    numbers = [re.compile(rf"^{n}\D") for n in (1, 2, 1)]  # the number, then its entry
    expect(preview.locator("a.cite")).to_have_text(numbers)
    expect(preview).to_contain_text("doi:10.1/new: new; its metadata is fetched")
    page.screenshot(path=str(artifacts / "editor-live-preview.png"), full_page=True)

    page.get_by_label("Summary of your edit").fill("Add a claim")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".message")).to_have_text("Saved.")
    expect(page.locator("article.body")).to_contain_text("A new claim")
    page.screenshot(path=str(artifacts / "section-after-save.png"), full_page=True)
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Text (Markdown")).to_contain_text("A new claim")
    expect(page.get_by_text("You have an unsaved draft")).to_be_hidden()  # saved
    context.close()


def test_leaving_asks_first_and_a_draft_survives_a_closed_tab(
    browser, live_server, section
):
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    open_editor(page, live_server, section)
    page.get_by_label("Text (Markdown").fill("Words typed before the tab closed.")
    asked = []
    page.on("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)  # the browser asks; "stay" is answered
    expect(page.get_by_label("Text (Markdown")).to_have_value(
        "Words typed before the tab closed."
    )
    assert asked == ["beforeunload"]
    page.close()  # no save, no question this time: the tab is simply gone

    page = context.new_page()
    open_editor(page, live_server, section)
    expect(page.get_by_text("You have an unsaved draft")).to_be_visible()
    page.get_by_role("button", name="Restore it").click()
    expect(page.get_by_label("Text (Markdown")).to_have_value(
        "Words typed before the tab closed."
    )
    context.close()


def test_two_people_edit_the_same_paragraph_and_the_second_reconciles(
    browser, live_server, section, artifacts
):
    _, first_context, first = sign_in(browser, live_server, "carol@example.org")
    _, second_context, second = sign_in(browser, live_server, "dave@example.org")
    open_editor(first, live_server, section)
    open_editor(second, live_server, section)

    first.get_by_label("Text (Markdown").fill(BODY.replace("Second", "Carol's second"))
    first.get_by_role("button", name="Save").click()
    expect(first.locator(".message")).to_have_text("Saved.")

    mine = BODY.replace("Second", "Dave's second")
    second.get_by_label("Text (Markdown").fill(mine)
    second.get_by_role("button", name="Save").click()
    expect(
        second.get_by_role("heading", name=re.compile("Someone saved this section"))
    ).to_be_visible()
    expect(second.get_by_label("Text (Markdown")).to_have_value(mine)
    expect(second.locator(".conflict ins")).to_contain_text(["Carol's"])
    second.screenshot(path=str(artifacts / "edit-conflict.png"), full_page=True)

    second.get_by_label("Text (Markdown").fill(
        BODY.replace("Second", "Carol's and Dave's second")
    )
    second.get_by_role("button", name="Save").click()
    expect(second.locator("article.body")).to_contain_text("Carol's and Dave's second")
    first_context.close()
    second_context.close()

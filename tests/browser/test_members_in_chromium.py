"""Members in a real browser: a maintainer invites, the invitee signs in from the
emailed link, accepts and edits; an outsider is refused."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from sections.models import Manuscript, Role
from tests.browser.conftest import sign_in
from tests.factories import PASSWORD, make_manuscript, make_section, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 1280)


@pytest.fixture
def review(db) -> Manuscript:
    manuscript = make_manuscript("Browser review")
    make_section(manuscript, "Intro", body="The first words.")
    return manuscript


def test_an_invited_author_joins_from_the_email_and_edits(
    browser, live_server, review, artifacts
):
    _, maya, page = sign_in(
        browser, live_server, "maya@example.org", role=Role.MAINTAINER
    )
    members_page = f"{live_server.url}/members/of/{review.slug}/"
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Members").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    page.get_by_label("Email").fill("ivan@example.org")
    page.get_by_label("Role", exact=True).select_option("author")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_text("Invited ivan@example.org as Author")).to_be_visible()
    expect(
        page.get_by_role("button", name="Withdraw the invitation to ivan@example.org")
    ).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"members-{width}.png", full_page=True)
    page.goto(f"{live_server.url}/settings/of/{review.slug}/")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=artifacts / f"settings-{width}.png", full_page=True)

    (email,) = [m for m in mail.outbox if m.to == ["ivan@example.org"]]
    link = re.search(r"/invitations/[\w-]+/", email.body).group()

    # Ivan has an account but is not signed in: the link asks him to sign in first
    # and brings him back.
    make_user("ivan@example.org", role=None)
    ivan = browser.new_context()
    invitee = ivan.new_page()
    for width in WIDTHS:
        invitee.set_viewport_size({"width": width, "height": 900})
        invitee.goto(f"{live_server.url}{link}")
        expect(
            invitee.get_by_role("heading", name="Join Browser review")
        ).to_be_visible()
        invitee.screenshot(path=artifacts / f"invitation-{width}.png", full_page=True)
    invitee.get_by_role("link", name="Sign in to accept").click()
    invitee.get_by_label("Email").fill("ivan@example.org")
    invitee.get_by_label("Password").fill(PASSWORD)
    invitee.get_by_role("button", name="Sign in").click()
    invitee.get_by_role("button", name="Accept the invitation").click()
    expect(
        invitee.get_by_text("Welcome to Browser review: you are author.")
    ).to_be_visible()

    invitee.goto(f"{live_server.url}/m/{review.slug}/intro/")
    invitee.get_by_role("link", name="Edit").click()
    invitee.get_by_label("Text (Markdown").fill("Words by the new author.")
    invitee.get_by_role("button", name="Save").click()
    expect(invitee.locator(".message")).to_have_text("Saved.")
    expect(invitee.locator("article.body")).to_contain_text("Words by the new author.")

    # The link is used up: whoever it was passed to gets nowhere.
    _, olga, outsider = sign_in(browser, live_server, "olga@example.org", role=None)
    outsider.goto(f"{live_server.url}{link}")
    expect(
        outsider.get_by_text("This invitation has been used already.")
    ).to_be_visible()
    outsider.goto(f"{live_server.url}/m/{review.slug}/intro/")
    expect(outsider.get_by_role("heading", name="You may not do this")).to_be_visible()
    outsider.get_by_role("link", name="The manuscript’s members").click()
    outsider.get_by_label("A word to the maintainers").fill("I review folding.")
    outsider.get_by_role("button", name="Ask to join").click()
    expect(outsider.get_by_text("You asked to join")).to_be_visible()
    outsider.set_viewport_size({"width": 390, "height": 900})
    outsider.screenshot(path=artifacts / "members-outsider-390.png", full_page=True)

    # The maintainer lets her in as a reader: she reads, but has no editor.
    page.goto(members_page)
    expect(page.get_by_text("I review folding.")).to_be_visible()
    page.get_by_label("Role", exact=True).first.select_option("reader")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_text("Approved olga@example.org's request.")).to_be_visible()
    outsider.goto(f"{live_server.url}/m/{review.slug}/intro/")
    expect(outsider.locator("article.body")).to_contain_text("Words by the new author.")
    expect(outsider.get_by_role("link", name="Edit")).to_have_count(0)

    # Made private, the manuscript is not there at all for anyone else.
    page.goto(f"{live_server.url}/settings/of/{review.slug}/")
    page.get_by_label("Private").check()
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_text("Saved the settings.")).to_be_visible()
    _, pat, stranger = sign_in(browser, live_server, "pat@example.org", role=None)
    response = stranger.goto(f"{live_server.url}/m/{review.slug}/intro/")
    assert response.status == 404
    response = stranger.goto(f"{live_server.url}/members/of/{review.slug}/")
    assert response.status == 404
    for context in (maya, ivan, olga, pat):
        context.close()

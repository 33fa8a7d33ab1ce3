"""A maintainer sets the author list and publishes a version; after an edit of the
draft, a reader still gets the version's text and byline, and sees what changed."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from sections import importing, permissions, revisions
from sections.models import Contributor
from tests.browser.conftest import sign_in
from tests.conftest import SEED
from tests.factories import preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_published_version_keeps_its_text_and_byline_after_the_draft_moves_on(
    browser, live_server, artifacts
):
    seed = importing.import_path(SEED, format="text").manuscript
    Contributor.objects.create(display_name="Casey Greene")
    maya, context, page = sign_in(browser, live_server, "maya@example.org")
    permissions.make_maintainer(maya)

    page.goto(f"{live_server.url}{reverse('sections:author-list', args=[seed.slug])}")
    page.get_by_label("Place of Casey Greene").fill("1")
    page.get_by_label("ORCID iD of Casey Greene").fill("0000-0001-8713-9213")
    page.get_by_label("Affiliations of Casey Greene").fill("University of Pennsylvania")
    page.get_by_label("Place of maya").fill("2")
    page.get_by_role("button", name="Save the author list").click()
    expect(page.locator(".message").first).to_contain_text("2 authors")
    expect(page.locator(".byline .authors")).to_have_text(
        "Casey Greene1 iD, maya", use_inner_text=True
    )
    page.screenshot(path=str(artifacts / "author-list.png"))

    page.goto(f"{live_server.url}{reverse('sections:releases', args=[seed.slug])}")
    page.get_by_label("Name, such as v1.0").fill("v1.0")
    page.get_by_label("Note (optional)").fill("First public draft")
    page.get_by_role(
        "button", name="Publish the public preview as this version"
    ).click()
    expect(page.locator(".message").first).to_contain_text("Published v1.0")

    section = seed.sections.get(title="Electronic health records")
    revisions.save_edit(
        section,
        body=section.body.replace("Faraggi", "Zanzibarian"),
        by=maya,
        summary="Renamed for the test",
        overwrite=True,
    )

    reader = browser.new_context()
    public = reader.new_page()
    public.goto(f"{live_server.url}{preview_url(seed)}")
    expect(public.locator(".byline")).to_contain_text("Casey Greene")
    expect(public.locator("#main")).to_contain_text("Zanzibarian")
    public.get_by_role("link", name="v1.0").click()
    expect(public).to_have_url(f"{live_server.url}/v/{seed.slug}/v1.0/")
    expect(public.locator("h1")).to_have_text(seed.title)
    expect(public.locator(".byline .affiliations")).to_have_text(
        "University of Pennsylvania"
    )
    expect(public.locator("#main")).to_contain_text("Faraggi")
    expect(public.locator("#main")).not_to_contain_text("Zanzibarian")
    expect(public.locator("#references li").first).to_be_visible()
    public.screenshot(path=str(artifacts / "release-v1.0.png"))

    # The draft is unpublished text: a contributor compares it with the version.
    page.goto(f"{live_server.url}/v/{seed.slug}/v1.0/compare/")
    page.get_by_label("Compare v1.0 with").select_option(value="draft")
    page.get_by_role("button", name="Compare").click()
    change = page.locator(f"#change-{section.slug}")
    expect(change.locator("del").first).to_have_text("Faraggi")
    expect(change.locator("ins").first).to_have_text("Zanzibarian")
    reader.close()
    context.close()

"""Who wrote what, and what changed since I looked, in Chromium: Ann reads a section,
Bo adds a sentence in his own browser, and Ann's outline, section page and the
authorship view tell her who wrote what."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sections import revisions
from tests.browser.conftest import sign_in
from tests.factories import make_manuscript, make_section

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 900}
ANN = (
    "Convolutional networks read protein sequences well.\n\n"
    "They still need curated training sets.\n"
)
BO = "Bo found that attention models transfer across species."


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_outline_marks_others_changes_and_the_toggle_shows_who_wrote_what(
    browser, live_server, artifacts
):
    ann, ann_context, ann_page = sign_in(browser, live_server, "ann@example.org")
    _, bo_context, bo_page = sign_in(browser, live_server, "bo@example.org")
    section = make_section(make_manuscript("Attribution review"), "Intro", body="")
    revisions.save_edit(section, body=ANN, by=ann, overwrite=True)
    ann_page.set_viewport_size(DESKTOP)
    ann_page.goto(f"{live_server.url}{section.get_absolute_url()}")
    expect(ann_page.get_by_role("heading", name="Intro")).to_be_visible()
    expect(ann_page.get_by_text("Changed since you looked")).to_have_count(0)

    bo_page.goto(f"{live_server.url}{section.get_absolute_url()}")
    bo_page.get_by_role("link", name="Edit").click()
    text = bo_page.get_by_label("Text (Markdown")
    text.fill(ANN.replace("well.", f"well. {BO}"))
    bo_page.get_by_role("button", name="Save").click()
    expect(bo_page.locator(".message")).to_have_text("Saved.")

    ann_page.goto(live_server.url)
    row = ann_page.locator("tr", has=ann_page.get_by_role("link", name="Intro"))
    expect(row).to_contain_text("changed since you looked: 1 edit by bo")
    ann_page.screenshot(path=artifacts / "outline-changed-1280.png", full_page=True)

    ann_page.get_by_role("link", name="Intro").click()
    changes = ann_page.locator("#since-you-looked")
    expect(changes).to_contain_text("1 edit by bo since the revision you saw")
    expect(changes.locator(".since-diff ins")).to_have_text([BO])
    expect(changes.locator(".since-diff ins")).to_have_attribute("title", "Added by bo")
    ann_page.screenshot(path=artifacts / "section-since-you-looked-1280.png")
    ann_page.set_viewport_size(PHONE)
    ann_page.screenshot(path=artifacts / "section-since-you-looked-390.png")
    assert fits_the_screen(ann_page)
    ann_page.set_viewport_size(DESKTOP)

    ann_page.get_by_role("link", name="Who wrote what").click()
    expect(ann_page.get_by_role("heading", name="Who wrote “Intro”")).to_be_visible()
    legend = ann_page.locator(".authorship-legend li")
    expect(legend).to_have_text(["ann — 12 words (60%)", "bo — 8 words (40%)"])
    by_bo = ann_page.locator("#authorship-text a.passage[data-author=bo]")
    expect(by_bo).to_have_text([BO])
    expect(by_bo).to_have_attribute(
        "title", re.compile(r"^bo, \d{4}-\d\d-\d\d \d\d:\d\d$")
    )
    ann_page.screenshot(path=artifacts / "authorship-1280.png", full_page=True)
    ann_page.set_viewport_size(PHONE)
    ann_page.screenshot(path=artifacts / "authorship-390.png", full_page=True)
    assert fits_the_screen(ann_page)
    ann_page.set_viewport_size(DESKTOP)

    # A passage leads to the revision that wrote it.
    by_bo.click()
    expect(ann_page.locator(".diff ins")).to_contain_text([BO.rstrip(".")])

    ann_page.goto(f"{live_server.url}{section.get_absolute_url()}")
    ann_page.get_by_role("button", name="Mark as seen").click()
    expect(ann_page.locator("#since-you-looked")).to_have_count(0)
    ann_page.reload()
    expect(ann_page.get_by_text("Changed since you looked")).to_have_count(0)
    ann_context.close()
    bo_context.close()

"""A maintainer triages the seed's TODO items on the board, in Chromium."""

from __future__ import annotations

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from sections import importing, permissions
from sections.models import TodoItem
from tests.browser.conftest import sign_in
from tests.conftest import SEED

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_maintainer_assigns_and_closes_the_seeds_missing_citations(
    browser, live_server, artifacts
):
    seed = importing.import_path(SEED, format="text").manuscript
    maya, context, page = sign_in(browser, live_server, "maya@example.org")
    permissions.make_maintainer(maya)
    missing = TodoItem.objects.filter(
        section__manuscript=seed, kind=TodoItem.Kind.MISSING_CITATION
    )
    page.goto(f"{live_server.url}{reverse('sections:todo-board', args=[seed.slug])}")

    page.get_by_label("Kind").select_option(label="Missing citation")
    rows = page.locator("#todo-list tbody tr")
    expect(rows).to_have_count(missing.count())
    expect(rows.first).to_contain_text("Missing citation")

    first_two = page.locator("#todo-list input[name=items]")
    first_two.nth(0).check()
    first_two.nth(1).check()
    page.get_by_label("With the ticked items").select_option(label="Assign to")
    page.locator("#bulk_assignee").select_option(label="maya")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".message").first).to_be_visible()

    page.locator("#id_assignee").select_option(label="Me")  # the filter
    expect(rows).to_have_count(2)
    page.locator("#todo-list input[name=items]").nth(0).check()
    page.get_by_label("With the ticked items").select_option(label="Close as done")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".message").first).to_be_visible()
    page.screenshot(path=str(artifacts / "todo-board-triaged.png"), full_page=True)

    assert missing.filter(assignee__user=maya).count() == 2
    closed = missing.get(status=TodoItem.Status.DONE)
    assert closed.closed_by.user == maya
    assert missing.filter(status=TodoItem.Status.OPEN).count() == missing.count() - 1
    context.close()

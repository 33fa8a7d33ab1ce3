"""Signing up in a real browser: a name and an @handle, refused when taken, and the
private feed address on My work afterwards."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from sections.models import Contributor
from tests.browser.conftest import sign_in
from tests.factories import make_manuscript

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = {"phone": 390, "desktop": 1280}


def test_signing_up_asks_for_a_name_and_a_free_handle(
    browser, live_server, maintainer, artifacts
):
    Contributor.objects.filter(user=maintainer).update(handle="maya")
    for device, width in WIDTHS.items():
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.goto(f"{live_server.url}/accounts/signup/")
        page.get_by_label("Your name, as bylines print it").fill("Erin Example")
        page.get_by_label("Handle").fill("maya")
        page.get_by_label("Email").fill(f"erin-{device}@example.org")
        page.locator("#id_password1").fill("a-long-passphrase-1")
        page.locator("#id_password2").fill("a-long-passphrase-1")
        page.get_by_role("button", name="Sign up").click()

        expect(
            page.get_by_text("@maya is taken; choose another handle.")
        ).to_be_visible()
        expect(page.get_by_label("Your name, as bylines print it")).to_have_value(
            "Erin Example"
        )
        page.screenshot(
            path=artifacts / f"sign-up-handle-taken-{width}.png", full_page=True
        )
        page.get_by_label("Handle").fill(f"erin-{device}")
        page.locator("#id_password1").fill("a-long-passphrase-1")
        page.locator("#id_password2").fill("a-long-passphrase-1")
        page.get_by_role("button", name="Sign up").click()
        expect(
            page.get_by_role("heading", name="Verify Your Email Address")
        ).to_be_visible()
        context.close()
        person = Contributor.objects.get(user__email=f"erin-{device}@example.org")
        assert (person.display_name, person.handle) == (
            "Erin Example",
            f"erin-{device}",
        )
    assert len(mail.outbox) == 2  # one address confirmation each


def test_my_work_shows_the_private_feed_address(browser, live_server, artifacts):
    make_manuscript("A review")
    for width in WIDTHS.values():
        _, context, page = sign_in(browser, live_server, f"feeds{width}@example.org")
        context.set_default_timeout(10_000)
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server.url}/me/")
        address = page.get_by_label("A review")
        expect(address).to_have_value(
            re.compile(r"/activity/of/a-review/atom/\d+-[0-9a-f]{64}/$")
        )
        page.locator("#my-feeds").scroll_into_view_if_needed()
        page.screenshot(path=artifacts / f"my-work-feeds-{width}.png", full_page=True)
        before = address.input_value()
        page.get_by_role("button", name="Reset my feed addresses").click()
        expect(page.get_by_text("the old ones no longer work")).to_be_visible()
        expect(page.get_by_label("A review")).not_to_have_value(before)
        context.close()

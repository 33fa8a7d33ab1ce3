"""Suggest mode with three people in Chromium: a contributor proposes from the
editor, a reviewer approves (saying what kind of review) and then saves the same
section, the claimant accepts one change and leaves out the other; the merged text
and the credit are right. Then a stale change meets the conflict page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from sections import claims, proposals, revisions
from sections.models import Proposal, ProposalReview, Role
from tests.browser.conftest import sign_in
from tests.factories import make_manuscript, make_section, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BODY = (
    "Deep learning **changed** protein structure prediction [@doi:10.1/known].\n\n"
    "Contact maps remain the hard part.\n\n"
    "Benchmarks are few.\n"
)
WIDTHS = [390, 1280]


@pytest.fixture
def section(db):
    author = make_user("maya@example.org")
    section = make_section(make_manuscript("Browser review"), "Intro", body="")
    revisions.save_edit(section, body=BODY, by=author, overwrite=True)
    section.refresh_from_db()
    return section


def propose_from_editor(page, live_server, section, body: str, summary: str):
    page.goto(f"{live_server.url}{section.get_absolute_url()}")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Text (Markdown").fill(body)
    page.get_by_label("Summary of your edit").fill(summary)
    page.get_by_role("button", name="Propose instead of saving").click()
    expect(page.locator(".message")).to_contain_text("Proposed.")


def save_from_editor(page, live_server, section, body: str) -> None:
    page.goto(f"{live_server.url}{section.get_absolute_url()}")
    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Text (Markdown").fill(body)
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".message")).to_have_text(re.compile("Saved"))


def shoot(page, artifacts, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(artifacts / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_propose_review_and_accept_one_change_while_someone_saves_meanwhile(
    browser, live_server, section, artifacts
):
    _, proposer_context, proposer = sign_in(browser, live_server, "carol@example.org")
    _, reviewer_context, reviewer = sign_in(browser, live_server, "dave@example.org")
    cleo, claimant_context, claimant = sign_in(browser, live_server, "cleo@example.org")
    claims.claim(section, by=cleo)

    proposed = BODY.replace("Deep learning", "Since 2012, deep learning").replace(
        "Benchmarks are few.", "Benchmarks are <em>few</em>, and old."
    )
    propose_from_editor(proposer, live_server, section, proposed, "Date the change")
    proposal_url = proposer.url
    hunks = proposer.locator("article.hunk")
    expect(hunks).to_have_count(2)
    expect(hunks.first.locator(".hunk-after strong")).to_have_text("changed")
    expect(hunks.first.locator(".hunk-markdown ins")).to_have_text("Since 2012, deep")

    proposer.goto(f"{live_server.url}/me/")
    expect(proposer.locator("section[aria-labelledby=my-proposals]")).to_contain_text(
        "Date the change"
    )
    shoot(proposer, artifacts, "my-work-proposals")
    reviewer.goto(f"{live_server.url}/")
    expect(reviewer.get_by_role("link", name="1 proposal")).to_be_visible()
    shoot(reviewer, artifacts, "outline-proposals")
    reviewer.goto(f"{live_server.url}/me/")
    reviews = reviewer.locator("section[aria-labelledby=my-reviews]")
    reviews.get_by_role("link", name="Intro").click()
    expect(reviewer).to_have_url(proposal_url)
    reviewer.get_by_label("Approve").check()
    reviewer.get_by_label("Read the cited literature").check()
    reviewer.get_by_label("Your review").fill("The 2012 date matches the paper.")
    reviewer.get_by_role("button", name="Send the review").click()
    expect(reviewer.locator(".message")).to_have_text("Your review is recorded.")
    reviewer.locator("#hunk-1 summary", has_text="Comment on this change").click()
    reviewer.get_by_label("Comment on change 2").fill("Which benchmarks?")
    reviewer.locator("#hunk-1").get_by_role("button", name="Comment").click()
    expect(reviewer.locator("#hunk-1 .comment-body")).to_have_text("Which benchmarks?")
    # The reviewer saves the middle paragraph while the proposal waits.
    save_from_editor(
        reviewer, live_server, section, BODY.replace("hard part", "hardest part")
    )

    claimant.goto(proposal_url)
    expect(claimant.locator(".proposal-decision")).to_contain_text(
        "Approvals: 1 of the 1 needed"
    )
    shoot(claimant, artifacts, "proposal-page")
    claimant.get_by_label("Accept change 1").check()
    claimant.get_by_role("button", name="Accept the ticked changes").click()
    expect(claimant.locator(".message")).to_contain_text("credited to carol")
    expect(claimant.locator("h1 .badge")).to_have_text("Partly accepted")

    proposer.goto(f"{live_server.url}{section.get_absolute_url()}")
    text = proposer.locator("article.body")
    expect(text).to_contain_text("Since 2012, deep learning changed")
    expect(text).to_contain_text("Contact maps remain the hardest part.")
    expect(text).to_contain_text("Benchmarks are few.")
    expect(
        proposer.locator(".history, section[aria-labelledby=history-heading]")
    ).to_contain_text("carol")
    proposer.goto(f"{live_server.url}/proposals/of/{section.manuscript.slug}/")
    expect(proposer.locator("table.proposals-list tbody tr")).to_have_count(1)
    shoot(proposer, artifacts, "proposals-list")
    for context in (proposer_context, reviewer_context, claimant_context):
        context.close()


def test_a_change_that_no_longer_applies_is_resolved_on_the_conflict_page(
    browser, live_server, section, artifacts
):
    _, proposer_context, proposer = sign_in(browser, live_server, "carol@example.org")
    cleo, claimant_context, claimant = sign_in(browser, live_server, "cleo@example.org")
    claims.claim(section, by=cleo)

    proposed = BODY.replace("Benchmarks are few.", "Benchmarks are scarce.")
    propose_from_editor(proposer, live_server, section, proposed, "Word choice")
    proposal_url = proposer.url
    # The one approval the manuscript asks for (reviewing in the browser is the
    # other test's), from a reviewer.
    proposals.review(
        Proposal.objects.get(),
        by=make_user("rita@example.org", role=Role.REVIEWER),
        verdict=ProposalReview.Verdict.APPROVE,
        kind=ProposalReview.Kind.IDEA,
    )
    save_from_editor(
        claimant, live_server, section, BODY.replace("are few", "are very few")
    )

    claimant.goto(proposal_url)
    claimant.get_by_role("button", name="Accept all").click()
    expect(
        claimant.get_by_role("heading", name=re.compile("no longer applies"))
    ).to_be_visible()
    shoot(claimant, artifacts, "proposal-conflict")
    text = claimant.get_by_label("Text (Markdown)")
    expect(text).to_have_value(proposed)
    text.fill(BODY.replace("Benchmarks are few.", "Benchmarks are very scarce."))
    claimant.get_by_role("button", name="Save and accept").click()
    expect(claimant.locator("h1 .badge")).to_have_text("Accepted")
    claimant.goto(f"{live_server.url}{section.get_absolute_url()}")
    expect(claimant.locator("article.body")).to_contain_text("very scarce")
    for context in (proposer_context, claimant_context):
        context.close()

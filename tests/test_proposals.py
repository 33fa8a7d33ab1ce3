"""Suggest mode through HTTP: a change proposed from the editor, reviewed, then
accepted hunk by hunk (merged with saves made meanwhile, conflicts resolved, never
dropped) or rejected with a reason; who may do each."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from sections import claims, revisions
from sections.models import Activity, Proposal
from tests.factories import make_manuscript, make_section, make_user

PARAGRAPHS = "First paragraph.\n\nSecond paragraph.\n\nThird paragraph.\n"


@pytest.fixture
def section(db, maintainer):
    section = make_section(make_manuscript("Suggest review"), "Intro", body="")
    revisions.save_edit(section, body=PARAGRAPHS, by=maintainer, overwrite=True)
    section.refresh_from_db()
    return section


@pytest.fixture
def claimant(section):
    user = make_user("cleo@example.org")
    claims.claim(section, by=user)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def url(section, name: str) -> str:
    return reverse(f"sections:{name}", args=[section.manuscript.slug, section.slug])


def action(proposal: Proposal, name: str) -> str:
    return reverse(f"sections:proposal-{name}", args=[proposal.pk])


def open_editor(client: Client, section) -> dict:
    form = client.get(url(section, "section-edit")).context["form"]
    return {name: form.initial.get(name) or "" for name in ["title", "body", "base"]}


def propose(client: Client, section, body: str, **fields) -> Proposal:
    """Open the editor, change the text, press "Propose instead of saving"."""
    data = {**open_editor(client, section), "body": body, "propose": "1", **fields}
    response = client.post(url(section, "section-propose"), data)
    assert response.status_code == 302, response.content
    proposal = Proposal.objects.latest("created_at")
    assert response.url == proposal.get_absolute_url()
    return proposal


def edit(client: Client, section, body: str) -> None:
    data = {**open_editor(client, section), "body": body}
    assert client.post(url(section, "section-edit"), data).status_code == 302


def approve(client: Client, proposal: Proposal, kind: str = "literature") -> None:
    data = {"verdict": "approve", "kind": kind, "body": "Checked."}
    assert client.post(action(proposal, "review"), data).status_code == 302


def test_accepting_one_hunk_merges_it_with_a_save_made_meanwhile_and_credits_the_proposer(
    contributor,
    contributor_client,
    other_contributor,
    maintainer_client,
    claimant,
    section,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        proposal = propose(
            contributor_client,
            section,
            PARAGRAPHS.replace("First", "Better first").replace("Third", "Worse third"),
            summary="Sharpen the intro",
        )
    assert mail.outbox[-1].to == ["cleo@example.org"]  # the claimant is told
    page = contributor_client.get(proposal.get_absolute_url())
    hunks = page.context["page"].hunks
    assert [(h.hunk.base_text, h.hunk.proposed_text) for h in hunks] == [
        ("First paragraph.\n", "Better first paragraph.\n"),
        ("Third paragraph.\n", "Worse third paragraph.\n"),
    ]
    assert "<del>First</del><ins>Better first</ins>" in page.text  # Markdown
    approve(client_for(other_contributor), proposal)
    # Meanwhile a maintainer saves the paragraph between the two.
    edit(maintainer_client, section, PARAGRAPHS.replace("Second", "Their second"))

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(claimant).post(
            action(proposal, "accept"), {"hunks": ["0"], "selected": "1"}, follow=True
        )

    assert "credited to carol" in response.text
    section.refresh_from_db()
    assert section.body == (
        "Better first paragraph.\n\nTheir second paragraph.\n\nThird paragraph.\n"
    )
    latest = section.revisions.order_by("-created_at", "-id").first()
    assert latest.author.user == contributor
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.PARTLY_ACCEPTED
    assert proposal.accepted_hunks == [0]
    assert proposal.decided_by.user == claimant
    assert proposal.resulting_revision == latest
    assert "accepted by cleo" in latest.summary
    assert Activity.objects.filter(
        kind=Activity.Kind.PROPOSAL, summary__contains="cleo accepted carol's"
    ).exists()
    assert mail.outbox[-1].to == ["carol@example.org"]
    assert "partly accepted" in mail.outbox[-1].subject
    rows = contributor_client.get(
        reverse("sections:contributions", args=[section.manuscript.slug])
    ).context["rows"]
    counted = {
        str(row.contributor): (row.proposals, row.proposals_accepted, row.reviews)
        for row in rows
    }
    assert counted["carol"] == (1, 1, 0)
    assert counted["dave"] == (0, 0, 1)


def test_a_hunk_that_no_longer_applies_is_a_conflict_the_decider_resolves(
    contributor, contributor_client, maintainer_client, claimant, section
):
    proposal = propose(
        contributor_client, section, PARAGRAPHS.replace("First", "Proposed first")
    )
    approve(maintainer_client, proposal)
    edit(maintainer_client, section, PARAGRAPHS.replace("First", "Edited first"))
    decider = client_for(claimant)

    response = decider.post(action(proposal, "accept"), {"all": "1"})

    assert response.status_code == 409
    form = response.context["form"]
    assert form.initial["body"] == PARAGRAPHS.replace("First", "Proposed first")
    assert "Edited first" in response.text  # what was saved meanwhile, to copy from
    section.refresh_from_db()
    assert section.body.startswith("Edited first")  # nothing saved yet
    assert Proposal.objects.get().is_open

    reconciled = PARAGRAPHS.replace("First", "Proposed and edited first")
    fields = {
        "title": form.initial["title"],
        "body": reconciled,
        "base": form.initial["base"],
        "hunks": form.initial["hunks"],
    }
    response = decider.post(action(proposal, "resolve"), fields)

    assert response.status_code == 302
    section.refresh_from_db()
    assert section.body == reconciled
    latest = section.revisions.order_by("-created_at", "-id").first()
    assert latest.author.user == contributor
    assert Proposal.objects.get().status == Proposal.Status.ACCEPTED


def test_rejecting_needs_a_reason_which_the_proposer_is_told(
    contributor_client, claimant, section, django_capture_on_commit_callbacks
):
    proposal = propose(contributor_client, section, PARAGRAPHS + "\nMore.\n")
    decider = client_for(claimant)

    response = decider.post(action(proposal, "reject"), {"reason": "  "})
    assert response.status_code == 422
    assert "Say why you reject" in response.text
    assert Proposal.objects.get().is_open

    with django_capture_on_commit_callbacks(execute=True):
        response = decider.post(
            action(proposal, "reject"), {"reason": "Out of scope here."}
        )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == Proposal.Status.REJECTED
    assert proposal.rejection_reason == "Out of scope here."
    assert "Out of scope here." in mail.outbox[-1].body
    assert "Out of scope here." in decider.get(proposal.get_absolute_url()).text
    section.refresh_from_db()
    assert section.body == PARAGRAPHS
    # Decided is decided: a late accept changes nothing.
    response = decider.post(action(proposal, "accept"), {"all": "1"}, follow=True)
    assert "rejected already" in response.text
    assert section.revisions.count() == 1


def test_acceptance_waits_for_approvals_and_a_maintainer_decides_a_disputed_one(
    contributor_client, other_contributor, maintainer_client, claimant, section
):
    section.manuscript.approvals_required = 2
    section.manuscript.save()
    proposal = propose(contributor_client, section, PARAGRAPHS + "\nMore.\n")
    decider = client_for(claimant)
    approve(client_for(other_contributor), proposal)

    response = decider.post(action(proposal, "accept"), {"all": "1"}, follow=True)
    assert "needs 2 approving reviews" in response.text
    data = {"verdict": "request_changes", "kind": "detailed", "body": "No."}
    assert maintainer_client.post(action(proposal, "review"), data).status_code == 302
    response = decider.post(
        action(proposal, "accept"), {"all": "1", "overrule": "1"}, follow=True
    )
    assert "a maintainer decides" in response.text
    assert Proposal.objects.get().is_open

    response = maintainer_client.post(
        action(proposal, "accept"), {"all": "1", "overrule": "1"}
    )
    assert response.status_code == 302
    assert Proposal.objects.get().status == Proposal.Status.ACCEPTED
    section.refresh_from_db()
    assert section.body == PARAGRAPHS + "\nMore.\n"


def test_outsiders_and_the_wrong_people_are_refused(
    client, contributor_client, other_contributor, claimant, section
):
    proposal = propose(contributor_client, section, PARAGRAPHS + "\nMore.\n")
    someone = client_for(other_contributor)

    # Signed out: sent to sign in, for the page and every action alike.
    assert client.get(proposal.get_absolute_url()).status_code == 302
    response = client.post(action(proposal, "accept"), {"all": "1"})
    assert response.status_code == 302
    assert "/accounts/login/" in response.url
    # Not a claimant nor a maintainer: may read and review, not decide.
    assert someone.get(proposal.get_absolute_url()).status_code == 200
    assert someone.post(action(proposal, "accept"), {"all": "1"}).status_code == 403
    assert someone.post(action(proposal, "reject"), {"reason": "x"}).status_code == 403
    assert someone.post(action(proposal, "withdraw")).status_code == 403
    # The proposer's own approval would count for nothing.
    data = {"verdict": "approve", "kind": "idea"}
    assert contributor_client.post(action(proposal, "review"), data).status_code == 403
    # A proposal that does not exist, and GET on an action.
    missing = reverse("sections:proposal", args=[proposal.pk + 100])
    assert someone.get(missing).status_code == 404
    assert client_for(claimant).get(action(proposal, "accept")).status_code == 405
    assert Proposal.objects.get().is_open


def test_proposing_the_unchanged_text_keeps_the_editor_with_a_reason(
    contributor_client, section
):
    data = {**open_editor(contributor_client, section), "propose": "1"}
    response = contributor_client.post(url(section, "section-propose"), data)
    assert response.status_code == 422
    assert "nothing to propose" in response.text
    assert response.context["form"]["body"].value() == PARAGRAPHS

    data = {**data, "body": PARAGRAPHS + "\nNew.\n", "base": ""}
    response = contributor_client.post(url(section, "section-propose"), data)
    assert response.status_code == 422  # no base: nothing lost, nothing proposed
    assert response.context["form"]["body"].value() == PARAGRAPHS + "\nNew.\n"
    assert not Proposal.objects.exists()


def test_hunks_show_rendered_and_sanitised_with_comments_and_lists_and_my_work(
    contributor_client,
    other_contributor,
    section,
    django_assert_max_num_queries,
):
    body = PARAGRAPHS.replace(
        "Second paragraph.", "A **bold** claim<script>alert(1)</script>."
    )
    proposal = propose(contributor_client, section, body, summary="Bold")
    reviewer = client_for(other_contributor)
    comment = {"hunk": "0", "body": "Which <b>claim</b>?"}
    assert reviewer.post(action(proposal, "comment"), comment).status_code == 302
    swapped = reviewer.post(
        action(proposal, "comment"),
        {"hunk": "0", "body": "And a second."},
        headers={"HX-Request": "true"},
    )
    assert swapped.status_code == 200
    assert "<html" not in swapped.text  # the hunk's comments alone, for htmx
    assert "Which &lt;b&gt;claim&lt;/b&gt;?" in swapped.text
    assert "And a second." in swapped.text
    bad = {"hunk": "7", "body": "Nowhere"}
    assert (
        reviewer.post(action(proposal, "comment"), bad, follow=True).status_code == 200
    )

    with django_assert_max_num_queries(14):
        page = reviewer.get(proposal.get_absolute_url())

    html = page.text
    assert "<strong>bold</strong>" in html  # rendered
    assert "<script>alert(1)" not in html  # sanitised, also in the Markdown view
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Which &lt;b&gt;claim&lt;/b&gt;?" in html
    assert "Nowhere" not in html
    listed = reviewer.get(reverse("sections:proposals", args=[section.manuscript.slug]))
    assert proposal.get_absolute_url() in listed.text
    listed = reviewer.get(url(section, "section-proposals") + "?status=rejected")
    assert proposal.get_absolute_url() not in listed.text
    work = reviewer.get(reverse("sections:my-work")).context["work"]
    assert work.proposals_to_review == [proposal]
    mine = contributor_client.get(reverse("sections:my-work")).context["work"]
    assert mine.my_open_proposals == [proposal]
    assert mine.proposals_to_review == []
    outline = reviewer.get(reverse("sections:home"))
    assert "1 proposal</a>" in outline.text

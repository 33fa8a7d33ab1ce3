"""Every URL of the app, as each role, in a public and in a private manuscript: the
anonymous public, a signed-in outsider (no membership), a reader, a reviewer, an
author and a maintainer. What a role may not do is refused on the server, whatever
the page shows: a 403, or a 404 where the manuscript is private (as if missing)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import URLPattern, reverse

from sections import (
    claims,
    comments,
    contributors,
    figures,
    images,
    members,
    proposals,
    releases,
)
from sections import urls as section_urls
from sections.models import Claim, Manuscript, Membership, Role
from tests.factories import make_user, png

PUBLIC = {
    "home",
    "healthz",
    "preview",
    "release",
    "release-compare",
    "public-search",
    "media-proxy",  # its signed token is the permission (sections/images.py)
    "figure",  # the public manuscript's figures, which its public pages show
    # Read with the token in the address, whoever holds it (a feed reader has no
    # session).
    "activity-atom-private",
    "invitation",  # the emailed link: it says to sign in first
}
# A private manuscript has no public pages: to everyone they are missing.
PUBLIC_PAGES_OF_THE_MANUSCRIPT = {
    "preview",
    "release",
    "release-compare",
    "public-search",
    "figure",
}
# Public addresses from before each manuscript had its own: a permanent redirect to
# the first manuscript's, for everyone.
OLD_ADDRESSES = {
    "old-preview",
    "old-public-search",
    "old-release",
    "old-release-compare",
}
MAINTAINERS_ONLY = {
    "section-visibility",
    "references-retry-failed",
    "reference-retry",
    "reference-record",
    "reference-alias",
    "section-add",
    "section-rename",
    "section-move",
    "section-indent",
    "section-outdent",
    "section-remove",
    "section-restore",
    "comment-todo",
    "todo-bulk",
    "todo-create",
    "claims-link-decide",
    "release-publish",
    "members-invite",
    "invitation-revoke",
    "join-request-decide",
    "membership-role",
    "membership-remove",
}
# Someone else's claim and comment: theirs to change, or a maintainer's. (Deciding
# a proposal is for claimants and maintainers; the walk's contributor has claimed
# the section by then, so tests/test_proposals.py refuses a non-claimant.)
OWNERS_OR_MAINTAINERS = {"claim-release", "comment-edit", "comment-delete"}
# Someone else's proposal: only its author withdraws it, maintainers included.
AUTHORS_ONLY = {"proposal-withdraw"}
# Deciding a proposal is for the section's claimants and maintainers: the walk's
# author has claimed the section by then ("section-claim" comes first), so it
# needs an author here; tests/test_proposals.py refuses a non-claimant.
READ_ONLY = OLD_ADDRESSES | {
    "home",
    "healthz",
    "preview",
    "section-detail",
    "section-history",
    "section-compare",
    "section-authorship",
    "citation-health",
    "cite-helper",
    "reference-detail",
    "todo-board",
    "activity",
    "activity-atom",
    "activity-atom-private",
    "section-activity",
    "contributions",
    "claims",
    "my-work",
    "search",
    "public-search",
    "release",
    "release-compare",
    "releases",
    "export",
    "media-proxy",
    "figure",
    "figures",
    "members",
    "proposal",
    "proposals",
    "section-proposals",
}
BOTH = {"section-edit"}  # the editor: GET shows it, POST saves
# The invitation: GET shows it, POST accepts it (the walk's last URL, since an
# outsider accepting it joins).
BOTH |= {"invitation"}
# Pages only maintainers see and post: GET shows the form, POST saves it.
MAINTAINER_PAGES = {"author-list", "manuscript-settings"}
# What a role needs beyond reading for a write (the rest need an author's role).
# Reviewers too: starting a thread, replying, resolving, reopening.
DISCUSSING = {"section-comment", "comment-reply", "comment-resolve", "comment-reopen"}
READERS_MAY = {"claim-link"}  # "this is me": anyone who reads the claim
READERS_MAY |= {"section-mark-seen"}  # their own visit to a section they read
# Anyone signed in, member or not: their own account, the invitation they hold.
ANYONE_SIGNED_IN = {"home", "healthz", "my-work", "my-details", "my-feed-reset"}
ANYONE_SIGNED_IN |= {"media-proxy", "activity-atom-private", "invitation"}
RANK = ["outsider", "reader", "reviewer", "author", "maintainer", "nobody"]
# Proposing, reviewing one, commenting on its changes: from reviewers up.
PROPOSING = {"section-propose", "proposal-review", "proposal-comment"}


@pytest.fixture(params=["public", "private"])
def world(request, seed, httpserver, settings, django_capture_on_commit_callbacks):
    """One object of each kind a URL names, none of them the contributor's own, in
    the seed manuscript made public or private."""
    settings.OUTBOUND_ALLOWED_ADDRESSES = [
        "127.0.0.1"
    ]  # the image is served on 127.0.0.1
    httpserver.expect_request("/walk.png").respond_with_data(
        png(), content_type="image/png"
    )
    image = images.proxy_url(httpserver.url_for("/walk.png"))
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    someone = make_user("someone@example.org")
    claim = claims.claim(section, by=someone)
    comment = comments.post(section, by=someone, body="A thought.")
    release = releases.publish(seed, name="v1.0", note="", by=someone)
    figure = figures.add(seed, name="walk.png", data=png(), by=someone)
    with django_capture_on_commit_callbacks(execute=True):
        # One to withdraw, another to accept.
        invitation = members.invite(
            seed, email="withdrawn@example.org", role=Role.AUTHOR, by=someone
        )
        members.invite(seed, email="invited@example.org", role=Role.AUTHOR, by=someone)
    stranger = make_user("stranger@example.org", role=None)
    seed.visibility = request.param
    seed.save(update_fields=["visibility"])
    latest = section.revisions.order_by("-created_at", "-id").first()
    proposal = proposals.propose(
        section,
        title=latest.title,
        body=latest.body + "\nMore.\n",
        base=latest.pk,
        by=someone,
    )
    return {
        "visibility": request.param,
        "manuscript": seed.slug,
        "section": section.slug,
        "revision": section.revisions.first().pk,
        "claim": claim.pk,
        "comment": comment.pk,
        "reference": seed.references.first().pk,
        "name": release.name,
        "format": "markdown",
        "token": contributors.feed_token(contributors.for_user(someone)),
        "signed": image.removeprefix("/media-proxy/").strip("/"),
        "digest": figure.sha256[:16],
        "path": figure.path,
        "invitation": invitation.pk,
        "invitation_token": _token_of_last_invitation(),
        "join": members.ask_to_join(seed, user=stranger).pk,
        "membership": Membership.objects.get(manuscript=seed, user=someone).pk,
        "proposal": proposal.pk,
    }


def _token_of_last_invitation() -> str:
    return mail.outbox[-1].body.split("/invitations/")[1].split("/")[0]


def every_url(world) -> list[tuple[str, str]]:
    found = []
    for pattern in section_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        name = pattern.name
        kwargs = {key: world[key] for key in pattern.pattern.converters if key != "pk"}
        if "pk" in pattern.pattern.converters:
            kind = name.split("-")[0]
            kwargs["pk"] = world[{"references": "reference"}.get(kind, kind)]
        url = reverse(f"sections:{name}", kwargs=kwargs)
        if name == "section-compare":
            url += f"?old={world['revision']}&new={world['revision']}"
        found.append((name, url))
    # Accepting the invitation makes an outsider a member: the walk's last step.
    return sorted(found, key=lambda named: named[0] == "invitation")


def test_the_walk_covers_every_url(world):
    names = {name for name, _ in every_url(world)}
    writes = names - READ_ONLY - BOTH - MAINTAINER_PAGES
    assert MAINTAINERS_ONLY | OWNERS_OR_MAINTAINERS <= writes
    assert len(names) == len(section_urls.urlpatterns)


def test_the_public_reads_only_public_pages(client: Client, world):
    login = reverse("account_login")
    private = world["visibility"] == Manuscript.Visibility.PRIVATE
    for name, url in every_url(world):
        response = client.get(url)
        if private and name in PUBLIC_PAGES_OF_THE_MANUSCRIPT:
            assert response.status_code == 404, name
        elif name in PUBLIC:
            assert response.status_code == 200, name
        elif name in OLD_ADDRESSES:
            # They lead to the site's first public manuscript: here, when it is one.
            assert response.status_code == (404 if private else 301), name
        elif name in READ_ONLY | BOTH | MAINTAINER_PAGES:
            assert response.status_code == 302, name
            assert response.url.startswith(login), name
        else:
            assert response.status_code == 405, name
        if name not in READ_ONLY:
            posted = client.post(url)
            assert posted.status_code == 302, name
            assert posted.url.startswith(login), name


def needs(name: str, method: str, visibility: str) -> str:
    """The least role the URL needs for the method (see RANK)."""
    if name in ANYONE_SIGNED_IN:
        return "outsider"
    if name == "members" and visibility != "private":
        return "outsider"  # where they may ask to join
    if name == "section-edit" and method == "GET":
        return "reviewer"  # who may only propose opens the editor to propose
    if name in AUTHORS_ONLY:
        return "nobody"  # in the walk: the proposal is someone else's
    if name in MAINTAINER_PAGES or name in MAINTAINERS_ONLY | OWNERS_OR_MAINTAINERS:
        return "maintainer"
    if name in PROPOSING:
        return "reviewer"  # reviewers, authors, maintainers (permissions.can_propose)
    if name == "claims-link-decide":
        return "maintainer"
    if method == "GET" and name in READ_ONLY:
        return "reader"
    if name in DISCUSSING:
        return "reviewer"
    if name in READERS_MAY:
        return "reader"
    return "author"


def refusal(role: str, visibility: str) -> int:
    return 404 if role == "outsider" and visibility == "private" else 403


@pytest.fixture
def user_in_role(request, contributor, maintainer, outsider):
    def make(role: str):
        if role in {"reader", "reviewer"}:
            return make_user(f"{role}@example.org", role=Role(role))
        return {"author": contributor, "maintainer": maintainer}.get(role, outsider)

    return make


@pytest.mark.parametrize("role", RANK[:-1])
def test_each_role_gets_what_it_may_and_a_refusal_for_the_rest(
    role, world, user_in_role
):
    client = Client()
    client.force_login(user_in_role(role))
    visibility = world["visibility"]
    private = visibility == Manuscript.Visibility.PRIVATE

    def allowed(name: str, method: str) -> bool:
        return RANK.index(role) >= RANK.index(needs(name, method, visibility))

    for name, url in every_url(world):
        got = client.get(url).status_code
        if name in OLD_ADDRESSES:
            assert got == (404 if private else 301), name
        elif private and name in PUBLIC_PAGES_OF_THE_MANUSCRIPT:
            # Members read a private manuscript's public pages (its preview, its
            # versions, the figures they show); to anyone else it is not there.
            member = role != "outsider"
            assert got == (200 if member else 404), (name, got)
        elif name in PUBLIC - ANYONE_SIGNED_IN:
            assert got == 200, (name, got)
        elif name in READ_ONLY | BOTH | MAINTAINER_PAGES:
            expected = 200 if allowed(name, "GET") else refusal(role, visibility)
            assert got == expected, (name, got)
        else:
            assert got == 405, (name, got)
        if name in READ_ONLY:
            continue
        posted = client.post(url).status_code
        if name == "members-join":
            # Only someone outside asks; a private manuscript is not there to ask.
            expected = {404} if private and role == "outsider" else {403}
            if role == "outsider" and not private:
                expected = {302}
            assert posted in expected, (name, posted)
        elif private and name in PUBLIC_PAGES_OF_THE_MANUSCRIPT:
            continue  # read-only pages all, refused above
        elif allowed(name, "POST"):
            assert posted in {200, 302, 409, 422}, (name, posted)
        else:
            assert posted == refusal(role, visibility), (name, posted)
    if role != "maintainer":
        assert Claim.objects.active().filter(pk=world["claim"]).exists()

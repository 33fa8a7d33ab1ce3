"""Members of a manuscript: invitations by email link (single use, expiring), requests
to join, role changes and removals, the settings page, and what signing up gives."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sections import members, permissions
from sections.models import Activity, Manuscript, Membership, Role
from tests.factories import make_manuscript, make_section, make_user, preview_url

SIGN_UP = {
    "email": "erin@example.org",
    "password1": "a-long-passphrase-1",
    "password2": "a-long-passphrase-1",
    "display_name": "Erin Example",
    "handle": "erin-e",
}


@pytest.fixture
def review(db, contributor, maintainer) -> Manuscript:
    """A small manuscript; the cast are its authors and maintainer."""
    manuscript = make_manuscript("A small review")
    make_section(manuscript, "Intro", body="Some text.")
    return manuscript


def link_in_last_email() -> str:
    """The invitation link's path in the latest email."""
    return re.search(r"/invitations/[\w-]+/", mail.outbox[-1].body).group()


def url(name: str, *args: object) -> str:
    return reverse(f"sections:{name}", args=args)


def section_url(manuscript: Manuscript, name: str = "section-detail") -> str:
    return url(name, manuscript.slug, "intro")


@pytest.fixture
def invite(maintainer_client: Client, django_capture_on_commit_callbacks):
    """Invite through the members page: the path of the link the email carries."""

    def invite(manuscript: Manuscript, email: str, role: str) -> str:
        # The email leaves after commit, which a test's transaction never reaches.
        with django_capture_on_commit_callbacks(execute=True):
            response = maintainer_client.post(
                url("members-invite", manuscript.slug), {"email": email, "role": role}
            )
        assert response.status_code == 302, response.content
        assert mail.outbox[-1].to == [email]
        return link_in_last_email()

    return invite


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_signing_up_grants_nothing_on_a_manuscript(client: Client, review):
    private = make_manuscript("A private one", visibility="private")
    make_section(private, "Intro")
    assert client.post("/accounts/signup/", SIGN_UP).status_code == 302
    link = re.search(r"/accounts/confirm-email/\S+/", mail.outbox[-1].body).group()
    client.post(link)
    client.post(
        "/accounts/login/",
        {"login": SIGN_UP["email"], "password": SIGN_UP["password1"]},
    )
    assert not Membership.objects.filter(user__email=SIGN_UP["email"]).exists()
    assert client.get("/").context["outlines"] == []
    # A public manuscript exists, but is not theirs to read; a private one is not
    # there at all.
    assert client.get(section_url(review)).status_code == 403
    assert client.get(section_url(private)).status_code == 404
    assert client.get(url("members", private.slug)).status_code == 404
    page = client.get(url("members", review.slug))
    assert page.status_code == 200
    assert "Ask to join" in page.text


def test_an_invitation_link_makes_a_member_once(
    invite, review, outsider, outsider_client
):
    assert outsider_client.get(section_url(review, "section-edit")).status_code == 403
    link = invite(review, "olga@example.org", "author")
    page = outsider_client.get(link)
    assert page.status_code == 200
    assert "Accept the invitation" in page.text

    accepted = outsider_client.post(link)
    assert accepted.status_code == 302
    assert permissions.role_of(outsider, review) == Role.AUTHOR
    assert outsider_client.get(section_url(review, "section-edit")).status_code == 200
    assert Activity.objects.filter(
        manuscript=review, kind=Activity.Kind.MEMBERS, summary__contains="joined"
    ).exists()

    # Used: neither the same person nor anyone the link was passed to gets in.
    someone_else = client_of(make_user("sam@example.org", role=None))
    again = someone_else.post(link)
    assert again.status_code == 410
    assert "used already" in again.text
    assert not Membership.objects.filter(user__email="sam@example.org").exists()


def test_an_expired_or_withdrawn_invitation_is_refused(
    maintainer,
    maintainer_client,
    review,
    outsider_client,
    django_capture_on_commit_callbacks,
):
    long_ago = timezone.now() - members.INVITATION_LIFETIME - timedelta(minutes=1)
    with django_capture_on_commit_callbacks(execute=True):
        members.invite(
            review,
            email="olga@example.org",
            role=Role.READER,
            by=maintainer,
            now=long_ago,
        )
    expired = link_in_last_email()
    assert "expired" in outsider_client.get(expired).text
    assert outsider_client.post(expired).status_code == 410

    with django_capture_on_commit_callbacks(execute=True):
        invitation = members.invite(
            review, email="olga@example.org", role=Role.READER, by=maintainer
        )
    withdrawn = link_in_last_email()
    assert maintainer_client.get(url("members", review.slug)).context[
        "invitations"
    ] == [invitation]
    revoked = maintainer_client.post(url("invitation-revoke", invitation.pk))
    assert revoked.status_code == 302
    assert outsider_client.post(withdrawn).status_code == 410
    assert "withdrawn" in outsider_client.get(withdrawn).text
    assert not Membership.objects.filter(user__email="olga@example.org").exists()
    assert outsider_client.get("/invitations/not-a-token/").status_code == 404


def test_an_anonymous_visitor_signs_in_before_accepting(client: Client, invite, review):
    link = invite(review, "new@example.org", "reviewer")
    page = client.get(link)
    assert page.status_code == 200
    assert f"/accounts/login/?next={link}" in page.text
    assert f"/accounts/signup/?next={link}" in page.text
    posted = client.post(link)
    assert posted.status_code == 302
    assert posted.url.startswith(reverse("account_login"))


def test_inviting_a_member_again_says_so_and_keeps_the_form(
    maintainer_client, review, contributor
):
    response = maintainer_client.post(
        url("members-invite", review.slug),
        {"email": contributor.email, "role": "reader"},
    )
    assert response.status_code == 422
    assert "is a member already" in response.text
    assert contributor.email in response.text
    bad = maintainer_client.post(
        url("members-invite", review.slug), {"email": "not an email", "role": "x"}
    )
    assert bad.status_code == 422
    assert mail.outbox == []


def test_a_request_to_join_is_approved_with_a_role_or_declined(
    maintainer_client, review, outsider, outsider_client
):
    asked = outsider_client.post(
        url("members-join", review.slug), {"message": "I study <b>folding</b>"}
    )
    assert asked.status_code == 302
    assert "asked to join" in outsider_client.get(url("members", review.slug)).text
    page = maintainer_client.get(url("members", review.slug))
    (join_request,) = page.context["join_requests"]
    assert "I study &lt;b&gt;folding&lt;/b&gt;" in page.text

    decided = maintainer_client.post(
        url("join-request-decide", join_request.pk),
        {"decision": "approve", "role": "reviewer"},
    )
    assert decided.status_code == 302
    # A reviewer reads and discusses, and proposes changes, but does not save them.
    assert outsider_client.get(section_url(review)).status_code == 200
    editor = outsider_client.get(section_url(review, "section-edit"))
    assert 'name="propose"' in editor.text
    assert 'name="save"' not in editor.text
    saved = outsider_client.post(
        section_url(review, "section-edit"),
        {
            "title": "Intro",
            "body": "Mine.",
            "base": editor.context["form"].initial["base"],
        },
    )
    assert saved.status_code == 403
    # Deciding twice changes nothing.
    maintainer_client.post(
        url("join-request-decide", join_request.pk), {"decision": "decline"}
    )
    assert permissions.role_of(outsider, review) == Role.REVIEWER

    stranger = make_user("sam@example.org", role=None)
    members.ask_to_join(review, user=stranger)
    (declined,) = members.open_requests(review)
    maintainer_client.post(
        url("join-request-decide", declined.pk), {"decision": "decline"}
    )
    assert permissions.role_of(stranger, review) is None
    assert client_of(stranger).get(section_url(review)).status_code == 403


def test_a_private_manuscript_takes_no_requests_to_join(outsider_client, review):
    review.visibility = Manuscript.Visibility.PRIVATE
    review.save()
    assert outsider_client.post(url("members-join", review.slug)).status_code == 404
    assert not review.join_requests.exists()


def test_role_changes_and_removals_are_logged_and_keep_a_maintainer(
    maintainer, maintainer_client, contributor, contributor_client, review
):
    mine = Membership.objects.get(manuscript=review, user=contributor)
    changed = maintainer_client.post(
        url("membership-role", mine.pk), {"role": "reader"}
    )
    assert changed.status_code == 302
    assert contributor_client.get(section_url(review)).status_code == 200
    assert (
        contributor_client.get(section_url(review, "section-edit")).status_code == 403
    )

    removed = maintainer_client.post(url("membership-remove", mine.pk))
    assert removed.status_code == 302
    assert contributor_client.get(section_url(review)).status_code == 403
    summaries = list(
        Activity.objects.filter(manuscript=review, kind=Activity.Kind.MEMBERS)
        .order_by("pk")
        .values_list("summary", flat=True)
    )
    assert summaries == [
        "maya made carol a reader",
        "maya removed carol from the members",
    ]

    # The only maintainer can neither step down nor be removed.
    own = Membership.objects.get(manuscript=review, user=maintainer)
    refused = maintainer_client.post(url("membership-role", own.pk), {"role": "author"})
    assert refused.status_code == 409
    assert "needs a maintainer" in refused.text
    assert maintainer_client.post(url("membership-remove", own.pk)).status_code == 409
    assert permissions.role_of(maintainer, review) == Role.MAINTAINER


def test_members_see_the_list_and_only_maintainers_manage_it(
    contributor_client, maintainer_client, review, contributor
):
    page = contributor_client.get(url("members", review.slug))
    assert page.status_code == 200
    assert "Invite someone" not in page.text
    assert "maya@example.org" not in page.text  # addresses are for maintainers
    assert [m.user for m in page.context["memberships"]][0].email == "maya@example.org"
    managing = maintainer_client.get(url("members", review.slug))
    assert "Invite someone" in managing.text
    assert contributor.email in managing.text


def test_maintainers_change_visibility_proposals_and_approvals(
    client: Client, maintainer_client, outsider, outsider_client, review
):
    page = url("manuscript-settings", review.slug)
    assert maintainer_client.get(page).status_code == 200
    refused = maintainer_client.post(
        page,
        {
            "title": "A renamed review",
            "visibility": "private",
            "proposals_from": "signed_in",
            "approvals_required": "0",
        },
    )
    assert refused.status_code == 422
    assert "A renamed review" in refused.text  # nothing typed is lost
    review.refresh_from_db()
    assert review.approvals_required == 1

    saved = maintainer_client.post(
        page,
        {
            "title": "A renamed review",
            "visibility": "private",
            "proposals_from": "signed_in",
            "approvals_required": "2",
        },
    )
    assert saved.status_code == 302
    review.refresh_from_db()
    assert (review.title, review.visibility, review.approvals_required) == (
        "A renamed review",
        "private",
        2,
    )
    # Private: to outsiders it is gone, public pages included.
    assert outsider_client.get(section_url(review)).status_code == 404
    assert client.get(preview_url(review)).status_code == 404
    # Anyone signed in may propose, but not to a private manuscript they can't see.
    assert not permissions.can_propose(outsider, review)
    review.visibility = Manuscript.Visibility.PUBLIC
    assert permissions.can_propose(outsider, review)


def test_who_may_propose(review, contributor, maintainer, outsider):
    reader = make_user("rita@example.org", role=Role.READER)
    reviewer = make_user("rev@example.org", role=Role.REVIEWER)
    may = {
        user.email: permissions.can_propose(user, review)
        for user in [reader, reviewer, contributor, maintainer, outsider]
    }
    assert may == {
        "rita@example.org": False,
        "rev@example.org": True,
        "carol@example.org": True,
        "maya@example.org": True,
        "olga@example.org": False,
    }


def test_make_maintainer_for_one_manuscript(review, outsider):
    other = make_manuscript("Another review")
    call_command(
        "make_maintainer", outsider.email, manuscript=review.slug, stdout=StringIO()
    )
    assert permissions.role_of(outsider, review) == Role.MAINTAINER
    assert permissions.role_of(outsider, other) is None
    assert not outsider.is_staff  # the admin is for site-wide maintainers
    with pytest.raises(CommandError, match="No manuscript"):
        call_command("make_maintainer", outsider.email, manuscript="nope")


def test_the_migration_keeps_everyone_working_who_worked_before(transactional_db):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("sections", "0026_manuscript_members")]
    after = [("sections", "0027_members_from_site_roles")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    User, Group = old.get_model("auth", "User"), old.get_model("auth", "Group")
    manuscripts = [
        old.get_model("sections", "Manuscript").objects.create(title=t, slug=t)
        for t in ("one", "two")
    ]
    User.objects.create(username="writer", email="w@example.org")
    boss = User.objects.create(username="boss", email="b@example.org")
    boss.groups.add(Group.objects.create(name=permissions.MAINTAINERS_GROUP))
    User.objects.create(username="gone", email="g@example.org", is_active=False)

    executor = MigrationExecutor(connection)
    executor.migrate(after)

    roles = set(
        Membership.objects.values_list("manuscript__slug", "user__username", "role")
    )
    assert roles == {
        (manuscript.slug, user, role)
        for manuscript in manuscripts
        for user, role in [("writer", "author"), ("boss", "maintainer")]
    }


def test_the_public_front_page_lists_only_public_manuscripts(client: Client, review):
    make_manuscript("A secret review", visibility="private")
    make_manuscript("A review by link", visibility="unlisted")
    page = client.get("/").text
    assert "A small review" in page
    assert "A secret review" not in page
    assert "A review by link" not in page


def test_the_demo_maintainer_maintains_the_seed_and_an_import_makes_no_member(
    db, settings, outsider, tmp_path
):
    settings.DEBUG = True  # the demo account is for development only
    call_command("load_demo", stdout=StringIO())
    seed = Manuscript.objects.get()
    demo = Membership.objects.get(manuscript=seed)
    assert (demo.user.email, demo.role) == ("maintainer@example.org", Role.MAINTAINER)

    text = tmp_path / "other.md"
    text.write_text("# Another review\n\n## Intro\n\nWords.\n")
    call_command("import_manuscript", str(text), format="markdown", stdout=StringIO())
    imported = Manuscript.objects.exclude(pk=seed.pk).get()
    assert not imported.memberships.exists()
    assert permissions.role_of(outsider, imported) is None


def test_an_unlisted_manuscript_is_read_at_its_address_only(client: Client, review):
    review.visibility = Manuscript.Visibility.UNLISTED
    review.save()
    assert client.get(preview_url(review)).status_code == 200
    assert review.title not in client.get(url("home")).text
    # The site's old /preview/ leads to the first public manuscript: none yet.
    assert client.get("/preview/").status_code == 404
    listed = make_manuscript("A listed review")
    make_section(listed, "Intro", body="Listed words.")
    assert "Listed words." in client.get("/preview/", follow=True).text

"""Claims: target dates, staleness and its notice, linking imported people to
accounts, and the "My work" page."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sections import authors, claims, comments, contributors, revisions, tasks
from sections.models import (
    Activity,
    Claim,
    Contributor,
    LinkRequest,
    Section,
    TodoItem,
)
from tests.factories import make_manuscript, make_section, make_user

DAYS = 21


@pytest.fixture(autouse=True)
def stale_after(settings):
    settings.CLAIM_STALE_AFTER_DAYS = DAYS
    settings.SITE_URL = "https://review.example.org"


@pytest.fixture
def manuscript(db):
    return make_manuscript("A review")


@pytest.fixture
def section(manuscript) -> Section:
    return make_section(manuscript, "Protein structure", body="Some text.\n")


@pytest.fixture
def jinbo(section) -> Claim:
    """A claim found in imported text: its claimant has no account."""
    person = Contributor.objects.create(display_name="Jinbo Xu")
    return Claim.objects.create(section=section, contributor=person)


def claim_url(section: Section) -> str:
    return reverse(
        "sections:section-claim", args=[section.manuscript.slug, section.slug]
    )


def claims_url(section: Section) -> str:
    return reverse("sections:claims", args=[section.manuscript.slug])


def decide_url(section: Section) -> str:
    return reverse("sections:claims-link-decide", args=[section.manuscript.slug])


def is_stale(claim: Claim, *, now) -> bool:
    return claims.stale(Claim.objects.filter(pk=claim.pk), now=now).exists()


# Target dates


def test_a_claim_keeps_its_target_date_and_the_section_page_shows_it(
    contributor_client: Client, contributor, section
):
    target = timezone.localdate() + timedelta(days=10)
    response = contributor_client.post(
        claim_url(section), {"note": "drafting", "target_date": target.isoformat()}
    )
    assert response.status_code == 302
    claim = Claim.objects.get(section=section)
    assert claim.target_date == target
    assert claim.contributor.user == contributor
    page = contributor_client.get(section.get_absolute_url())
    assert f"target {target:%Y-%m-%d}" in page.text


def test_a_target_date_in_the_past_is_refused_with_a_message(
    contributor_client: Client, section
):
    yesterday = timezone.localdate() - timedelta(days=1)
    response = contributor_client.post(
        claim_url(section), {"target_date": yesterday.isoformat()}, follow=True
    )
    assert "A target date can&#x27;t be in the past." in response.text
    assert not Claim.objects.exists()


def test_several_people_share_a_section_each_with_their_own_date(
    contributor, other_contributor, section
):
    claims.claim(section, by=contributor, target_date=date(2099, 1, 1))
    claims.claim(section, by=other_contributor)
    assert Claim.objects.active().filter(section=section).count() == 2


def test_claiming_and_releasing_are_in_the_activity_log(contributor, section):
    claim = claims.claim(section, by=contributor)
    claims.release(claim, by=contributor)
    summaries = list(
        Activity.objects.filter(kind=Activity.Kind.CLAIM)
        .order_by("id")
        .values_list("summary", flat=True)
    )
    assert summaries == [
        "carol claims “Protein structure”",
        "carol released their claim on “Protein structure”",
    ]


# Staleness


def test_a_claim_edited_recently_by_its_claimant_is_not_stale(contributor, section):
    start = timezone.now()
    claim = claims.claim(section, by=contributor, now=start)
    revisions.save_edit(section, body="New text.\n", by=contributor, overwrite=True)
    later = timezone.now() + timedelta(days=DAYS - 1)
    assert not is_stale(claim, now=later)
    assert not is_stale(claim, now=start + timedelta(days=DAYS - 1))


def test_a_claim_with_no_edit_by_its_claimant_in_n_days_is_stale(contributor, section):
    start = timezone.now()
    claim = claims.claim(section, by=contributor, now=start)
    assert not is_stale(claim, now=start + timedelta(days=DAYS - 1))
    assert is_stale(claim, now=start + timedelta(days=DAYS + 1))


def test_staleness_counts_from_the_claimants_last_edit(contributor, section):
    start = timezone.now() - timedelta(days=DAYS + 10)
    claim = claims.claim(section, by=contributor, now=start)
    revisions.save_edit(section, body="New text.\n", by=contributor, overwrite=True)
    edited = section.revisions.get().created_at
    assert not is_stale(claim, now=edited + timedelta(days=DAYS - 1))
    assert is_stale(claim, now=edited + timedelta(days=DAYS + 1))


def test_an_edit_by_someone_else_does_not_keep_a_claim_fresh(
    contributor, other_contributor, section
):
    claim = claims.claim(
        section, by=contributor, now=timezone.now() - timedelta(days=DAYS + 1)
    )
    revisions.save_edit(
        section, body="Someone else's text.\n", by=other_contributor, overwrite=True
    )
    assert is_stale(claim, now=timezone.now())


def test_a_released_claim_is_never_stale(contributor, section):
    claim = claims.claim(
        section, by=contributor, now=timezone.now() - timedelta(days=DAYS + 1)
    )
    claims.release(claim, by=contributor)
    assert not is_stale(claim, now=timezone.now())


def test_the_outline_marks_stale_claims(contributor_client, contributor, section):
    claims.claim(section, by=contributor, now=timezone.now() - timedelta(days=DAYS + 1))
    response = contributor_client.get("/")
    [row] = response.context["outlines"][0][1]
    assert [c.is_stale for c in row.claims] == [True]
    assert 'class="badge stale"' in response.text


# The stale notice


def test_the_stale_notice_is_sent_once_however_often_the_task_runs(
    contributor, section, mailoutbox
):
    claim = claims.claim(
        section, by=contributor, now=timezone.now() - timedelta(days=DAYS + 1)
    )
    assert tasks.notify_stale_claims.delay().get() == 1
    assert tasks.notify_stale_claims.delay().get() == 0
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["carol@example.org"]
    assert "Protein structure" in mail.subject
    assert "https://review.example.org/me/" in mail.body
    claim.refresh_from_db()
    assert claim.stale_notified_at is not None


def test_no_notice_for_a_fresh_claim(contributor, section, mailoutbox):
    claims.claim(section, by=contributor)
    assert claims.notify_stale(now=timezone.now() + timedelta(days=DAYS - 1)) == 0
    assert mailoutbox == []


def test_a_claimant_without_an_account_is_skipped_and_told_once_linked(
    jinbo, contributor, maintainer, mailoutbox
):
    later = timezone.now() + timedelta(days=DAYS + 1)
    assert claims.notify_stale(now=later) == 0
    jinbo.refresh_from_db()
    assert jinbo.stale_notified_at is None
    # Carol's own record is empty, so she can be Jinbo Xu.
    contributors.decide_link(
        contributors.request_link(jinbo.contributor, user=contributor),
        approve=True,
        by=maintainer,
    )
    assert claims.notify_stale(now=later) == 1
    assert mailoutbox[0].to == ["carol@example.org"]


# The claims page


def test_maintainers_see_stale_claims_first_and_release_one(
    maintainer_client, maintainer, contributor, other_contributor, manuscript
):
    fresh_section = make_section(manuscript, "Methods")
    stale_section = make_section(manuscript, "Results")
    claims.claim(fresh_section, by=other_contributor)
    stale_claim = claims.claim(
        stale_section, by=contributor, now=timezone.now() - timedelta(days=DAYS + 5)
    )
    page = maintainer_client.get(claims_url(stale_section))
    assert page.status_code == 200
    shown = page.context["page"].claims
    assert [(c.section.title, c.is_stale) for c in shown] == [
        ("Results", True),
        ("Methods", False),
    ]
    assert shown[0].can_release
    response = maintainer_client.post(
        reverse("sections:claim-release", args=[stale_claim.pk])
    )
    assert response.status_code == 302
    stale_claim.refresh_from_db()
    assert stale_claim.released_at is not None
    assert Activity.objects.filter(
        summary="maya released carol’s stale claim on “Results”"
    ).exists()


def test_the_claims_page_shows_the_last_edit_with_bounded_queries(
    contributor_client, contributor, manuscript, django_assert_max_num_queries
):
    for n in range(5):
        section = make_section(manuscript, f"Part {n}")
        claims.claim(section, by=contributor)
        revisions.save_edit(
            section, body=f"Text {n}.\n", by=contributor, overwrite=True
        )
    with django_assert_max_num_queries(8):
        page = contributor_client.get(claims_url(section))
    assert all(c.last_edit_at for c in page.context["page"].claims)
    assert not page.context["can_decide_links"]


# Linking imported people


def test_a_linked_person_sees_their_claim_on_my_work(
    contributor_client, maintainer_client, contributor, jinbo
):
    own = contributor.contributor
    response = contributor_client.post(
        reverse("sections:claim-link", args=[jinbo.pk]), follow=True
    )
    assert "a maintainer will confirm" in response.text
    link_request = LinkRequest.objects.get()
    assert (link_request.user, link_request.contributor) == (
        contributor,
        jinbo.contributor,
    )
    page = maintainer_client.get(claims_url(jinbo.section))
    assert "carol@example.org says they are" in page.text
    response = maintainer_client.post(
        decide_url(jinbo.section),
        {"link_request": link_request.pk, "decision": "approve"},
    )
    assert response.status_code == 302
    jinbo.contributor.refresh_from_db()
    assert jinbo.contributor.user == contributor
    assert not Contributor.objects.filter(pk=own.pk).exists()
    link_request.refresh_from_db()
    assert link_request.is_approved is True
    assert link_request.decided_by == Contributor.objects.get(
        user__email="maya@example.org"
    )
    work = contributor_client.get(reverse("sections:my-work"))
    assert [c.pk for c in work.context["work"].claims] == [jinbo.pk]
    assert "Protein structure" in work.text


def test_a_declined_request_links_nobody(maintainer, contributor, jinbo):
    link_request = contributors.request_link(jinbo.contributor, user=contributor)
    contributors.decide_link(link_request, approve=False, by=maintainer)
    jinbo.contributor.refresh_from_db()
    assert jinbo.contributor.user is None
    link_request.refresh_from_db()
    assert link_request.is_approved is False
    assert link_request.decided_at is not None
    assert Contributor.objects.filter(user=contributor).exists()


def test_approving_one_request_declines_the_others_for_that_person(
    maintainer, contributor, other_contributor, jinbo
):
    mine = contributors.request_link(jinbo.contributor, user=contributor)
    theirs = contributors.request_link(jinbo.contributor, user=other_contributor)
    contributors.decide_link(mine, approve=True, by=maintainer)
    theirs.refresh_from_db()
    assert theirs.is_approved is False
    with pytest.raises(contributors.LinkRefused, match="already decided"):
        contributors.decide_link(theirs, approve=True, by=maintainer)


def test_nobody_can_ask_to_be_someone_with_an_account(contributor, other_contributor):
    with pytest.raises(contributors.LinkRefused, match="already linked"):
        contributors.request_link(other_contributor.contributor, user=contributor)


def test_asking_twice_is_refused_with_a_message(contributor_client, contributor, jinbo):
    contributors.request_link(jinbo.contributor, user=contributor)
    response = contributor_client.post(
        reverse("sections:claim-link", args=[jinbo.pk]), follow=True
    )
    assert "You have already asked to be Jinbo Xu" in response.text
    assert LinkRequest.objects.count() == 1


def test_a_user_whose_own_record_has_work_is_refused_and_nothing_is_merged(
    contributor, maintainer, section, jinbo
):
    link_request = contributors.request_link(jinbo.contributor, user=contributor)
    # Carol comments before a maintainer decides: linking would now lose that.
    comments.post(section, by=contributor, body="A thought.")
    with pytest.raises(contributors.LinkRefused, match="Ask a maintainer to merge"):
        contributors.decide_link(link_request, approve=True, by=maintainer)
    link_request.refresh_from_db()
    assert link_request.decided_at is None
    jinbo.contributor.refresh_from_db()
    assert jinbo.contributor.user is None
    with pytest.raises(contributors.LinkRefused, match="Ask a maintainer to merge"):
        contributors.request_link(
            Contributor.objects.create(display_name="Someone Else"), user=contributor
        )


def test_a_user_on_an_author_list_keeps_that_place_linking_is_refused(
    contributor, maintainer, section, jinbo
):
    link_request = contributors.request_link(jinbo.contributor, user=contributor)
    own = contributors.for_user(contributor)
    authors.set_from_metadata(section.manuscript, [{"name": own.display_name}])
    with pytest.raises(contributors.LinkRefused, match="author list"):
        contributors.decide_link(link_request, approve=True, by=maintainer)
    assert [a["name"] for a in authors.byline(section.manuscript)] == [own.display_name]


def test_a_refused_decision_is_a_message_not_an_error(
    maintainer_client, maintainer, contributor, jinbo
):
    link_request = contributors.request_link(jinbo.contributor, user=contributor)
    contributors.decide_link(link_request, approve=False, by=maintainer)
    response = maintainer_client.post(
        decide_url(jinbo.section),
        {"link_request": link_request.pk, "decision": "approve"},
        follow=True,
    )
    assert "This request was already decided." in response.text


# The decide view: allowed, 403, 404, and GET refused


def test_only_maintainers_decide_link_requests(
    contributor_client, maintainer_client, client, contributor, jinbo
):
    link_request = contributors.request_link(jinbo.contributor, user=contributor)
    data = {"link_request": link_request.pk, "decision": "approve"}
    url = decide_url(jinbo.section)
    assert contributor_client.post(url, data).status_code == 403
    anonymous = client.post(url, data)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))
    assert maintainer_client.get(url).status_code == 405
    link_request.refresh_from_db()
    assert link_request.decided_at is None
    assert maintainer_client.post(url, data).status_code == 302
    link_request.refresh_from_db()
    assert link_request.is_approved is True


def test_deciding_an_unknown_request_or_manuscript_is_a_404(
    maintainer_client, contributor, jinbo
):
    url = decide_url(jinbo.section)
    missing = {"link_request": 999_999, "decision": "approve"}
    assert maintainer_client.post(url, missing).status_code == 404
    other = reverse("sections:claims-link-decide", args=["no-such-manuscript"])
    link_request = contributors.request_link(jinbo.contributor, user=contributor)
    data = {"link_request": link_request.pk, "decision": "approve"}
    assert maintainer_client.post(other, data).status_code == 404


def test_contributors_see_the_this_is_me_button_maintainers_the_requests(
    contributor_client, maintainer_client, jinbo
):
    page = contributor_client.get(claims_url(jinbo.section))
    assert "This is me" in page.text
    assert "Requests to link people" not in page.text
    assert (
        "Requests to link people"
        in maintainer_client.get(claims_url(jinbo.section)).text
    )


# My work


def test_my_work_lists_claims_todos_mentions_and_replies(
    contributor_client,
    contributor,
    other_contributor,
    section,
    django_assert_max_num_queries,
):
    me = contributor.contributor
    me.handle = "carol"
    me.save(update_fields=["handle"])
    claims.claim(section, by=contributor, now=timezone.now() - timedelta(days=DAYS + 1))
    TodoItem.objects.create(
        section=section, kind=TodoItem.Kind.MANUAL, text="Add a figure", assignee=me
    )
    TodoItem.objects.create(
        section=section,
        kind=TodoItem.Kind.MANUAL,
        text="Done already",
        assignee=me,
        status=TodoItem.Status.DONE,
    )
    comments.post(section, by=other_contributor, body="@carol what do you think?")
    mine = comments.post(section, by=contributor, body="My question.")
    comments.reply(mine, by=other_contributor, body="Their answer.")
    comments.reply(mine, by=contributor, body="My own follow-up.")
    # Two of them list proposals (tests/test_proposals.py fills those).
    with django_assert_max_num_queries(12):
        response = contributor_client.get(reverse("sections:my-work"))
    work = response.context["work"]
    assert [(c.section.title, c.is_stale) for c in work.claims] == [
        ("Protein structure", True)
    ]
    assert [t.text for t in work.todos] == ["Add a figure"]
    assert [m.comment.body for m in work.mentions] == ["@carol what do you think?"]
    assert [r.body for r in work.replies] == ["Their answer."]
    assert "Their answer." in response.text
    assert "My own follow-up." not in response.text


def test_my_work_queries_do_not_grow_with_the_work(
    contributor_client,
    contributor,
    other_contributor,
    manuscript,
    django_assert_max_num_queries,
):
    me = contributor.contributor
    for n in range(6):
        section = make_section(manuscript, f"Part {n}")
        claims.claim(section, by=contributor)
        TodoItem.objects.create(
            section=section, kind=TodoItem.Kind.MANUAL, text=f"T{n}", assignee=me
        )
        mine = comments.post(section, by=contributor, body=f"Q{n}")
        comments.reply(mine, by=other_contributor, body=f"A{n}")
    # Two of them list proposals (tests/test_proposals.py fills those).
    with django_assert_max_num_queries(12):
        response = contributor_client.get(reverse("sections:my-work"))
    assert len(response.context["work"].replies) == 6


def test_my_work_for_someone_with_no_record_yet(db):
    user = make_user("new@example.org")
    user.contributor.delete()
    client = Client()
    client.force_login(user)
    response = client.get(reverse("sections:my-work"))
    assert response.status_code == 200
    assert "Nothing here yet" in response.text


def test_my_work_needs_a_sign_in_and_is_in_the_header(client, contributor_client):
    response = client.get(reverse("sections:my-work"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    home = contributor_client.get("/")
    assert f'href="{reverse("sections:my-work")}"' in home.text

"""What the anonymous public, a contributor and a maintainer may see and do."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from sections import claims
from sections.models import Claim, Section
from tests.factories import PASSWORD, make_manuscript, make_section, make_user


def url_of(section: Section, name: str = "sections:section-detail") -> str:
    return reverse(name, args=[section.manuscript.slug, section.slug])


@pytest.fixture
def protein(seed) -> Section:
    return seed.sections.get(title="Protein secondary and tertiary structure")


def test_the_public_sees_no_outline_claims_or_todos(client: Client, seed, protein):
    home = client.get("/")
    assert home.status_code == 200
    assert seed.title in home.text
    assert "Jinbo Xu" not in home.text
    assert "Open TODOs" not in home.text
    response = client.get(url_of(protein))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_contributor_home_is_the_outline_with_claims_and_todo_counts(
    contributor_client, seed
):
    response = contributor_client.get("/")
    rows = {row.section.title: row for row in response.context["outlines"][0][1]}
    assert len(rows) == 36
    assert [
        str(c.contributor)
        for c in rows["Protein secondary and tertiary structure"].claims
    ] == ["Jinbo Xu"]
    assert rows["Morphological phenotypes"].open_todos == 30
    assert "Jinbo Xu" in response.text


def test_outline_query_count_does_not_grow_with_sections(
    contributor_client, seed, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        contributor_client.get("/")


def test_contributor_can_open_every_section(contributor_client, seed):
    seed.sections.filter(title="Patient Treatment").update(is_hidden=True)
    for section in seed.sections.all():
        response = contributor_client.get(url_of(section))
        assert response.status_code == 200, section.title
        assert escape(section.title) in response.text


def test_section_page_shows_rendered_text_claims_and_todos(contributor_client, seed):
    section = seed.sections.get(title="Ligand-Based Prediction of Bioactivity")
    response = contributor_client.get(url_of(section))
    assert "TODO: expand outline" in response.text
    assert (
        response.context["next"].title == "Modeling Metabolism and Chemical Reactivity"
    )
    assert "Hide from the public preview" not in response.text


def test_unknown_section_is_a_404(contributor_client, seed):
    assert contributor_client.get(f"/m/{seed.slug}/no-such-section/").status_code == 404
    assert contributor_client.get("/m/no-such-manuscript/intro/").status_code == 404


def test_contributor_claims_a_section_and_releases_it(
    contributor_client, contributor, protein
):
    response = contributor_client.post(
        url_of(protein, "sections:section-claim"), {"note": "on it"}
    )
    assert response.status_code == 302
    claim = Claim.objects.active().get(section=protein, contributor__user=contributor)
    assert claim.note == "on it"
    contributor_client.post(url_of(protein, "sections:section-claim"))
    assert (
        Claim.objects.active()
        .filter(section=protein, contributor__user=contributor)
        .count()
        == 1
    )
    contributor_client.post(reverse("sections:claim-release", args=[claim.pk]))
    claim.refresh_from_db()
    assert claim.released_at is not None


def test_anonymous_cannot_claim(client: Client, protein):
    response = client.post(url_of(protein, "sections:section-claim"))
    assert response.status_code == 302
    assert not Claim.objects.filter(
        section=protein, contributor__user__isnull=False
    ).exists()


def test_write_views_reject_get(contributor_client, protein):
    assert (
        contributor_client.get(url_of(protein, "sections:section-claim")).status_code
        == 405
    )
    assert (
        contributor_client.get(
            url_of(protein, "sections:section-visibility")
        ).status_code
        == 405
    )


def test_only_the_claimant_or_a_maintainer_releases_a_claim(
    contributor_client, maintainer_client, other_contributor, protein
):
    theirs = claims.claim(protein, by=other_contributor)
    release = reverse("sections:claim-release", args=[theirs.pk])
    assert contributor_client.post(release).status_code == 403
    assert maintainer_client.post(release).status_code == 302
    theirs.refresh_from_db()
    assert theirs.released_at is not None


def test_only_maintainers_hide_a_section_from_the_public(
    contributor_client, maintainer_client, protein
):
    hide = url_of(protein, "sections:section-visibility")
    assert contributor_client.post(hide, {"hidden": "on"}).status_code == 403
    protein.refresh_from_db()
    assert not protein.is_hidden
    assert maintainer_client.post(hide, {"hidden": "on"}).status_code == 302
    protein.refresh_from_db()
    assert protein.is_hidden
    page = maintainer_client.get(url_of(protein))
    assert "Show in the public preview" in page.text


def test_admin_is_for_maintainers_only(contributor_client, maintainer_client, seed):
    assert contributor_client.get("/admin/sections/section/").status_code == 302
    response = maintainer_client.get("/admin/sections/section/?q=Jinbo")
    assert response.status_code == 200
    assert (
        maintainer_client.get(
            "/admin/sections/todoitem/?kind__exact=placeholder"
        ).status_code
        == 200
    )
    assert (
        maintainer_client.get("/admin/sections/reference/?q=nature14539").status_code
        == 200
    )


def test_make_maintainer_command_promotes_an_existing_user(db):
    user = make_user("new@example.org")
    client = Client()
    client.force_login(user)
    assert client.get("/admin/").status_code == 302
    call_command("make_maintainer", "new@example.org", stdout=StringIO())
    assert client.get("/admin/").status_code == 200
    with pytest.raises(CommandError, match="No user has the email"):
        call_command("make_maintainer", "nobody@example.org")


def test_every_page_sends_a_strict_content_security_policy(client: Client, db):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy


# The admin: a maintainer is staff, yet neither an account manager nor a back door


def test_a_maintainer_cannot_make_themselves_superuser_in_the_admin(
    maintainer, maintainer_client
):
    change = reverse("admin:auth_user_change", args=[maintainer.pk])
    joined = maintainer.date_joined
    response = maintainer_client.post(
        change,
        {
            "username": maintainer.username,
            "email": maintainer.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "date_joined_0": joined.strftime("%Y-%m-%d"),
            "date_joined_1": joined.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 403
    maintainer.refresh_from_db()
    assert not maintainer.is_superuser
    password = reverse("admin:auth_user_password_change", args=[maintainer.pk])
    response = maintainer_client.post(
        password, {"password1": "n3w-Secret-pass", "password2": "n3w-Secret-pass"}
    )
    assert response.status_code == 403
    maintainer.refresh_from_db()
    assert maintainer.check_password(PASSWORD)
    # Nor may they see or change the roles and their permissions.
    assert (
        maintainer_client.get(reverse("admin:auth_group_changelist")).status_code == 403
    )
    assert "/admin/auth/" not in maintainer_client.get(reverse("admin:index")).text


def test_a_superuser_still_manages_accounts_in_the_admin(db, maintainer):
    boss = make_user("boss@example.org", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(boss)
    change = reverse("admin:auth_user_change", args=[maintainer.pk])
    assert client.get(change).status_code == 200


def test_sections_are_read_only_in_the_admin(maintainer_client, protein):
    change = reverse("admin:sections_section_change", args=[protein.pk])
    page = maintainer_client.get(change)
    assert page.status_code == 200
    assert 'name="title"' not in page.text  # shown, not a field to type in
    assert protein.title in page.text
    before = (protein.title, protein.body, protein.position, protein.is_hidden)
    response = maintainer_client.post(
        change,
        {
            "title": "Taken over",
            "body": "Replaced without a revision",
            "position": 1,
            "level": 1,
            "slug": protein.slug,
            "manuscript": protein.manuscript_id,
            "status": "done",
            "is_hidden": "on",
            "updated_at_0": "2026-01-01",
            "updated_at_1": "00:00:00",
        },
    )
    assert response.status_code == 403
    protein.refresh_from_db()
    assert (protein.title, protein.body, protein.position, protein.is_hidden) == before
    revisions = reverse("admin:sections_revision_changelist")
    assert maintainer_client.get(revisions).status_code == 200
    for model in ["section", "revision", "reference", "contributor", "comment"]:
        add = reverse(f"admin:sections_{model}_add")
        assert maintainer_client.get(add).status_code == 403, model


def test_pages_show_each_reader_only_the_controls_they_may_use(
    contributor_client, maintainer_client, contributor, other_contributor
):
    manuscript = make_manuscript("Controls")
    section = make_section(manuscript, "Intro", body="Some text.")
    other = Client()
    other.force_login(other_contributor)
    posted = other.post(url_of(section, "sections:section-comment"), {"body": "Hm."})
    assert posted.status_code == 302
    comment_by_other = section.comments.get()

    outline = contributor_client.get("/").text
    assert "Structure</th>" not in outline
    assert reverse("sections:author-list", args=[manuscript.slug]) not in outline
    page = contributor_client.get(url_of(section)).text
    assert "Claim this section" in page
    assert reverse("sections:comment-todo", args=[comment_by_other.pk]) not in page
    assert reverse("sections:comment-edit", args=[comment_by_other.pk]) not in page

    contributor_client.post(url_of(section, "sections:section-claim"), {"note": ""})
    page = contributor_client.get(url_of(section)).text
    assert "Claim this section" not in page
    [claim] = section.claims.all()
    assert reverse("sections:claim-release", args=[claim.pk]) in page

    outline = maintainer_client.get("/").text
    assert "Structure</th>" in outline
    assert reverse("sections:author-list", args=[manuscript.slug]) in outline
    page = maintainer_client.get(url_of(section)).text
    assert reverse("sections:comment-todo", args=[comment_by_other.pk]) in page
    assert reverse("sections:comment-edit", args=[comment_by_other.pk]) in page
    assert reverse("sections:claim-release", args=[claim.pk]) in page
    maintainer_client.post(reverse("sections:comment-todo", args=[comment_by_other.pk]))
    page = maintainer_client.get(url_of(section)).text
    assert reverse("sections:comment-todo", args=[comment_by_other.pk]) not in page

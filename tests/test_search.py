"""Search: contributors find sections, comments, TODOs and references; the public
finds only what the public preview shows. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from sections import comments, revisions, search
from sections.models import Section, TodoItem
from tests.factories import preview_url


def kinds_of(hits) -> set[str]:
    return {hit.kind for hit in hits}


def test_a_phrase_from_the_seed_finds_its_section(seed):
    hits = search.search(seed, "Faraggi-Simon network")
    assert hits[0].kind == "section"
    assert hits[0].title == "Electronic health records"
    assert "<mark>Faraggi</mark>" in hits[0].snippet
    assert hits[0].url == reverse(
        "sections:section-detail",
        args=[seed.slug, seed.sections.get(title="Electronic health records").slug],
    )


def test_every_word_must_match(seed):
    assert search.search(seed, "Faraggi xylophonequartz") == []


def test_a_query_without_words_finds_nothing(seed):
    assert search.search(seed, "  -- !! ") == []


def test_an_edit_is_found_by_its_new_words_and_not_its_old_ones(seed, contributor):
    section = seed.sections.get(title="Electronic health records")
    revisions.save_edit(
        section,
        body=section.body.replace("Faraggi", "Quetzalcoatl"),
        title="Health records, quetzal edition",
        by=contributor,
        overwrite=True,
    )
    assert not search.search(seed, "Faraggi", kinds=["section"])
    found = search.search(seed, "Quetzalcoatl quetzal", kinds=["section"])
    assert [hit.title for hit in found] == ["Health records, quetzal edition"]


def test_a_comment_is_found_by_its_text(seed, contributor):
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    comment = comments.post(
        section, by=contributor, body="Consider the zanzibar benchmark here."
    )
    hits = search.search(seed, "zanzibar")
    assert [(hit.kind, hit.url) for hit in hits] == [
        ("comment", comment.get_absolute_url())
    ]


def test_a_deleted_comment_is_not_found(seed, contributor):
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    comment = comments.post(section, by=contributor, body="zanzibar again")
    comment.deleted_at = comment.created_at
    comment.save(update_fields=["deleted_at"])
    assert search.search(seed, "zanzibar") == []


def test_a_reference_is_found_by_its_title_and_authors(seed):
    reference = seed.references.order_by("pk").first()
    reference.csl_provisional = {
        "title": "Quixotic manifolds of protein folding",
        "author": [{"family": "Okonkwo", "given": "A."}],
    }
    reference.csl_fetched = None
    reference.csl_manual = None
    reference.save()
    by_title = search.search(seed, "quixotic manifolds")
    assert [(h.kind, h.title) for h in by_title] == [
        ("reference", "Quixotic manifolds of protein folding")
    ]
    assert by_title[0].url == reverse("sections:reference-detail", args=[reference.pk])
    assert kinds_of(search.search(seed, "Okonkwo")) == {"reference"}


def test_a_manual_record_wins_over_the_provisional_one(seed):
    reference = seed.references.order_by("pk").first()
    reference.csl_provisional = {"title": "Quixotic manifolds"}
    reference.csl_manual = {"title": "Corrected zygomorphic title"}
    reference.save()
    assert search.search(seed, "quixotic") == []
    assert kinds_of(search.search(seed, "zygomorphic")) == {"reference"}


def test_todo_items_are_found(seed):
    assert TodoItem.objects.filter(section__manuscript=seed).exists()
    hits = search.search(seed, "excitement unsupervised", kinds=["todo"])
    assert hits
    assert kinds_of(hits) == {"todo"}


def test_kind_and_section_filters(seed, contributor):
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    other = seed.sections.get(title="Electronic health records")
    comments.post(section, by=contributor, body="A deep learning remark.")
    comments.post(other, by=contributor, body="Another deep learning remark.")
    only_comments = search.search(seed, "deep learning", kinds=["comment"])
    assert kinds_of(only_comments) == {"comment"}
    assert len(only_comments) == 2
    in_section = search.search(seed, "remark", section=section)
    assert [hit.title for hit in in_section] == [
        f"{contributor.contributor} on {section.title}"
    ]
    assert all(
        hit.url.startswith(section.get_absolute_url())
        for hit in search.search(
            seed, "deep learning", section=section, kinds=["section", "comment"]
        )
    )


def test_results_are_bounded(seed):
    assert len(search.search(seed, "deep", limit=3)) == 3


def test_public_search_never_returns_hidden_sections_comments_or_todos(
    seed, contributor
):
    section = seed.sections.get(title="Electronic health records")
    comments.post(section, by=contributor, body="Faraggi said so, privately.")
    assert kinds_of(search.search(seed, "Faraggi")) == {"section", "comment"}
    assert kinds_of(search.search(seed, "Faraggi", public_only=True)) == {"section"}
    Section.objects.filter(pk=section.pk).update(is_hidden=True)
    assert search.search(seed, "Faraggi", public_only=True) == []
    assert search.search(
        seed, "excitement unsupervised", public_only=True
    ) == [] or all(
        hit.kind == "section"
        for hit in search.search(seed, "excitement", public_only=True)
    )


def test_public_search_ignores_words_only_in_todo_notes_and_claims(seed):
    # "opposed" occurs once in the seed, inside a TODO note; Jinbo Xu in a claim.
    assert kinds_of(search.search(seed, "opposed")) == {"section", "todo"}
    assert search.search(seed, "opposed", public_only=True) == []
    assert search.search(seed, "Jinbo", public_only=True) == []


def test_public_search_finds_the_sentence_after_an_inline_note(seed):
    # "revolutionized" occurs once, in the sentence the note before it once swallowed.
    assert kinds_of(search.search(seed, "revolutionized", public_only=True)) == {
        "section"
    }
    assert search.search(seed, "Add reference tags", public_only=True) == []


def test_public_search_finds_references_only_cited_in_public_sections(seed):
    cited = seed.references.filter(citations__isnull=False).order_by("pk").first()
    cited.csl_manual = {"title": "Quixotic manifolds"}
    cited.save()
    assert kinds_of(search.search(seed, "quixotic", public_only=True)) == {"reference"}
    cited.citations.values_list("section", flat=True)
    Section.objects.filter(citations__reference=cited).update(is_hidden=True)
    assert search.search(seed, "quixotic", public_only=True) == []


def test_markup_in_a_comment_comes_back_escaped(seed, contributor):
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    comments.post(
        section, by=contributor, body='<script>alert("zanzibar")</script> & more'
    )
    [hit] = search.search(seed, "zanzibar")
    assert "<script>" not in hit.snippet
    assert "&lt;script&gt;" in hit.snippet
    assert "<mark>zanzibar</mark>" in hit.snippet


def test_contributors_search_page(seed, contributor_client: Client, contributor):
    section = seed.sections.get(title="Electronic health records")
    comments.post(section, by=contributor, body="<b>Faraggi</b> needs a figure")
    url = reverse("sections:search", args=[seed.slug])
    page = contributor_client.get(url, {"q": "Faraggi"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "<mark>Faraggi</mark>" in text
    assert "&lt;b&gt;" in text
    assert "<b>Faraggi" not in text
    only = contributor_client.get(url, {"q": "Faraggi", "kind": "comment"})
    assert [hit.kind for hit in only.context["hits"]] == ["comment"]
    in_section = contributor_client.get(url, {"q": "Faraggi", "section": section.slug})
    assert len(in_section.context["hits"]) == 2
    assert contributor_client.get(url, {"kind": "nonsense"}).status_code == 422
    missing = contributor_client.get(url, {"q": "x", "section": "no-such-section"})
    assert missing.status_code == 404


def test_anonymous_gets_the_public_search_but_not_the_contributors_one(
    client: Client, seed, contributor
):
    section = seed.sections.get(title="Electronic health records")
    comments.post(section, by=contributor, body="Faraggi in a comment")
    private = client.get(reverse("sections:search", args=[seed.slug]), {"q": "Faraggi"})
    assert private.status_code == 302
    assert private.url.startswith(reverse("account_login"))
    public = client.get(
        reverse("sections:public-search", args=[seed.slug]), {"q": "Faraggi"}
    )
    assert public.status_code == 200
    assert [hit.kind for hit in public.context["hits"]] == ["section"]
    assert public.context["hits"][0].url.startswith(preview_url())


def test_the_preview_and_the_outline_have_a_search_box(
    client: Client, seed, contributor_client: Client
):
    assert (
        reverse("sections:public-search", args=[seed.slug])
        in client.get(preview_url()).content.decode()
    )
    assert (
        reverse("sections:search", args=[seed.slug])
        in contributor_client.get(reverse("sections:home")).content.decode()
    )


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="websearch syntax on PostgreSQL only"
)
def test_postgres_understands_websearch_syntax_and_stems(seed):
    assert search.search(seed, '"Faraggi-Simon" -xylophonequartz')
    assert kinds_of(search.search(seed, "autoencoders", kinds=["section"])) == {
        "section"
    }

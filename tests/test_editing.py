"""Editing a section in the browser's plain form: saves, merges, conflicts, the live
preview, history, comparison and restore. Nothing a contributor typed is ever lost."""

from __future__ import annotations

import re
from datetime import timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from sections import revisions, tasks
from sections.models import Revision
from tests.factories import make_manuscript, make_section

PARAGRAPHS = "First paragraph.\n\nSecond paragraph.\n\nThird paragraph.\n"


@pytest.fixture
def section(db, maintainer):
    section = make_section(make_manuscript("Editing review"), "Intro", body="")
    revisions.save_edit(
        section, body=PARAGRAPHS, by=maintainer, summary="Start", overwrite=True
    )
    section.refresh_from_db()
    return section


def url(section, name: str) -> str:
    return reverse(f"sections:{name}", args=[section.manuscript.slug, section.slug])


def open_editor(client: Client, section) -> dict:
    """What the editor's form holds when it is opened: the fields a browser sends."""
    form = client.get(url(section, "section-edit")).context["form"]
    return {name: form.initial.get(name) or "" for name in ["title", "body", "base"]}


def test_a_contributor_edits_and_the_section_and_history_show_it(
    contributor_client, section, django_capture_on_commit_callbacks
):
    fields = open_editor(contributor_client, section)
    fields.update(body=PARAGRAPHS + "\nA fourth paragraph.\n", summary="Add a fourth")

    with django_capture_on_commit_callbacks(execute=True):
        response = contributor_client.post(url(section, "section-edit"), fields)

    assert response.status_code == 302
    page = contributor_client.get(response.url)
    assert "A fourth paragraph." in page.text
    history = contributor_client.get(url(section, "section-history"))
    newest = history.context["rows"][0]
    assert newest.revision.summary == "Add a fourth"
    assert newest.size_change == len("\nA fourth paragraph.\n")
    assert str(newest.revision.author) == "carol"


def test_edits_of_different_paragraphs_since_the_same_base_are_merged(
    contributor_client, section
):
    other = Client()
    other.force_login(section.revisions.first().author.user)
    mine, theirs = open_editor(contributor_client, section), open_editor(other, section)

    theirs["body"] = PARAGRAPHS.replace("Third", "Their third")
    assert other.post(url(section, "section-edit"), theirs).status_code == 302
    mine["body"] = PARAGRAPHS.replace("First", "My first")
    response = contributor_client.post(url(section, "section-edit"), mine, follow=True)

    assert "both are kept" in response.text
    section.refresh_from_db()
    assert (
        section.body
        == "My first paragraph.\n\nSecond paragraph.\n\nTheir third paragraph.\n"
    )


def test_overlapping_edits_get_a_conflict_page_with_the_text_intact(
    contributor_client, maintainer_client, section
):
    mine = open_editor(contributor_client, section)
    theirs = open_editor(maintainer_client, section)
    theirs["body"] = PARAGRAPHS.replace("Second paragraph.", "Second, theirs.")
    maintainer_client.post(url(section, "section-edit"), theirs)
    mine["body"] = PARAGRAPHS.replace(
        "Second paragraph.", "Second, mine & <b>bold</b>."
    )

    response = contributor_client.post(url(section, "section-edit"), mine)

    assert response.status_code == 409
    assert "Someone saved this section while you were editing" in response.text
    form = response.context["form"]
    assert form.initial["body"] == mine["body"]
    assert "Second, mine &amp; &lt;b&gt;bold&lt;/b&gt;." in response.text
    assert ("added", "theirs") in response.context["their_changes"]
    section.refresh_from_db()
    assert section.body == theirs["body"]
    # Reconciled and saved again from the conflict page, on top of theirs.
    retry = {**mine, "base": form.initial["base"], "body": "Reconciled.\n"}
    assert (
        contributor_client.post(url(section, "section-edit"), retry).status_code == 302
    )
    section.refresh_from_db()
    assert section.body == "Reconciled.\n"


def test_an_invalid_edit_is_refused_with_the_text_kept(contributor_client, section):
    fields = open_editor(contributor_client, section)
    fields.update(title="", body="Words I must not lose.")

    response = contributor_client.post(url(section, "section-edit"), fields)

    assert response.status_code == 422
    assert "Words I must not lose." in response.text
    assert section.revisions.count() == 1


def test_a_save_without_its_base_revision_is_refused_with_the_text_kept(
    contributor_client, maintainer_client, section
):
    theirs = open_editor(maintainer_client, section)
    theirs["body"] = PARAGRAPHS.replace("Second", "Their second")
    maintainer_client.post(url(section, "section-edit"), theirs)
    fields = open_editor(contributor_client, section)
    del fields["base"]
    fields["body"] = "Words I must not lose.\n"

    response = contributor_client.post(url(section, "section-edit"), fields)

    assert response.status_code == 422
    assert "did not say which version of the section" in response.text
    assert "Words I must not lose." in response.text
    section.refresh_from_db()
    assert section.body == theirs["body"]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="syncs wait for each other on PostgreSQL"
)
# Committed as in production: a sync's lock lasts its transaction, not the test's.
@pytest.mark.django_db(transaction=True)
def test_a_save_whose_sync_cannot_run_is_kept_and_synced_by_the_sweep(
    contributor_client, section
):
    fields = open_editor(contributor_client, section)
    fields["body"] = (
        PARAGRAPHS + "\nA new claim [@doi:10.1234/new-claim]. TODO: check it\n"
    )
    # Another sync of this section holds its lock longer than a save waits for it.
    database = connection.settings_dict
    with psycopg.connect(
        host=database["HOST"],
        port=database["PORT"] or 5432,
        user=database["USER"],
        dbname=database["NAME"],
        autocommit=True,
    ) as other:
        other.execute(
            "SELECT pg_advisory_lock(%s, %s)", [revisions.SYNC_LOCK, section.pk]
        )
        response = contributor_client.post(url(section, "section-edit"), fields)

    # Saved, and said so; the citation and the TODO item are not there yet.
    assert response.status_code == 302
    page = contributor_client.get(response["Location"]).text
    assert "Saved." in page
    section.refresh_from_db()
    assert "new-claim" in section.body
    assert section.unsynced_revision == section.revisions.order_by("-id").first()
    assert not section.citations.filter(key_as_written__contains="new-claim").exists()

    # The beat's sweep, once the sync is overdue (production's SYNC_SWEEP_AFTER).
    later = timezone.now() + timedelta(seconds=settings.SYNC_SWEEP_AFTER + 1)
    assert tasks.sync_unsynced_sections(later.isoformat()) == 1

    section.refresh_from_db()
    assert section.unsynced_revision is None
    assert section.citations.filter(key_as_written__contains="new-claim").exists()
    assert section.todos.filter(text__contains="check it").exists()
    assert tasks.sync_unsynced_sections(later.isoformat()) == 0


def test_a_script_must_say_it_overwrites(section, contributor):
    with pytest.raises(ValueError, match="overwrite=True"):
        revisions.save_edit(section, body="Blind.\n", by=contributor)
    revisions.save_edit(section, body="On purpose.\n", by=contributor, overwrite=True)
    section.refresh_from_db()
    assert section.body == "On purpose.\n"


def test_live_preview_numbers_citations_as_the_manuscript_will(
    contributor_client, section, maintainer
):
    earlier = make_section(section.manuscript, "Background", position=0)
    revisions.save_edit(
        earlier, body="Known [@doi:10.1/known].", by=maintainer, overwrite=True
    )

    response = contributor_client.post(
        url(section, "section-live-preview"),
        {"title": "Intro", "body": "New [@doi:10.1/new] and known [@doi:10.1/known]."},
    )

    assert response.status_code == 200
    assert re.findall(r'href="#ref-(\d+)"', response.text) == ["2", "1"]
    assert "doi:10.1/new: new; its metadata is fetched once you save" in response.text
    assert section.revisions.count() == 1  # a preview saves nothing


def test_preview_button_works_without_javascript_and_saves_nothing(
    contributor_client, section
):
    fields = open_editor(contributor_client, section)
    fields.update(body="**Bold** draft", preview="1")

    response = contributor_client.post(url(section, "section-edit"), fields)

    assert response.status_code == 200
    assert "<strong>Bold</strong> draft" in response.text
    assert section.revisions.count() == 1


def test_two_revisions_compare_word_by_word(contributor_client, section, contributor):
    first = section.revisions.get()
    revisions.save_edit(
        section,
        body=PARAGRAPHS.replace("Second", "Another second"),
        by=contributor,
        overwrite=True,
    )
    second = section.revisions.order_by("-id").first()

    response = contributor_client.get(
        url(section, "section-compare"), {"old": second.pk, "new": first.pk}
    )

    assert response.status_code == 200
    assert "<del>Second</del><ins>Another second</ins> paragraph." in response.text


def test_restoring_an_old_revision_adds_a_revision_and_keeps_history(
    contributor_client, section, contributor
):
    first = section.revisions.get()
    revisions.save_edit(
        section, body="Rewritten entirely.\n", by=contributor, overwrite=True
    )

    restore = reverse("sections:revision-restore", args=[first.pk])
    assert contributor_client.get(restore).status_code == 405
    assert contributor_client.post(restore).status_code == 302

    section.refresh_from_db()
    assert section.body == PARAGRAPHS
    assert section.revisions.count() == 3
    assert section.revisions.order_by("-id").first().summary.startswith("Restored")


def test_the_public_can_neither_edit_nor_read_history(client: Client, section):
    for name in ["section-edit", "section-history", "section-compare"]:
        response = client.get(url(section, name))
        assert response.status_code == 302, name
        assert response.url.startswith(reverse("account_login"))
    response = client.post(url(section, "section-edit"), {"title": "x", "body": "y"})
    assert response.status_code == 302
    first = section.revisions.get()
    assert client.post(
        reverse("sections:revision-restore", args=[first.pk])
    ).url.startswith(reverse("account_login"))
    assert Revision.objects.filter(section=section).count() == 1


def test_a_citation_key_too_long_to_store_is_refused_with_the_text_kept(
    contributor_client, section
):
    fields = open_editor(contributor_client, section)
    fields["body"] = f"See [@url:https://example.org/{'x' * 600}]."

    response = contributor_client.post(url(section, "section-edit"), fields)

    assert response.status_code == 422
    assert "longer than 500 characters" in response.text
    assert "x" * 600 in response.text
    assert section.revisions.count() == 1


def test_a_removed_section_still_previews(maintainer_client, section, maintainer):
    from sections import outline

    outline.remove(section, by=maintainer)
    response = maintainer_client.post(
        url(section, "section-live-preview"),
        {"title": "Intro", "body": "Back soon [@doi:10.1/back]."},
    )
    assert response.status_code == 200
    assert 'href="#ref-1"' in response.text

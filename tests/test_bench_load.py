"""The load benchmark's own pieces (bench/load.py): it reads our pages as a browser
does, and its lost-write check flags a save whose change is gone. The load itself is
run by hand (`make bench-load`), never as a test."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from bench.lost_writes import (
    AcceptedSave,
    add_marker,
    find_lost,
    marker_for,
    own_paragraph,
)
from bench.pages import read_page
from sections import revisions
from tests.factories import make_manuscript, make_section

# What a browser must send back exactly as it came: markup, entities, quotes, and a
# newline at the very start (the textarea's own first newline is not part of it).
BODY = '\nIntro with <abbr title="x">k</abbr> & "quotes".\n\nSecond paragraph.\n'


@pytest.fixture
def section(db, maintainer):
    section = make_section(make_manuscript("Load review"), "Intro", body="")
    # Base 0: no revision yet (an explicit base, never "overwrite whatever is latest").
    revisions.save_edit(section, body=BODY, by=maintainer, summary="Start", base=0)
    section.refresh_from_db()
    return section


@pytest.fixture
def browser(contributor) -> Client:
    """A signed-in client that checks CSRF tokens, as the server does for browsers."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(contributor)
    return client


def edit_url(section, name: str = "section-edit") -> str:
    return reverse(f"sections:{name}", args=[section.manuscript.slug, section.slug])


def test_the_editor_form_read_from_the_page_saves_and_previews_as_a_browser(
    browser, section
):
    page = read_page(browser.get(edit_url(section)).text)
    form = page.form("edit-form")
    assert form.fields["body"] == BODY
    assert form.fields["base"] == str(section.revisions.get().pk)

    body = add_marker(form.fields["body"], user=7, marker=marker_for(7, 1))
    live = page.hx_post("live-preview")
    preview = browser.post(
        live.url,
        {"title": form.fields["title"], "body": body},
        headers=live.headers,  # the CSRF token htmx sends
    )
    assert preview.status_code == 200
    assert marker_for(7, 1) in preview.text

    saved = browser.post(form.action, {**form.fields, "body": body}, follow=True)
    assert read_page(saved.text).messages == ["Saved."]
    section.refresh_from_db()
    assert section.body == BODY.rstrip() + "\n\nLoad contributor 7 notes: lw007n0001\n"


def test_the_comment_form_read_from_the_section_page_posts(browser, section):
    form = read_page(browser.get(section.get_absolute_url()).text).form("comment-form")

    answer = browser.post(form.action, {**form.fields, "body": "A load comment."})

    assert answer.status_code == 302
    assert section.comments.get().body == "A load comment."


def test_the_lost_write_check_passes_merged_saves_and_flags_an_overwrite(
    browser, contributor, other_contributor, section
):
    """Two contributors save from the same editor page, each in a paragraph of its
    own (merged: nothing lost); then one saves old text on top of the latest
    revision, as the editor's two-query read allowed, and the other's change is gone."""
    start = f"{own_paragraph(1)}\n\nBetween the two.\n\n{own_paragraph(2)}\n"
    first = section.revisions.get()
    revisions.save_edit(section, body=start, by=contributor, base=first.pk)
    other = Client(enforce_csrf_checks=True)
    other.force_login(other_contributor)
    accepted, texts = [], []
    opened = [
        (
            client,
            number,
            read_page(client.get(edit_url(section)).text).form("edit-form"),
        )
        for number, client in [(1, browser), (2, other)]
    ]
    for client, number, form in opened:
        marker = marker_for(number, 1)
        body = add_marker(form.fields["body"], user=number, marker=marker)
        assert (
            client.post(form.action, {**form.fields, "body": body}).status_code == 302
        )
        accepted.append(AcceptedSave(edit_url(section), number, marker))
        section.refresh_from_db()
        texts.append(section.body)

    def final_texts() -> dict[str, str]:
        section.refresh_from_db()
        return {edit_url(section): section.body}

    assert find_lost(accepted, final_texts()) == []

    latest = section.revisions.order_by("-created_at", "-id").first()
    # The text after the first save, paired with the revision after the second.
    stale = add_marker(texts[0], user=1, marker=marker_for(1, 2))
    revisions.save_edit(section, body=stale, by=contributor, base=latest.pk)
    accepted.append(AcceptedSave(edit_url(section), 1, marker_for(1, 2)))

    assert find_lost(accepted, final_texts()) == [accepted[1]]

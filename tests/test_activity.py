"""The activity feed and contributions: what the domain functions record, the pages
that show it (HTML, Atom, CSV), who may see them, and how many queries they take."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET

import pytest
from django.test import Client
from django.urls import reverse

from sections import activity, comments, contributors, outline, references, revisions
from sections.citations import resolve
from sections.models import Activity, Reference, TodoItem
from tests.factories import make_manuscript, make_section, make_user

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def history(contributor, other_contributor):
    """Two contributors' known work on two sections of one manuscript."""
    manuscript = make_manuscript("Activity review")
    intro = make_section(manuscript, "Intro", body="")
    methods = make_section(manuscript, "Methods", body="")
    carol, dave = contributor, other_contributor
    revisions.save_edit(intro, body="one two three", by=carol, overwrite=True)  # +3
    revisions.save_edit(
        intro, body="one two three four five", by=dave, overwrite=True
    )  # +2
    revisions.save_edit(
        intro, body="one three four five six", by=carol, overwrite=True
    )  # +1 -1
    # +2, and the first to cite doi:10.1/a
    revisions.save_edit(methods, body="alpha [@doi:10.1/a]", by=carol, overwrite=True)
    revisions.save_edit(
        methods, body="alpha [@doi:10.1/a]", by=dave, overwrite=True
    )  # no change
    comments.post(intro, by=carol, body="Shorter?")
    gone = comments.post(intro, by=carol, body="Never mind.")
    comments.delete(gone, by=carol)
    question = comments.post(methods, by=dave, body="Which assay?")
    comments.reply(question, by=dave, body="The second one.")
    todo = TodoItem.objects.create(
        section=methods, kind=TodoItem.Kind.MANUAL, text="Add the assay"
    )
    TodoItem.objects.filter(pk=todo.pk).update(
        status=TodoItem.Status.DONE, closed_by=contributors.for_user(dave)
    )
    return {"manuscript": manuscript, "intro": intro, "methods": methods}


def url(name: str, *args: str) -> str:
    return reverse(f"sections:{name}", args=args)


def kinds(response) -> list[str]:
    return [entry.kind for entry in response.context["page"].object_list]


# What is recorded


def test_edits_and_comments_are_recorded_newest_first_with_actor_and_link(
    history, contributor
):
    entries = list(Activity.objects.filter(manuscript=history["manuscript"]))
    assert [e.kind for e in entries] == ["comment"] * 4 + ["edit"] * 4
    newest_edit = entries[4]
    assert newest_edit.summary == "carol edited “Methods”"
    assert newest_edit.actor == contributors.for_user(contributor)
    assert newest_edit.url == history["methods"].get_absolute_url()
    reply = entries[0]
    assert reply.summary == "dave replied on “Methods”"
    assert reply.url.startswith(
        history["methods"].get_absolute_url() + "?threads=all#comment-"
    )


def test_a_rename_is_one_structure_entry(history, maintainer):
    outline.rename(history["intro"], title="Introduction", by=maintainer)
    latest = Activity.objects.filter(manuscript=history["manuscript"]).first()
    assert latest.kind == Activity.Kind.STRUCTURE
    assert latest.summary == "maya renamed “Intro” to “Introduction”"
    assert not Activity.objects.filter(summary__contains="edited “Introduction”")


def test_structure_changes_are_recorded_with_who_made_them(history, maintainer):
    added = outline.add_section(
        history["manuscript"],
        title="Results",
        after=history["methods"],
        as_child=False,
        by=maintainer,
    )
    outline.move(added, direction="up", by=maintainer)
    outline.remove(added, by=maintainer)
    outline.restore(added, by=maintainer)
    entries = Activity.objects.filter(kind=Activity.Kind.STRUCTURE)
    assert [e.summary for e in entries] == [
        "maya restored “Results”",
        "maya removed “Results”",
        "maya moved “Results” up",
        "maya added “Results”",
    ]
    assert {e.section_id for e in entries} == {added.pk}


def test_fetch_outcomes_are_recorded_without_an_actor(history):
    manuscript = history["manuscript"]
    found = Reference.objects.create(manuscript=manuscript, key="doi:10.1/found")
    missing = Reference.objects.create(manuscript=manuscript, key="doi:10.1/missing")
    references.record_fetched(found, resolve.Fetched(csl={"title": "T"}, source="x"))
    references.record_failure(missing, "DOI not found")
    failed, resolved = Activity.objects.filter(kind=Activity.Kind.REFERENCE)
    assert resolved.summary == "doi:10.1/found resolved"
    assert failed.summary == "doi:10.1/missing failed: DOI not found"
    assert failed.actor is None
    assert failed.url == url("reference-detail", str(missing.pk))


# The feed pages


def test_the_feed_lists_events_newest_first_and_filters_by_kind(
    contributor_client: Client, history
):
    slug = history["manuscript"].slug
    response = contributor_client.get(url("activity", slug))
    assert response.status_code == 200
    assert kinds(response) == ["comment"] * 4 + ["edit"] * 4
    edits = contributor_client.get(url("activity", slug), {"kind": "edit"})
    assert kinds(edits) == ["edit"] * 4
    assert (
        contributor_client.get(url("activity", slug), {"kind": "nope"}).status_code
        == 422
    )


def test_the_section_feed_shows_only_its_section(contributor_client: Client, history):
    intro = history["intro"]
    response = contributor_client.get(
        url("section-activity", intro.manuscript.slug, intro.slug)
    )
    entries = response.context["page"].object_list
    assert {e.section_id for e in entries} == {intro.pk}
    assert [e.kind for e in entries] == ["comment", "comment", "edit", "edit", "edit"]


def test_the_feed_paginates_by_fifty_and_keeps_the_filter(
    contributor_client: Client, history
):
    manuscript = history["manuscript"]
    for n in range(60):
        activity.record(manuscript.pk, kind=Activity.Kind.TODO, summary=f"todo {n}")
    first = contributor_client.get(url("activity", manuscript.slug), {"kind": "todo"})
    assert len(first.context["page"].object_list) == 50
    assert first.context["page"].object_list[0].summary == "todo 59"
    assert b"?kind=todo&amp;page=2" in first.content
    second = contributor_client.get(
        url("activity", manuscript.slug), {"kind": "todo", "page": "2"}
    )
    assert [e.summary for e in second.context["page"].object_list] == [
        f"todo {n}" for n in range(9, -1, -1)
    ]


def test_summaries_are_shown_escaped(contributor_client: Client, history):
    manuscript = history["manuscript"]
    activity.record(manuscript.pk, kind="edit", summary="<script>alert(1)</script>")
    page = contributor_client.get(url("activity", manuscript.slug)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_feed_pages_take_a_bounded_number_of_queries(
    contributor_client: Client, history, django_assert_max_num_queries
):
    manuscript, intro = history["manuscript"], history["intro"]
    for n in range(60):
        activity.record(manuscript.pk, kind="edit", summary=f"{n}", section=intro)
    with django_assert_max_num_queries(6):
        contributor_client.get(url("activity", manuscript.slug))
    with django_assert_max_num_queries(6):
        contributor_client.get(url("section-activity", manuscript.slug, intro.slug))
    with django_assert_max_num_queries(6):
        contributor_client.get(url("activity-atom", manuscript.slug))


# Atom


def test_the_atom_feed_is_valid_xml_with_entries(
    contributor_client: Client, history, settings
):
    settings.SITE_URL = "https://review.example.org"
    manuscript = history["manuscript"]
    activity.record(manuscript.pk, kind="edit", summary="a <b>bold</b> claim")
    response = contributor_client.get(url("activity-atom", manuscript.slug))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Activity in Activity review"
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 9
    newest = entries[0]
    assert newest.findtext(f"{ATOM}title") == "a <b>bold</b> claim"
    # Declared HTML, so escaped once more: a reader shows the text as typed.
    assert newest.findtext(f"{ATOM}summary") == "a &lt;b&gt;bold&lt;/b&gt; claim"
    edit = next(
        e for e in entries if e.findtext(f"{ATOM}title") == "carol edited “Methods”"
    )
    assert edit.find(f"{ATOM}link").get("href") == (
        "https://review.example.org" + history["methods"].get_absolute_url()
    )
    assert edit.findtext(f"{ATOM}author/{ATOM}name") == "carol"
    assert edit.findtext(f"{ATOM}updated")
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == 9


def test_the_atom_feed_asks_for_a_sign_in(client: Client, history):
    response = client.get(url("activity-atom", history["manuscript"].slug))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def private_feed_url(client: Client, manuscript) -> str:
    """The manuscript's private feed address, as My work shows it to its owner."""
    page = client.get(reverse("sections:my-work")).text
    match = re.search(
        rf'id="feed-{manuscript.slug}" type="text" readonly value="([^"]+)"', page
    )
    assert match, "My work shows no feed address"
    return match.group(1)


def test_a_feed_reader_reads_the_private_feed_without_a_session_until_reset(
    contributor_client: Client, contributor, history, settings
):
    settings.SITE_URL = "http://testserver"
    manuscript = history["manuscript"]
    address = private_feed_url(contributor_client, manuscript)
    reader = Client()  # no session, no cookie: a feed reader
    response = reader.get(address)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    assert "private" in response["Cache-Control"]
    feed = ET.fromstring(response.content)
    entries = [e.findtext(f"{ATOM}id") for e in feed.findall(f"{ATOM}entry")]
    signed_in = ET.fromstring(
        contributor_client.get(url("activity-atom", manuscript.slug)).content
    )
    assert entries == [
        e.findtext(f"{ATOM}id") for e in signed_in.findall(f"{ATOM}entry")
    ]
    assert len(entries) == 8
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == address
    # The same address again is the same feed: the token is stable until reset.
    assert private_feed_url(contributor_client, manuscript) == address

    tampered = address.rstrip("/")[:-1] + ("0" if address[-2] != "0" else "1") + "/"
    assert reader.get(tampered).status_code == 404
    assert (
        reader.get(address.replace("/atom/", "/atom/x-").rstrip("/") + "/").status_code
        == 404
    )

    response = contributor_client.post(reverse("sections:my-feed-reset"), follow=True)
    assert "the old ones no longer work" in response.text
    assert reader.get(address).status_code == 404
    renewed = private_feed_url(contributor_client, manuscript)
    assert renewed != address
    assert reader.get(renewed).status_code == 200

    # The token reads what its owner may read: nothing, once the account is closed.
    contributor.is_active = False
    contributor.save(update_fields=["is_active"])
    assert reader.get(renewed).status_code == 404


def test_resetting_the_feed_address_takes_a_post(contributor_client: Client, db):
    assert contributor_client.get(reverse("sections:my-feed-reset")).status_code == 405
    assert Client().post(reverse("sections:my-feed-reset")).status_code == 302


@pytest.mark.parametrize(
    "name", ["activity", "contributions", "activity-atom", "section-activity"]
)
def test_the_public_is_sent_to_sign_in(client: Client, history, name):
    args = [history["manuscript"].slug]
    if name == "section-activity":
        args.append(history["intro"].slug)
    response = client.get(url(name, *args))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_unknown_manuscript_is_404(contributor_client: Client, db):
    assert contributor_client.get(url("activity", "nope")).status_code == 404
    assert contributor_client.get(url("contributions", "nope")).status_code == 404


# Contributions

EXPECTED = {
    # name: revisions, words added, words removed, sections edited, comments, TODOs
    # closed, references added
    "carol": (3, 6, 1, 2, 1, 0, 1),
    "dave": (1, 2, 0, 1, 2, 1, 0),
}


def test_contributions_count_each_contributors_work(
    contributor_client: Client, history
):
    response = contributor_client.get(url("contributions", history["manuscript"].slug))
    assert response.status_code == 200
    rows = {
        row.contributor.display_name: (
            row.revisions,
            row.words_added,
            row.words_removed,
            row.sections_edited,
            row.comments,
            row.todos_closed,
            row.references_added,
        )
        for row in response.context["rows"]
    }
    assert rows == EXPECTED
    carol = response.context["rows"][0]
    assert [
        (s.title, s.revisions, s.words_added, s.words_removed) for s in carol.by_section
    ] == [("Intro", 2, 4, 1), ("Methods", 1, 2, 0)]


def test_the_csv_has_the_same_numbers_and_the_orcid(
    contributor_client: Client, history, contributor
):
    carol = contributors.for_user(contributor)
    carol.orcid = "0000-0002-1825-0097"
    carol.save(update_fields=["orcid"])
    response = contributor_client.get(
        url("contributions", history["manuscript"].slug), {"format": "csv"}
    )
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = csv.reader(io.StringIO(response.content.decode()))
    assert header == [
        "Contributor",
        "ORCID",
        "Revisions",
        "Words added",
        "Words removed",
        "Sections edited",
        "Comments",
        "TODOs closed",
        "References added",
        "Proposals",
        "Proposals accepted",
        "Reviews",
    ]
    # Nobody here proposed or reviewed a change (tests/test_proposals.py counts them).
    assert {row[0]: tuple(int(n) for n in row[2:]) for row in rows} == {
        name: (*counts, 0, 0, 0) for name, counts in EXPECTED.items()
    }
    assert rows[0][:2] == ["carol", "0000-0002-1825-0097"]


def test_a_name_that_looks_like_a_formula_is_quoted_in_the_csv(
    contributor_client: Client, history, other_contributor
):
    dave = contributors.for_user(other_contributor)
    dave.display_name = "=HYPERLINK(1)"
    dave.save(update_fields=["display_name"])
    response = contributor_client.get(
        url("contributions", history["manuscript"].slug), {"format": "csv"}
    )
    names = [row[0] for row in csv.reader(io.StringIO(response.content.decode()))]
    assert "'=HYPERLINK(1)" in names


def test_contributions_take_a_bounded_number_of_queries(
    contributor_client: Client, history, django_assert_max_num_queries
):
    manuscript = history["manuscript"]
    for n in range(10):
        section = make_section(manuscript, f"Extra {n}", body="")
        writer = make_user(f"writer{n}@example.org")
        revisions.save_edit(section, body=f"words {n}", by=writer, overwrite=True)
    with django_assert_max_num_queries(11):
        page = contributor_client.get(url("contributions", manuscript.slug))
    assert len(page.context["rows"]) == 12
    with django_assert_max_num_queries(11):
        contributor_client.get(url("contributions", manuscript.slug), {"format": "csv"})

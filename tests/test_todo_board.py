"""The maintainers' triage board: filters, sorting, paging, counts, CSV export,
bulk changes and TODO items made by hand (issue 7)."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from sections import contributors, todos
from sections.models import Activity, Contributor, Manuscript, Section, TodoItem
from tests.factories import make_manuscript, make_section

Kind, Status, Priority = TodoItem.Kind, TodoItem.Status, TodoItem.Priority


@pytest.fixture
def paper(db) -> Manuscript:
    return make_manuscript("Triage paper")


@pytest.fixture
def intro(paper) -> Section:
    return make_section(paper, "Intro")


@pytest.fixture
def methods(paper) -> Section:
    return make_section(paper, "Methods")


def todo(section: Section, text: str, **fields: object) -> TodoItem:
    fields.setdefault("kind", Kind.MANUAL)
    return TodoItem.objects.create(section=section, text=text, **fields)


def board(manuscript: Manuscript, name: str = "sections:todo-board") -> str:
    return reverse(name, args=[manuscript.slug])


def shown(response) -> list[str]:
    assert response.status_code == 200
    return [item.text for item in response.context["page"]]


def test_board_shows_open_items_unless_another_status_is_asked_for(
    contributor_client, paper, intro
):
    todo(intro, "open one")
    todo(intro, "done one", status=Status.DONE)
    todo(intro, "gone from text", status=Status.RESOLVED_IN_TEXT)
    url = board(paper)
    assert shown(contributor_client.get(url)) == ["open one"]
    assert shown(contributor_client.get(url, {"status": "done"})) == ["done one"]
    everything = shown(contributor_client.get(url, {"status": "all"}))
    assert sorted(everything) == ["done one", "gone from text", "open one"]


def test_filters_by_section_kind_and_priority_combine(
    contributor_client, paper, intro, methods
):
    todo(intro, "intro high note", kind=Kind.INLINE_NOTE, priority=Priority.HIGH)
    todo(intro, "intro low note", kind=Kind.INLINE_NOTE, priority=Priority.LOW)
    todo(intro, "intro high citation", kind=Kind.MISSING_CITATION, priority=3)
    todo(methods, "methods high note", kind=Kind.INLINE_NOTE, priority=3)
    url = board(paper)
    assert sorted(shown(contributor_client.get(url, {"section": methods.pk}))) == [
        "methods high note"
    ]
    combined = {"section": intro.pk, "kind": Kind.INLINE_NOTE, "priority": 3}
    assert shown(contributor_client.get(url, combined)) == ["intro high note"]
    assert len(shown(contributor_client.get(url, {"priority": 3}))) == 3


def test_filters_by_assignee_nobody_and_me(
    contributor_client, contributor, other_contributor, paper, intro
):
    me = contributors.for_user(contributor)
    them = contributors.for_user(other_contributor)
    todo(intro, "mine", assignee=me)
    todo(intro, "theirs", assignee=them)
    todo(intro, "nobody's")
    url = board(paper)
    assert shown(contributor_client.get(url, {"assignee": "me"})) == ["mine"]
    assert shown(contributor_client.get(url, {"assignee": "unassigned"})) == [
        "nobody's"
    ]
    assert shown(contributor_client.get(url, {"assignee": them.pk})) == ["theirs"]
    assert len(shown(contributor_client.get(url, {"assignee": ""}))) == 3


def test_filters_by_age_from_when_the_item_was_made(contributor_client, paper, intro):
    now = timezone.now()
    todo(intro, "fresh", created_at=now - timedelta(days=2))
    todo(intro, "a fortnight old", created_at=now - timedelta(days=14))
    todo(intro, "two months old", created_at=now - timedelta(days=60))
    url = board(paper)
    assert sorted(shown(contributor_client.get(url, {"age": 7}))) == [
        "a fortnight old",
        "two months old",
    ]
    assert shown(contributor_client.get(url, {"age": 30})) == ["two months old"]
    assert shown(contributor_client.get(url, {"age": 90})) == []


def test_sorts_by_age_priority_or_section_order(
    contributor_client, paper, intro, methods
):
    now = timezone.now()
    todo(methods, "old low", priority=1, created_at=now - timedelta(days=9), start=1)
    todo(intro, "new normal", priority=2, created_at=now - timedelta(days=1), start=5)
    todo(intro, "mid high", priority=3, created_at=now - timedelta(days=5), start=2)
    url = board(paper)
    assert shown(contributor_client.get(url)) == ["new normal", "mid high", "old low"]
    assert shown(contributor_client.get(url, {"sort": "oldest"})) == [
        "old low",
        "mid high",
        "new normal",
    ]
    assert shown(contributor_client.get(url, {"sort": "priority"})) == [
        "mid high",
        "new normal",
        "old low",
    ]
    assert shown(contributor_client.get(url, {"sort": "section"})) == [
        "mid high",
        "new normal",
        "old low",
    ]


def test_an_unknown_filter_value_falls_back_to_its_default(
    contributor_client, paper, intro
):
    todo(intro, "open one")
    response = contributor_client.get(board(paper), {"sort": "sideways", "age": "x"})
    assert shown(response) == ["open one"]


def test_pages_hold_fifty_items_and_links_keep_the_filters(
    contributor_client, paper, intro
):
    TodoItem.objects.bulk_create(
        TodoItem(section=intro, kind=Kind.MANUAL, text=f"item {n}", priority=3)
        for n in range(120)
    )
    url = board(paper)
    first = contributor_client.get(url, {"priority": 3})
    assert len(shown(first)) == 50
    assert first.context["page"].paginator.num_pages == 3
    assert "?priority=3&amp;page=2" in first.text
    third = contributor_client.get(url, {"priority": 3, "page": 3})
    assert len(shown(third)) == 20
    assert "Items 101–120 of 120" in third.text
    # Past the end is the last page, not an error.
    assert contributor_client.get(url, {"page": 99}).context["page"].number == 3


def test_counts_open_items_per_section(contributor_client, seed):
    response = contributor_client.get(board(seed))
    counts = {s.title: s.open_todos for s in response.context["sections"]}
    # The outline counts the seed's open items too (tests/test_views_access.py).
    assert counts["Morphological phenotypes"] == 30
    section = seed.sections.get(title="Morphological phenotypes")
    TodoItem.objects.filter(section=section)[:1].get().delete()
    again = contributor_client.get(board(seed))
    assert {s.title: s.open_todos for s in again.context["sections"]}[
        "Morphological phenotypes"
    ] == 29


def test_csv_export_has_the_filtered_items_and_a_file_name(
    contributor_client, contributor, paper, intro, methods
):
    me = contributors.for_user(contributor)
    wanted = todo(intro, 'Cite, the "right" paper', assignee=me, priority=3)
    todo(intro, "not high", priority=1)
    todo(methods, "closed", priority=3, status=Status.DONE)
    response = contributor_client.get(board(paper), {"priority": 3, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="todos-triage-paper.csv"'
    )
    content = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(content)))
    assert rows[0] == [
        "id",
        "section",
        "kind",
        "status",
        "priority",
        "assignee",
        "suggested assignee",
        "text",
        "created",
        "updated",
    ]
    assert len(rows) == 2
    row = rows[1]
    assert row[:8] == [
        str(wanted.pk),
        "Intro",
        "manual",
        "open",
        "High",
        str(me),
        "",
        'Cite, the "right" paper',
    ]


def test_csv_export_keeps_formula_like_text_as_text(contributor_client, paper, intro):
    todo(intro, '=HYPERLINK("http://evil.example")')
    response = contributor_client.get(board(paper), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][7] == '\'=HYPERLINK("http://evil.example")'


def test_item_text_is_escaped(contributor_client, paper, intro):
    todo(intro, "<script>alert(1)</script>")
    response = contributor_client.get(board(paper))
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_htmx_filter_change_gets_the_list_alone(contributor_client, paper, intro):
    todo(intro, "open one")
    response = contributor_client.get(board(paper), headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert 'id="todo-list"' in response.text
    assert "<html" not in response.text
    assert "open one" in response.text


def test_contributors_read_the_board_without_the_maintainers_forms(
    contributor_client, maintainer_client, paper, intro
):
    todo(intro, "open one")
    read = contributor_client.get(board(paper))
    assert board(paper, "sections:todo-bulk") not in read.text
    assert 'name="items"' not in read.text
    triage = maintainer_client.get(board(paper))
    assert board(paper, "sections:todo-bulk") in triage.text
    assert 'name="items"' in triage.text


def test_anonymous_is_sent_to_sign_in(client: Client, paper):
    response = client.get(board(paper))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    bulk = client.post(board(paper, "sections:todo-bulk"))
    assert bulk.url.startswith(reverse("account_login"))


def test_bulk_and_new_reject_get(maintainer_client, paper):
    assert maintainer_client.get(board(paper, "sections:todo-bulk")).status_code == 405
    assert (
        maintainer_client.get(board(paper, "sections:todo-create")).status_code == 405
    )


def test_contributor_may_not_triage(contributor_client, paper, intro):
    item = todo(intro, "open one")
    response = contributor_client.post(
        board(paper, "sections:todo-bulk"), {"items": [item.pk], "action": "done"}
    )
    assert response.status_code == 403
    made = contributor_client.post(
        board(paper, "sections:todo-create"), {"section": intro.pk, "text": "x"}
    )
    assert made.status_code == 403
    item.refresh_from_db()
    assert item.status == Status.OPEN
    assert TodoItem.objects.count() == 1


def test_unknown_manuscript_is_a_404(contributor_client, maintainer_client, db):
    assert contributor_client.get("/todos/of/nope/").status_code == 404
    assert maintainer_client.post("/todos/of/nope/bulk/").status_code == 404


def bulk(client: Client, manuscript: Manuscript, items: list[TodoItem], **data):
    return client.post(
        board(manuscript, "sections:todo-bulk"),
        {"items": [item.pk for item in items], **data},
    )


def test_bulk_assign_changes_exactly_the_ticked_items(
    maintainer_client, other_contributor, paper, intro, methods
):
    them = contributors.for_user(other_contributor)
    ticked = [todo(intro, "a"), todo(methods, "b")]
    left = todo(intro, "c")
    response = bulk(maintainer_client, paper, ticked, action="assign", assignee=them.pk)
    assert response.status_code == 302
    assert set(TodoItem.objects.filter(assignee=them)) == set(ticked)
    left.refresh_from_db()
    assert left.assignee is None
    assert all(
        item.updated_at > left.updated_at
        for item in TodoItem.objects.filter(assignee=them)
    )
    # One entry per section touched, by the maintainer, linking to the board.
    entries = Activity.objects.filter(kind=Activity.Kind.TODO).order_by("section_id")
    assert [(e.section, e.summary) for e in entries] == [
        (intro, f"1 TODO item in “Intro” assigned to {them}"),
        (methods, f"1 TODO item in “Methods” assigned to {them}"),
    ]
    assert all(e.actor.user.email == "maya@example.org" for e in entries)
    assert entries[0].url.startswith(board(paper))


def test_bulk_assign_to_nobody_unassigns(maintainer_client, contributor, paper, intro):
    item = todo(intro, "a", assignee=contributors.for_user(contributor))
    bulk(maintainer_client, paper, [item], action="assign", assignee="")
    item.refresh_from_db()
    assert item.assignee is None


def test_bulk_priority_sets_the_priority_in_one_update(
    maintainer_client, paper, intro, methods
):
    ticked = [todo(intro, "a"), todo(intro, "b"), todo(methods, "c")]
    left = todo(intro, "d")
    with CaptureQueriesContext(connection) as queries:
        bulk(maintainer_client, paper, ticked, action="prioritise", priority=3)
    updates = [
        q["sql"] for q in queries if q["sql"].startswith('UPDATE "sections_todoitem"')
    ]
    assert len(updates) == 1
    assert set(TodoItem.objects.filter(priority=3)) == set(ticked)
    left.refresh_from_db()
    assert left.priority == Priority.NORMAL
    summaries = set(Activity.objects.values_list("summary", flat=True))
    assert summaries == {
        "2 TODO items in “Intro” set to high priority",
        "1 TODO item in “Methods” set to high priority",
    }


def test_bulk_priority_needs_a_priority(maintainer_client, paper, intro):
    item = todo(intro, "a")
    response = bulk(maintainer_client, paper, [item], action="prioritise")
    assert response.status_code == 422
    assert "Choose the priority to set." in response.text
    # The ticked box stays ticked, to fix the form and send it again.
    assert f'value="{item.pk}" aria-label="Choose item {item.pk}" checked' in (
        response.text
    )


def test_bulk_with_nothing_ticked_is_sent_back(maintainer_client, paper, intro):
    response = bulk(maintainer_client, paper, [], action="done")
    assert response.status_code == 422
    assert "Tick at least one item." in response.text


def test_closing_records_who_and_when_and_keeps_earlier_closings(
    maintainer_client, maintainer, contributor, paper, intro
):
    earlier = timezone.now() - timedelta(days=3)
    carol = contributors.for_user(contributor)
    ticked = [todo(intro, "a"), todo(intro, "b")]
    already = todo(
        intro, "c", status=Status.WONT_DO, closed_at=earlier, closed_by=carol
    )
    left = todo(intro, "d")
    response = bulk(maintainer_client, paper, [*ticked, already], action="done")
    assert response.status_code == 302
    maya = Contributor.objects.get(user=maintainer)
    for item in ticked:
        item.refresh_from_db()
        assert item.status == Status.DONE
        assert item.closed_by == maya
        assert timezone.now() - item.closed_at < timedelta(minutes=1)
    already.refresh_from_db()
    assert (already.status, already.closed_at, already.closed_by) == (
        Status.WONT_DO,
        earlier,
        carol,
    )
    left.refresh_from_db()
    assert (left.status, left.closed_at) == (Status.OPEN, None)
    assert Activity.objects.get().summary == "2 TODO items in “Intro” closed as done"


def test_closing_as_wont_do(maintainer_client, paper, intro):
    item = todo(intro, "a")
    bulk(maintainer_client, paper, [item], action="wont_do")
    item.refresh_from_db()
    assert item.status == Status.WONT_DO
    assert item.closed_at is not None


def test_closing_only_closed_items_is_sent_back(maintainer_client, paper, intro):
    item = todo(intro, "a", status=Status.DONE)
    response = bulk(maintainer_client, paper, [item], action="wont_do")
    assert response.status_code == 422
    assert "None of the chosen items is open." in response.text
    assert not Activity.objects.exists()


def test_reopening_forgets_how_an_item_was_closed(
    maintainer_client, contributor, paper, intro
):
    carol = contributors.for_user(contributor)
    done = todo(
        intro, "a", status=Status.DONE, closed_at=timezone.now(), closed_by=carol
    )
    resolved = todo(intro, "b", status=Status.RESOLVED_IN_TEXT)
    still_open = todo(intro, "c")
    response = bulk(
        maintainer_client, paper, [done, resolved, still_open], action="reopen"
    )
    assert response.status_code == 302
    for item in [done, resolved]:
        item.refresh_from_db()
        assert (item.status, item.closed_at, item.closed_by) == (
            Status.OPEN,
            None,
            None,
        )
    assert Activity.objects.get().summary == "2 TODO items in “Intro” reopened"


def test_bulk_leaves_other_manuscripts_items_alone(maintainer_client, paper, intro):
    other = make_section(make_manuscript("Another paper"), "Intro")
    theirs = todo(other, "not on this board")
    mine = todo(intro, "on this board")
    bulk(maintainer_client, paper, [theirs, mine], action="done")
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert (theirs.status, mine.status) == (Status.OPEN, Status.DONE)


def test_bulk_returns_to_the_board_with_its_filters(maintainer_client, paper, intro):
    item = todo(intro, "a", priority=3)
    url = board(paper, "sections:todo-bulk") + "?priority=3&sort=oldest"
    response = maintainer_client.post(url, {"items": [item.pk], "action": "done"})
    assert response.url == board(paper) + "?priority=3&sort=oldest"


def test_maintainer_makes_a_todo_by_hand(maintainer_client, contributor, paper, intro):
    carol = contributors.for_user(contributor)
    response = maintainer_client.post(
        board(paper, "sections:todo-create"),
        {
            "section": intro.pk,
            "text": "  Add a figure.  ",
            "assignee": carol.pk,
            "priority": 3,
        },
    )
    assert response.status_code == 302
    assert response.url == board(paper) + f"?section={intro.pk}"
    item = TodoItem.objects.get()
    assert (item.section, item.kind, item.text, item.assignee, item.priority) == (
        intro,
        Kind.MANUAL,
        "Add a figure.",
        carol,
        Priority.HIGH,
    )
    entry = Activity.objects.get()
    assert entry.section == intro
    assert entry.summary == f"New TODO on “Intro”, assigned to {carol}: Add a figure."
    page = maintainer_client.get(response.url)
    assert shown(page) == ["Add a figure."]


def test_a_todo_by_hand_needs_text_and_a_section_of_this_manuscript(
    maintainer_client, paper, intro
):
    elsewhere = make_section(make_manuscript("Another paper"), "Intro")
    url = board(paper, "sections:todo-create")
    blank = maintainer_client.post(
        url, {"section": intro.pk, "text": "   ", "priority": 2}
    )
    assert blank.status_code == 422
    wrong = maintainer_client.post(
        url, {"section": elsewhere.pk, "text": "x", "priority": 2}
    )
    assert wrong.status_code == 422
    assert not TodoItem.objects.exists()


def test_a_todo_by_hand_is_refused_on_a_removed_section(maintainer, intro):
    intro.removed_at = timezone.now()
    with pytest.raises(todos.TriageRejected, match="was removed"):
        todos.create_manual(intro, text="Add a figure.", by=maintainer)
    assert not TodoItem.objects.exists()


def test_board_queries_are_bounded_whatever_the_page_holds(
    maintainer_client, paper, intro, methods, django_assert_max_num_queries
):
    people = [Contributor.objects.create(display_name=f"P{n}") for n in range(5)]
    todo(intro, "the first", assignee=people[0], suggested_assignee=people[1])
    with CaptureQueriesContext(connection) as one_item:
        shown(maintainer_client.get(board(paper)))
    TodoItem.objects.bulk_create(
        TodoItem(
            section=[intro, methods][n % 2],
            kind=Kind.INLINE_NOTE,
            text=f"item {n}",
            assignee=people[n % 5],
            suggested_assignee=people[(n + 1) % 5],
        )
        for n in range(60)
    )
    # Session, user, maintainer check, manuscript, counts, people, page count, rows.
    with django_assert_max_num_queries(8) as full_page:
        response = maintainer_client.get(board(paper), {"sort": "section"})
    assert len(shown(response)) == 50
    assert len(full_page.captured_queries) == len(one_item)

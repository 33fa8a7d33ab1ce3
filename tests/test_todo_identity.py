"""TODO items found in the text keep their identity across edits: moved, they stay the
same item; removed, they are resolved in text at that revision; back, they reopen."""

from __future__ import annotations

import pytest

from sections import revisions
from sections.models import Activity, Contributor, TodoItem
from sections.todos import FoundTodo, fingerprints
from tests.factories import make_manuscript, make_section

NOTE = "TODO: compare with the 2016 benchmark @sw1."
BODY = f"Opening paragraph.\n\n{NOTE}\n\nClosing paragraph [refs].\n"


@pytest.fixture
def section(db, contributor):
    section = make_section(make_manuscript("Todo review"), "Methods", body="")
    revisions.save_edit(section, body=BODY, by=contributor, overwrite=True)
    return section


def note_item(section) -> TodoItem:
    return section.todos.get(kind=TodoItem.Kind.INLINE_NOTE)


def test_notes_and_missing_citations_are_extracted_on_every_save(section):
    kinds = sorted(section.todos.values_list("kind", flat=True))
    assert kinds == [TodoItem.Kind.INLINE_NOTE, TodoItem.Kind.MISSING_CITATION]
    assert note_item(section).suggested_assignee.handle == "sw1"


def test_a_moved_note_is_the_same_item_with_its_status_and_assignee(
    section, contributor, maintainer
):
    item = note_item(section)
    assignee = Contributor.objects.get(user=maintainer)
    TodoItem.objects.filter(pk=item.pk).update(
        assignee=assignee, priority=TodoItem.Priority.HIGH
    )

    moved = f"A new first paragraph.\n\nOpening paragraph.\n\nClosing.\n\n{NOTE}\n"
    revisions.save_edit(section, body=moved, by=contributor, overwrite=True)

    again = note_item(section)
    assert again.pk == item.pk
    assert (again.assignee, again.priority) == (assignee, TodoItem.Priority.HIGH)
    assert moved[again.start : again.end].startswith("TODO: compare")


def test_a_removed_note_is_resolved_in_text_and_reopens_when_it_comes_back(
    section, contributor
):
    item = note_item(section)
    removed = revisions.save_edit(
        section,
        body=BODY.replace(NOTE, "Compared: see Table 2."),
        by=contributor,
        overwrite=True,
    ).revision

    item.refresh_from_db()
    assert item.status == TodoItem.Status.RESOLVED_IN_TEXT
    assert item.resolved_in == removed
    assert item.closed_at is not None
    assert Activity.objects.filter(
        kind=Activity.Kind.TODO, summary__contains="1 TODO item resolved in text"
    ).exists()

    revisions.save_edit(section, body=BODY, by=contributor, overwrite=True)
    item.refresh_from_db()
    assert item.status == TodoItem.Status.OPEN
    assert item.resolved_in is None
    assert section.todos.filter(kind=TodoItem.Kind.INLINE_NOTE).count() == 1


def test_a_changed_note_is_a_new_item_and_the_old_one_resolved(section, contributor):
    old = note_item(section)
    revisions.save_edit(
        section,
        body=BODY.replace(NOTE, "TODO: compare with the 2017 benchmark."),
        by=contributor,
        overwrite=True,
    )
    old.refresh_from_db()
    assert old.status == TodoItem.Status.RESOLVED_IN_TEXT
    (current,) = section.todos.filter(
        kind=TodoItem.Kind.INLINE_NOTE, status=TodoItem.Status.OPEN
    )
    assert current.text.startswith("TODO: compare with the 2017 benchmark")


def test_items_closed_or_made_by_hand_are_not_the_texts_to_change(section, contributor):
    item = note_item(section)
    TodoItem.objects.filter(pk=item.pk).update(status=TodoItem.Status.WONT_DO)
    manual = TodoItem.objects.create(
        section=section, kind=TodoItem.Kind.MANUAL, text="Ask the editor about length"
    )

    revisions.save_edit(
        section, body="All rewritten.\n", by=contributor, overwrite=True
    )
    revisions.save_edit(section, body=BODY, by=contributor, overwrite=True)

    item.refresh_from_db()
    manual.refresh_from_db()
    assert item.status == TodoItem.Status.WONT_DO
    assert manual.status == TodoItem.Status.OPEN


def test_a_note_found_with_a_new_extent_keeps_its_item(db, contributor, maintainer):
    body = (
        "TODO: Add reference tags to this section Metagenomics (the study of "
        "microbial genomes) has revolutionized ecology.\n"
    )
    section = make_section(make_manuscript("Extent review"), "Metagenomics", body="")
    # Recorded as notes used to be found: running on over the sentence after it.
    ran_on = FoundTodo(TodoItem.Kind.INLINE_NOTE, body.strip(), 0, len(body) - 1)
    assignee = Contributor.objects.get(user=maintainer)
    item = TodoItem.objects.create(
        section=section,
        kind=ran_on.kind,
        text=ran_on.text,
        start=ran_on.start,
        end=ran_on.end,
        fingerprint=fingerprints([ran_on])[0],
        assignee=assignee,
    )

    revisions.save_edit(section, body=body, by=contributor, overwrite=True)

    (again,) = section.todos.all()
    assert (again.pk, again.status, again.assignee) == (
        item.pk,
        TodoItem.Status.OPEN,
        assignee,
    )
    assert again.text == "TODO: Add reference tags to this section"
    assert body[again.start : again.end] == again.text

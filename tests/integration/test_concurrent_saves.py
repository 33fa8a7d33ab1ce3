"""Twenty people save one section at the same moment on PostgreSQL: every save is in the
history or was answered with a conflict, and nothing is silently lost."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from sections import revisions
from sections.exceptions import EditConflict
from tests.factories import make_manuscript, make_section, make_user

pytestmark = pytest.mark.integration
WRITERS = 20
# Sixteen paragraphs, one for each of the first sixteen writers; the last four all
# rewrite the first paragraph, so at most one of them can avoid a conflict with it.
PARAGRAPHS = [f"Paragraph {n}." for n in range(16)]


def test_twenty_concurrent_saves_are_each_kept_or_refused(postgresql):
    section = make_section(make_manuscript("Busy review"), "Intro", body="")
    first = make_user("writer0@example.org")
    start = revisions.save_edit(section, body="\n\n".join(PARAGRAPHS), by=first)
    base = start.revision.pk
    people = [first] + [make_user(f"writer{n}@example.org") for n in range(1, WRITERS)]
    barrier = threading.Barrier(WRITERS)

    def write(n: int) -> str:
        paragraphs = list(PARAGRAPHS)
        target = n if n < len(PARAGRAPHS) else 0
        paragraphs[target] = f"Writer {n} was here."
        barrier.wait(timeout=30)  # all of them hold the same base, then save at once
        try:
            revisions.save_edit(
                section, body="\n\n".join(paragraphs), by=people[n], base=base
            )
            return "saved"
        except EditConflict:
            return "conflict"
        finally:
            connections.close_all()

    with ThreadPoolExecutor(WRITERS) as pool:
        outcomes = list(pool.map(write, range(WRITERS)))

    section.refresh_from_db()
    saved = [n for n, outcome in enumerate(outcomes) if outcome == "saved"]
    assert len(saved) + outcomes.count("conflict") == WRITERS
    history = list(section.revisions.values_list("author__user__email", flat=True))
    assert len(history) == len(saved) + 1
    assert set(history) == {people[n].email for n in saved} | {first.email}
    # Every kept save is still in the text: merges never drop another's change.
    for n in saved:
        assert f"Writer {n} was here." in section.body
    assert len(saved) >= len(PARAGRAPHS) - 1  # the disjoint ones merge

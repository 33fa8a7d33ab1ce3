"""Maintainers change one manuscript's structure at the same moment on PostgreSQL,
while others save sections and the manuscript is assembled: every change is made,
nothing deadlocks, and positions stay a dense, unique reading order."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from sections import outline, revisions, tasks
from sections.models import Section
from tests.factories import make_manuscript, make_section, make_user

pytestmark = pytest.mark.integration
ADDERS = 8
MOVERS = 4
EDITORS = 4


def test_concurrent_changes_keep_a_dense_reading_order(postgresql):
    manuscript = make_manuscript("Busy outline")
    intro = make_section(manuscript, "Intro")
    make_section(manuscript, "Detail", parent=intro, level=2)
    make_section(manuscript, "Before")
    middle = make_section(manuscript, "Middle")
    make_section(manuscript, "After")
    make_section(manuscript, "End")
    maintainer = make_user("maya@example.org")
    # Saved while the structure changes: a save locks its section, then adds a
    # reference (a row pointing at the manuscript) for a citation new to it. Removed
    # sections, so the assemblies running meanwhile never read their text.
    old = [make_section(manuscript, f"Old {n}") for n in range(EDITORS)]
    for section in old:
        outline.remove(section, by=maintainer)
    tasks.assemble_manuscript(manuscript.pk)  # as an import leaves it
    everyone = ADDERS + MOVERS + EDITORS
    barrier = threading.Barrier(everyone)

    def change(n: int) -> None:
        barrier.wait(timeout=30)  # all of them read the same outline, then write
        try:
            if n < ADDERS:
                outline.add_section(
                    manuscript,
                    title=f"New {n}",
                    after=intro,
                    as_child=n % 2 == 1,
                    by=maintainer,
                )
            elif n < ADDERS + MOVERS:
                # Two up and two down: Middle has two siblings on either side.
                outline.move(middle, direction="up" if n % 2 else "down")
            else:
                revisions.save_edit(
                    old[n - ADDERS - MOVERS],
                    body=f"Cites [@doi:10.1/{n}].",
                    by=maintainer,
                    overwrite=True,
                )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(everyone) as pool:
        list(pool.map(change, range(everyone)))  # re-raises any thread's error

    sections = list(manuscript.sections.order_by("position"))
    assert [s.position for s in sections] == list(range(1, len(sections) + 1))
    assert {f"New {n}" for n in range(ADDERS)} <= {s.title for s in sections}
    by_pk = {s.pk: s for s in sections}
    for section in sections:
        parent = by_pk.get(section.parent_id)
        assert section.level == (parent.level + 1 if parent else 1)
        assert parent is None or parent.position < section.position
    under_intro = Section.objects.filter(manuscript=manuscript, parent=intro)
    assert under_intro.count() == 1 + ADDERS // 2
    assert manuscript.references.count() == EDITORS

"""Triage board: a maintainer opens the TODO board of the seed manuscript with 2,000
more items on it, under a few filter combinations.

    createdb -h 127.0.0.1 -U postgres reviewapp_bench_todos
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench_todos \
        .venv/bin/python -m bench.todo_board

It builds its own database (migrate, flush), so point it at a scratch one.
"""

from __future__ import annotations

import time
from datetime import timedelta

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402

from sections import contributors, importing, permissions  # noqa: E402
from sections.models import Contributor, TodoItem  # noqa: E402
from tests.factories import make_user  # noqa: E402

ROUNDS = 41
EXTRA_ITEMS = 2000
KINDS = list(TodoItem.Kind.values)
STATUSES = [TodoItem.Status.OPEN] * 3 + [TodoItem.Status.DONE, TodoItem.Status.WONT_DO]


def add_items(manuscript, me: Contributor) -> None:
    """2,000 items spread over the seed's sections, kinds, statuses, priorities,
    assignees and ages, in one bulk insert."""
    sections = list(manuscript.sections.present())
    people = [me, *Contributor.objects.exclude(pk=me.pk)[:9]]
    now = timezone.now()
    TodoItem.objects.bulk_create(
        TodoItem(
            section=sections[n % len(sections)],
            kind=KINDS[n % len(KINDS)],
            text=f"Benchmark item {n}: check the claim and cite a source.",
            status=STATUSES[n % len(STATUSES)],
            priority=1 + n % 3,
            assignee=people[n % len(people)] if n % 4 else None,
            suggested_assignee=people[(n + 3) % len(people)] if n % 5 == 0 else None,
            created_at=now - timedelta(days=n % 120, hours=n % 24),
        )
        for n in range(EXTRA_ITEMS)
    )


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    seed = importing.import_path(SEED, format="text").manuscript
    user = make_user("bench@example.org")
    permissions.make_maintainer(user)
    add_items(seed, contributors.for_user(user))
    client = Client()
    client.force_login(user)
    board = reverse("sections:todo-board", args=[seed.slug])
    some_section = seed.sections.get(title="Morphological phenotypes").pk
    combinations = [
        {},
        {"sort": "priority"},
        {"status": "all", "sort": "section", "page": 3},
        {"assignee": "unassigned", "age": 30},
        {"assignee": "me", "priority": 3, "sort": "oldest"},
        {"section": some_section, "kind": TodoItem.Kind.INLINE_NOTE},
    ]
    client.get(board)  # warm up: connection, templates, session
    times, queries = [], set()
    for n in range(ROUNDS):
        params = combinations[n % len(combinations)]
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(board, params)
            times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
        queries.add(len(captured))
    total = TodoItem.objects.filter(section__manuscript=seed).count()
    print(
        f"database: {connection.vendor}; {ROUNDS} GETs of the triage board, "
        f"{total} items, {len(combinations)} filter combinations"
    )
    median, p90 = median_and_p90(times)
    print("| ms | median | p90 | queries per GET |")
    print("|---|---|---|---|")
    print(
        f"| triage board | {median:.1f} | {p90:.1f} | {min(queries)}–{max(queries)} |"
    )


if __name__ == "__main__":
    main()

"""Saves per second on one section: N contributors at once, each in a process of
its own, opening the editor of the same section of the seed and saving a paragraph
of their own as a user does (GET the editor, POST the form), on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench \\
        .venv/bin/python -m bench.concurrent_saves [writers ...]

Tasks run in-process, as in bench.edit, so each save also renders the section and
re-assembles the manuscript (outside the section's lock). A conflict page is counted
and the writer opens the editor again. It builds its own database (migrate, flush),
so point it at a scratch one.
"""

from __future__ import annotations

import html
import multiprocessing
import re
import sys
import time

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from sections import importing, permissions, revisions  # noqa: E402
from sections.models import Section  # noqa: E402
from tests.factories import make_user  # noqa: E402

SAVES_PER_WRITER = 20
PROBE_INTERVAL = 0.02  # seconds between two measures of the lock's wait
SECTION = "Protein secondary and tertiary structure"


def editor_fields(page: str) -> dict[str, str]:
    """The editor form's title, body and base, as the browser would send them."""
    title = re.search(r'<input type="text" name="title" value="([^"]*)"', page)
    body = re.search(r'<textarea name="body"[^>]*>\n?(.*?)</textarea>', page, re.S)
    base = re.search(r'<input type="hidden" name="base" value="(\d+)"', page)
    return {
        "title": html.unescape(title.group(1)),
        "body": html.unescape(body.group(1)),
        "base": base.group(1),
    }


def run(
    writers: int, section: Section, users: list
) -> tuple[float, int, int, list[float]]:
    """(saves per second, saves, conflicts, lock waits) for `writers` processes at
    once, as gunicorn's workers would be (threads would share one interpreter lock);
    meanwhile this process measures how long a save arriving would wait for the
    section's row lock."""
    edit = reverse(
        "sections:section-edit", args=[section.manuscript.slug, section.slug]
    )
    processes = multiprocessing.get_context("fork")
    barrier, results = processes.Barrier(writers + 1), processes.Queue()

    def write(n: int) -> None:
        client = Client()
        client.force_login(users[n])
        saved = conflicts = 0
        barrier.wait()
        while saved < SAVES_PER_WRITER:
            fields = editor_fields(client.get(edit).content.decode())
            # A paragraph of one's own: saves from the same base merge.
            fields["body"] = fields["body"].replace(
                f"Writer {n}: {saved} saves.", f"Writer {n}: {saved + 1} saves."
            )
            response = client.post(edit, fields)
            if response.status_code == 302:
                saved += 1
            elif response.status_code == 409:
                conflicts += 1
            else:
                raise AssertionError(f"HTTP {response.status_code}")
        results.put((saved, conflicts))

    connections.close_all()  # each process opens its own
    started = [processes.Process(target=write, args=(n,)) for n in range(writers)]
    for process in started:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    outcomes, waits = [], []
    while len(outcomes) < writers:
        waits.append(lock_wait(section))
        time.sleep(PROBE_INTERVAL)
        while not results.empty():
            outcomes.append(results.get())
    elapsed = time.perf_counter() - start
    for process in started:
        process.join()
    saved = sum(s for s, _ in outcomes)
    return saved / elapsed, saved, sum(c for _, c in outcomes), waits


def lock_wait(section: Section) -> float:
    """Milliseconds a save arriving now waits for the section's row lock."""
    start = time.perf_counter()
    with transaction.atomic():
        Section.objects.select_for_update(no_key=True).filter(pk=section.pk).exists()
    return (time.perf_counter() - start) * 1000


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    seed = importing.import_path(SEED, format="text").manuscript
    counts = [int(arg) for arg in sys.argv[1:]] or [1, 4, 8]
    users = [make_user(f"bench{n}@example.org") for n in range(max(counts))]
    for user in users:
        permissions.make_maintainer(user)
    section = seed.sections.get(title=SECTION)
    paragraphs = [f"Writer {n}: 0 saves." for n in range(len(users))]
    revisions.save_edit(
        section,
        body="\n\n".join([section.body, *paragraphs]),
        by=users[0],
        overwrite=True,
    )
    reader = Client()
    reader.force_login(users[0])
    reader.get(section.get_absolute_url())  # the first assembly is not a save's
    print(
        f"database: {connection.vendor}; one section of the seed, "
        f"{SAVES_PER_WRITER} saves per writer through the editor page"
    )
    print(
        "| writers | saves/s | saves | conflict pages "
        "| wait for the section's lock, ms: median | p90 |"
    )
    print("|---|---|---|---|---|---|")
    for writers in counts:
        rate, saved, conflicts, waits = run(writers, section, users)
        median, p90 = median_and_p90(waits)
        print(
            f"| {writers} | {rate:.1f} | {saved} | {conflicts} "
            f"| {median:.1f} | {p90:.1f} |"
        )


if __name__ == "__main__":
    main()

"""Search benchmark: 41 searches of the synthetic 10x manuscript, as contributors
and as the public: full-text over the stored, GIN-indexed vectors on PostgreSQL, word
matching on SQLite.

    .venv/bin/python -m bench.search                # SQLite file in /tmp
    createdb -h 127.0.0.1 -U postgres reviewapp_bench_search
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench_search .venv/bin/python -m bench.search

It builds its own database (migrate, flush), so point it at a scratch one.
"""

from __future__ import annotations

import time

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from bench.render import synthetic_manuscript  # noqa: E402
from sections import contributors, importing, search  # noqa: E402
from sections.models import Comment, Manuscript  # noqa: E402

# A few words from the seed, a rare word (one section of the seed, so 13 of the
# synthetic copy), a common word, and one that finds nothing.
QUERIES = [
    "neural network",
    "protein structure prediction",
    "electronic health records",
    "Faraggi",
    "deep",
    "xylophonequartz",
]
SEARCHES = 41


def add_comments(manuscript: Manuscript, *, per_section: int = 2) -> None:
    """Comments to search too: a couple on every section."""
    user = get_user_model().objects.get(username="bench")
    author = contributors.for_user(user)
    Comment.objects.bulk_create(
        Comment(section=section, author=author, body=f"Comment {n}: {section.title}")
        for section in manuscript.sections.all()
        for n in range(per_section)
    )


def timings(manuscript: Manuscript, *, public_only: bool) -> dict[str, list[float]]:
    """Milliseconds of SEARCHES searches, the queries in turn, by query."""
    by_query: dict[str, list[float]] = {query: [] for query in QUERIES}
    search.search(manuscript, QUERIES[0], public_only=public_only)  # warm up
    for n in range(SEARCHES):
        query = QUERIES[n % len(QUERIES)]
        start = time.perf_counter()
        search.search(manuscript, query, public_only=public_only)
        by_query[query].append((time.perf_counter() - start) * 1000)
    return by_query


def summary(values: list[float]) -> str:
    median, p90 = median_and_p90(values)
    return f"median {median:.1f} ms, p90 {p90:.1f} ms"


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    get_user_model().objects.create_user("bench", "bench@example.org", "bench")
    seed = importing.import_path(SEED, format="text").manuscript
    big = synthetic_manuscript(seed)
    add_comments(big)
    print(f"database: {connection.vendor}")
    print(
        f"synthetic 10x: {sum(len(s.body) for s in big.sections.all()) / 1000:.0f} KB, "
        f"{big.sections.count()} sections, {big.references.count()} references, "
        f"{Comment.objects.filter(section__manuscript=big).count()} comments"
    )
    for public_only in (False, True):
        by_query = timings(big, public_only=public_only)
        who = "public" if public_only else "contributors"
        every = [ms for values in by_query.values() for ms in values]
        print(f"\n{who}: {SEARCHES} searches, {summary(every)}")
        for query, values in by_query.items():
            hits = len(search.search(big, query, public_only=public_only))
            print(f"  {query!r}: {summary(values)} ({len(values)} runs, {hits} hits)")


if __name__ == "__main__":
    main()

"""Edit round trip: a contributor saves a section through the editor form, then opens
the section page and sees the change, on the seed manuscript.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench .venv/bin/python -m bench.edit

Tasks run in-process (no broker), so the time includes rendering the section and
assembling the manuscript, which a worker does in production. It builds its own
database (migrate, flush), so point it at a scratch one.
"""

from __future__ import annotations

import time

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from sections import importing, permissions  # noqa: E402
from tests.factories import make_user  # noqa: E402

ROUNDS = 41


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    seed = importing.import_path(SEED, format="text").manuscript
    user = make_user("bench@example.org")
    permissions.make_maintainer(user)
    client = Client()
    client.force_login(user)
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    args = [seed.slug, section.slug]
    edit, page = reverse("sections:section-edit", args=args), section.get_absolute_url()
    client.get(page)  # the first assembly of the manuscript, not an edit's cost
    saves, reads, totals = [], [], []
    for n in range(ROUNDS):
        section.refresh_from_db()
        latest = section.revisions.order_by("-created_at", "-id").first()
        marker = f"Edit number {n} of the benchmark."
        start = time.perf_counter()
        response = client.post(
            edit,
            {
                "title": section.title,
                "body": section.body + f"\n\n{marker}\n",
                "base": latest.pk,
                "summary": f"bench {n}",
            },
        )
        saved = time.perf_counter()
        shown = client.get(page)
        done = time.perf_counter()
        assert response.status_code == 302, response.status_code
        assert marker in shown.text
        saves.append((saved - start) * 1000)
        reads.append((done - saved) * 1000)
        totals.append((done - start) * 1000)
    print(f"database: {connection.vendor}; {ROUNDS} edits of one section of the seed")
    print("| ms | median | p90 |")
    print("|---|---|---|")
    for name, values in [
        ("save", saves),
        ("section page", reads),
        ("round trip", totals),
    ]:
        median, p90 = median_and_p90(values)
        print(f"| {name} | {median:.1f} | {p90:.1f} |")


if __name__ == "__main__":
    main()

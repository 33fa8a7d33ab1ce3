"""Opening a proposal of 50 hunks: the proposal page as a signed-in reviewer gets it,
on the seed manuscript.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench .venv/bin/python -m bench.proposal_page

The proposal changes 50 paragraphs of the seed's longest section (a sentence citing
a work added to each, so every hunk has a citation to number), made through the
editor's "Propose instead of saving" like a contributor's. It builds its own
database (migrate, flush), so point it at a scratch one.
"""

from __future__ import annotations

import time

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models.functions import Length  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from sections import importing, revisions  # noqa: E402
from sections.models import Proposal  # noqa: E402
from tests.factories import make_user  # noqa: E402

ROUNDS = 41
HUNKS = 50


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    seed = importing.import_path(SEED, format="text").manuscript
    proposer, reviewer = make_user("carol@example.org"), make_user("dave@example.org")
    section = seed.sections.order_by(Length("body").desc()).first()
    paragraphs = [p for p in section.body.split("\n\n") if p.strip()]
    # The longest section has fewer than 100 paragraphs: make it so, from the seed's
    # own text, so 50 changes leave an unchanged paragraph between each two.
    donors = [
        p
        for other in seed.sections.exclude(pk=section.pk)
        for p in other.body.split("\n\n")
        if p.strip()
    ]
    while len(paragraphs) < 2 * HUNKS:
        paragraphs.append(donors[len(paragraphs) % len(donors)])
    revisions.save_edit(
        section, body="\n\n".join(paragraphs) + "\n", by=proposer, overwrite=True
    )
    section.refresh_from_db()
    changed = [
        p + f" Benchmark change {n} [@doi:10.1038/nature14539]." if n % 2 == 0 else p
        for n, p in enumerate(paragraphs)
    ]
    client = Client()
    client.force_login(proposer)
    args = [seed.slug, section.slug]
    # What the editor's form holds when opened (its hidden base).
    start = revisions.editor_start(section)
    started = time.perf_counter()
    response = client.post(
        reverse("sections:section-propose", args=args),
        {
            "title": section.title,
            "body": "\n\n".join(changed) + "\n",
            "base": start.base,
            "propose": "1",
        },
    )
    proposed_ms = (time.perf_counter() - started) * 1000
    assert response.status_code == 302, response.status_code
    proposal = Proposal.objects.get()
    assert len(proposal.diff["hunks"]) == HUNKS, len(proposal.diff["hunks"])

    client.force_login(reviewer)
    url = proposal.get_absolute_url()
    client.get(url)  # the first assembly of the manuscript, not the page's cost
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        page = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert page.status_code == 200
        assert page.text.count('<article class="hunk') == HUNKS
    median, p90 = median_and_p90(times)
    print(
        f"database: {connection.vendor}; a proposal of {HUNKS} hunks on "
        f"“{section.title}” ({len(section.body.split())} words)"
    )
    print("| ms | median | p90 |")
    print("|---|---|---|")
    print(f"| proposal page | {median:.1f} | {p90:.1f} |")
    print(f"proposing it (one post, rendering every hunk once): {proposed_ms:.0f} ms")


if __name__ == "__main__":
    main()

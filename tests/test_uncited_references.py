"""Uncited reference rows (a Manubot manual-references snapshot is mostly works nobody
cites) are kept but cost nothing: neither an import nor a render formats them."""

from __future__ import annotations

from pathlib import Path

from bench.manuscript import generate, shape
from sections import importing
from sections.models import FormattedEntry, Reference
from tests.factories import preview_url

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "manubot-sample"


def test_only_cited_works_get_bibliography_entries(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the import's render task
        manuscript = importing.import_path(SAMPLE, format="manubot").manuscript
    page = client.get(preview_url()).content.decode()
    # A work from manual-references.json, listed with its metadata.
    assert "A model zoo for single-cell analysis" in page
    cited = Reference.objects.filter(
        manuscript=manuscript, citations__isnull=False
    ).distinct()
    # A tag stands for the work it names: that work is cited through it.
    cited_pks = set(cited.values_list("pk", flat=True)) | set(
        cited.exclude(alias_of=None).values_list("alias_of", flat=True)
    )
    formatted = set(
        FormattedEntry.objects.filter(reference__manuscript=manuscript).values_list(
            "reference_id", flat=True
        )
    )
    assert formatted
    assert formatted <= cited_pks


def test_the_benchmark_manuscript_has_the_real_ones_shape(tmp_path):
    content = generate(tmp_path, seed=13)
    counts = shape(content)
    assert counts.files == 10
    assert 75 <= counts.sections <= 85
    assert 270 <= counts.kilobytes <= 310
    assert (counts.citations, counts.works, counts.tag_definitions) == (850, 615, 355)
    assert counts.uncited_snapshot_items >= 1000
    assert (counts.figures, counts.authors) == (8, 7)
    again = generate(tmp_path / "again", seed=13)
    assert all(
        (again / p.relative_to(content)).read_bytes() == p.read_bytes()
        for p in content.rglob("*")
        if p.is_file()
    )

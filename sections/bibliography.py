"""Bibliography entries: each reference formatted once per style, then reused.

An entry is stale when its reference was saved after it was formatted; checking that
needs no metadata, so assembling a manuscript of 1,000 references reads only the
entries' HTML.
"""

from __future__ import annotations

import html

from django.db.models import F

from sections.citations.format import format_entries
from sections.models import FormattedEntry, Manuscript, Reference


def entries_for(
    manuscript: Manuscript, reference_ids: list[int], *, style: str
) -> dict[int, str]:
    """Entry HTML by reference id, formatting only what is missing or stale."""
    # Fresh means formatted from the reference as it is now; the database compares.
    fresh = dict(
        FormattedEntry.objects.filter(
            reference__manuscript=manuscript,
            style=style,
            reference_updated_at=F("reference__updated_at"),
        ).values_list("reference_id", "html")
    )
    entries = {pk: fresh[pk] for pk in reference_ids if pk in fresh}
    stale = [pk for pk in reference_ids if pk not in fresh]
    if stale:
        entries.update(_format_and_store(stale, style=style))
    return entries


def _format_and_store(ids: list[int], *, style: str) -> dict[int, str]:
    references = list(Reference.objects.filter(pk__in=ids))
    known = set(
        FormattedEntry.objects.filter(reference_id__in=ids, style=style).values_list(
            "reference_id", flat=True
        )
    )
    with_metadata = [r for r in references if r.csl]
    formatted = dict(
        zip(
            [r.pk for r in with_metadata],
            format_entries([r.csl for r in with_metadata], style=style),
            strict=True,
        )
    )
    entries = [
        FormattedEntry(
            reference=reference,
            style=style,
            reference_updated_at=reference.updated_at,
            html=formatted.get(reference.pk) or _pending(reference),
        )
        for reference in references
    ]
    new = [entry for entry in entries if entry.reference_id not in known]
    changed = [entry for entry in entries if entry.reference_id in known]
    # Two assemblies at once may format the same new entry; the first one stored wins.
    FormattedEntry.objects.bulk_create(new, ignore_conflicts=True)
    for entry in changed:
        FormattedEntry.objects.filter(reference=entry.reference, style=style).update(
            reference_updated_at=entry.reference_updated_at, html=entry.html
        )
    return {entry.reference_id: entry.html for entry in entries}


def _pending(reference: Reference) -> str:
    return (
        f'<span class="entry-pending">{html.escape(reference.key)}: '
        "metadata not available yet</span>"
    )

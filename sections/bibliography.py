"""Bibliography entries: each reference formatted once per style, then reused."""

from __future__ import annotations

import hashlib
import html
import json

from sections.citations.format import format_entry
from sections.models import FormattedEntry, Reference


def csl_hash(csl: dict | None) -> str:
    return hashlib.sha256(json.dumps(csl, sort_keys=True).encode()).hexdigest()


def entries_for(references: list[Reference], *, style: str) -> dict[int, str]:
    """Each reference's entry HTML by id, formatting only what is new or changed."""
    stored = {
        entry.reference_id: entry
        for entry in FormattedEntry.objects.filter(
            reference__in=references, style=style
        )
    }
    entries, new, changed = {}, [], []
    for reference in references:
        entry = stored.get(reference.pk)
        digest = csl_hash(reference.csl)
        if entry is None:
            entry = FormattedEntry(reference=reference, style=style, csl_hash=digest)
            entry.html = _format(reference, style)
            new.append(entry)
        elif entry.csl_hash != digest:
            entry.csl_hash, entry.html = digest, _format(reference, style)
            changed.append(entry)
        entries[reference.pk] = entry.html
    # Two assemblies at once may format the same new entry; the first one stored wins.
    FormattedEntry.objects.bulk_create(new, ignore_conflicts=True)
    FormattedEntry.objects.bulk_update(changed, ["csl_hash", "html"])
    return entries


def _format(reference: Reference, style: str) -> str:
    if not reference.csl:
        return (
            f'<span class="entry-pending">{html.escape(reference.key)}: '
            "metadata not available yet</span>"
        )
    return format_entry(reference.csl, style=style)

"""The activity log: what happened in a manuscript, for its feed and its sections'.

Domain functions record their event here, inside their own transaction, so a change
and its entry are written together or not at all.
"""

from __future__ import annotations

from sections.models import Activity, Contributor, Section


def record(
    manuscript_id: int,
    *,
    kind: str,
    summary: str,
    section: Section | None = None,
    actor: Contributor | None = None,
    url: str = "",
) -> Activity:
    """Append one event; `summary` is plain text (escaped wherever it is shown)."""
    return Activity.objects.create(
        manuscript_id=manuscript_id,
        section=section,
        actor=actor,
        kind=kind,
        summary=summary[:500],
        url=url[:500],
    )

"""What changed since a reader last looked, for the outline: per section of each
manuscript it lists (the section page's view asks sections.visits itself)."""

from __future__ import annotations

from django import template

from sections import visits
from sections.models import Manuscript, Section

register = template.Library()


@register.simple_tag(takes_context=True)
def changed_sections(
    context: template.Context, manuscript: Manuscript
) -> dict[int, visits.Changes]:
    """Per section id, others' edits since the reader last opened it."""
    return visits.changes_in(manuscript, reader=context["request"].user)


@register.filter
def changes_of(
    changed: dict[int, visits.Changes], section: Section
) -> visits.Changes | None:
    return changed.get(section.pk)

"""What changed since a reader last looked, for the section page and the outline.

The section page and the outline are rendered by views in sections/views.py; these
tags let their templates ask sections.visits without those views knowing about it.
"""

from __future__ import annotations

from django import template

from sections import visits
from sections.models import Manuscript, Section

register = template.Library()


@register.simple_tag(takes_context=True)
def open_section(context: template.Context, section: Section) -> visits.Changes | None:
    """Records the reader's visit to the section page (once per page: the tag is used
    once, in section_detail.html) and gives the changes others made since."""
    return visits.open_section(section, by=context["request"].user)


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

"""Reads that build a whole page's data, with the queries they need and no more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from sections import assembly
from sections.models import (
    Claim,
    Manuscript,
    ManuscriptRender,
    Revision,
    Section,
    TodoItem,
)


@dataclass
class OutlineRow:
    section: Section
    claims: list[Claim]
    open_todos: int
    words: int


def outline_for(manuscript: Manuscript) -> list[OutlineRow]:
    """Every present section in reading order, with its claims and open TODO count."""
    latest = Revision.objects.filter(section=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    sections = (
        manuscript.sections.present()
        .annotate(
            open_todos=Count("todos", filter=Q(todos__status=TodoItem.Status.OPEN)),
            last_edited_at=Subquery(latest.values("created_at")[:1]),
            last_edited_by=Subquery(latest.values("author__display_name")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "claims",
                queryset=Claim.objects.active().select_related("contributor"),
                to_attr="active_claims",
            )
        )
        .order_by("position")
    )
    return [
        OutlineRow(
            section=section,
            claims=section.active_claims,
            open_todos=section.open_todos,
            words=len(section.body.split()),
        )
        for section in sections
    ]


def manuscripts_for_home() -> QuerySet[Manuscript]:
    return Manuscript.objects.annotate(
        section_count=Count(
            "sections",
            filter=Q(sections__removed_at__isnull=True, sections__is_hidden=False),
        )
    ).order_by("title")


def section_page(section: Section) -> dict:
    """What the section page shows besides the section itself."""
    siblings = section.manuscript.sections.present().order_by("position")
    # The contributors' assembly, so citations carry their manuscript-wide numbers.
    assembled = assembly.assemble(
        section.manuscript, audience=ManuscriptRender.Audience.CONTRIBUTORS
    )
    return {
        "body_html": assembly.section_body(assembled, section),
        "claims": list(
            Claim.objects.active().filter(section=section).select_related("contributor")
        ),
        "todos": list(
            section.todos.select_related("assignee", "suggested_assignee").order_by(
                "start", "id"
            )
        ),
        "previous": siblings.filter(position__lt=section.position)
        .order_by("-position")
        .first(),
        "next": siblings.filter(position__gt=section.position).first(),
        "revisions": list(section.revisions.select_related("author")[:10]),
    }


@dataclass(frozen=True)
class RenderVersion:
    pk: int
    input_hash: str
    assembled_at: datetime


def public_render_version() -> RenderVersion | None:
    """The public render of the manuscript /preview/ shows (the site's first), in
    one small query, since every request asks; assembled first if there is none."""
    first_manuscript = Manuscript.objects.order_by("created_at", "pk").values("pk")[:1]
    row = (
        ManuscriptRender.objects.filter(
            manuscript=Subquery(first_manuscript),
            audience=ManuscriptRender.Audience.PUBLIC,
        )
        .values_list("pk", "input_hash", "assembled_at")
        .first()
    )
    if row is None:
        manuscript = Manuscript.objects.order_by("created_at", "pk").first()
        if manuscript is None:
            return None
        render = assembly.assemble(
            manuscript, audience=ManuscriptRender.Audience.PUBLIC
        )
        row = (render.pk, render.input_hash, render.assembled_at)
    return RenderVersion(*row)

"""Reads that build a whole page's data, with the queries they need and no more."""

from __future__ import annotations

from dataclasses import dataclass

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


def preview_manuscript() -> Manuscript | None:
    """The manuscript /preview/ shows: the first one this site holds."""
    return Manuscript.objects.order_by("created_at", "pk").first()


def stored_render(manuscript: Manuscript, *, audience: str) -> ManuscriptRender:
    """The assembled manuscript, assembling it first if nothing is stored yet."""
    render = ManuscriptRender.objects.filter(
        manuscript=manuscript, audience=audience
    ).first()
    return render or assembly.assemble(manuscript, audience=audience)

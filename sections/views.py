"""Thin views: ask permissions, validate a form, call one domain function, respond."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import condition, require_GET, require_POST

from sections import (
    assembly,
    claims,
    outline,
    permissions,
    references,
    rendering,
    selectors,
)
from sections.citations.keys import as_citation, citekey_for
from sections.forms import (
    AliasForm,
    ClaimForm,
    IdentifierForm,
    ManualRecordForm,
    VisibilityForm,
)
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


@require_GET
@login_required
def citation_health(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    return render(
        request,
        "sections/citation_health.html",
        {
            "manuscript": manuscript_,
            "health": selectors.citation_health(manuscript_),
            "can_moderate": permissions.can_moderate(request.user, manuscript_),
        },
    )


@require_GET
@login_required
def cite_helper(request: HttpRequest, manuscript: str) -> HttpResponse:
    """The contributor's citation helper: what they paste, as a citekey to insert."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    form = IdentifierForm(request.GET or None)
    citation, status = None, 200
    if form.is_valid():
        try:
            citation = as_citation([citekey_for(form.cleaned_data["identifier"])])
        except ValueError as error:
            form.add_error("identifier", str(error))
    if form.is_bound and citation is None:
        status = 422
    template = "sections/cite_helper.html"
    if request.htmx:
        template += "#result"
    return render(
        request,
        template,
        {"manuscript": manuscript_, "form": form, "citation": citation},
        status=status,
    )


@require_GET
@login_required
def reference_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reference = permissions.get_reference(request.user, pk)
    manual = json.dumps(reference.csl_manual, indent=2) if reference.csl_manual else ""
    return _reference_page(
        request,
        reference,
        manual_form=ManualRecordForm(initial={"csl_json": manual}),
        alias_form=AliasForm(
            initial={"target": reference.alias_of.key if reference.alias_of else ""}
        ),
    )


def _reference_page(request, reference, *, manual_form, alias_form, status=200):
    return render(
        request,
        "sections/reference_detail.html",
        {
            "reference": reference,
            "records": selectors.reference_records(reference),
            "cited_in": selectors.sections_citing(reference),
            "can_moderate": permissions.can_moderate(
                request.user, reference.manuscript
            ),
            "manual_form": manual_form,
            "alias_form": alias_form,
        },
        status=status,
    )


@require_POST
@login_required
def retry_reference(request: HttpRequest, pk: int) -> HttpResponse:
    reference = permissions.get_reference(request.user, pk, moderate=True)
    try:
        references.retry(reference)
        messages.success(request, f"{reference.key} will be fetched again.")
    except references.ReferenceRejected as error:
        messages.error(request, str(error))
    return redirect("sections:reference-detail", pk=reference.pk)


@require_POST
@login_required
def retry_failed_references(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    if not permissions.can_moderate(request.user, manuscript_):
        raise PermissionDenied("Only maintainers may retry references.")
    count = references.retry_failed(manuscript_)
    messages.success(request, f"{count} failed references will be fetched again.")
    return redirect("sections:citation-health", manuscript=manuscript_.slug)


@require_POST
@login_required
def set_manual_record(request: HttpRequest, pk: int) -> HttpResponse:
    reference = permissions.get_reference(request.user, pk, moderate=True)
    form = ManualRecordForm(request.POST)
    if form.is_valid():
        try:
            references.set_manual(
                reference, csl_text=form.cleaned_data["csl_json"], by=request.user
            )
            messages.success(request, f"The record of {reference.key} is saved.")
            return redirect("sections:reference-detail", pk=reference.pk)
        except references.ReferenceRejected as error:
            form.add_error("csl_json", str(error))
    return _reference_page(
        request, reference, manual_form=form, alias_form=AliasForm(), status=422
    )


@require_POST
@login_required
def set_reference_alias(request: HttpRequest, pk: int) -> HttpResponse:
    reference = permissions.get_reference(request.user, pk, moderate=True)
    form = AliasForm(request.POST)
    if form.is_valid():
        try:
            target = references.set_alias(reference, target=form.cleaned_data["target"])
            messages.success(request, f"{reference.key} now stands for {target.key}.")
            return redirect("sections:reference-detail", pk=reference.pk)
        except references.ReferenceRejected as error:
            form.add_error("target", str(error))
    return _reference_page(
        request, reference, manual_form=ManualRecordForm(), alias_form=form, status=422
    )

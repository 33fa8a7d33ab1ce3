"""References: citation health, the citation helper, a reference's page, and maintainers'
fixes (fetch again, a hand-made record, an alias)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sections import permissions, references, selectors
from sections.citations.keys import as_citation, citekey_for
from sections.forms import AliasForm, IdentifierForm, ManualRecordForm
from sections.models import Reference


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


def _reference_page(
    request: HttpRequest,
    reference: Reference,
    *,
    manual_form: ManualRecordForm,
    alias_form: AliasForm,
    status: int = 200,
) -> HttpResponse:
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
    manuscript_ = permissions.get_manuscript(request.user, manuscript, moderate=True)
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

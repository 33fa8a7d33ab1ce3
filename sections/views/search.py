"""Search: contributors' search of a manuscript, and the search of its public preview."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sections import permissions
from sections import search as search_
from sections.forms import PublicSearchForm, SearchForm


@require_GET
@login_required
def search(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Everything contributors read: sections, comments, TODOs and references."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    form = SearchForm(request.GET)
    hits: list[search_.Hit] = []
    section_ = None
    if form.is_valid():
        if form.cleaned_data["section"]:
            section_ = permissions.get_section(
                request.user, manuscript, form.cleaned_data["section"]
            )
        kind = form.cleaned_data["kind"]
        hits = search_.search(
            manuscript_,
            form.cleaned_data["q"],
            kinds=[kind] if kind else None,
            section=section_,
        )
    return render(
        request,
        "sections/search.html",
        {"manuscript": manuscript_, "form": form, "hits": hits, "section": section_},
        status=200 if form.is_valid() else 422,
    )


@require_GET
def public_search(request: HttpRequest, manuscript: str) -> HttpResponse:
    """A manuscript's public preview's text only: no sign-in, no hidden sections, no
    notes."""
    manuscript_ = permissions.get_public_manuscript(request.user, manuscript)
    form = PublicSearchForm(request.GET)
    hits = (
        search_.search(manuscript_, form.cleaned_data["q"], public_only=True)
        if form.is_valid()
        else []
    )
    return render(
        request,
        "sections/public_search.html",
        {"manuscript": manuscript_, "form": form, "hits": hits},
        status=200 if form.is_valid() else 422,
    )

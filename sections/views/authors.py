"""The author list: maintainers choose the byline (who, in which place, ORCID iDs,
affiliations)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_http_methods

from sections import authors, permissions
from sections.forms import AuthorListFormSet
from sections.models import Manuscript


@require_http_methods(["GET", "POST"])
@login_required
def author_list(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Maintainers choose the byline: who is an author, in which place, with their
    ORCID iDs and affiliations. Errors keep what was typed."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript, moderate=True)
    rows = authors.entries(manuscript_)
    people = {row.contributor.pk: row.contributor for row in rows}
    if request.method == "GET":
        formset = AuthorListFormSet(
            people=people,
            initial=[
                {
                    "contributor": row.contributor.pk,
                    "position": row.position,
                    "orcid": row.orcid,
                    "affiliations": "\n".join(row.affiliations),
                }
                for row in rows
            ],
        )
        return _author_list_page(request, manuscript_, formset)
    formset = AuthorListFormSet(request.POST, people=people)
    if not formset.is_valid():
        return _author_list_page(request, manuscript_, formset, status=422)
    try:
        byline = authors.save_author_list(
            manuscript_, formset.entries(), by=request.user
        )
    except authors.AuthorsRejected as error:
        return _author_list_page(
            request, manuscript_, formset, refused=str(error), status=422
        )
    messages.success(
        request,
        f"Saved the author list: {len(byline)} author{pluralize(len(byline))}.",
    )
    return redirect("sections:author-list", manuscript=manuscript_.slug)


def _author_list_page(
    request: HttpRequest,
    manuscript: Manuscript,
    formset: AuthorListFormSet,
    *,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sections/author_list.html",
        {
            "manuscript": manuscript,
            "formset": formset,
            "refused": refused,
            # Each form with its person, read from the form's own (posted) value.
            "forms": [
                (form, formset.people.get(_posted_int(form, "contributor")))
                for form in formset
            ],
            "byline": authors.display(authors.byline(manuscript)),
        },
        status=status,
    )


def _posted_int(form: forms.Form, field: str) -> int | None:
    value = form[field].value()
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

"""Exports: the manuscript as a download (Markdown, Manubot zip, CSL-JSON, BibTeX, HTML,
PDF once a worker has printed it)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from sections import exporting, permissions, tasks
from sections.models import Manuscript


@require_GET
@login_required
def export(request: HttpRequest, manuscript: str, format: str) -> HttpResponse:
    """The manuscript as a download: Markdown, Manubot zip, CSL-JSON, BibTeX, HTML,
    PDF."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    if format == "pdf":
        return _pdf_export(request, manuscript_)
    if format not in exporting.FORMATS:
        raise Http404("No such export format.")
    kind = exporting.FORMATS[format]
    response = HttpResponse(
        exporting.export(manuscript_, format=format), content_type=kind.content_type
    )
    response["Content-Disposition"] = (
        f'attachment; filename="{manuscript_.slug}.{kind.extension}"'
    )
    return response


def _pdf_export(request: HttpRequest, manuscript: Manuscript) -> HttpResponse:
    """The PDF once a worker has printed it; until then a page that reloads itself
    (202), or says why it can't be printed (503)."""
    state = exporting.pdf_state(manuscript)
    if state.pdf is None and not state.error:
        tasks.print_pdf_soon(state)
        # Tasks run eagerly on the embedded default: the PDF may be there now.
        state = exporting.pdf_state(manuscript)
    if state.pdf is not None:
        response = HttpResponse(state.pdf, content_type="application/pdf")
        response["Content-Disposition"] = (
            f'attachment; filename="{manuscript.slug}.pdf"'
        )
        return response
    return render(
        request,
        "sections/export_pdf.html",
        {"manuscript": manuscript, "error": state.error},
        status=503 if state.error else 202,
    )

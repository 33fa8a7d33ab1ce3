"""Figure files: serving them, uploading them, listing a manuscript's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.utils.cache import get_conditional_response
from django.utils.http import (
    content_disposition_header,
    http_date,
    url_has_allowed_host_and_scheme,
)
from django.views.decorators.http import require_GET, require_POST, require_safe

from sections import figures, permissions, selectors
from sections.forms import FigureUploadForm
from sections.models import Manuscript

FOREVER = 365 * 24 * 3600


@require_safe
def figure(
    request: HttpRequest, manuscript: str, digest: str, path: str
) -> HttpResponse:
    """A figure file, for whoever may see the manuscript's pages.

    Its URL carries the file's hash: cached forever; a URL with an older hash
    (the file was replaced) redirects to the current one. Served so that nothing in
    it can run: sniffing off, a sandboxing policy, an SVG as an attachment.
    """
    figure_ = permissions.get_figure(request.user, manuscript, path)
    if digest != figure_.sha256[:16]:
        response = HttpResponseRedirect(figures.url(figure_))
        response["Cache-Control"] = "no-cache"
        return response
    etag = f'"{figure_.sha256}"'
    last_modified = int(figure_.created_at.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = FileResponse(
            figures.opened(figure_), content_type=figure_.content_type
        )
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    # Shared caches may keep what the public may see; the rest stays the reader's.
    is_public = permissions.is_public(figure_.manuscript)
    audience = "public" if is_public else "private"
    response["Cache-Control"] = f"{audience}, max-age={FOREVER}, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = figures.SERVED_POLICY
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    name = path.rsplit("/", 1)[-1]
    # Opened on its own an SVG is a document that could run script: downloaded
    # instead (an <img> ignores this header and shows it).
    response["Content-Disposition"] = content_disposition_header(
        figure_.content_type == figures.SVG, name
    )
    return response


@require_GET
@login_required
def figure_list(request: HttpRequest, manuscript: str) -> HttpResponse:
    """A manuscript's figures: each path to copy, its size, who uploaded it."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    return _figures_page(request, manuscript_, form=FigureUploadForm())


def _figures_page(
    request: HttpRequest,
    manuscript: Manuscript,
    *,
    form: FigureUploadForm,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sections/figures.html",
        {
            "manuscript": manuscript,
            "rows": selectors.figures_of(manuscript),
            "form": form,
            "can_write": permissions.can_write(request.user, manuscript),
            "figure_limit": figures.max_megabytes(),
        },
        status=status,
    )


@require_POST
@login_required
def upload_figure(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Keep an uploaded image as a figure. From the editor's script (Accept: JSON)
    the answer is the path and the Markdown to insert; otherwise back to `next`."""
    manuscript_ = permissions.get_manuscript_to_add_figures(request.user, manuscript)
    wants_json = "application/json" in request.headers.get("Accept", "")
    form = FigureUploadForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            figure_ = figures.add(
                manuscript_,
                name=upload.name,
                data=figures.read_upload(upload),
                by=request.user,
            )
        except figures.FigureRejected as rejected:
            form.add_error("file", str(rejected))
    if form.errors:
        if wants_json:
            error = " ".join(e for errors in form.errors.values() for e in errors)
            return JsonResponse({"error": error}, status=422)
        return _figures_page(request, manuscript_, form=form, status=422)
    markdown = f"![]({figure_.path})"
    if wants_json:
        return JsonResponse(
            {"path": figure_.path, "markdown": markdown, "url": figures.url(figure_)}
        )
    messages.success(
        request, f"Kept {figure_.path}. Show it with {markdown} in a section's text."
    )
    next_url = form.cleaned_data.get("next") or ""
    if next_url and url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}
    ):
        return redirect(next_url)
    return redirect("sections:figures", manuscript=manuscript_.slug)

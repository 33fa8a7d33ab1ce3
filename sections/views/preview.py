"""The public preview: the manuscript's stored public render, with its ETag, for everyone."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import condition, require_GET

from sections import assembly, authors, releases, rendering, selectors


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
    etag_func=lambda request: _preview_etag(request),
    last_modified_func=lambda request: _preview_last_modified(request),
)
def preview(request: HttpRequest) -> HttpResponse:
    """The public, read-only manuscript, served from its stored render.

    The page holds nothing that depends on who asks, so one ETag serves everyone and
    the page itself is built once per version, then served from the cache.
    """
    version = _preview_version(request)
    page = cache.get_or_set(
        f"preview-page:{version.pk}:{_preview_etag(request)}",
        lambda: _preview_page(version.pk),
        timeout=24 * 3600,
    )
    response = HttpResponse(page)
    # Caches may keep it, but must ask again (If-None-Match) before reusing it.
    response.headers["Cache-Control"] = "public, no-cache"
    return response


def _preview_page(render_pk: int) -> str:
    stored = selectors.stored_render(render_pk)
    return render_to_string(
        "sections/preview.html",
        {
            "manuscript": stored.manuscript,
            "render": stored,
            "body_html": assembly.body_html(stored),
            "bibliography_html": rendering.mark_fragment_safe(stored.bibliography_html),
            "releases": releases.listed(stored.manuscript_id),
            "byline": authors.display(stored.authors),
        },
    )


def _preview_etag(request: HttpRequest) -> str:
    """The preview's version: its render's, and its list of releases'."""
    return f"{_preview_version(request).input_hash}-r{_preview_releases(request)}"


def _preview_last_modified(request: HttpRequest) -> datetime:
    latest = _preview_releases(request).latest_at
    assembled = _preview_version(request).assembled_at
    return max(assembled, latest) if latest else assembled


def _preview_releases(request: HttpRequest) -> releases.ListVersion:
    """The releases /preview/ lists, versioned, looked up once per request."""
    if not hasattr(request, "preview_releases"):
        request.preview_releases = releases.site_list_version()
    return request.preview_releases

"""A manuscript's public preview: its stored public render, with its ETag, for whoever
may read its public pages (permissions.can_read_public)."""

from __future__ import annotations

from datetime import datetime

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import condition, require_GET

from sections import assembly, authors, permissions, releases, rendering, selectors
from sections.models import Manuscript


def _manuscript(request: HttpRequest, slug: str) -> Manuscript:
    """The manuscript whose preview is asked for, looked up and checked once per
    request (the ETag, the date and the page all need it); 404 unless readable."""
    if not hasattr(request, "preview_manuscript"):
        request.preview_manuscript = permissions.get_public_manuscript(
            request.user, slug
        )
    return request.preview_manuscript


def _preview_version(request: HttpRequest, slug: str) -> selectors.RenderVersion:
    """Which public render the preview serves, looked up once per request."""
    if not hasattr(request, "preview_version"):
        manuscript = _manuscript(request, slug)
        request.preview_version = selectors.public_render_version(manuscript)
    return request.preview_version


@require_GET
@condition(
    etag_func=lambda request, manuscript: _preview_etag(request, manuscript),
    last_modified_func=lambda request, manuscript: _preview_last_modified(
        request, manuscript
    ),
)
def preview(request: HttpRequest, manuscript: str) -> HttpResponse:
    """The manuscript for its public readers, read-only, served from its stored render.

    The page holds nothing that depends on who asks, so one ETag serves everyone and
    the page itself is built once per version, then served from the cache.
    """
    version = _preview_version(request, manuscript)
    page = cache.get_or_set(
        f"preview-page:{version.pk}:{_preview_etag(request, manuscript)}",
        lambda: _preview_page(version.pk),
        timeout=24 * 3600,
    )
    response = HttpResponse(page)
    # Caches may keep a public one, but must ask again (If-None-Match) before
    # reusing it; a manuscript only its members read stays in their browsers.
    is_public = permissions.is_public(_manuscript(request, manuscript))
    audience = "public" if is_public else "private"
    response.headers["Cache-Control"] = f"{audience}, no-cache"
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


def _preview_etag(request: HttpRequest, slug: str) -> str:
    """The preview's version: its render's, and its list of releases'."""
    render_hash = _preview_version(request, slug).input_hash
    return f"{render_hash}-r{_preview_releases(request, slug)}"


def _preview_last_modified(request: HttpRequest, slug: str) -> datetime:
    latest = _preview_releases(request, slug).latest_at
    assembled = _preview_version(request, slug).assembled_at
    return max(assembled, latest) if latest else assembled


def _preview_releases(request: HttpRequest, slug: str) -> releases.ListVersion:
    """The releases the preview lists, versioned, looked up once per request."""
    if not hasattr(request, "preview_releases"):
        manuscript = _manuscript(request, slug)
        request.preview_releases = releases.list_version(manuscript.pk)
    return request.preview_releases

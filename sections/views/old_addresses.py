"""Public addresses from before each manuscript had its own (/preview/, /v/<name>/):
links people shared keep working, redirected for good to the site's first
manuscript's, which is the one they served."""

from __future__ import annotations

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
)
from django.urls import reverse
from django.views.decorators.http import require_GET

from sections import permissions
from sections.models import Manuscript
from sections.views import preview as preview_views


@require_GET
def preview(request: HttpRequest) -> HttpResponse:
    return _to_site_first(request, "sections:preview")


@require_GET
def public_search(request: HttpRequest) -> HttpResponse:
    # /preview/<manuscript>/ reads /preview/search/ as the preview of a manuscript
    # called "search", if there is one: its preview comes before old search links.
    if Manuscript.objects.filter(slug="search").exists():
        return preview_views.preview(request, manuscript="search")
    return _to_site_first(request, "sections:public-search")


@require_GET
def release(request: HttpRequest, name: str) -> HttpResponse:
    return _to_site_first(request, "sections:release", name)


@require_GET
def release_compare(request: HttpRequest, name: str) -> HttpResponse:
    return _to_site_first(request, "sections:release-compare", name)


def _to_site_first(request: HttpRequest, view: str, *args: str) -> HttpResponse:
    """A permanent redirect to the site's first manuscript's page, the query string
    kept (a search, a comparison); 404 if the user may not read its public pages,
    so the redirect reveals no address of a manuscript they may not read."""
    first = Manuscript.objects.site_first()
    if first is None or not permissions.can_read_public(request.user, first):
        raise Http404("No such page.")
    url = reverse(view, args=[first.slug, *args])
    if query := request.META.get("QUERY_STRING"):
        url = f"{url}?{query}"
    return HttpResponsePermanentRedirect(url)

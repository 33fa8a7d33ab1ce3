"""Images from other hosts that a rendered body shows, served by the app (see
sections/images.py)."""

from __future__ import annotations

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from sections import images


@require_safe
def media_proxy(request: HttpRequest, signed: str) -> HttpResponse:
    """An outside image a rendered body shows, fetched and cached by the app; 404
    for a token the renderer did not sign, 502 when the image can't be served.

    Anyone may load it: the signed token is the permission (only the renderer makes
    one, for an image on a page its reader could read), see sections/images.py.
    """
    try:
        url = images.source_of(signed)
    except signing.BadSignature as error:
        raise Http404("No such image.") from error
    try:
        image = images.fetch(url)
    except images.ImageUnavailable as error:
        return HttpResponse(
            str(error), status=502, content_type="text/plain; charset=utf-8"
        )
    response = HttpResponse(image.data, content_type=image.content_type)
    response["Cache-Control"] = f"public, max-age={images.KEPT_SECONDS}"
    # Ours to show, not for other sites to embed; and nothing in it runs.
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response

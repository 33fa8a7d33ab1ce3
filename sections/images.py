"""Images a body shows from other hosts, served by the app instead.

A reader's browser never asks another host for an image: the renderer rewrites each
outside image source to `/media-proxy/<token>/`, a URL signed with the site's key,
and the app fetches the image through the one HTTP client (its address guard, size
limit and deadline), with no cookie, referrer or address of the reader, and serves
it from the cache. So an image cannot count or follow the readers of a page, and the
pages' policy can say `img-src 'self' data:`.

The signature is the permission: only the renderer signs a token, for an image a
body shows, so whoever can read a page showing it may load it, and nobody can make
the app fetch an address no body names (the app is not an open proxy).
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from bleach import html5lib_shim
from bleach.html5lib_shim import Filter
from django.core import signing
from django.core.cache import cache
from django.urls import Resolver404, resolve, reverse

from sections import figures
from sections.citations import http
from sections.exceptions import ReviewappError

SALT = "sections.images.proxy"
# Raster formats only, told by their first bytes, not by what the host claims. SVG is
# refused: it can carry script, and opened on its own it runs with our origin.
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
ACCEPT = "image/png,image/jpeg,image/gif,image/webp"
MAX_BYTES = 5_000_000
KEPT_SECONDS = 24 * 3600
# A failure is remembered briefly, so a page of readers does not refetch a broken
# image each, and a host that comes back is asked again soon.
FAILURE_KEPT_SECONDS = 60


class ImageUnavailable(ReviewappError):
    """The image could not be fetched, or is not an image we serve."""


@dataclass(frozen=True)
class Image:
    content_type: str
    data: bytes


def outside_url(src: str) -> str | None:
    """The absolute URL of the image src names on another host, read as a browser
    reads it; None for a path on our own site."""
    # As a browser reads the attribute (bleach leaves character references as they
    # are: "ht&#9;tps:" is "https:"), then as the URL standard parses it: tabs and
    # newlines dropped, a backslash is a slash ("/\\host/x.png" is another host),
    # spaces around it trimmed, and the slashes after "https:" optional
    # ("https:host/x.png" names a host too).
    url = html.unescape(src).translate(_IGNORED).replace("\\", "/").strip()
    scheme, colon, rest = url.partition(":")
    if colon and scheme.lower() in ("http", "https"):
        return f"{scheme.lower()}://{rest.lstrip('/')}"
    if url.startswith("//"):
        return "https:" + url
    return None


_IGNORED = str.maketrans("", "", "\t\n\r")


def proxy_url(url: str) -> str:
    """The app's address for the image at url (absolute), signed: only the renderer
    calls this, so only images a body shows can be fetched."""
    token = signing.Signer(salt=SALT).sign_object(url)
    return reverse("sections:media-proxy", args=[token])


def source_of(token: str) -> str:
    """The image URL a token was signed for; raises signing.BadSignature otherwise."""
    url = signing.Signer(salt=SALT).unsign_object(token)
    if not isinstance(url, str):
        raise signing.BadSignature("not an image address")
    return url


def fetch(url: str) -> Image:
    """The image at url, from the cache or fetched through the one HTTP client.

    Raises ImageUnavailable when the host refuses, fails, or sends anything but a
    PNG, JPEG, GIF or WebP image (the message says which); a failure is cached
    briefly, an image for KEPT_SECONDS.
    """
    key = f"media-proxy:{hashlib.sha256(url.encode()).hexdigest()}"
    cached = cache.get(key)
    if isinstance(cached, Image):
        return cached
    if isinstance(cached, str):
        raise ImageUnavailable(cached)
    try:
        image = _fetched(url)
    except ImageUnavailable as error:
        cache.set(key, str(error), FAILURE_KEPT_SECONDS)
        raise
    cache.set(key, image, KEPT_SECONDS)
    return image


def _fetched(url: str) -> Image:
    host = urlsplit(url).hostname or url
    try:
        # No header of the reader's goes along: the client sends only its own.
        response = http.get(url, accept=ACCEPT, max_bytes=MAX_BYTES)
    except (
        http.AddressRefused,
        http.UpstreamUnavailable,
        http.MetadataNotFound,
        http.MetadataInvalid,
    ) as error:
        raise ImageUnavailable(f"The image could not be fetched: {error}") from error
    declared = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    sniffed = _image_type(response.content)
    if not declared.startswith("image/") or sniffed is None:
        raise ImageUnavailable(
            f"{host} sent {declared or 'something'} that is not a PNG, JPEG, GIF "
            "or WebP image; only those are shown."
        )
    return Image(sniffed, response.content)


def _image_type(data: bytes) -> str | None:
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next(
        (kind for magic, kind in SIGNATURES.items() if data.startswith(magic)), None
    )


class ProxyOutsideImages(Filter):
    """An html5lib filter (for bleach's Cleaner, after sanitising) that points each
    outside image at the app's proxy."""

    def __iter__(self) -> Iterator[dict]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "img":
                src = token["data"].get((None, "src"))
                if src and (url := outside_url(src)):
                    token["data"][(None, "src")] = proxy_url(url)
            yield token


def inlined(fragment_html: str) -> str:
    """Assembled HTML with each proxied image as a data: URI, for a page read away
    from the site (the standalone export, the PDF), which may request nothing.

    Fetched as the proxy fetches (the one client, the cache); an image that can't be
    had loses its source, so the page names no address: its alt text shows. The
    manuscript's own figures (sections.figures) are read from storage.
    """
    proxy_prefix = reverse("sections:media-proxy", args=["-"]).removesuffix("-/")
    figure_prefix = reverse("sections:figure", args=["-", "-", "-"]).removesuffix(
        "-/-/-"
    )
    if proxy_prefix not in fragment_html and figure_prefix not in fragment_html:
        return fragment_html
    # A step on the parsed tree, never a regex over HTML: the parser and serializer
    # bleach's Cleaner uses, with no sanitising (the HTML is ours, sanitised already).
    # Entities are read as the characters they stand for, which the serializer
    # escapes again as needed: left as text, `&#x0005E;` (MathML's hat) and `&amp;`
    # were printed as "&#x0005E;" and "&amp;" in the PDF.
    parser = html5lib_shim.BleachHTMLParser(
        tags=None, strip=False, consume_entities=True, namespaceHTMLElements=False
    )
    tokens = _InlineProxiedImages(
        source=html5lib_shim.getTreeWalker("etree")(parser.parseFragment(fragment_html))
    )
    serializer = html5lib_shim.BleachHTMLSerializer(
        quote_attr_values="always",
        omit_optional_tags=False,
        escape_lt_in_attrs=True,
        resolve_entities=False,
        sanitize=False,
        alphabetical_attributes=False,
    )
    return serializer.render(tokens)


def _data_uri(token: str) -> str | None:
    try:
        image = fetch(source_of(token))
    except (signing.BadSignature, ImageUnavailable):
        return None
    return f"data:{image.content_type};base64,{base64.b64encode(image.data).decode()}"


def _proxy_token(src: str) -> str | None:
    try:
        match = resolve(urlsplit(src).path)
    except Resolver404:
        return None
    return match.kwargs["signed"] if match.url_name == "media-proxy" else None


class _InlineProxiedImages(Filter):
    def __iter__(self) -> Iterator[dict]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "img":
                src = token["data"].get((None, "src"))
                if src and (proxied := _proxy_token(src)):
                    if data := _data_uri(proxied):
                        token["data"][(None, "src")] = data
                    else:
                        # Nothing to point at away from the site: the alt text shows.
                        del token["data"][(None, "src")]
                elif src and (data := figures.data_uri_for(src)):
                    token["data"][(None, "src")] = data
            yield token

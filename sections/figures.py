"""Figures: the image files a manuscript's text shows, kept by the app.

A body names a figure by a path relative to the manuscript, as a Manubot content
folder does (`![Overview](images/overview.svg)`). The renderer marks each such image
(`LocalFigures`, on the sanitised token stream); assembly points it at the stored
file's URL, which carries the file's hash so it can be cached forever, or shows a
"Missing figure: images/x.png" placeholder when the manuscript has no such file. A
path can never leave the manuscript: `..`, absolute paths and other schemes are
placeholders too, and files are looked up by (manuscript, path), never on disk.

Only PNG, JPEG, GIF, WebP and SVG are kept, told by their bytes. SVG can carry
script: no well-kept sanitiser exists for Python, so an SVG is shown only through
`<img>` (where browsers run no script and load nothing), and served with a
sandboxing policy and as an attachment, so opened on its own it runs nothing either.

The bytes are stored through Django's storage API (STORAGES["figures"]) under their
SHA-256: the same content is written once, and a failed import removes exactly the
files it added (`removed_if_failed`).
"""

from __future__ import annotations

import base64
import hashlib
import html
import posixpath
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from bleach.html5lib_shim import Filter
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import Resolver404, resolve, reverse
from django.utils.text import slugify

from sections.exceptions import ReviewappError
from sections.models import Figure, Manuscript, figure_storage

# What we keep, told by the first bytes. SVG is text: see _is_svg.
RASTER_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
SVG = "image/svg+xml"
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    SVG: ".svg",
}
# Names a file may have for each type: a figure keeps its own if it fits its bytes.
SUFFIXES = {
    "image/png": {".png"},
    "image/jpeg": {".jpg", ".jpeg"},
    "image/gif": {".gif"},
    "image/webp": {".webp"},
    SVG: {".svg"},
}
IMAGE_SUFFIXES = set().union(*SUFFIXES.values())
UPLOAD_FOLDER = "images"
MAX_PATH_LENGTH = Figure._meta.get_field("path").max_length
# An SVG's start: optional byte-order mark, XML declaration, comments, doctype.
SVG_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*"
    rb"(?:<!DOCTYPE[^>\[]*(?:\[[^\]]*\])?\s*>\s*)?(?:<!--.*?-->\s*)*<svg[\s>/]",
    re.DOTALL | re.IGNORECASE,
)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
# The headers every figure is served with: nothing in it runs, fetches or frames,
# and no other site embeds it.
SERVED_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
MISSING_CLASS = "missing-figure"


class FigureRejected(ReviewappError):
    """A file can't be kept as a figure (not an image we keep, too large, a bad
    name); nothing was written."""


@dataclass(frozen=True)
class IncomingFigure:
    """A figure file read from an import, checked: its path and bytes."""

    path: str
    data: bytes
    content_type: str


def content_type_of(data: bytes) -> str | None:
    """The image type the bytes are (PNG, JPEG, GIF, WebP, SVG), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, kind in RASTER_SIGNATURES.items():
        if data.startswith(magic):
            return kind
    if SVG_START.match(data[:65536]):
        return SVG
    return None


def checked(path: str, data: bytes) -> IncomingFigure:
    """A figure file, if its bytes are an image we keep and small enough.

    Raises FigureRejected naming the file and why."""
    limit = settings.FIGURE_MAX_BYTES
    if len(data) > limit:
        raise FigureRejected(
            f"{path} is larger than {_megabytes(limit)}, the most a figure may be."
        )
    kind = content_type_of(data)
    if kind is None:
        raise FigureRejected(
            f"{path} is not a PNG, JPEG, GIF, WebP or SVG image; only those are "
            "kept as figures."
        )
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in IMAGE_SUFFIXES and suffix not in SUFFIXES[kind]:
        raise FigureRejected(
            f"{path} is named {suffix} but holds a {EXTENSIONS[kind][1:].upper()} "
            "image; rename it to match."
        )
    return IncomingFigure(path=path, data=data, content_type=kind)


def max_megabytes() -> str:
    return _megabytes(settings.FIGURE_MAX_BYTES)


def read_upload(upload: UploadedFile) -> bytes:
    """An uploaded file's bytes, read no further than one past the limit (checked
    then says it is too large)."""
    upload.seek(0)
    return upload.read(settings.FIGURE_MAX_BYTES + 1)


def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def relative_path(src: str) -> str | None:
    """The manuscript-relative path an image source names (`images/a.png`), or None
    when it names anything else: an absolute path, another scheme, `..` out of the
    manuscript, nothing at all. Read as a browser reads the attribute."""
    url = html.unescape(src).translate(_IGNORED).replace("\\", "/").strip()
    if not url or url.startswith("/") or SCHEME.match(url):
        return None
    path = unquote(urlsplit(url).path)
    parts = [part for part in path.split("/") if part not in ("", ".")]
    if not parts or ".." in parts or "\x00" in path:
        return None
    return "/".join(parts)


_IGNORED = str.maketrans("", "", "\t\n\r")


# Rendering: the renderer marks images; assembly gives them their URLs.


class LocalFigures(Filter):
    """An html5lib filter (after sanitising, after the outside-image proxy) that
    marks each image the manuscript keeps (`token["figure"]` = its path), and
    turns an image naming any other place on our site into a missing figure."""

    def __iter__(self) -> Iterator[dict]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token["name"] == "img":
                src = token["data"].get((None, "src"))
                if src and not _is_ours(src):
                    path = relative_path(src)
                    if path is None:
                        yield from missing_tokens(src)
                        continue
                    token["figure"] = path
            yield token


def _is_ours(src: str) -> bool:
    """An outside image already pointed at the proxy by images.ProxyOutsideImages."""
    return src.startswith("/media-proxy/") and _url_name(src) == "media-proxy"


def _url_name(src: str) -> str | None:
    try:
        return resolve(urlsplit(src).path).url_name
    except Resolver404:
        return None


def segment_for(token: dict) -> dict:
    """What a fragment stores for a marked image: its path and its other
    (sanitised) attributes, for assembly to write once the URL is known."""
    attributes = {
        name: value for (_, name), value in token["data"].items() if name != "src"
    }
    return {"figure": token["figure"], "attributes": attributes}


def missing_tokens(written: str) -> list[dict]:
    """What a reader sees for a figure the manuscript lacks: a labelled box, not a
    broken-image icon."""
    label = f"Missing figure: {written}"
    return [
        {
            "type": "StartTag",
            "name": "span",
            "namespace": None,
            "data": {
                (None, "class"): MISSING_CLASS,
                (None, "role"): "img",
                (None, "aria-label"): label,
            },
        },
        {"type": "Characters", "data": label},
        {"type": "EndTag", "name": "span", "namespace": None},
    ]


ATTRIBUTE_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9:_-]*$")


def html_for(segment: dict, urls: dict[str, str]) -> str:
    """A stored figure segment as HTML: the image at its URL, or the placeholder."""
    path = segment["figure"]
    url = urls.get(path)
    if url is None:
        label = html.escape(f"Missing figure: {path}")
        return (
            f'<span class="{MISSING_CLASS}" role="img" aria-label="{label}">'
            f"{label}</span>"
        )
    attributes = "".join(
        f' {name}="{html.escape(str(value))}"'
        for name, value in segment.get("attributes", {}).items()
        if ATTRIBUTE_NAME.match(name)
    )
    return f'<img src="{html.escape(url)}"{attributes}>'


def urls_for(manuscript: Manuscript | int) -> dict[str, str]:
    """Each stored figure's path and its URL (which carries its hash)."""
    manuscript_id = getattr(manuscript, "pk", manuscript)
    rows = Figure.objects.filter(manuscript_id=manuscript_id).values_list(
        "manuscript__slug", "path", "sha256"
    )
    return {path: _url(slug, sha256, path) for slug, path, sha256 in rows}


def version_of(urls: dict[str, str]) -> str:
    """A short hash of a manuscript's figures, for assembly's input hashes."""
    return hashlib.sha256(repr(sorted(urls.items())).encode()).hexdigest()[:16]


def url(figure: Figure) -> str:
    return _url(figure.manuscript.slug, figure.sha256, figure.path)


def _url(slug: str, sha256: str, path: str) -> str:
    return reverse("sections:figure", args=[slug, sha256[:16], path])


def data_uri_for(src: str) -> str | None:
    """A figure URL's file as a data: URI (for pages read away from the site), or
    None when src is not a figure URL or names no stored file."""
    try:
        match = resolve(urlsplit(src).path)
    except Resolver404:
        return None
    if match.url_name != "figure":
        return None
    figure = (
        Figure.objects.filter(
            manuscript__slug=match.kwargs["manuscript"], path=match.kwargs["path"]
        )
        .only("file", "content_type")
        .first()
    )
    if figure is None:
        return None
    data = read(figure)
    return f"data:{figure.content_type};base64,{base64.b64encode(data).decode()}"


def opened(figure: Figure) -> File:
    """The figure's stored file, open for reading.

    Through the storage as configured now (`figure_storage()`), not the one the
    model field was built with when the app loaded, so a test's or a deployment's
    STORAGES is the one read."""
    return figure_storage().open(figure.file.name, "rb")


def read(figure: Figure) -> bytes:
    with opened(figure) as stored:
        return stored.read()


# Writing: imports and uploads.


def _storage_name(sha256: str, content_type: str) -> str:
    return f"{sha256[:2]}/{sha256}{EXTENSIONS[content_type]}"


@contextmanager
def removed_if_failed() -> Iterator[list[str]]:
    """Collects the files written inside it; if the block raises (its transaction
    rolled back), removes those no committed figure uses, so a failed import or
    upload leaves no file behind. Use it outside the block's transaction."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        storage = figure_storage()
        used = set(
            Figure.objects.filter(file__in=written).values_list("file", flat=True)
        )
        for name in written:
            if name not in used:
                storage.delete(name)
        raise


def _write(data: bytes, content_type: str, written: list[str]) -> tuple[str, str]:
    sha256 = hashlib.sha256(data).hexdigest()
    name = _storage_name(sha256, content_type)
    storage = figure_storage()
    # The same bytes are stored once: the name is their hash.
    if not storage.exists(name):
        saved = storage.save(name, ContentFile(data))
        written.append(saved)
        name = saved
    return name, sha256


def store_imported(
    manuscript: Manuscript, incoming: Iterable[IncomingFigure], *, written: list[str]
) -> list[Figure]:
    """Keep an import's checked figure files for the new manuscript. Expects to run
    inside the import's transaction and `removed_if_failed`."""
    rows = []
    for figure in incoming:
        name, sha256 = _write(figure.data, figure.content_type, written)
        rows.append(
            Figure(
                manuscript=manuscript,
                path=figure.path,
                file=name,
                content_type=figure.content_type,
                size=len(figure.data),
                sha256=sha256,
            )
        )
    return Figure.objects.bulk_create(rows)


def add(
    manuscript: Manuscript, *, name: str, data: bytes, by: AbstractBaseUser | None
) -> Figure:
    """Keep an uploaded file as a figure under `images/<name>`; a name already taken
    by other bytes gets a suffix (`name-2.png`), the same bytes under the same name
    are the figure already there. Raises FigureRejected."""
    base = _upload_name(name)
    incoming = checked(base, data)
    stem, suffix = posixpath.splitext(base)
    if suffix.lower() not in SUFFIXES[incoming.content_type]:
        stem, suffix = base, EXTENSIONS[incoming.content_type]
    sha256 = hashlib.sha256(data).hexdigest()
    with removed_if_failed() as written:
        stored_name, _ = _write(data, incoming.content_type, written)
        for n in range(1, 1000):
            path = (
                f"{UPLOAD_FOLDER}/{stem}{suffix}"
                if n == 1
                else (f"{UPLOAD_FOLDER}/{stem}-{n}{suffix}")
            )
            existing = Figure.objects.filter(manuscript=manuscript, path=path).first()
            if existing is not None:
                if existing.sha256 == sha256:
                    return existing
                continue
            try:
                # Two uploads of one name at once: the constraint picks one, the
                # other takes the next suffix.
                with transaction.atomic():
                    return Figure.objects.create(
                        manuscript=manuscript,
                        path=path,
                        file=stored_name,
                        content_type=incoming.content_type,
                        size=len(data),
                        sha256=sha256,
                        uploaded_by=by,
                    )
            except IntegrityError:
                continue
        raise FigureRejected(f"Too many figures are named like {base}; rename it.")


def _upload_name(name: str) -> str:
    """A safe file name from what the browser sent: its last part, lower-case
    letters, digits and dashes before one suffix."""
    last = PurePosixPath(name.replace("\\", "/")).name
    stem, suffix = posixpath.splitext(last)
    stem = slugify(stem)[:80] or "figure"
    suffix = suffix.lower() if re.fullmatch(r"\.[a-z0-9]{1,5}", suffix.lower()) else ""
    return f"{stem}{suffix}"


# Exporting.


def files_for_export(manuscript: Manuscript) -> Iterator[tuple[str, bytes]]:
    """Each figure's path (relative to the content folder) and its bytes, in path
    order: what a Manubot export puts beside its Markdown."""
    for figure in Figure.objects.filter(manuscript=manuscript).order_by("path"):
        yield figure.path, read(figure)

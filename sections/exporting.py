"""Writing a manuscript back out. Markdown: one file that `import_manuscript
--format markdown` reads back into the same sections, references and citations."""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.template import Context
from django.template.loader import get_template, render_to_string
from django.template.loader_tags import IncludeNode
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Route, sync_playwright

from sections import (
    assembly,
    authors,
    figures,
    images,
    rendering,
    source_files,
    spreadsheets,
)
from sections.citations.keys import tag_definitions
from sections.exceptions import ReviewappError
from sections.importing.manubot import IMPORTED_REFERENCES
from sections.models import (
    Citation,
    Manuscript,
    ManuscriptRender,
    Reference,
)
from sections.selectors import Contribution


def to_markdown(manuscript: Manuscript) -> str:
    """The manuscript as one Markdown file, citations in Manubot form.

    A YAML front-matter block carries the title, the author names as pandoc reads
    them (`author`) and the whole author list as Manubot writes it (`authors`, with
    ORCID iDs and affiliations), and, as pandoc does, the CSL records the manuscript
    holds (`references`), so the bibliography survives the trip; citation tags
    follow the text as Markdown link references.
    """
    references = list(
        Reference.objects.filter(manuscript=manuscript)
        .select_related("alias_of")
        .order_by("key")
    )
    front: dict = {"title": manuscript.title}
    byline = authors.byline(manuscript)
    if byline:
        front["author"] = [author["name"] for author in byline]
        front["authors"] = byline
    records = [
        dict(r.csl, id=r.key) for r in references if r.csl_manual or r.csl_provisional
    ]
    if records:
        front["references"] = records
    parts = [
        "---\n" + yaml.safe_dump(front, allow_unicode=True, sort_keys=False) + "---"
    ]
    defined: set[str] = set()
    for section in manuscript.sections.present().order_by("position"):
        if section.title:
            parts.append(f"{'#' * section.level} {section.heading_text}")
        if section.body.strip():
            parts.append(section.body.strip("\n"))
        defined.update(tag for tag, _ in tag_definitions(section.body))
    # Tags the text does not define itself (set on the references page, or from
    # a citation-tags.tsv) follow it.
    tags = [
        f"[@{r.key}]: {r.alias_of.key}"
        for r in references
        if r.alias_of and r.key not in defined
    ]
    if tags:
        parts.append("\n".join(tags))
    return "\n\n".join(parts) + "\n"


# Activity and contributions

CONTRIBUTION_COLUMNS = [
    "Contributor",
    "ORCID",
    "Revisions",
    "Words added",
    "Words removed",
    "Sections edited",
    "Comments",
    "TODOs closed",
    "References added",
    "Proposals",
    "Proposals accepted",
    "Reviews",
]


def contributions_csv(rows: list[Contribution]) -> str:
    """The contributions table as CSV, the columns of the page plus ORCID."""
    return spreadsheets.csv_text(
        CONTRIBUTION_COLUMNS,
        (
            [
                row.contributor.display_name,
                row.contributor.orcid,
                row.revisions,
                row.words_added,
                row.words_removed,
                row.sections_edited,
                row.comments,
                row.todos_closed,
                row.references_added,
                row.proposals,
                row.proposals_accepted,
                row.reviews,
            ]
            for row in rows
        ),
    )


# Exports: Manubot content folder, CSL-JSON, BibTeX, standalone HTML

# Fixed metadata for every zip entry, so exporting twice gives the same bytes.
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
ZIP_MODE = 0o100644 << 16  # a regular file, rw-r--r--
# Records from an imported reference list go to their own file: Manubot reads any
# manual-references*.json, and our importer takes this one back as provisional (a
# fetched record still wins), so they don't harden into maintainers' corrections.


def manubot_content(manuscript: Manuscript) -> dict[str, bytes]:
    """A Manubot content/ folder as {path: bytes}, paths under "content/".

    A manuscript imported from a content folder comes back as that folder, its
    files named and written as they were (sections.source_files). Any other: one
    `NN.slug.md` file per top-level section, its subsections as deeper headings
    (`##` is level 1, as Manubot's own template writes them, `#` being the title).
    """
    kept = source_files.export_files(manuscript)
    if kept:
        files = {f"content/{name}": data for name, data in kept.items()}
        # Figures, imported from images/ or uploaded since, byte for byte.
        for path, data in figures.files_for_export(manuscript):
            files[f"content/{path}"] = data
        return files
    files: dict[str, bytes] = {}
    chunks: list[list[str]] = []
    for section in manuscript.sections.present().order_by("position"):
        if section.level == 1 or not chunks:
            # The file name only orders and labels; the heading carries the title.
            chunks.append([section.slug[:60].rstrip("-") or "section"])
        if section.title:
            chunks[-1].append(f"{'#' * (section.level + 1)} {section.heading_text}")
        if section.body.strip():
            chunks[-1].append(section.body.strip("\n"))
    width = max(2, len(str(len(chunks))))
    for number, (slug, *parts) in enumerate(chunks):
        name = f"content/{number:0{width}d}.{slug}.md"
        files[name] = ("\n\n".join(parts) + "\n").encode()
    files["content/metadata.yaml"] = yaml.safe_dump(
        {"title": manuscript.title, "authors": authors.byline(manuscript)},
        allow_unicode=True,
        sort_keys=False,
    ).encode()
    references = list(
        Reference.objects.filter(manuscript=manuscript)
        .select_related("alias_of")
        .order_by("key")
    )
    manual = [dict(r.csl_manual, id=r.key) for r in references if r.csl_manual]
    imported = [
        dict(r.csl_provisional, id=r.key)
        for r in references
        if r.csl_provisional and not r.csl_manual
    ]
    files["content/manual-references.json"] = _json_bytes(manual)
    if imported:
        files[f"content/{IMPORTED_REFERENCES}"] = _json_bytes(imported)
    tags = [
        (r.key.removeprefix("tag:"), r.alias_of.key)
        for r in references
        if r.alias_of and r.key.startswith("tag:")
    ]
    files["content/citation-tags.tsv"] = (
        "tag\tcitation\n" + "".join(f"{tag}\t{target}\n" for tag, target in tags)
    ).encode()
    # The figures, where the text names them (`images/overview.svg`), byte for byte.
    for path, data in figures.files_for_export(manuscript):
        files[f"content/{path}"] = data
    return files


def manubot_zip(manuscript: Manuscript) -> bytes:
    """The content folder as a zip whose bytes depend on the manuscript alone."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in sorted(manubot_content(manuscript).items()):
            info = zipfile.ZipInfo(path, date_time=ZIP_DATE)
            info.external_attr = ZIP_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, whatever machine wrote it
            archive.writestr(info, data, compresslevel=9)
    return out.getvalue()


def _json_bytes(records: list[dict]) -> bytes:
    return (
        json.dumps(records, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    ).encode()


def cited_references(manuscript: Manuscript) -> list[Reference]:
    """The works the present sections cite, in order of first citation; a tag
    counts as the work it is an alias of."""
    cited: dict[int, Reference] = {}
    citations = (
        Citation.objects.filter(
            section__manuscript=manuscript, section__removed_at__isnull=True
        )
        .select_related("reference__alias_of")
        .order_by("section__position", "position")
    )
    for citation in citations:
        reference = citation.reference.alias_of or citation.reference
        cited.setdefault(reference.pk, reference)
    return list(cited.values())


def csl_json(manuscript: Manuscript) -> str:
    """CSL-JSON for every cited work that has a record, in order of first citation,
    each with id = its citekey."""
    records = [dict(r.csl, id=r.key) for r in cited_references(manuscript) if r.csl]
    return json.dumps(records, ensure_ascii=False, indent=2) + "\n"


BIBTEX_TYPES = {
    "article-journal": "article",
    "journal-article": "article",
    "book": "book",
    "chapter": "incollection",
    "book-chapter": "incollection",
    "paper-conference": "inproceedings",
    "proceedings-article": "inproceedings",
}
BIBTEX_SPECIAL = re.compile(r"[{}\\%&$#_^~]")
BIBTEX_REPLACEMENTS = {
    "\\": r"\textbackslash{}",
    "^": r"\^{}",
    "~": r"\~{}",
}


def bibtex(manuscript: Manuscript) -> str:
    """A BibTeX entry for every cited work that has a record, in order of first
    citation; citekeys are ASCII forms of ours, made unique."""
    entries = []
    used: set[str] = set()
    for reference in cited_references(manuscript):
        if reference.csl:
            entries.append(_bibtex_entry(reference.key, reference.csl, used))
    return "\n".join(entries)


def _bibtex_entry(key: str, csl: dict, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9:._/-]+", "_", _ascii(key)).strip("_") or "ref"
    citekey, n = base, 2
    while citekey in used:
        citekey, n = f"{base}_{n}", n + 1
    used.add(citekey)
    year = _csl_year(csl)
    pages = str(csl.get("page") or "").replace("-", "--").replace("–", "--")
    fields = [
        ("title", csl.get("title")),
        (
            "author",
            " and ".join(filter(None, map(_bibtex_name, csl.get("author", [])))),
        ),
        (
            "journal"
            if BIBTEX_TYPES.get(csl.get("type", "")) == "article"
            else "booktitle",
            csl.get("container-title"),
        ),
        ("year", year),
        ("volume", csl.get("volume")),
        ("number", csl.get("issue")),
        ("pages", pages),
        ("doi", csl.get("DOI")),
        ("url", csl.get("URL")),
        ("publisher", csl.get("publisher")),
        ("isbn", csl.get("ISBN")),
    ]
    lines = [f"@{BIBTEX_TYPES.get(csl.get('type', ''), 'misc')}{{{citekey},"]
    for name, value in fields:
        if isinstance(value, list):
            value = value[0] if value else ""
        if value not in (None, ""):
            text = str(value) if name in ("url", "doi") else _bibtex_escape(value)
            lines.append(f"  {name} = {{{text}}},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _bibtex_name(name: dict) -> str:
    if name.get("literal"):
        return "{" + _bibtex_escape(name["literal"]) + "}"
    family, given = name.get("family", ""), name.get("given", "")
    if family and given:
        return f"{_bibtex_escape(family)}, {_bibtex_escape(given)}"
    return _bibtex_escape(family or given)


def _bibtex_escape(value: object) -> str:
    return BIBTEX_SPECIAL.sub(
        lambda m: BIBTEX_REPLACEMENTS.get(m.group(), "\\" + m.group()), str(value)
    )


def _csl_year(csl: dict) -> str:
    for field_name in ("issued", "published-print", "published-online", "created"):
        parts = (csl.get(field_name) or {}).get("date-parts") or [[]]
        if parts and parts[0] and parts[0][0]:
            return str(parts[0][0])
    return ""


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


STANDALONE_CSS = ("css/preview.css", "css/byline.css", "css/print.css")


def standalone_html(
    manuscript: Manuscript, render: ManuscriptRender | None = None
) -> str:
    """The public preview (`render`, or the current one) as one file that needs
    nothing else: its CSS inlined, no links back to the site, so it opens offline.

    Its own Content-Security-Policy, as a meta tag, allows its inline styles (by
    hash) and data: images and nothing else: opened from disk or printed, it runs no
    script and requests nothing, whatever a body holds.
    """
    render = render or assembly.assemble(
        manuscript, audience=ManuscriptRender.Audience.PUBLIC
    )
    styles, hashes = [], []
    for name in STANDALONE_CSS:
        path = finders.find(name)
        css = Path(path).read_text(encoding="utf-8") if path else ""
        # A stylesheet can't end the <style> element early, whatever it holds.
        content = "\n" + css.replace("</", "<\\/") + "\n"
        digest = base64.b64encode(hashlib.sha256(content.encode()).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
        media = ' media="print"' if "print" in name else ""
        styles.append(f"<style{media}>{content}</style>")
    page = render_to_string(
        "sections/standalone.html",
        {
            "manuscript": manuscript,
            "render": render,
            "byline": authors.display(render.authors),
            "body_html": rendering.mark_fragment_safe(
                images.inlined(assembly.body_html(render))
            ),
            "bibliography_html": rendering.mark_fragment_safe(render.bibliography_html),
            "content_security_policy": _standalone_policy(hashes),
        },
    )
    return page.replace("<!-- inline styles -->", "\n".join(styles), 1)


def _standalone_policy(style_hashes: list[str]) -> str:
    # A meta policy cannot say frame-ancestors; a file opened from disk has no
    # framer to fear. form-action and base-uri are not covered by default-src.
    return "; ".join(
        [
            "default-src 'none'",
            f"style-src {' '.join(style_hashes)}",
            "img-src data:",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )


@dataclass(frozen=True)
class ExportFormat:
    write: Callable[[Manuscript], str | bytes]
    content_type: str
    extension: str


FORMATS = {
    "markdown": ExportFormat(to_markdown, "text/markdown; charset=utf-8", "md"),
    "manubot": ExportFormat(manubot_zip, "application/zip", "zip"),
    "csl-json": ExportFormat(
        csl_json, "application/vnd.citationstyles.csl+json", "json"
    ),
    "bibtex": ExportFormat(bibtex, "application/x-bibtex; charset=utf-8", "bib"),
    "html": ExportFormat(standalone_html, "text/html; charset=utf-8", "html"),
}


def export(manuscript: Manuscript, *, format: str) -> bytes:
    """The manuscript in one of FORMATS, as bytes; KeyError for an unknown format."""
    written = FORMATS[format].write(manuscript)
    return written.encode() if isinstance(written, str) else written


class ExportUnavailable(ReviewappError):
    """This export needs a tool the machine does not have (Chromium for PDF)."""


PDF_TIMEOUT_SECONDS = 120
PDF_MARGINS = {"top": "0.4in", "right": "0.4in", "bottom": "0.4in", "left": "0.4in"}
# The print browser's flags, as the browser tests launch it. Every host name resolves
# to nothing: a second wall behind the route that refuses every request (below).
PDF_CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]


def pdf(manuscript: Manuscript, render: ManuscriptRender | None = None) -> bytes:
    """The standalone HTML printed by headless Chromium, with print.css applied.

    Printed with JavaScript off and every request refused: the page is handed over
    as a string, its CSS is inline, so whatever a body names (an image on an
    internal host, a frame, a font, a redirect) is never fetched by the server.
    Raises ExportUnavailable when Chromium is missing or fails; runs a browser, so
    it belongs in a command or a task (`print_pdf`), not in a web request.
    """
    chromium = Path(settings.CHROMIUM_PATH)
    if not chromium.exists():
        raise ExportUnavailable(
            f"PDF export needs Chromium at {chromium} (apt-get install chromium)."
        )
    # Read before the browser starts: Playwright's sync API runs an event loop in
    # this thread, inside which Django refuses database queries.
    page_html = standalone_html(manuscript, render)
    timeout_ms = PDF_TIMEOUT_SECONDS * 1000
    with tempfile.TemporaryDirectory(prefix="export-pdf-") as home:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(chromium),
                    args=PDF_CHROMIUM_ARGS,
                    timeout=timeout_ms,
                    # The app's user may have no home (the image's has none).
                    env={**os.environ, "HOME": home},
                )
                try:
                    context = browser.new_context(
                        java_script_enabled=False, service_workers="block"
                    )
                    context.route("**/*", _refuse_request)
                    page = context.new_page()
                    page.set_default_timeout(timeout_ms)
                    page.set_content(page_html, wait_until="load")
                    # Chromium's own default margins, as its --print-to-pdf
                    # prints (Playwright's default is none: text at the edge).
                    printed = page.pdf(margin=PDF_MARGINS)
                finally:
                    browser.close()
        except PlaywrightError as error:  # not runnable, crashed, or timed out
            raise ExportUnavailable(
                f"Chromium could not print the PDF: {error}"
            ) from error
    if not printed.startswith(b"%PDF"):
        raise ExportUnavailable("Chromium ran but wrote no PDF.")
    return printed


def _refuse_request(route: Route) -> None:
    # The page needs nothing from anywhere: set_content is not a request, and its
    # styles are inline.
    route.abort("blockedbyclient")


# PDF for the web: printed by a worker and kept in the cache, one per manuscript,
# for the public render and page layout it was printed from; a second download of an
# unchanged manuscript is served at once, a changed one is printed again.

PDF_KEPT_SECONDS = 7 * 24 * 3600
# A failure is remembered briefly: installing Chromium and reloading should work.
PDF_FAILURE_KEPT_SECONDS = 60


@dataclass(frozen=True)
class PdfState:
    """The PDF of a manuscript as it is now: printed, failed, or neither yet.
    `version` names what it is printed from (render and layout)."""

    manuscript_id: int
    version: str
    pdf: bytes | None
    error: str

    @property
    def queued_key(self) -> str:
        """Marks this version as queued (tasks.print_pdf_soon): reloads queue once."""
        return f"pdf-queued:{self.manuscript_id}:{self.version}"


def pdf_state(manuscript: Manuscript) -> PdfState:
    return _pdf_state(manuscript, _public_render(manuscript))


def print_pdf(manuscript: Manuscript) -> PdfState:
    """Print the manuscript's PDF into the cache, in place of an older one, unless
    it is there; a failure is kept as its message. Safe to run twice."""
    render = _public_render(manuscript)
    state = _pdf_state(manuscript, render)
    if state.pdf is not None:
        return state
    try:
        # Printed from the very render its version names.
        printed = (state.version, pdf(manuscript, render))
        cache.set(f"pdf:{manuscript.pk}", printed, PDF_KEPT_SECONDS)
    except ExportUnavailable as error:
        failed = (state.version, str(error))
        cache.set(f"pdf-error:{manuscript.pk}", failed, PDF_FAILURE_KEPT_SECONDS)
    finally:
        cache.delete(state.queued_key)
    return _pdf_state(manuscript, render)


def _public_render(manuscript: Manuscript) -> ManuscriptRender:
    return assembly.assemble(manuscript, audience=ManuscriptRender.Audience.PUBLIC)


def _pdf_state(manuscript: Manuscript, render: ManuscriptRender) -> PdfState:
    version = f"{render.input_hash}-{_layout_version()}"
    found = cache.get_many([f"pdf:{manuscript.pk}", f"pdf-error:{manuscript.pk}"])
    printed_version, printed = found.get(f"pdf:{manuscript.pk}", ("", None))
    failed_version, error = found.get(f"pdf-error:{manuscript.pk}", ("", ""))
    return PdfState(
        manuscript.pk,
        version,
        printed if printed_version == version else None,
        error if failed_version == version else "",
    )


@functools.cache
def _layout_version() -> str:
    """What the PDF looks like besides the manuscript: the standalone page, the
    templates it includes and its stylesheets, as deployed (read once per process)."""
    digest = hashlib.sha256()
    for source in _template_sources("sections/standalone.html"):
        digest.update(source.encode() + b"\0")
    for name in STANDALONE_CSS:
        path = finders.find(name)
        digest.update(Path(path).read_bytes() if path else b"")
    return digest.hexdigest()[:16]


def _template_sources(name: str) -> Iterator[str]:
    """The template's source, then those of the templates it includes, in turn."""
    template = get_template(name).template
    yield template.source
    for include in template.nodelist.get_nodes_by_type(IncludeNode):
        yield from _template_sources(include.template.resolve(Context()))

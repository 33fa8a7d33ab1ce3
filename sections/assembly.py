"""Assembling the manuscript from stored pieces: string work, no re-rendering.

Citations are numbered in order of first appearance across the whole manuscript (a
tag: key shares the number of the reference it stands for); each citation slot of a
fragment's segments becomes numbered links whose entry shows on hover or focus, joined
with the segments' HTML as it is (nothing is parsed or searched); the bibliography lists
stored formatted entries in that order.

Numbering needs only each fragment's list of keys, stored beside it. Each section's
assembled HTML is stored with a hash of what it was made from (its fragment, and the
numbers and entries of what it cites), so an edit that changes no numbers rewrites one
section, and an unchanged manuscript is not assembled at all.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from functools import cached_property

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Count, ExpressionWrapper, Max, Q
from django.utils import timezone
from django.utils.safestring import SafeString

from sections import authors, bibliography, crossrefs, figures, rendering, templating
from sections.models import (
    AssembledSection,
    Manuscript,
    ManuscriptRender,
    Reference,
    Section,
    SectionRender,
)

Audience = ManuscriptRender.Audience
# What _section_html writes: the section element, its heading (none for text that
# has none), then its body.
SECTION_BODY = re.compile(
    r"<section [^>]*>(?:<h\d[^>]*>.*?</h\d>)?(?P<body>.*)</section>\Z", re.DOTALL
)


def render_section(
    section: Section, variables: templating.Variables | None = None
) -> SectionRender:
    """The section's stored fragment, rendered again only if its input changed
    (for a section with a template, its variables are part of the input)."""
    variables = _variables_for(section, variables)
    digest = _fragment_digest(section, variables)
    stored = SectionRender.objects.filter(section=section)
    if stored.filter(input_hash=digest).exists():
        return stored.get()
    fragment = rendering.render_fragment(section.title, section.body, variables)
    fields = _fragment_fields(fragment, variables)
    # Written without reading the old fragment; a race to create the first one is
    # settled by the one-to-one constraint, and the loser updates.
    if not stored.update(**fields):
        try:
            with transaction.atomic():
                return SectionRender.objects.create(section=section, **fields)
        except IntegrityError:
            stored.update(**fields)
    return SectionRender(section=section, **fields)


def render_sections(manuscript: Manuscript) -> int:
    """Every present section's stored fragment, rendered again only where its input
    changed, in one read of the stored hashes and one write for all (an import, or a
    renderer change, renders a whole manuscript). Returns how many were rendered."""
    sections = list(manuscript.sections.present())
    stored = dict(
        SectionRender.objects.filter(section__in=sections).values_list(
            "section_id", "input_hash"
        )
    )
    rows, shared = [], None
    for section in sections:
        variables = None
        if templating.has_template(section.body):
            # Built once, and only for a manuscript with a template section.
            shared = shared or templating.variables(manuscript)
            variables = shared
        if stored.get(section.pk) != _fragment_digest(section, variables):
            fragment = rendering.render_fragment(section.title, section.body, variables)
            rows.append(
                SectionRender(section=section, **_fragment_fields(fragment, variables))
            )
    # A save rendering one of them meanwhile is settled by the one-to-one constraint.
    SectionRender.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["section"],
        update_fields=[f for f in _FRAGMENT_FIELDS if f != "section"],
    )
    return len(rows)


_FRAGMENT_FIELDS = [
    "input_hash",
    "variables_digest",
    "segments",
    "public_segments",
    "keys",
    "public_keys",
    "labels",
    "public_labels",
    "rendered_at",
]


def _fragment_fields(
    fragment: rendering.Fragment, variables: templating.Variables | None
) -> dict:
    return {
        "input_hash": fragment.input_hash,
        "variables_digest": variables.digest if variables else "",
        "segments": fragment.segments,
        "public_segments": fragment.public_segments,
        "keys": fragment.keys,
        "public_keys": fragment.public_keys,
        "labels": rendering.slot_labels(fragment.segments),
        "public_labels": rendering.slot_labels(fragment.public_segments),
        "rendered_at": timezone.now(),
    }


def _variables_for(
    section: Section, variables: templating.Variables | None = None
) -> templating.Variables | None:
    """The template variables a section's fragment depends on: none without a
    template (so such a section never pays for them)."""
    if not templating.has_template(section.body):
        return None
    return variables or templating.variables(section.manuscript)


def _fragment_digest(section: Section, variables: templating.Variables | None) -> str:
    return rendering.input_hash(
        section.title, section.body, variables.digest if variables else ""
    )


@dataclass(frozen=True)
class Piece:
    """A section as assembly sees it: identity, heading and what it cites."""

    pk: int
    slug: str
    title: str
    level: int
    fragment_hash: str
    keys: list[str]
    labels: list[crossrefs.Slot]
    heading_attributes: str = ""


@dataclass(frozen=True)
class CitedWork:
    """What assembly needs of a reference: no metadata, only identity and state."""

    pk: int
    key: str
    alias_key: str | None
    state: str
    has_metadata: bool


def assemble(manuscript: Manuscript, *, audience: str) -> ManuscriptRender:
    """The assembled manuscript for an audience, from stored fragments and entries."""
    show_todos = audience == Audience.CONTRIBUTORS or manuscript.show_todos_publicly
    byline = authors.byline(manuscript)
    pieces = _pieces(manuscript, audience, show_todos, byline=byline)
    references = _references(manuscript)
    figure_urls = figures.urls_for(manuscript)
    figures_version = figures.version_of(figure_urls)
    digest = _input_hash(
        manuscript,
        audience,
        show_todos,
        pieces,
        references.version + figures_version,
        byline,
    )
    render = (
        ManuscriptRender.objects.filter(manuscript=manuscript, audience=audience)
        .defer("bibliography_html")
        .first()
    )
    if render and render.input_hash == digest:
        return render

    numbering = _numbering(
        manuscript, pieces, references, figure_urls, unknown_entry=_unknown_entry
    )
    bibliography_hash = numbering.bibliography_hash
    toc = [
        {"slug": p.slug, "title": p.title, "level": p.level} for p in pieces if p.title
    ]
    with transaction.atomic():
        # Locked, so two assemblies of one manuscript write its sections in turn.
        render, _ = (
            ManuscriptRender.objects.select_for_update()
            .defer("bibliography_html")
            .get_or_create(
                manuscript=manuscript, audience=audience, defaults={"input_hash": ""}
            )
        )
        _store_sections(render, pieces, show_todos, numbering)
        changes = {"input_hash": digest, "assembled_at": timezone.now()}
        if render.toc != toc:
            changes["toc"] = toc
        if render.authors != byline:
            changes["authors"] = byline
        # The bibliography is the second largest thing we write: only when it changed.
        if render.bibliography_hash != bibliography_hash:
            changes.update(
                bibliography_html=numbering.bibliography_html,
                bibliography_hash=bibliography_hash,
            )
        ManuscriptRender.objects.filter(pk=render.pk).update(**changes)
    for name, value in changes.items():
        setattr(render, name, value)
    return render


def preview_section(section: Section, *, title: str, body: str) -> SafeString:
    """An unsaved text of a section as contributors will see it once saved: rendered
    by the same pipeline, citations numbered across the whole manuscript with this
    text in place. Writes nothing."""
    variables = (
        templating.variables(section.manuscript)
        if templating.has_template(body)
        else None
    )
    fragment = rendering.render_fragment(title, body, variables)
    piece = Piece(
        section.pk,
        section.slug,
        title,
        section.level,
        fragment.input_hash,
        fragment.keys,
        rendering.slot_labels(fragment.segments),
        section.heading_attributes,
    )
    pieces = [
        piece if p.pk == section.pk else p
        for p in _pieces(section.manuscript, Audience.CONTRIBUTORS, show_todos=True)
    ]
    if piece not in pieces:
        pieces.append(piece)  # a removed section, numbered after the manuscript
    numbering = _numbering(
        section.manuscript,
        pieces,
        _references(section.manuscript),
        figures.urls_for(section.manuscript_id),
        unknown_entry=_new_entry,
    )
    return rendering.mark_fragment_safe(_body_html(fragment.segments, numbering))


def preview_snippets(
    section: Section,
    *,
    keys: list[str],
    labels: list,
    snippets: list[rendering.Segments],
) -> list[SafeString]:
    """Rendered pieces of an unsaved text of a section (a proposal's hunks), numbered
    as preview_section numbers the whole text: `keys` and `labels` are what that
    text cites and labels, in order, so nothing is rendered here. Writes nothing."""
    piece = Piece(
        section.pk,
        section.slug,
        section.title,
        section.level,
        "",
        keys,
        labels,
        section.heading_attributes,
    )
    pieces = [
        piece if p.pk == section.pk else p
        for p in _pieces(section.manuscript, Audience.CONTRIBUTORS, show_todos=True)
    ]
    if piece not in pieces:
        pieces.append(piece)
    numbering = _numbering(
        section.manuscript,
        pieces,
        _references(section.manuscript),
        figures.urls_for(section.manuscript_id),
        unknown_entry=_new_entry,
    )
    return [
        rendering.mark_fragment_safe(_body_html(segments, numbering))
        for segments in snippets
    ]


@dataclass(frozen=True)
class Numbering:
    """What assembled HTML is numbered and linked with, across the whole manuscript:
    each cited work's number, entry and entry hash, the labels' numbers, the figures'
    URLs."""

    numbers: dict[str, int]
    entry_html: dict[str, str]
    entry_hash: dict[str, str]
    works: dict[str, CitedWork]
    labels: dict
    figure_urls: dict[str, str]

    @cached_property
    def bibliography_html(self) -> str:
        return _bibliography_html(self)

    @cached_property
    def bibliography_hash(self) -> str:
        return hashlib.sha256(
            repr(
                [
                    (
                        key,
                        self.entry_hash[key],
                        self.works[key].state if key in self.works else "",
                    )
                    for key in self.numbers
                ]
            ).encode()
        ).hexdigest()


def _numbering(
    manuscript: Manuscript,
    pieces: list[Piece],
    references: ReferenceData,
    figure_urls: dict[str, str],
    *,
    unknown_entry,
) -> Numbering:
    """Citations numbered by first appearance (a tag shares its work's number), the
    entries of the works numbered (formatted only now), labels numbered by kind."""
    works = references.works
    numbers: dict[str, int] = {}
    for piece in pieces:
        for key in piece.keys:
            numbers.setdefault(_canonical(key, works), len(numbers) + 1)
    entries = references.entries_of(
        manuscript, [works[k].pk for k in numbers if k in works]
    )
    return Numbering(
        numbers=numbers,
        entry_html={
            key: entries[works[key].pk] if key in works else unknown_entry(key)
            for key in numbers
        },
        entry_hash={
            key: references.entry_hashes.get(works[key].pk, "") if key in works else key
            for key in numbers
        },
        works=works,
        labels=crossrefs.numbers(piece.labels for piece in pieces),
        figure_urls=figure_urls,
    )


@dataclass(frozen=True)
class ReferenceData:
    """One version of a manuscript's references: every work's identity, and the
    entries of those cited so far (filled as assemblies ask for them)."""

    version: str
    style: str
    works: dict[str, CitedWork]
    entries: dict[int, str] = field(default_factory=dict)
    entry_hashes: dict[int, str] = field(default_factory=dict)

    def entries_of(self, manuscript: Manuscript, ids: list[int]) -> dict[int, str]:
        """Formatted entries of these references. Only cited works are asked for:
        a manuscript keeps hundreds of uncited rows (a manual-references snapshot),
        which cost nothing until someone cites them."""
        missing = [pk for pk in ids if pk not in self.entries]
        if missing:
            found = bibliography.entries_for(manuscript, missing, style=self.style)
            self.entry_hashes.update(
                (pk, hashlib.sha256(entry.encode()).hexdigest()[:16])
                for pk, entry in found.items()
            )
            self.entries.update(found)
        return self.entries


def _references(manuscript: Manuscript) -> ReferenceData:
    """Every reference's identity, and the entries formatted so far, kept per
    version in this process.

    A version is the reference count and the latest save: any change to a reference
    (metadata, alias, state) saves it, so a kept copy is never stale. Edits of text,
    the common case, read no reference at all.
    """
    latest = manuscript.references.aggregate(
        count=Count("pk"), latest=Max("updated_at")
    )
    version = f"{latest['count']}:{latest['latest']}:{manuscript.csl_style}"
    kept = _kept_references.get(manuscript.pk)
    if kept is not None and kept.version == version:
        return kept
    data = ReferenceData(
        version=version, style=manuscript.csl_style, works=_works(manuscript)
    )
    _kept_references[manuscript.pk] = data
    return data


# One version of each manuscript's references per process (workers and web alike).
_kept_references: dict[int, ReferenceData] = {}


def body_html(render: ManuscriptRender) -> SafeString:
    """The assembled sections in order, joined once per version and then cached."""
    body = cache.get_or_set(
        f"manuscript-body:{render.pk}:{render.input_hash}",
        lambda: "".join(
            render.sections.order_by("position").values_list("html", flat=True)
        ),
        timeout=24 * 3600,
    )
    return rendering.mark_fragment_safe(body)


def section_body(render: ManuscriptRender, section: Section) -> SafeString:
    """One section's assembled body, without its heading."""
    assembled = (
        render.sections.filter(section=section).values_list("html", flat=True).first()
    )
    return _without_heading(assembled or "")


def contributors_section_body(section: Section) -> SafeString:
    """The section's body as contributors see it, numbered across the manuscript, read
    from the stored assembly in one query: a page view assembles nothing.

    Just after a save, before the worker has assembled it, the stored body is of the
    old text: this text is then rendered as the editor's preview renders it (the same
    pipeline and numbers), writing nothing.
    """
    stored = (
        AssembledSection.objects.filter(
            render__manuscript_id=section.manuscript_id,
            render__audience=Audience.CONTRIBUTORS,
            section=section,
        )
        .values_list("fragment_hash", "html")
        .first()
    )
    if stored and stored[0] == _fragment_digest(section, _variables_for(section)):
        return _without_heading(stored[1])
    return preview_section(section, title=section.title, body=section.body)


def _without_heading(assembled: str) -> SafeString:
    match = SECTION_BODY.match(assembled)
    return rendering.mark_fragment_safe(match.group("body") if match else "")


def _store_sections(
    render, pieces: list[Piece], show_todos: bool, numbering: Numbering
) -> None:
    """Write the sections whose assembled HTML changed; drop those no longer there."""
    # A figure added or removed may change any section's images: all are written.
    figures_version = figures.version_of(numbering.figure_urls)
    hashes = {
        piece.pk: hashlib.sha256(
            (_section_hash(piece, show_todos, numbering) + figures_version).encode()
        ).hexdigest()
        for piece in pieces
    }
    stored = {
        section_id: (input_hash, position, fragment_hash)
        for section_id, input_hash, position, fragment_hash in render.sections.values_list(
            "section_id", "input_hash", "position", "fragment_hash"
        )
    }
    # A row without the hash of its fragment (made before it was kept) is made again.
    changed = {
        p.pk
        for p in pieces
        if stored.get(p.pk, ("",))[0] != hashes[p.pk] or not stored[p.pk][2]
    }
    segments_field = "segments" if show_todos else "public_segments"
    fragments = {
        section_id: (input_hash, segments)
        for section_id, input_hash, segments in SectionRender.objects.filter(
            section_id__in=changed
        ).values_list("section_id", "input_hash", segments_field)
    }
    rows, moved = [], []
    for position, piece in enumerate(pieces):
        input_hash, fragment = fragments.get(piece.pk, ("", []))
        # A fragment newer than the keys numbered above (a save rendered it in the
        # meantime) may cite what has no number yet: it waits for the assembly that
        # the render which wrote it queues.
        if piece.pk in changed and input_hash == piece.fragment_hash:
            rows.append(
                AssembledSection(
                    render=render,
                    section_id=piece.pk,
                    position=position,
                    input_hash=hashes[piece.pk],
                    fragment_hash=input_hash,
                    html=_section_html(piece, fragment, numbering),
                )
            )
        elif piece.pk in stored and stored[piece.pk][1] != position:
            moved.append((piece.pk, position))
    removed = stored.keys() - hashes.keys()
    if removed:
        render.sections.filter(section_id__in=removed).delete()
    AssembledSection.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["render", "section"],
        update_fields=["position", "input_hash", "fragment_hash", "html"],
    )
    # A section added or moved shifts the others' positions, not their HTML.
    if moved:
        by_section = {
            a.section_id: a for a in render.sections.filter(section_id__in=dict(moved))
        }
        for section_id, position in moved:
            by_section[section_id].position = position
        AssembledSection.objects.bulk_update(by_section.values(), ["position"])


def _pieces(
    manuscript: Manuscript,
    audience: str,
    show_todos: bool,
    *,
    byline: list[dict] | None = None,
) -> list[Piece]:
    """Sections in reading order with what their stored fragments cite.

    Sections never rendered are rendered now. A fragment older than its section's
    text is used as it is: the render task queued by that save assembles again.
    """
    sections = manuscript.sections.present().order_by("position")
    if audience == Audience.PUBLIC:
        sections = sections.public()
    keys_field = "render__keys" if show_todos else "render__public_keys"
    labels_field = "render__labels" if show_todos else "render__public_labels"
    rows = sections.values_list(
        "pk",
        "slug",
        "title",
        "level",
        "render__input_hash",
        keys_field,
        labels_field,
        "render__variables_digest",
        "heading_attributes",
    )
    pieces = []
    variables = None
    for row in rows:
        pk, slug, title, level, fragment_hash, keys, labels, variables_digest = row[:8]
        attributes = row[8]
        if variables_digest:
            # A template's output follows the authors, metadata and date: computed
            # once, and only for a manuscript with a template section.
            variables = variables or templating.variables(manuscript, byline=byline)
        if fragment_hash is None or (
            variables_digest and variables_digest != variables.digest
        ):
            stored = render_section(Section.objects.get(pk=pk), variables)
            fragment_hash = stored.input_hash
            keys = stored.keys if show_todos else stored.public_keys
            labels = stored.labels if show_todos else stored.public_labels
        pieces.append(
            Piece(pk, slug, title, level, fragment_hash, keys, labels, attributes)
        )
    return pieces


def _works(manuscript: Manuscript) -> dict[str, CitedWork]:
    has_metadata = ExpressionWrapper(
        Q(csl_manual__isnull=False)
        | Q(csl_fetched__isnull=False)
        | Q(csl_provisional__isnull=False),
        output_field=BooleanField(),
    )
    rows = (
        Reference.objects.filter(manuscript=manuscript)
        .annotate(has_metadata=has_metadata)
        .values_list("pk", "key", "alias_of__key", "state", "has_metadata")
    )
    return {row[1]: CitedWork(*row) for row in rows}


def _canonical(key: str, works: dict[str, CitedWork]) -> str:
    work = works.get(key)
    return work.alias_key if work and work.alias_key else key


def _input_hash(
    manuscript, audience, show_todos, pieces, references_version, byline
) -> str:
    digest = hashlib.sha256()
    for part in (
        rendering.RENDERER_VERSION,
        audience,
        str(show_todos),
        manuscript.title,
        references_version,
        repr(byline),
    ):
        digest.update(part.encode() + b"\0")
    for piece in pieces:
        digest.update(
            f"{piece.pk}\0{piece.slug}\0{piece.title}\0{piece.level}\0{piece.fragment_hash}\0{piece.heading_attributes}\0".encode()
        )
    return digest.hexdigest()


def _section_hash(piece: Piece, show_todos: bool, numbering: Numbering) -> str:
    """What a section's assembled HTML depends on: its fragment, the number, entry
    and metadata state of everything it cites, and the numbers of its labels."""
    cited = []
    for key in piece.keys:
        canonical = _canonical(key, numbering.works)
        work = numbering.works.get(canonical)
        cited.append(
            f"{key}:{numbering.numbers[canonical]}:{numbering.entry_hash[canonical]}:{work.has_metadata if work else ''}"
        )
    text = f"{piece.slug}\0{piece.title}\0{piece.level}\0{piece.fragment_hash}\0{show_todos}\0{piece.heading_attributes}\0"
    text += crossrefs.signature(piece.labels, numbering.labels) + "\0"
    if rendering.BIBLIOGRAPHY_PLACE in piece.labels:  # Manubot's `<div id="refs">`
        text += numbering.bibliography_hash
    return hashlib.sha256((text + "\0".join(cited)).encode()).hexdigest()


def _section_html(piece: Piece, segments, numbering: Numbering) -> str:
    level = min(piece.level + 1, 6)
    body = _body_html(segments, numbering)
    title = html.escape(piece.title)
    # The heading's own classes (`{.page_break_before}`), from the allow-list only.
    classes = rendering.allowed_classes(piece.heading_attributes)
    heading_class = f' class="{html.escape(classes)}"' if classes else ""
    heading = (
        f'<h{level}{heading_class}><a class="anchor" href="#{piece.slug}">{title}</a>'
        f"</h{level}>"
        if piece.title
        else ""  # text before a file's first heading, as Manubot shows it
    )
    return (
        f'<section class="manuscript-section level-{piece.level}" id="{piece.slug}">'
        f"{heading}{body}</section>"
    )


def _body_html(segments, numbering: Numbering) -> str:
    """A fragment's segments joined, each citation and label slot numbered and each
    figure given its URL: no HTML is parsed."""
    return "".join(
        segment
        if isinstance(segment, str)
        else (
            figures.html_for(segment, numbering.figure_urls)
            if "figure" in segment
            else _placed_bibliography(numbering)
            if segment == rendering.BIBLIOGRAPHY_PLACE
            else crossrefs.slot_html(segment, numbering.labels)
        )
        if isinstance(segment, dict)
        else _citation_html(segment, numbering)
        for segment in segments
    )


def _placed_bibliography(numbering: Numbering) -> str:
    # The page layout leaves out its own References section when it finds this id.
    return (
        f'<div id="refs" class="references placed">{numbering.bibliography_html}</div>'
    )


def _citation_html(keys, numbering: Numbering) -> str:
    links = []
    for key in keys:
        canonical = _canonical(key, numbering.works)
        number = numbering.numbers[canonical]
        work = numbering.works.get(canonical)
        pending = "" if work and work.has_metadata else " pending"
        links.append(
            f'<a class="cite{pending}" href="#ref-{number}">{number}'
            f'<span class="cite-entry" role="tooltip">{numbering.entry_html[canonical]}</span></a>'
        )
    return f'<span class="citation">[{", ".join(links)}]</span>'


def _bibliography_html(numbering: Numbering) -> str:
    items = []
    for key, number in numbering.numbers.items():
        work = numbering.works.get(key)
        state = work.state if work else "unknown"
        items.append(
            f'<li id="ref-{number}" class="entry {state}" '
            f'data-key="{html.escape(key)}">{numbering.entry_html[key]}</li>'
        )
    return '<ol class="bibliography">' + "".join(items) + "</ol>"


def _unknown_entry(key: str) -> str:
    return f'<span class="entry-pending">{html.escape(key)}: no such reference</span>'


def _new_entry(key: str) -> str:
    # In the live preview: a key nobody cited before the text being written.
    return (
        f'<span class="entry-pending">{html.escape(key)}: new; its metadata is '
        "fetched once you save</span>"
    )

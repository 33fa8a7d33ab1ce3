"""Assembling the manuscript from stored pieces: string work, no re-rendering.

Citations are numbered in order of first appearance across the whole manuscript
(a tag: key shares the number of the reference it stands for); each placeholder
becomes numbered links whose entry shows on hover or focus; the bibliography lists
stored formatted entries in that order. The result is stored per audience, with a
hash of everything it was made from, so an unchanged manuscript is not assembled again.
"""

from __future__ import annotations

import hashlib
import html
import json
import re

from django.db import transaction
from django.utils import timezone
from django.utils.safestring import SafeString

from sections import bibliography, rendering
from sections.models import (
    Manuscript,
    ManuscriptRender,
    Reference,
    Section,
    SectionRender,
)

Audience = ManuscriptRender.Audience


def render_section(section: Section) -> SectionRender:
    """The section's stored fragment, rendered again only if its input changed."""
    digest = rendering.input_hash(section.title, section.body)
    stored = SectionRender.objects.filter(section=section).first()
    if stored and stored.input_hash == digest:
        return stored
    fragment = rendering.render_fragment(section.title, section.body)
    stored, _ = SectionRender.objects.update_or_create(
        section=section,
        defaults={
            "input_hash": fragment.input_hash,
            "html": fragment.html,
            "rendered_at": timezone.now(),
        },
    )
    return stored


def assemble(manuscript: Manuscript, *, audience: str) -> ManuscriptRender:
    """The assembled manuscript for an audience, from stored fragments and entries."""
    sections = list(_sections_for(manuscript, audience).select_related("render"))
    fragments = [_fragment(section) for section in sections]
    references = {
        r.key: r
        for r in Reference.objects.filter(manuscript=manuscript).select_related(
            "alias_of"
        )
    }
    show_todos = audience == Audience.CONTRIBUTORS or manuscript.show_todos_publicly
    digest = _input_hash(
        manuscript, audience, show_todos, sections, fragments, references
    )
    stored = ManuscriptRender.objects.filter(
        manuscript=manuscript, audience=audience
    ).first()
    if stored and stored.input_hash == digest:
        return stored

    numbers: dict[str, int] = {}
    cited: list[Reference | str] = []
    body_parts, toc = [], []
    for section, fragment in zip(sections, fragments, strict=True):
        html_ = fragment if show_todos else rendering.without_todos(fragment)
        for keys in rendering.placeholder_keys(html_):
            for key in keys:
                canonical = _canonical(key, references)
                if canonical not in numbers:
                    numbers[canonical] = len(numbers) + 1
                    cited.append(references.get(canonical, canonical))
        body_parts.append((section, html_))
        toc.append(
            {"slug": section.slug, "title": section.title, "level": section.level}
        )

    entries = bibliography.entries_for(
        [r for r in cited if isinstance(r, Reference)], style=manuscript.csl_style
    )
    entry_html = {
        item.key if isinstance(item, Reference) else item: (
            entries[item.pk] if isinstance(item, Reference) else _unknown_entry(item)
        )
        for item in cited
    }
    body_html = "".join(
        _section_html(section, html_, numbers, entry_html, references)
        for section, html_ in body_parts
    )
    bibliography_html = _bibliography_html(cited, numbers, entry_html, references)
    with transaction.atomic():
        render, _ = ManuscriptRender.objects.update_or_create(
            manuscript=manuscript,
            audience=audience,
            defaults={
                "input_hash": digest,
                "toc": toc,
                "body_html": body_html,
                "bibliography_html": bibliography_html,
                "assembled_at": timezone.now(),
            },
        )
    return render


def _sections_for(manuscript: Manuscript, audience: str):
    sections = manuscript.sections.present().order_by("position")
    return sections.public() if audience == Audience.PUBLIC else sections


def _fragment(section: Section) -> str:
    render = getattr(section, "render", None)
    if render is None or render.input_hash != rendering.input_hash(
        section.title, section.body
    ):
        render = render_section(section)
    return render.html


def _canonical(key: str, references: dict[str, Reference]) -> str:
    reference = references.get(key)
    return reference.alias_of.key if reference and reference.alias_of else key


def _input_hash(
    manuscript, audience, show_todos, sections, fragments, references
) -> str:
    parts = [
        rendering.RENDERER_VERSION,
        audience,
        str(show_todos),
        manuscript.title,
        manuscript.csl_style,
        [(s.pk, s.slug, s.title, s.level) for s in sections],
        [hashlib.sha256(f.encode()).hexdigest() for f in fragments],
        sorted(
            (
                r.key,
                r.alias_of.key if r.alias_of else "",
                r.state,
                bibliography.csl_hash(r.csl),
            )
            for r in references.values()
        ),
    ]
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _section_html(section, fragment_html, numbers, entry_html, references) -> str:
    level = min(section.level + 1, 6)
    body = rendering.CITE_PLACEHOLDER.sub(
        lambda m: _citation_html(m, numbers, entry_html, references), fragment_html
    )
    title = html.escape(section.title)
    return (
        f'<section class="manuscript-section level-{section.level}" id="{section.slug}">'
        f'<h{level}><a class="anchor" href="#{section.slug}">{title}</a></h{level}>'
        f"{body}</section>"
    )


def _citation_html(match, numbers, entry_html, references) -> str:
    links = []
    for key in html.unescape(match.group("keys")).split(";"):
        canonical = _canonical(key, references)
        number = numbers[canonical]
        reference = references.get(canonical)
        pending = " pending" if not (reference and reference.csl) else ""
        links.append(
            f'<a class="cite{pending}" href="#ref-{number}">{number}'
            f'<span class="cite-entry" role="tooltip">{entry_html[canonical]}</span></a>'
        )
    return f'<span class="citation">[{", ".join(links)}]</span>'


def _bibliography_html(cited, numbers, entry_html, references) -> str:
    items = []
    for item in cited:
        canonical = item.key if isinstance(item, Reference) else item
        reference = references.get(canonical)
        state = reference.state if reference else "unknown"
        items.append(
            f'<li id="ref-{numbers[canonical]}" class="entry {state}" '
            f'data-key="{html.escape(canonical)}">{entry_html[canonical]}</li>'
        )
    return '<ol class="bibliography">' + "".join(items) + "</ol>"


def _unknown_entry(key: str) -> str:
    return f'<span class="entry-pending">{html.escape(key)}: no such reference</span>'


def section_body(render: ManuscriptRender, section: Section) -> SafeString:
    """One section's assembled body (without its heading), cut from the manuscript."""
    match = re.search(
        rf'<section class="manuscript-section[^"]*" id="{re.escape(section.slug)}">'
        r"<h\d>.*?</h\d>(?P<body>.*?)</section>",
        render.body_html,
        re.DOTALL,
    )
    return rendering.mark_fragment_safe(match.group("body") if match else "")

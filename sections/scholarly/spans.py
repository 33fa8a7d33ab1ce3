"""Pandoc's bracketed spans: `[text]{.banner .lightred}`, `[]{.fas .fa-info-circle}`.

Manubot's front matter wraps whole paragraphs in them, across lines and with spans
inside spans, so the text between the brackets is matched by counting brackets, as
Python-Markdown's own links do. Only what follows `]` tells a span from a link: `{`
right after it. Which attributes survive is the sanitizer's business
(`scholarly.attributes`); here a span gets its id and classes, nothing else.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree

from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from sections.scholarly import linear
from sections.scholarly.attributes import id_and_classes

ATTRIBUTES = re.compile(r"\{([^{}\n]*)\}")
# Above links (160), so `[text]{…}` is a span before a link can claim `[text]`;
# below footnote references (175), which keep `[^note]`.
PRIORITY = 165
# Deeper spans stay text: nobody nests them so, and each level is a recursion.
MAX_DEPTH = 8
# How far a span's closing bracket may be: a paragraph.
MAX_LENGTH = 5000


class BracketedSpanProcessor(InlineProcessor):
    def handleMatch(self, m: re.Match, data: str):  # noqa: N802 (Python-Markdown's name)
        found = _span_at(data, m.start(), depth=0)
        if found is None:
            return None, None, None
        element, end = found
        return element, m.start(), end


def _span_at(data: str, start: int, *, depth: int) -> tuple[etree.Element, int] | None:
    """The span whose `[` is at start, and where it ends; None if no span is there."""
    close = _matching_bracket(data, start)
    if close is None or depth >= MAX_DEPTH:
        return None
    attributes = ATTRIBUTES.match(data, close + 1)
    if not attributes:
        return None
    span = etree.Element("span")
    for name, value in id_and_classes(attributes.group(1)).items():
        span.set(name, value)
    _fill(span, data[start + 1 : close], depth=depth + 1)
    return span, attributes.end()


def _fill(span: etree.Element, text: str, *, depth: int) -> None:
    """The span's text, spans within it as child elements."""
    last, position, tail_of = 0, text.find("["), None
    while position != -1:
        found = _span_at(text, position, depth=depth)
        if found is None:
            position = text.find("[", position + 1)
            continue
        child, end = found
        _append_text(span, tail_of, text[last:position])
        span.append(child)
        tail_of, last = child, end
        position = text.find("[", end)
    _append_text(span, tail_of, text[last:])


def _append_text(span: etree.Element, after: etree.Element | None, text: str) -> None:
    if after is None:
        span.text = (span.text or "") + text
    else:
        after.tail = (after.tail or "") + text


def _matching_bracket(data: str, start: int) -> int | None:
    """Where the `[` at start closes, if no further than a span is long."""
    close = linear.partners(data, escapes=True).get(start)
    return close if close is not None and close - start <= MAX_LENGTH else None


class BracketedSpanExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        md.inlinePatterns.register(
            BracketedSpanProcessor(r"\[", md), "bracketed_span", PRIORITY
        )

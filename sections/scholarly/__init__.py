"""The scholarly Markdown of Manubot manuscripts (pandoc's), for `rendering`.

One module per construct: `attributes` (pandoc attribute lists, and the filter that
lets only allowed classes, ids and image sizes through), `spans` (bracketed spans),
`divs` (fenced divs) and `footnotes` (ids unique across sections, citations numbered
where the note is referenced). Heading and image attributes are Python-Markdown's
`attr_list`; what divs hold is rendered by its `md_in_html`. Figures with captions,
table captions and TeX math, as pandoc and its xnos filters read them, are `figures`
and `math`; labels and their numbers are `sections.crossrefs`. `linear` keeps parsing
in time proportional to the text, however many brackets or tags it leaves open.
"""

from __future__ import annotations

from markdown.extensions import Extension

from sections.scholarly.divs import FencedDivExtension
from sections.scholarly.footnotes import SectionFootnotes
from sections.scholarly.linear import LinearParsingExtension
from sections.scholarly.spans import BracketedSpanExtension


def extensions() -> tuple[list[Extension | str], SectionFootnotes]:
    """A converter's scholarly extensions (new instances: they keep per-document
    state), and its footnotes, whose id prefix each render sets."""
    footnotes = SectionFootnotes()
    return [
        footnotes,
        "attr_list",
        "md_in_html",
        BracketedSpanExtension(),
        FencedDivExtension(),
        # Last: it replaces processors of Python-Markdown, md_in_html and footnotes.
        LinearParsingExtension(),
    ], footnotes

"""Pandoc's fenced divs: `::: {.note}` … `:::`, nestable, as a `<div>` of Markdown.

The fences become `<div class="…" markdown="1">` lines before raw HTML is read, and
Python-Markdown's `md_in_html` renders what they hold as Markdown, divs in divs
included. Runs after fenced code is set aside, so `:::` in code stays code. Only an
id and classes are carried over (the sanitizer still checks both); a fence left open
closes at the end of the text, and one nested deeper than anyone writes stays text.
"""

from __future__ import annotations

import html
import re

from markdown.extensions import Extension
from markdown.preprocessors import Preprocessor

from sections.scholarly.attributes import id_and_classes

OPENING = re.compile(
    r" {0,3}:{3,}[ \t]*(?:\{(?P<attributes>[^{}\n]*)\}|(?P<word>[\w-]+))[ \t]*:*[ \t]*"
)
CLOSING = re.compile(r" {0,3}:{3,}[ \t]*")
MAX_DEPTH = 10
# After fenced code (25) has set code aside; before raw HTML (20) is read.
PRIORITY = 22
SKIPPED = "skipped"


class FencedDivPreprocessor(Preprocessor):
    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        open_fences: list[str] = []  # per open fence: "div", or SKIPPED (kept as text)
        for line in lines:
            opening = OPENING.fullmatch(line)
            if opening:
                if open_fences.count("div") >= MAX_DEPTH:
                    open_fences.append(SKIPPED)
                    out.append(line)
                else:
                    open_fences.append("div")
                    out += ["", _start_tag(opening), ""]
                continue
            if CLOSING.fullmatch(line) and open_fences:
                if open_fences.pop() == SKIPPED:
                    out.append(line)
                else:
                    out += ["", "</div>", ""]
                continue
            out.append(line)
        out += ["", "</div>", ""] * open_fences.count("div")
        return out


def _start_tag(opening: re.Match) -> str:
    if opening["word"]:
        attributes = {"class": opening["word"]}
    else:
        attributes = id_and_classes(opening["attributes"])
    written = "".join(
        f' {name}="{html.escape(value, quote=True)}"'
        for name, value in attributes.items()
    )
    return f'<div{written} markdown="1">'


class FencedDivExtension(Extension):
    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        md.preprocessors.register(FencedDivPreprocessor(md), "fenced_div", PRIORITY)

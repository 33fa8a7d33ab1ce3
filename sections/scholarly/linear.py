"""Markdown parsed in time proportional to the text, whatever the text holds.

Python-Markdown looks for the `]` that closes each `[` by reading on to the end of
the paragraph, its footnote pattern reads each `[^` on to the next `]`, and Python's
HTML parser reads each unclosed `<tag` on to the end of the text. A body of a few
thousand unclosed brackets (a half-typed citation, pasted junk) took minutes of a
worker, and of a web process for the live preview; 24 KB of unclosed tags, 12 s.
The replacements here give the same answers in one pass: bracket partners are found
once per text (a link's address ends at the `)` that closes its `(`), a footnote
label stops at a bracket, and a start tag is looked for no further than the next `<`
(or, a bounded number of times, than a tag can be long: `MAX_TAG_LENGTH`).
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache

from markdown.extensions import Extension
from markdown.extensions.md_in_html import HtmlBlockPreprocessor, HTMLExtractorExtra
from markdown.htmlparser import htmlparser as markdown_html_parser
from markdown.inlinepatterns import (
    ImageInlineProcessor,
    ImageReferenceInlineProcessor,
    LinkInlineProcessor,
    ReferenceInlineProcessor,
    ShortImageReferenceInlineProcessor,
    ShortReferenceInlineProcessor,
)

# Longer than any start tag a person writes (attributes included); a longer one is
# text. Python's parser reads `<a` as the start of a tag as long as what follows
# looks like attributes, which unclosed `<a <a <a` does to the end of the text.
MAX_TAG_LENGTH = 4000
OPENING = re.compile("<")
QUOTE = re.compile("[\"']")
# A footnote label ends at the first bracket ([^a [^b] is the note "b").
FOOTNOTE_REFERENCE = r"\[\^([^\]\[]*)\]"


@lru_cache(maxsize=16)
def partners(text: str, pair: str = "[]", *, escapes: bool = False) -> dict[int, int]:
    """Where each opening bracket of the text (`[` or, with pair "()", `(`) closes:
    the bracket at which a count from it first returns to zero, as Python-Markdown
    counts (with `escapes`, a backslashed bracket does not count, as pandoc reads
    spans), for all of them in one pass. Kept for the last few texts: inline parsing
    asks again for every bracket of the same text."""
    opening, closing = pair
    found, opened = {}, []
    brackets = f"[{re.escape(pair)}]"
    for bracket in re.finditer(r"(?s:\\.)|" + brackets if escapes else brackets, text):
        if bracket.group() == opening:
            opened.append(bracket.start())
        elif bracket.group() == closing and opened:
            found[opened.pop()] = bracket.start()
    return found


class _LinearText:
    """`getText` and `getLink` from the bracket partners found once per text."""

    def getText(self, data: str, index: int) -> tuple[str, int, bool]:  # noqa: N802
        # `index` is just after the `[` (the patterns end with it).
        end = partners(data).get(index - 1)
        if end is None:
            # Python-Markdown returns the rest of the text here; every caller drops it.
            return "", len(data), False
        return data[index:end], end + 1, True

    def getLink(self, data: str, index: int) -> tuple[str, str | None, int, bool]:  # noqa: N802
        """Python-Markdown's reading of `(address "title")`, given only the text up
        to the `)` that closes the `(` (a `)` inside a quoted title then ends it
        early); none when nothing closes it."""
        if not data.startswith("(", index):
            return super().getLink(data, index)
        end = partners(data, "()").get(index)
        if end is None:
            return "", None, index, False
        href, title, stop, handled = super().getLink(data[index : end + 1], 0)
        return href, title, index + stop, handled


LINEAR_PROCESSORS = {
    # name in Python-Markdown's registry: (its processor class, its priority)
    "reference": (ReferenceInlineProcessor, 170),
    "link": (LinkInlineProcessor, 160),
    "image_link": (ImageInlineProcessor, 150),
    "image_reference": (ImageReferenceInlineProcessor, 140),
    "short_reference": (ShortReferenceInlineProcessor, 130),
    "short_image_ref": (ShortImageReferenceInlineProcessor, 125),
}


class _BoundedTagExtractor(HTMLExtractorExtra):
    """md_in_html's HTML extractor, looking for a start tag's end no further than
    the next `<` (or, when a quoted value may hold one, MAX_TAG_LENGTH, a budgeted
    number of times); otherwise the answers of `html.parser` (Python-Markdown's copy
    of it, whose tag pattern this uses too). `<a <b>` is then the text "<a " and a
    tag b, where html.parser read a tag a with an attribute "<b"."""

    LONG_LOOKS = 200  # per text: how many tags may be looked at MAX_TAG_LENGTH long

    def check_for_whole_start_tag(self, i: int) -> int:
        limit = self._tag_limit(i)
        found = markdown_html_parser.locatestarttagend_tolerant.match(
            self.rawdata, i, limit
        )
        if found is None or (found.end() >= limit and limit < len(self.rawdata)):
            return -1  # cut off before it ended: the `<` is text
        end = found.end()
        following = self.rawdata[end : end + 1]
        if following == ">":
            return end + 1
        if following == "/":
            return end + 2 if self.rawdata.startswith("/>", end) else -1
        if not following or (
            following.isascii() and (following.isalpha() or following in "=/")
        ):
            return -1  # the text ends inside the tag
        return end if end > i else i + 1

    def _tag_limit(self, i: int) -> int:
        if getattr(self, "_openings_of", None) is not self.rawdata:
            # The parser keeps what it has not read yet as a new string: look again.
            self._openings_of = self.rawdata
            self._openings = [m.start() for m in OPENING.finditer(self.rawdata)]
            self._long_looks = getattr(self, "_long_looks", self.LONG_LOOKS)
        after = bisect.bisect_right(self._openings, i)
        limit = len(self.rawdata)
        if after < len(self._openings):
            limit = self._openings[after]
        if QUOTE.search(self.rawdata, i, limit) and self._long_looks > 0:
            self._long_looks -= 1
            limit = max(limit, i + MAX_TAG_LENGTH)
        return min(limit, len(self.rawdata), i + MAX_TAG_LENGTH)


class _BoundedHtmlBlocks(HtmlBlockPreprocessor):
    def run(self, lines: list[str]) -> list[str]:
        parser = _BoundedTagExtractor(self.md)
        parser.feed("\n".join(lines))
        parser.close()
        return "".join(parser.cleandoc).split("\n")


class LinearParsingExtension(Extension):
    """Load after md_in_html and footnotes, whose processors it replaces."""

    def extendMarkdown(self, md) -> None:  # noqa: N802 (Python-Markdown's name)
        for name, (processor, priority) in LINEAR_PROCESSORS.items():
            linear = type(f"Linear{processor.__name__}", (_LinearText, processor), {})
            pattern = md.inlinePatterns[name].pattern
            md.inlinePatterns.register(linear(pattern, md), name, priority)
        md.preprocessors.register(_BoundedHtmlBlocks(md), "html_block", 20)
        if "footnote" in md.inlinePatterns:
            footnotes = md.inlinePatterns["footnote"]
            md.inlinePatterns.register(
                type(footnotes)(FOOTNOTE_REFERENCE, footnotes.footnotes),
                "footnote",
                175,
            )

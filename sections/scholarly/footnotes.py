"""Footnotes (`[^squares]`) in an assembled manuscript, numbered as pandoc numbers them.

Each section is rendered alone, so Python-Markdown's ids (`fn:1`, `fnref:1`) would
repeat across sections: ours carry a prefix made from the section's text
(`fn-<prefix>-1`), and the attribute filter keeps only ids with this render's prefix.

Citations inside a footnote: pandoc places a note's content at its reference (a
`Note` inline in its tree), and citeproc numbers citations in that order, so a
footnote's citations take their numbers where the footnote is referenced, not where
it is defined or where the notes are printed. `keys_in_reading_order` gives the
fragment's citation keys in that order; the footnote list itself stays where
Python-Markdown puts it, at the end of the section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from markdown.extensions.footnotes import FootnoteExtension


class SectionFootnotes(FootnoteExtension):
    """Footnote ids numbered by definition and prefixed per render (`id_prefix`,
    set before each conversion)."""

    id_prefix = "0"

    def __init__(self, **kwargs):
        super().__init__(SEPARATOR="-", **kwargs)

    def _number(self, label: str) -> int:
        return list(self.footnotes.keys()).index(label) + 1

    def makeFootnoteId(self, id: str) -> str:  # noqa: N802 (Python-Markdown's name)
        return f"fn-{self.id_prefix}-{self._number(id)}"

    def makeFootnoteRefId(self, id: str, found: bool = False) -> str:  # noqa: N802
        return self.unique_ref(f"fnref-{self.id_prefix}-{self._number(id)}", found)


def own_ids(prefix: str) -> re.Pattern:
    """The footnote ids (and back-reference ids) a render with this prefix makes."""
    return re.compile(rf"fn(?:ref\d*)?-{re.escape(prefix)}-\d+")


def keys_in_reading_order(stream: Iterable[dict], prefix: str) -> list[str]:
    """The keys of the stream's `Citation` tokens, a footnote's where it is referenced
    (first referenced; never-referenced footnotes keep their place at the end)."""
    stream = list(stream)
    note_id = re.compile(rf"fn-{re.escape(prefix)}-\d+")
    in_notes: dict[str, list[str]] = {}
    order: list[
        str | tuple[str]
    ] = []  # keys, and (footnote id,) where one is referenced
    current: str | None = None
    li_depth = 0
    for token in stream:
        kind, name = token["type"], token.get("name")
        if current is None:
            if kind == "StartTag" and name == "li":
                found = token["data"].get((None, "id"), "")
                if note_id.fullmatch(found):
                    current, li_depth = found, 1
                    in_notes[current] = []
                    order.append((current,))
                    continue
            if kind == "StartTag" and name == "a":
                href = token["data"].get((None, "href"), "")
                if note_id.fullmatch(href.removeprefix("#")):
                    order.append((href.removeprefix("#"),))
            elif kind == "Citation":
                order.extend(token["keys"])
            continue
        if name == "li" and kind == "StartTag":
            li_depth += 1
        elif name == "li" and kind == "EndTag":
            li_depth -= 1
            if not li_depth:
                current = None
        elif kind == "Citation":
            in_notes[current].extend(token["keys"])
    keys: list[str] = []
    placed: set[str] = set()
    for item in order:
        if isinstance(item, str):
            keys.append(item)
        elif item[0] in in_notes and item[0] not in placed:
            placed.add(item[0])
            keys.extend(in_notes[item[0]])
    return keys

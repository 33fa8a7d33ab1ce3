"""Figures and table captions, as pandoc writes them in Markdown.

A paragraph holding only an image with a caption (its alt text), or only a link
around one, is a figure: `<figure>` with the image and a `<figcaption>` holding the
caption's Markdown. `{#fig:overview width="60%"}` after the image gives the figure
its label (numbered at assembly) and the image its size.

A paragraph `Table: Terms used. {#tbl:terms}` (or `: Terms used.`) right after a
table, or right before one, is that table's `<caption>`, and the label its id.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as etree
from collections.abc import Callable

from markdown.blockprocessors import BlockProcessor
from markdown.extensions import Extension
from markdown.extensions.attr_list import get_attrs_and_remainder
from markdown.treeprocessors import Treeprocessor

from sections.crossrefs import LABEL

_IMAGE = (
    r"!\[(?P<caption>(?:[^\[\]]|\[[^\[\]]*\])*)\]"
    r"\((?P<src>[^\s()]+)(?:\s+\"(?P<title>[^\"]*)\")?\)"
    r"(?:\{(?P<attrs>[^{}\n]*)\})?"
)
FIGURE = re.compile(
    r"\s*(?:" + _IMAGE + r"|\[" + _IMAGE.replace("?P<", "?P<linked_")
    + r"\]\((?P<href>[^\s()]+)\)(?:\{(?P<link_attrs>[^{}\n]*)\})?)\s*\Z",
    re.DOTALL,
)  # fmt: skip
TABLE_CAPTION = re.compile(
    r"(?:Table)?:\s+(?P<caption>.+?)(?:\s*\{#(?P<label>tbl:" + LABEL + r")\})?\s*\Z",
    re.DOTALL,
)
SIZES = {"width", "height"}


class FigureProcessor(BlockProcessor):
    """A paragraph that is one captioned image (or a link around one) as a figure."""

    def __init__(self, parser, alt_text: Callable[[str], str]):
        super().__init__(parser)
        self.alt_text = alt_text

    def test(self, parent: etree.Element, block: str) -> bool:
        match = FIGURE.match(block)
        return bool(match) and bool(
            (match.group("caption") or match.group("linked_caption") or "").strip()
        )

    def run(self, parent: etree.Element, blocks: list[str]) -> None:
        match = FIGURE.match(blocks.pop(0))
        linked = match.group("href") is not None
        group = (lambda name: match.group("linked_" + name)) if linked else match.group
        caption = group("caption").strip()
        attributes, _ = get_attrs_and_remainder(group("attrs") or "")
        figure = etree.SubElement(parent, "figure")
        holder = figure
        if linked:
            holder = etree.SubElement(figure, "a", {"href": match.group("href")})
        image = etree.SubElement(
            holder, "img", {"src": group("src"), "alt": self.alt_text(caption)}
        )
        if group("title"):
            image.set("title", group("title"))
        classes = []
        for name, value in attributes:
            if name == "id":
                figure.set("id", value)
            elif name == ".":
                classes.append(value)
            elif name in SIZES:
                image.set(name, value)
        if classes:
            figure.set("class", " ".join(classes))
        etree.SubElement(figure, "figcaption").text = caption


class TableCaptions(Treeprocessor):
    """`Table: ...` paragraphs beside tables become the tables' captions. Runs before
    inline Markdown, which then renders the captions' text."""

    def run(self, root: etree.Element) -> None:
        for parent in list(root.iter()):
            children = list(parent)
            for index, child in enumerate(children):
                if child.tag != "table":
                    continue
                for neighbour in (index + 1, index - 1):
                    if 0 <= neighbour < len(children) and self._caption(
                        child, children[neighbour], parent
                    ):
                        break

    def _caption(self, table, paragraph, parent) -> bool:
        if paragraph.tag != "p" or len(paragraph) or paragraph.get("data-caption-of"):
            return False
        match = TABLE_CAPTION.match(paragraph.text or "")
        if not match:
            return False
        caption = etree.Element("caption")
        caption.text = match.group("caption")
        table.insert(0, caption)
        if match.group("label"):
            table.set("id", match.group("label"))
        parent.remove(paragraph)
        paragraph.set("data-caption-of", "table")  # taken, should a table come next
        return True


class FiguresExtension(Extension):
    """`alt_text` makes an image's alt text of its caption as written (the renderer
    leaves out what it stood in for, such as citations)."""

    def __init__(self, alt_text: Callable[[str], str] = str.strip, **kwargs):
        super().__init__(**kwargs)
        self.alt_text = alt_text

    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        # Before paragraphs (10), after everything else a block could be.
        md.parser.blockprocessors.register(
            FigureProcessor(md.parser, self.alt_text), "figure", 12
        )
        # Before inline Markdown (20), so the caption's text is rendered in place.
        md.treeprocessors.register(TableCaptions(md), "table_captions", 25)

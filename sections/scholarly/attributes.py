"""Pandoc attributes (`{#id .class key="value"}`) as the sanitizer lets them through.

Text may give an element classes, an id and, on an image, its size; nothing else.
Classes come from an allow-list (`rendering.ALLOWED_CLASSES`, the ones our CSS
styles); an id must be a plain name and none of the page's own (the template's ids,
the bibliography's `ref-N`, another section's footnotes), so text cannot take over an
anchor or what a script looks up; width and height are plain lengths. The filter
runs on bleach's token stream, after bleach has dropped every other attribute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bleach.html5lib_shim import Filter
from markdown.extensions.attr_list import get_attrs_and_remainder

ID = re.compile(r"[A-Za-z][A-Za-z0-9_:.-]{0,99}")
# Ids the app writes around rendered text: the bibliography's entries and every
# render's footnotes (a render's own footnotes carry its prefix: see `footnotes`).
RESERVED_ID = re.compile(r"ref-\d|fn(ref\d*)?-")
# What pandoc and Manubot write: "11px", "60%", "2em"; a bare number is pixels.
LENGTH = re.compile(r"(?P<number>\d{1,4}(?:\.\d{1,2})?)(?P<unit>px|%|em)?")
PIXELS_PER_EM = 16
# The ids our templates give their elements (a test checks the list against them).
PAGE_IDS = frozenset(
    """
    alias-heading byline-heading citation-text cite-heading cite-result claims-heading
    comment-body comment-form comment-quote comments comments-heading compare-with
    counts-heading duplicates-heading edit-form failed-heading figure-upload-status
    figures-heading history-heading id_figure_file upload-heading
    informal-heading links-heading live-preview main maintain-heading manual-heading
    my-claims my-details my-feeds my-mentions my-replies my-todos new-todo-heading
    no-identifier-heading preview-heading publish-heading references todo-bulk
    title-hint todo-list todo-list-heading todos-heading toc-heading uncited-heading
    unknown-heading waiting-heading
    invitations-heading invite-heading join-heading requests-heading
    accept-form changes-heading decision my-proposals my-reviews reject-form
    resolve-form reviews reviews-heading
    authorship-text legend-heading since-heading since-you-looked
    """.split()
)


def id_and_classes(attributes: str) -> dict[str, str]:
    """The id and classes of a pandoc attribute list, as element attributes (the
    rest of the list is dropped: nothing else may come from text)."""
    found, _ = get_attrs_and_remainder(attributes)
    classes = [value for name, value in found if name == "." and value]
    ids = [value for name, value in found if name == "id" and value]
    result = {}
    if classes:
        result["class"] = " ".join(classes)
    if ids:
        result["id"] = ids[-1]
    return result


class AllowedAttributes(Filter):
    """Classes, ids and image sizes as the module docstring says; `own_ids` matches
    the ids this render itself made (its footnotes), which are kept."""

    def __init__(self, source, *, classes: frozenset[str], own_ids: re.Pattern):
        super().__init__(source)
        self.classes = classes
        self.own_ids = own_ids

    def __iter__(self) -> Iterator[dict]:
        for token in super().__iter__():
            if token["type"] in ("StartTag", "EmptyTag") and token.get("data"):
                self._clean(token)
            yield token

    def _clean(self, token: dict) -> None:
        data = token["data"]
        if (None, "class") in data:
            kept = [c for c in data[(None, "class")].split() if c in self.classes]
            if kept:
                data[(None, "class")] = " ".join(dict.fromkeys(kept))
            else:
                del data[(None, "class")]
        if (None, "id") in data and not self._allowed_id(data[(None, "id")]):
            del data[(None, "id")]
        if token["name"] == "img":
            for name in ("width", "height"):
                if (None, name) in data:
                    length = _length(data[(None, name)])
                    if length:
                        data[(None, name)] = length
                    else:
                        del data[(None, name)]

    def _allowed_id(self, value: str) -> bool:
        if self.own_ids.fullmatch(value):
            return True
        return bool(
            ID.fullmatch(value)
            and not RESERVED_ID.match(value)
            and value not in PAGE_IDS
        )


def _length(value: str) -> str | None:
    """A width or height as an HTML attribute takes it: pixels, or a percentage."""
    match = LENGTH.fullmatch(value.strip())
    if not match:
        return None
    number, unit = float(match["number"]), match["unit"]
    if unit == "%":
        return f"{number:g}%"
    if unit == "em":
        number *= PIXELS_PER_EM
    return f"{round(number)}"

"""Numbered figures, tables and equations, and references to them, as pandoc-xnos has
them: `{#fig:overview}` labels a figure, `@fig:overview` (or `[@fig:overview]`,
`{@fig:overview}`; `+@fig:overview` for "Fig. 1") refers to it, and both become its
number, counted in order across the manuscript, each kind on its own.

Numbers are the manuscript's business, like citations': a section's fragment holds
label slots, `{"defines": "fig:overview"}` where a labelled element's number goes
(before its caption, after its equation) and `{"ref": "fig:overview"}` where a
reference's does, and the assembly fills them in. So an edit re-renders one section.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator

# pandoc-xnos's label: a kind, a colon, an identifier not ending in punctuation (so
# "Table @tbl:terms." keeps its full stop).
LABEL = r"[A-Za-z0-9_](?:[\w.:\-]*[A-Za-z0-9_])?"
KINDS = {"fig": "Figure", "tbl": "Table", "eq": "Equation"}
# pandoc-xnos's clever references: `+@fig:a` is "Fig. 1", `*@fig:a` "fig. 1" (their
# default names), `!@fig:a` the number alone, as `@fig:a` is; `{@fig:a}` protects a
# reference from the text around it ("{@fig:a}b").
CLEVER_NAMES = {
    "+": {"fig": "Fig.", "tbl": "Table", "eq": "Eq."},
    "*": {"fig": "fig.", "tbl": "table", "eq": "eq."},
}
ONE_XREF = r"[+*!]?@(?:fig|tbl|eq):" + LABEL
XREF = re.compile(
    r"(?<![\w@])(?P<brace>\{)?(?P<modifier>[+*!]?)@(?P<label>(?:fig|tbl|eq):"
    + LABEL
    + r")(?(brace)\})"
)
# References alone in brackets, "[@fig:a]" or "[+@fig:a; @fig:b]": the brackets go.
XREF_GROUP = re.compile(
    r"\[\s*(?P<refs>" + ONE_XREF + r"(?:\s*[;,]\s*" + ONE_XREF + r")*)\s*\]"
)
DEFINED_BY = {"figure": "fig", "table": "tbl", "span": "eq"}

Slot = dict[str, str]
Token = dict


def is_label(key: str) -> bool:
    """Whether a key written like a citekey ("fig:overview") is a label instead."""
    kind, sep, rest = key.partition(":")
    return bool(sep and rest) and kind in KINDS


def kind_of(label: str) -> str:
    return label.partition(":")[0]


def mark_definitions(stream: Iterable[Token]) -> Iterator[Token]:
    """The sanitized stream with a `Label` token where each labelled element's number
    goes: first in a figure's caption or a table's, after an equation."""
    # Per open element: its name and the label it defines, until its number is placed.
    open_elements: list[list] = []
    for token in stream:
        kind = token["type"]
        if kind == "StartTag":
            name = token["name"]
            label = (token.get("data") or {}).get((None, "id"), "")
            defines = DEFINED_BY.get(name)
            open_elements.append(
                [name, label if defines and label.startswith(defines + ":") else None]
            )
            yield token
            if name in {"figcaption", "caption"} and len(open_elements) > 1:
                holder = open_elements[-2]
                if holder[0] in {"figure", "table"} and holder[1]:
                    yield {"type": "Label", "label": holder[1]}
                    holder[1] = None
            continue
        if kind == "EndTag" and open_elements:
            name, label = open_elements.pop()
            if name == "span" and label:
                yield {"type": "Label", "label": label}
        yield token


def numbers(pieces_labels: Iterable[list[Slot]]) -> dict[str, int]:
    """Each defined label's number, in order of definition across the manuscript,
    counted per kind (the first definition of a label given twice counts)."""
    counts: dict[str, int] = {}
    found: dict[str, int] = {}
    for slots in pieces_labels:
        for slot in slots:
            label = slot.get("defines")
            if label and label not in found:
                kind = kind_of(label)
                counts[kind] = counts.get(kind, 0) + 1
                found[label] = counts[kind]
    return found


def signature(slots: list[Slot], found: dict[str, int]) -> str:
    """What a section's label slots render to depends on: for its hash."""
    parts = []
    for slot in slots:
        label = slot.get("defines") or slot.get("ref", "")
        role = "=" if "defines" in slot else ">" + slot.get("as", "")
        parts.append(f"{role}{label}:{found.get(label, '')}")
    return "\0".join(parts)


def slot_html(slot: Slot, found: dict[str, int]) -> str:
    """A label slot as the reader sees it: a number, linked where it is a reference;
    a reference to a label nobody defines is marked missing."""
    if "defines" in slot:
        label = slot["defines"]
        number = found.get(label, "")
        if kind_of(label) == "eq":
            return f'<span class="label-number">({number})</span>'
        return f'<span class="label-number">{KINDS[kind_of(label)]} {number}:</span> '
    label = slot["ref"]
    escaped = html.escape(label)
    if label not in found:
        noun = KINDS[kind_of(label)].lower()
        return (
            f'<span class="missing-xref" title="No {noun} in this manuscript is '
            f'labelled {escaped}">[missing {noun} {escaped}]</span>'
        )
    name = CLEVER_NAMES.get(slot.get("as", ""), {}).get(kind_of(label))
    shown = f"{name}\u00a0{found[label]}" if name else found[label]
    return f'<a class="xref" href="#{escaped}">{shown}</a>'

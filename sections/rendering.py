"""Markdown to safe HTML: the one place whose output templates may mark safe.

A section renders to a fragment that is the same whoever reads it: sanitized HTML cut
into segments, pieces of HTML and citation slots (the keys of one citation group,
numbered later, when the manuscript is assembled), and label slots for figures, tables
and equations and references to them (`sections.crossrefs`, numbered likewise). TODO
notes are wrapped in `<mark class="todo">` for contributors and left out of the
public's segments. So a fragment depends only on its own text, and an edit re-renders
one section.

Every change after sanitizing is made on bleach's token stream (the parsed tree, as
html5lib walks it) and serialized by bleach's serializer; nothing here searches or
rewrites HTML text with patterns, since an attribute value may hold a `>`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import bleach
import markdown
from bleach.css_sanitizer import CSSSanitizer
from bleach.sanitizer import BleachSanitizerFilter
from django.utils.safestring import SafeString, mark_safe

from sections import claims, crossrefs, figures, images, scholarly, templating, todos
from sections.citations.keys import CITATION_GROUP, find_citekeys, standardize
from sections.models import TodoItem
from sections.scholarly import attributes, footnotes
from sections.scholarly.figures import FiguresExtension
from sections.scholarly.math import MATH, MATH_ATTRIBUTES, MATH_TAGS, MathExtension

# Bump when the output of render_fragment changes, so stored fragments re-render.
RENDERER_VERSION = "6"

# With `scholarly.extensions()`: footnotes, attributes, spans, fenced divs.
EXTENSIONS = ["tables", "fenced_code", "toc", "sane_lists"]
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "dd", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
# Figures (sections.scholarly.figures) and the MathML the converter writes.
ALLOWED_TAGS |= {"figcaption", "figure"} | MATH_TAGS
ALLOWED_ATTRIBUTES = {
    "*": ["id", "title", "class"],
    "a": ["href", "title", "rel", "class"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan", "scope"],
    "ol": ["start"],
    "li": ["id"],
    "sup": ["id"],
    **MATH_ATTRIBUTES,
}
# The only classes text may give an element (`{.banner}`, `::: {.note}`, raw HTML):
# the ones real Manubot manuscripts use and our CSS styles, and Python-Markdown's own.
ALLOWED_CLASSES = frozenset(
    """
    banner note white black page_break_before page_break_after
    lightred lightyellow lightgreen lightblue lightpurple lightgrey lightgray
    footnote footnote-ref footnote-backref toc
    """.split()
)
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}
# No style attribute survives: an empty property allow-list.
NO_CSS = CSSSanitizer(allowed_css_properties=[])

# Markdown converters and bleach cleaners are costly to build and not thread-safe.
_converters = threading.local()
CODE = re.compile(r"^(```|~~~).*?^\1[ \t]*$|`+[^`\n]*`+", re.DOTALL | re.MULTILINE)
# Code and math: what citations, notes and cross-references are never looked for in.
VERBATIM = re.compile(CODE.pattern + "|" + MATH.pattern, re.DOTALL | re.MULTILINE)
CODE_TAGS = {"code", "pre"}
# One pattern for every nonce: compiling one per render cost a tenth of the time.
STAND_IN = re.compile(r"RVW([0-9a-f]{16})X(\d+)Z")
HIDDEN_TODO_KINDS = {TodoItem.Kind.INLINE_NOTE, TodoItem.Kind.PLACEHOLDER}
# A number the reference list lacks, as the importer leaves it: "[14]", "[14, 16]".
MISSING_NUMBERS = re.compile(r"\[\s*(\d{1,4}(?:\s*[,–-]\s*\d{1,4})*)\s*\]")
# The public loses these when the text they held was a TODO note and nothing is left.
DROPPABLE_WHEN_EMPTIED = {
    "a", "abbr", "b", "blockquote", "code", "del", "em", "i", "ins", "kbd", "li", "p",
    "q", "s", "small", "span", "strong", "sub", "sup", "u",
}  # fmt: skip

# What a pair's wrapper holds: its text and citations, not the elements around them.
WRAPPED = {"Characters", "SpaceCharacters", "Citation", "Missing", "Xref"}

# A fragment: trusted HTML strings, citation slots (a list of citekeys each), label
# slots (see sections.crossrefs) and figures (a dict: the path and the image's
# attributes, see sections.figures).
Segments = list[str | list[str] | crossrefs.Slot | dict]
Token = dict


@dataclass(frozen=True)
class Fragment:
    segments: Segments
    public_segments: Segments
    input_hash: str
    # The slots' keys in the order citations are numbered (pandoc's reading order:
    # a footnote's where it is referenced), for contributors and for the public.
    keys: list[str] = field(default_factory=list)
    public_keys: list[str] = field(default_factory=list)


def input_hash(title: str, body: str, variables_digest: str = "") -> str:
    """What a fragment is made from; a template's variables only if it has one."""
    text = f"{RENDERER_VERSION}\n{title}\n{body}"
    if variables_digest:
        text += f"\n{variables_digest}"
    return hashlib.sha256(text.encode()).hexdigest()


# What a pair of stand-ins wraps: TODO notes (hidden from the public), and citations
# that need a source (shown to everyone, marked).
NOTE, NEEDS_SOURCE = "note", "needs-source"
WRAPPERS = {
    NOTE: ("mark", {(None, "class"): "todo"}),
    NEEDS_SOURCE: (
        "span",
        {
            (None, "class"): "missing-citation",
            (None, "title"): "No reference for this citation yet",
        },
    ),
}


@dataclass
class Tokens:
    """Inert stand-ins for our own markup while Markdown and bleach run.

    Each stand-in is letters and digits only, so neither touches it. Afterwards a
    stand-in in text becomes its markup; one that ended up inside a tag (an attribute,
    such as a link's title) or inside code becomes its original text, and so does the
    other half of a pair (a note's opening and closing) whatever its place.
    """

    nonce: str = field(default_factory=lambda: secrets.token_hex(8))
    fallback: list[str] = field(default_factory=list)
    # What each stand-in, by number, stands for: a citation group's keys, numbers
    # the reference list lacks, the kind of pair it opens; and each half's partner.
    keys: dict[int, list[str]] = field(default_factory=dict)
    missing_numbers: dict[int, str] = field(default_factory=dict)
    xrefs: dict[int, str] = field(default_factory=dict)
    opening: dict[int, str] = field(default_factory=dict)
    partner: dict[int, int] = field(default_factory=dict)

    def find(self, text: str) -> Iterator[tuple[re.Match, int]]:
        """This renderer's stand-ins in text, with their numbers (text that merely
        looks like one, with another nonce, is text)."""
        for match in STAND_IN.finditer(text):
            if match[1] == self.nonce:
                yield match, int(match[2])

    def restore(self, text: str) -> str:
        """The text with each stand-in in it back as it was written."""
        return STAND_IN.sub(
            lambda m: self.fallback[int(m[2])] if m[1] == self.nonce else m[0], text
        )

    def _add(self, fallback: str) -> int:
        self.fallback.append(fallback)
        return len(self.fallback) - 1

    def _token(self, n: int) -> str:
        return f"RVW{self.nonce}X{n}Z"

    def citation(self, keys: list[str], written: str) -> str:
        n = self._add(written)
        self.keys[n] = keys
        return self._token(n)

    def missing_reference(self, numbers: str, written: str) -> str:
        n = self._add(written)
        self.missing_numbers[n] = numbers
        return self._token(n)

    def xref(self, label: str, written: str, modifier: str = "") -> str:
        n = self._add(written)
        self.xrefs[n] = (label, modifier)
        return self._token(n)

    def pair(self, kind: str) -> tuple[str, str]:
        first, second = self._add(""), self._add("")
        self.opening[first] = kind
        self.partner[first], self.partner[second] = second, first
        return self._token(first), self._token(second)


def render_fragment(
    title: str, body: str, variables: templating.Variables | None = None
) -> Fragment:
    """A section's body as a stored fragment: segments of safe HTML and citation
    slots, for contributors and (TODO notes left out) for the public.

    With variables, a Jinja2 template in the body is evaluated first and its output
    is the Markdown rendered; a template error is a notice for contributors only."""
    evaluated = templating.evaluate(body, variables)
    tokens = Tokens()
    digest = input_hash(title, body, evaluated.digest)
    # Footnote ids carry this text's prefix, so sections' footnotes never collide.
    prefix = digest[:8]
    prepared = _protect_outside_code(evaluated.text, tokens)
    converter = _markdown()
    _converters.footnotes.id_prefix = prefix
    try:
        converted = converter.reset().convert(prepared)
    except RecursionError:
        # Saves and imports refuse such text (nesting_problem); one stored before that,
        # or a construct nested otherwise, is shown as text, never a failed render.
        # The converter is dropped, not reset: an error that deep leaves it broken
        # for the texts after (their raw HTML, such as an <img>, came out as text).
        del _converters.markdown
        problem = nesting_problem(evaluated.text) or "This text nests too deeply"
        evaluated = dataclasses.replace(
            evaluated,
            notice=templating.notice(f"{problem}; it is shown as plain text."),
        )
        converted = "<p>" + html.escape(prepared).replace("\n", "<br>") + "</p>"
    stream = _sanitized_tokens(converted, prefix)
    marked = list(crossrefs.mark_definitions(_swap_in(stream, tokens)))
    segments = _segments(_with_notes_marked(evaluated.notice + marked))
    keys = footnotes.keys_in_reading_order(marked, prefix)
    if evaluated.notice or any(token.get("wrapper") == NOTE for token in marked):
        public = _without_emptied(_without_notes(marked))
        public_segments = _segments(public)
        public_keys = footnotes.keys_in_reading_order(public, prefix)
    else:
        # nothing to leave out: the same segments
        public_segments, public_keys = segments, keys
    return Fragment(
        segments=segments,
        public_segments=public_segments,
        input_hash=digest,
        keys=keys,
        public_keys=public_keys,
    )


# Lists and quotes deeper than this are refused: Python-Markdown parses each level by
# recursion, and 250 levels of list exhaust Python's stack. Nobody writes 50.
MAX_NESTING = 50
LIST_OR_QUOTE_LINE = re.compile(
    r"^(?P<quotes>(?:[ \t]{0,3}>)*)(?P<indent>[ \t]*)(?P<marker>(?:[-*+]|\d{1,9}[.)])[ \t])?",
    re.MULTILINE,
)


def nesting_problem(body: str) -> str:
    """What is wrong, when the body nests lists or block quotes deeper than
    MAX_NESTING (code and math are not looked at); else ""."""
    deepest = 0
    for line in LIST_OR_QUOTE_LINE.finditer(VERBATIM.sub("", body)):
        depth = line.group("quotes").count(">")
        if line.group("marker"):
            depth += len(line.group("indent").expandtabs(4)) // 4 + 1
        deepest = max(deepest, depth)
    if deepest <= MAX_NESTING:
        return ""
    return (
        f"Lists or quotes are nested {deepest} levels deep here, more than the "
        f"{MAX_NESTING} that can be laid out"
    )


def mark_fragment_safe(html_: str) -> SafeString:
    """Assembled output of stored fragments, which render_fragment sanitized."""
    return mark_safe(html_)


def allowed_classes(attribute_list: str) -> str:
    """The allowed classes of a pandoc attribute list (`.page_break_before`), joined."""
    written = attributes.id_and_classes(attribute_list).get("class", "")
    return " ".join(c for c in dict.fromkeys(written.split()) if c in ALLOWED_CLASSES)


def slot_keys(segments: Segments) -> list[str]:
    """The citekeys of a fragment's citation slots, in order."""
    return [key for segment in segments if isinstance(segment, list) for key in segment]


def slot_labels(segments: Segments) -> list[crossrefs.Slot]:
    """A fragment's label slots (definitions and references), in order."""
    return [
        segment
        for segment in segments
        if isinstance(segment, dict) and "figure" not in segment  # figures: no label
    ]


def _markdown() -> markdown.Markdown:
    """This thread's Markdown converter: building one costs more than converting."""
    if not hasattr(_converters, "markdown"):
        extensions, _converters.footnotes = scholarly.extensions()
        _converters.markdown = markdown.Markdown(
            extensions=[
                *EXTENSIONS,
                *extensions,
                # Figures, table captions and math, as pandoc and its xnos filters
                # read them; an image's alt text is its caption without citations.
                FiguresExtension(alt_text=_without_stand_ins),
                MathExtension(),
            ],
            output_format="html",
        )
    return _converters.markdown


def _without_stand_ins(text: str) -> str:
    return " ".join(re.sub(r"\s*" + STAND_IN.pattern, "", text).split())


def _cleaner() -> bleach.Cleaner:
    """This thread's bleach cleaner: its parser, walker and serializer."""
    if not hasattr(_converters, "cleaner"):
        _converters.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            css_sanitizer=NO_CSS,
            strip=True,
            strip_comments=True,
        )
    return _converters.cleaner


def _sanitized_tokens(html_: str, footnote_prefix: str = "0") -> list[Token]:
    """The HTML parsed and sanitized by bleach, as its token stream (what
    `Cleaner.clean` serializes), so later steps change tokens, not text; classes,
    ids and image sizes only as `scholarly.attributes` allows them."""
    cleaner = _cleaner()
    sanitized = BleachSanitizerFilter(
        source=cleaner.walker(cleaner.parser.parseFragment(html_)),
        allowed_tags=cleaner.tags,
        attributes=cleaner.attributes,
        strip_disallowed_tags=cleaner.strip,
        strip_html_comments=cleaner.strip_comments,
        css_sanitizer=cleaner.css_sanitizer,
        allowed_protocols=cleaner.protocols,
    )
    allowed = attributes.AllowedAttributes(
        sanitized,
        classes=ALLOWED_CLASSES,
        own_ids=footnotes.own_ids(footnote_prefix),
    )
    # Images on other hosts point at the app's proxy: readers' browsers ask no one
    # else; images by relative path are the manuscript's figures (sections.figures).
    return list(figures.LocalFigures(source=images.ProxyOutsideImages(source=allowed)))


def _protect_outside_code(body: str, tokens: Tokens) -> str:
    """Swap TODO notes, citation groups and cross-references outside code and math
    for inert tokens."""
    parts, last = [], 0
    for code in VERBATIM.finditer(body):
        parts.append(_protect_text(body[last : code.start()], tokens))
        parts.append(code.group())
        last = code.end()
    parts.append(_protect_text(body[last:], tokens))
    return "".join(parts)


def _protect_text(text: str, tokens: Tokens) -> str:
    # Claim sentences ("Jinbo Xu is writing this") are contributors' business too.
    spans = [(f.start, f.end, f.kind) for f in todos.find_in(text)] + [
        (c.start, c.end, TodoItem.Kind.INLINE_NOTE) for c in claims.find_in(text)
    ]
    pieces, last = [], 0
    for start, end, kind in sorted(spans):
        if start < last:
            continue
        pieces.append(_protect_citations(text[last:start], tokens))
        original = text[start:end]
        missing = MISSING_NUMBERS.fullmatch(original)
        if kind in HIDDEN_TODO_KINDS:
            opening, closing = tokens.pair(NOTE)
            pieces.append(opening + _protect_citations(original, tokens) + closing)
        elif missing:
            pieces.append(tokens.missing_reference(missing.group(1), original))
        else:
            opening, closing = tokens.pair(NEEDS_SOURCE)
            pieces.append(opening + original + closing)
        last = end
    pieces.append(_protect_citations(text[last:], tokens))
    return "".join(pieces)


def _protect_citations(text: str, tokens: Tokens) -> str:
    def placeholder(group: re.Match) -> str:
        keys = [
            standardize(found.key_as_written) for found in find_citekeys(group.group())
        ]
        if not keys:
            return group.group()
        return tokens.citation(keys, group.group())

    def xref(reference: re.Match) -> str:
        return tokens.xref(
            reference.group("label"), reference.group(), reference.group("modifier")
        )

    def xref_group(group: re.Match) -> str:
        return ", ".join(
            crossrefs.XREF.sub(xref, written)
            for written in re.split(r"\s*[;,]\s*", group.group("refs"))
        )

    text = crossrefs.XREF_GROUP.sub(xref_group, text)
    return crossrefs.XREF.sub(xref, CITATION_GROUP.sub(placeholder, text))


def _swap_in(stream: Iterable[Token], tokens: Tokens) -> Iterator[Token]:
    """The stream with each stand-in in text (outside code) as a token of its own:
    a `Citation`, a `Missing` reference, or a pair's `Note`/`NoteEnd` (with the kind
    of wrapper); stand-ins in attributes or code, and half pairs, back as written."""
    stream = list(stream)
    if not tokens.fallback:
        yield from stream  # nothing was stood in for
        return
    in_text: set[int] = set()
    depth = 0
    for token in stream:
        depth += _code_depth_change(token)
        if token["type"] == "Characters" and not depth:
            in_text.update(n for _, n in tokens.find(token["data"]))
    # A pair is markup only if both halves are: never half a wrapper.
    in_text = {n for n in in_text if tokens.partner.get(n, n) in in_text}

    depth = 0
    for token in stream:
        depth += _code_depth_change(token)
        kind = token["type"]
        if kind in {"StartTag", "EmptyTag"} and token.get("data"):
            token = {
                **token,
                "data": {
                    name: tokens.restore(value) for name, value in token["data"].items()
                },
            }
        if kind != "Characters":
            yield token
            continue
        text, last = token["data"], 0
        for match, n in tokens.find(text):
            if match.start() > last:
                yield {"type": "Characters", "data": text[last : match.start()]}
            last = match.end()
            if depth or n not in in_text:
                yield {"type": "Characters", "data": tokens.fallback[n]}
            elif n in tokens.keys:
                yield {"type": "Citation", "keys": tokens.keys[n]}
            elif n in tokens.missing_numbers:
                yield {"type": "Missing", "numbers": tokens.missing_numbers[n]}
            elif n in tokens.xrefs:
                label, modifier = tokens.xrefs[n]
                yield {"type": "Xref", "label": label, "as": modifier}
            elif n in tokens.opening:
                yield {"type": "Note", "wrapper": tokens.opening[n]}
            else:
                yield {"type": "NoteEnd"}
        if last < len(text):
            yield {"type": "Characters", "data": text[last:]}


def _code_depth_change(token: Token) -> int:
    if token.get("name") not in CODE_TAGS:
        return 0
    return {"StartTag": 1, "EndTag": -1}.get(token["type"], 0)


def _with_notes_marked(stream: Iterable[Token]) -> Iterator[Token]:
    """Contributors' stream: each run of text within a pair in its wrapper element
    (a note crossing an element's edge becomes one wrapper per run of text)."""
    wrapper: tuple[str, dict] | None = None
    is_open: str | None = None  # the wrapper element open in the output
    for token in stream:
        kind = token["type"]
        if kind == "Note":
            wrapper = WRAPPERS[token["wrapper"]]
            continue
        if kind == "NoteEnd":
            wrapper = None
        inside = wrapper is not None and kind in WRAPPED
        if is_open and not inside:
            yield {"type": "EndTag", "name": is_open, "namespace": None}
            is_open = None
        if inside and not is_open:
            name, attributes = wrapper
            yield {"type": "StartTag", "name": name, "namespace": None,
                   "data": dict(attributes)}  # fmt: skip
            is_open = name
        if kind != "NoteEnd":
            yield token
    if is_open:
        yield {"type": "EndTag", "name": is_open, "namespace": None}


def _without_notes(stream: Iterable[Token]) -> Iterator[Token]:
    """The public's stream: text, citations and images within a TODO note left out
    (marked `Dropped`, for `_without_emptied`); other pairs wrapped as for
    contributors."""
    in_note = False
    kept: list[Token] = []
    for token in stream:
        kind = token["type"]
        if kind == "Note" and token["wrapper"] == NOTE:
            in_note = True
        elif kind == "NoteEnd" and in_note:
            in_note = False
        elif in_note and (kind in WRAPPED or kind == "EmptyTag"):
            kept.append({"type": "Dropped"})
        else:
            kept.append(token)
    return _with_notes_marked(kept)


def _without_emptied(stream: Iterable[Token]) -> list[Token]:
    """The stream without the elements a left-out note emptied, and without empty
    paragraphs: an element goes if nothing it holds is kept and either something in
    it was left out or it is a paragraph."""
    out: list[Token] = []
    # Per open element: where it starts in `out`, whether it keeps anything, whether
    # something in it was left out.
    open_elements: list[list] = []
    for token in stream:
        kind = token["type"]
        if kind == "Dropped":
            if open_elements:
                open_elements[-1][2] = True
            continue
        if kind == "StartTag":
            open_elements.append([len(out), False, False])
            out.append(token)
            continue
        if kind == "EndTag" and open_elements:
            start, keeps, emptied = open_elements.pop()
            name = token["name"]
            if (
                not keeps
                and name in DROPPABLE_WHEN_EMPTIED
                and (emptied or name == "p")
            ):
                del out[start:]
                if open_elements:
                    open_elements[-1][2] = True
                continue
            if open_elements:
                open_elements[-1][1] = True
            out.append(token)
            continue
        is_content = kind != "SpaceCharacters" and not (
            kind == "Characters" and not token["data"].strip()
        )
        if is_content and open_elements:
            open_elements[-1][1] = True
        out.append(token)
    return out


def _segments(stream: Iterable[Token]) -> Segments:
    """The stream serialized by bleach's serializer: HTML strings between citation
    slots. A missing reference becomes our own element, escaped like the rest."""
    serializer = _cleaner().serializer
    segments: Segments = []
    run: list[Token] = []
    inside_refs = 0  # the depth in Manubot's `<div id="refs">`, whose content goes
    for token in stream:
        kind = token["type"]
        if inside_refs:
            if token.get("name") == "div" and kind in {"StartTag", "EndTag"}:
                inside_refs += 1 if kind == "StartTag" else -1
            continue
        if _is_bibliography_place(token):
            # Where Manubot puts the bibliography: the assembly writes it there.
            segments.append(serializer.render(run))
            segments.append(dict(BIBLIOGRAPHY_PLACE))
            run = []
            inside_refs = 1
        elif kind == "Citation":
            segments.append(serializer.render(run))
            segments.append(list(token["keys"]))
            run = []
        elif kind in {"Xref", "Label"}:
            segments.append(serializer.render(run))
            role = "ref" if kind == "Xref" else "defines"
            slot = {role: token["label"]}
            if token.get("as") in crossrefs.CLEVER_NAMES:  # "Fig. 1" rather than "1"
                slot["as"] = token["as"]
            segments.append(slot)
            run = []
        elif kind == "Missing":
            run.extend(_missing_reference(token["numbers"]))
        elif "figure" in token:
            # Its URL (or its absence) is the manuscript's business: assembly's.
            segments.append(serializer.render(run))
            segments.append(figures.segment_for(token))
            run = []
        else:
            run.append(token)
    segments.append(serializer.render(run))
    return [segment for segment in segments if segment != ""]


# A fragment's slot for the bibliography, where the text has `<div id="refs">`.
BIBLIOGRAPHY_PLACE = {"place": "bibliography"}


def _is_bibliography_place(token: Token) -> bool:
    return (
        token["type"] == "StartTag"
        and token["name"] == "div"
        and token["data"].get((None, "id")) == "refs"
    )


def _missing_reference(numbers: str) -> list[Token]:
    """What a reader sees for a number the reference list lacks: marked missing, never
    numbered like a real citation (whose numbers are the bibliography's)."""
    plural = "s" if re.search(r"[,–-]", numbers) else ""
    return [
        {
            "type": "StartTag",
            "name": "span",
            "namespace": None,
            "data": {
                (None, "class"): "missing-reference",
                (None, "title"): (
                    f"The reference list this text was written with has no entry "
                    f"{numbers}: this citation needs its source"
                ),
            },
        },
        {"type": "Characters", "data": f"[missing reference{plural} {numbers}]"},
        {"type": "EndTag", "name": "span", "namespace": None},
    ]

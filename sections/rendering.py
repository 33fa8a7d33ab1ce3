"""Markdown to safe HTML: the one place whose output templates may mark safe.

A section renders to a fragment that is the same whoever reads it: sanitized HTML in
which citations are placeholders (`<cite data-keys="doi:…;pmid:…"></cite>`, numbered
later, when the manuscript is assembled) and TODO notes are wrapped in
`<mark class="todo">`, highlighted for contributors and removed for the public. So a
fragment depends only on its own text, and an edit re-renders one section.
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
import threading
from dataclasses import dataclass

import bleach
import markdown
from bleach.css_sanitizer import CSSSanitizer
from django.utils.safestring import SafeString, mark_safe

from sections import claims, images, todos
from sections.citations.keys import CITATION_GROUP, find_citekeys, standardize
from sections.models import TodoItem

# Bump when the output of render_fragment changes, so stored fragments re-render.
RENDERER_VERSION = "4"

EXTENSIONS = ["tables", "footnotes", "fenced_code", "toc", "sane_lists"]
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "del", "div", "dd", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub", "sup", "table",
    "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": ["id", "title"],
    "a": ["href", "title", "rel", "class"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan"],
    "th": ["colspan", "rowspan", "scope"],
    "ol": ["start"],
    "li": ["id"],
    "sup": ["id"],
    "div": ["class"],
}
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}
# No style attribute survives: an empty property allow-list.
NO_CSS = CSSSanitizer(allowed_css_properties=[])

# Markdown converters and bleach cleaners are costly to build and not thread-safe.
_converters = threading.local()
CODE = re.compile(r"^(```|~~~).*?^\1[ \t]*$|`+[^`\n]*`+", re.DOTALL | re.MULTILINE)
# Bleach's output escapes < and > inside attribute values, so this splits it exactly.
TAG_OR_TEXT = re.compile(r"<[^>]*>|[^<]+")
CODE_TAG = re.compile(r"</?(?:code|pre)\b")
CITE_PLACEHOLDER = re.compile(r'<cite data-keys="(?P<keys>[^"]*)"></cite>')
TODO_MARK = re.compile(r'<mark class="todo">.*?</mark>', re.DOTALL)
HIDDEN_TODO_KINDS = {TodoItem.Kind.INLINE_NOTE, TodoItem.Kind.PLACEHOLDER}


@dataclass(frozen=True)
class Fragment:
    html: str
    input_hash: str


def input_hash(title: str, body: str) -> str:
    return hashlib.sha256(f"{RENDERER_VERSION}\n{title}\n{body}".encode()).hexdigest()


class Tokens:
    """Inert stand-ins for our own markup while Markdown and bleach run.

    Each token is letters and digits only, so neither touches it. Afterwards a token
    in text becomes its markup; one that ended up inside a tag (an attribute, such as
    a link's title) or inside code becomes its original text, escaped, and so does the
    other half of a pair (a TODO mark's opening and closing) whatever its place.
    """

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(8)
        self.markup: list[str] = []
        self.fallback: list[str] = []
        self.partner: dict[int, int] = {}

    def add(self, markup: str, fallback: str = "") -> str:
        self.markup.append(markup)
        self.fallback.append(fallback)
        return f"RVW{self.nonce}X{len(self.markup) - 1}Z"

    def pair(self, opening: str, closing: str) -> tuple[str, str]:
        first, second = self.add(opening), self.add(closing)
        a, b = len(self.markup) - 2, len(self.markup) - 1
        self.partner[a], self.partner[b] = b, a
        return first, second

    def swap_back(self, sanitized: str) -> str:
        pattern = re.compile(rf"RVW{self.nonce}X(\d+)Z")
        segments = TAG_OR_TEXT.findall(sanitized)
        as_text: set[int] = set()
        in_code = 0
        for segment in segments:
            if segment.startswith("<"):
                in_code += _code_depth_change(segment)
            elif not in_code:
                as_text.update(int(n) for n in pattern.findall(segment))
        # A pair is markup only if both halves are: never half a <mark>.
        as_text = {n for n in as_text if self.partner.get(n, n) in as_text}
        out = []
        for segment in segments:
            if segment.startswith("<"):
                out.append(
                    pattern.sub(
                        lambda m: html.escape(self.fallback[int(m[1])]), segment
                    )
                )
            else:
                out.append(
                    pattern.sub(
                        lambda m: (
                            self.markup[int(m[1])]
                            if int(m[1]) in as_text
                            else html.escape(self.fallback[int(m[1])], quote=False)
                        ),
                        segment,
                    )
                )
        return "".join(out)


def render_fragment(title: str, body: str) -> Fragment:
    """A section's body as a stored fragment: safe HTML with citation placeholders."""
    tokens = Tokens()
    prepared = _protect_outside_code(body, tokens)
    clean = _sanitize(_markdown().reset().convert(prepared))
    return Fragment(html=tokens.swap_back(clean), input_hash=input_hash(title, body))


def mark_fragment_safe(html_: str) -> SafeString:
    """Assembled output of stored fragments, which render_fragment sanitized."""
    return mark_safe(html_)


def _markdown() -> markdown.Markdown:
    """This thread's Markdown converter: building one costs more than converting."""
    if not hasattr(_converters, "markdown"):
        _converters.markdown = markdown.Markdown(
            extensions=EXTENSIONS, output_format="html"
        )
    return _converters.markdown


def _sanitize(html_: str) -> str:
    if not hasattr(_converters, "cleaner"):
        _converters.cleaner = bleach.Cleaner(
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            protocols=ALLOWED_PROTOCOLS,
            css_sanitizer=NO_CSS,
            strip=True,
            strip_comments=True,
            filters=[images.ProxyOutsideImages],
        )
    return _converters.cleaner.clean(html_)


def _protect_outside_code(body: str, tokens: Tokens) -> str:
    """Swap TODO notes and citation groups outside code for inert tokens."""
    parts, last = [], 0
    for code in CODE.finditer(body):
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
        if kind in HIDDEN_TODO_KINDS:
            opening, closing = tokens.pair('<mark class="todo">', "</mark>")
            pieces.append(opening + _protect_citations(original, tokens) + closing)
        else:
            label = "No reference for this citation yet"
            opening, closing = tokens.pair(
                f'<span class="missing-citation" title="{label}">', "</span>"
            )
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
        # Keys hold no white space (pandoc's grammar), so a space separates them.
        return tokens.add(
            f'<cite data-keys="{html.escape(" ".join(keys))}"></cite>', group.group()
        )

    return CITATION_GROUP.sub(placeholder, text)


def _code_depth_change(tag: str) -> int:
    name = CODE_TAG.match(tag)
    if not name:
        return 0
    return -1 if tag.startswith("</") else 1


def placeholder_keys(fragment_html: str) -> list[list[str]]:
    """The keys of each citation placeholder, in order."""
    return [
        html.unescape(match.group("keys")).split()
        for match in CITE_PLACEHOLDER.finditer(fragment_html)
    ]


def without_todos(fragment_html: str) -> str:
    """The fragment as the public reads it: TODO notes removed, empty paragraphs too."""
    return re.sub(r"<p>\s*</p>", "", TODO_MARK.sub("", fragment_html))

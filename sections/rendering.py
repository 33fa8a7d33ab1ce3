"""Markdown to safe HTML: the one place whose output templates may mark safe."""

from __future__ import annotations

import bleach
import markdown
from django.utils.safestring import SafeString, mark_safe

EXTENSIONS = ["tables", "footnotes", "fenced_code", "toc", "sane_lists"]
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "del", "div", "dd",
    "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
    "li", "mark", "ol", "p", "pre", "q", "s", "section", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": ["id", "class", "title"],
    "a": ["href", "title", "rel"],
    "img": ["src", "alt", "title", "width", "height"],
    "td": ["colspan", "rowspan", "align"],
    "th": ["colspan", "rowspan", "align", "scope"],
    "ol": ["start"],
}
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}


def to_safe_html(text: str) -> SafeString:
    """Render Markdown and sanitize it against an allow-list; raw HTML never runs."""
    html = markdown.markdown(text, extensions=EXTENSIONS, output_format="html")
    clean = bleach.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        strip=True,
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitized just above

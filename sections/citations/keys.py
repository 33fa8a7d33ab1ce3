"""Manubot-style citekeys: finding them in Markdown and standardizing them.

`[@doi:10.1038/NATURE14539]`, `[@doi:…; @pmid:…]` and pandoc's braced form
`[@{doi:10.1016/s0167-9473(99)00098-5}]` (for identifiers with characters a bare
citekey cannot hold) all name references by one standardized key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PREFIXES = ("doi", "pmid", "pmcid", "arxiv", "isbn", "url", "wikidata", "tag", "raw")

# Pandoc's citekey grammar, as Manubot uses it: internal punctuation allowed, the
# last character alphanumeric or a slash, so a sentence's full stop is not taken.
_BARE_KEY = r"[A-Za-z0-9_][\w:.#$%&\-+?<>~/]*[\w/]|[A-Za-z0-9_]"
CITEKEY = re.compile(
    r"(?<![\w@])@(?:\{(?P<braced>[^{}\s]+)\}|(?P<bare>" + _BARE_KEY + r"))"
)
# A bracketed citation group: one or more citekeys separated by semicolons.
CITATION_GROUP = re.compile(r"\[(?P<inner>[^\[\]]*?@[^\[\]]*?)\](?![(:\[])")
_BARE_KEY_FULL = re.compile(r"(?:" + _BARE_KEY + r")\Z")

_DOI_URL = re.compile(r"^(?:https?://)?(?:dx\.)?doi\.org/", re.IGNORECASE)


@dataclass(frozen=True)
class FoundKey:
    key_as_written: str
    start: int
    end: int


def find_citekeys(text: str) -> list[FoundKey]:
    """Every citekey inside a bracketed citation group, in order of appearance."""
    found = []
    for group in CITATION_GROUP.finditer(text):
        offset = group.start("inner")
        for match in CITEKEY.finditer(group.group("inner")):
            key = match.group("braced") or match.group("bare")
            found.append(FoundKey(key, offset + match.start(), offset + match.end()))
    return found


def standardize(key: str) -> str:
    """The one key a reference is stored under, whatever spelling cited it."""
    key = key.strip()
    if _DOI_URL.match(key):
        return "doi:" + _DOI_URL.sub("", key).lower()
    prefix, sep, rest = key.partition(":")
    if not sep:
        return key
    prefix = prefix.lower()
    if prefix == "doi":
        return "doi:" + _DOI_URL.sub("", rest).lower()
    if prefix == "pmcid":
        return "pmcid:" + rest.upper()
    if prefix == "arxiv":
        return "arxiv:" + rest.lower()
    if prefix == "isbn":
        return "isbn:" + rest.replace("-", "").replace(" ", "").upper()
    if prefix == "wikidata":
        return "wikidata:" + rest.upper()
    if prefix in PREFIXES:
        return f"{prefix}:{rest}"
    return key


def as_citation(keys: list[str]) -> str:
    """Write keys as one Manubot citation group, bracing keys a bare citekey can't hold."""
    written = [
        f"@{key}" if _BARE_KEY_FULL.match(key) else f"@{{{key}}}" for key in keys
    ]
    return "[" + "; ".join(written) + "]"

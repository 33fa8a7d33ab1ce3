"""Manubot-style citekeys: finding them in Markdown and standardizing them.

`[@doi:10.1038/NATURE14539]`, `[@doi:…; @pmid:…]` and pandoc's braced form
`[@{doi:10.1016/s0167-9473(99)00098-5}]` (for identifiers with characters a bare
citekey cannot hold) all name references by one standardized key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sections.crossrefs import is_label

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

# Manubot's other names for a prefix (its handlers' prefix aliases), as we store them.
PREFIX_ALIASES = {"pubmed": "pmid", "pmc": "pmcid"}

_DOI_URL = re.compile(r"^(?:https?://)?(?:dx\.)?doi\.org/", re.IGNORECASE)
# A citation tag defined as a Markdown link reference, as Manubot allows:
# `[@tag:deep-review]: doi:10.1098/rsif.2017.0387`, a line of its own.
TAG_DEFINITION = re.compile(r"^\[@(?P<tag>tag:[^\]\s]+)\]:[ \t]*(?P<target>\S+)[ \t]*$")
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})")


@dataclass(frozen=True)
class FoundKey:
    key_as_written: str
    start: int
    end: int


def find_citekeys(text: str) -> list[FoundKey]:
    """Every citekey inside a bracketed citation group, in order of appearance
    (cross-reference labels such as `@fig:overview` are not citekeys)."""
    found = []
    for group in CITATION_GROUP.finditer(text):
        offset = group.start("inner")
        for match in CITEKEY.finditer(group.group("inner")):
            key = match.group("braced") or match.group("bare")
            if is_label(key):
                continue  # "@fig:overview" refers to a figure: sections.crossrefs
            found.append(FoundKey(key, offset + match.start(), offset + match.end()))
    return found


def tag_definitions(text: str) -> list[tuple[str, str]]:
    """The citation tags a text defines, outside fenced code: (standardized tag
    key, standardized target). A definition is not a citation (find_citekeys)."""
    tags = []
    fence = ""
    for line in text.splitlines():
        fence_match = FENCE.match(line)
        if fence_match and (not fence or fence_match.group("fence").startswith(fence)):
            fence = "" if fence else fence_match.group("fence")[:3]
        tag = None if fence else TAG_DEFINITION.match(line)
        if tag:
            tags.append(
                (standardize(tag.group("tag")), standardize(tag.group("target")))
            )
    return tags


def standardize(key: str) -> str:
    """The one key a reference is stored under, whatever spelling cited it."""
    key = key.strip()
    if _DOI_URL.match(key):
        return "doi:" + _DOI_URL.sub("", key).lower()
    prefix, sep, rest = key.partition(":")
    if not sep:
        return key
    prefix = PREFIX_ALIASES.get(prefix.lower(), prefix.lower())
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


_DOI = re.compile(r"^(?:doi:\s*)?(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_PMID = re.compile(
    r"^(?:pmid:\s*|https?://(?:pubmed\.ncbi\.nlm\.nih\.gov|www\.ncbi\.nlm\.nih\.gov/pubmed)/)?"
    r"(\d{1,8})/?$",
    re.IGNORECASE,
)
_PMCID = re.compile(r"^(?:pmcid:\s*)?(PMC\d+)$", re.IGNORECASE)
_ARXIV = re.compile(
    r"^(?:arxiv:\s*|https?://arxiv\.org/(?:abs|pdf)/)?"
    r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)(?:\.pdf)?$",
    re.IGNORECASE,
)
_ISBN = re.compile(
    r"^(?:isbn:\s*)?((?:97[89][\d\- ]{10,14})|(?:\d[\d\- ]{8,11}[\dX]))$"
)


def citekey_for(identifier: str) -> str:
    """The standardized citekey for what a contributor pasted: a DOI (or its URL), a
    PMID, a PMC id, an arXiv id (or its URL), an ISBN, a citekey, or any web address.

    Raises ValueError with a readable message for anything else.
    """
    text = identifier.strip().strip("[]").strip().removeprefix("@")
    if not text:
        raise ValueError("Paste a DOI, PMID, PMC id, arXiv id, ISBN or web address.")
    if _DOI_URL.match(text):
        return standardize(text)
    for pattern, prefix in (
        (_DOI, "doi"),
        (_PMCID, "pmcid"),
        (_PMID, "pmid"),
        (_ARXIV, "arxiv"),
    ):
        if match := pattern.match(text):
            return standardize(f"{prefix}:{match.group(1)}")
    if (match := _ISBN.match(text)) and len(_digits(match.group(1))) in {10, 13}:
        return standardize(f"isbn:{match.group(1)}")
    if re.match(r"^https?://[^\s/]+\.[^\s]+$", text, re.IGNORECASE):
        return f"url:{text}"
    prefix = text.partition(":")[0].lower()
    if prefix in PREFIXES and prefix != "raw":
        return standardize(text)
    raise ValueError(
        f"“{identifier.strip()[:80]}” is not a DOI, PMID, PMC id, arXiv id, ISBN or "
        "web address."
    )


def _digits(text: str) -> str:
    return re.sub(r"[^\dX]", "", text.upper())

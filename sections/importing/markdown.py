"""Markdown with ATX headings (`## Title`), citations already in Manubot form.

A YAML front-matter block may give the `title`, Manubot-style `authors` and
pandoc-style `references` (CSL records keyed by citekey). Citation tags may be
defined as Markdown link references, `[@tag:deep-review]: doi:10.1098/rsif.2017.0387`,
as Manubot allows. Figure and table cross-references (`@fig:…`), HTML comments and
fenced code pass through untouched.
"""

from __future__ import annotations

import re

import yaml

from sections.citations.keys import FENCE, TAG_DEFINITION, standardize
from sections.exceptions import ImportRejected
from sections.importing.parsed import (
    ParsedManuscript,
    ParsedReference,
    ParsedSection,
    csl_record,
)
from sections.importing.plaintext import FRONT_MATTER_TITLE

ATX_HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*$")
# Pandoc attributes ending a heading: `## Abstract {.page_break_before}`.
HEADING_ATTRIBUTES = re.compile(r"[ \t]+\{(?P<attributes>[^{}\n]*)\}\Z")
FRONT_MATTER = re.compile(
    r"\A---[ \t]*\n(?P<yaml>.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.DOTALL
)


def parse(text: str, *, default_title: str = "") -> ParsedManuscript:
    metadata, text = _front_matter(text)
    title = str(metadata.get("title") or "").strip()
    sections, tags = _sections(text)
    if not any(section.title != FRONT_MATTER_TITLE for section in sections):
        raise ImportRejected(
            "No headings found: Markdown sections start with '#' lines."
        )
    if not title:
        title, sections = _title_from_single_top_heading(sections, default_title)
    references = _references(metadata.get("references") or [])
    references += [ParsedReference(key=tag, alias_of=target) for tag, target in tags]
    people = [a for a in metadata.get("authors") or [] if isinstance(a, dict)]
    return ParsedManuscript(
        title=title, sections=sections, references=references, authors=people
    )


def _front_matter(text: str) -> tuple[dict, str]:
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        metadata = yaml.safe_load(match.group("yaml")) or {}
    except yaml.YAMLError as error:
        raise ImportRejected(
            f"The YAML front matter does not parse: {error}"
        ) from error
    if not isinstance(metadata, dict):
        raise ImportRejected("The YAML front matter should be a mapping (key: value).")
    return metadata, text[match.end() :]


def _sections(text: str) -> tuple[list[ParsedSection], list[tuple[str, str]]]:
    sections: list[ParsedSection] = []
    lines: list[str] = []
    tags: list[tuple[str, str]] = []
    fence = ""
    for line in text.splitlines():
        fence_match = FENCE.match(line)
        if fence_match and (not fence or fence_match.group("fence").startswith(fence)):
            fence = "" if fence else fence_match.group("fence")[:3]
        heading = None if fence else parse_heading(line)
        tag = None if fence else TAG_DEFINITION.match(line)
        if heading:
            _close(sections, lines)
            lines = []
            hashes, title = heading
            title, attributes = split_heading_attributes(title)
            sections.append(ParsedSection(title, hashes, "", attributes))
        elif tag:
            tags.append(
                (standardize(tag.group("tag")), standardize(tag.group("target")))
            )
        else:
            if not sections and line.strip():
                sections.append(ParsedSection(FRONT_MATTER_TITLE, 0, ""))
            lines.append(line)
    _close(sections, lines)
    normalize_levels(sections)
    return sections, tags


def parse_heading(line: str) -> tuple[int, str] | None:
    """An ATX heading line's level (its number of '#') and title; None for any
    other line."""
    heading = ATX_HEADING.match(line)
    if not heading:
        return None
    return len(heading.group("hashes")), heading.group("title").strip()


def split_heading_attributes(title: str) -> tuple[str, str]:
    """A heading's title and its pandoc attributes, without braces:
    "Abstract {.page_break_before}" is ("Abstract", ".page_break_before")."""
    attributes = HEADING_ATTRIBUTES.search(title)
    if not attributes:
        return title, ""
    return title[: attributes.start()].strip(), attributes.group("attributes").strip()


def normalize_levels(sections: list[ParsedSection]) -> None:
    """Levels relative to the shallowest heading, never skipping a level going down."""
    # Text before the first heading was given level 0; it sits at the top level.
    base = min((s.level for s in sections if s.level > 0), default=1)
    previous = 0
    for section in sections:
        section.level = max(1, min(section.level - base + 1, previous + 1))
        previous = section.level


def _close(sections: list[ParsedSection], lines: list[str]) -> None:
    if sections:
        sections[-1].body = "\n".join(lines).strip("\n")


def _title_from_single_top_heading(
    sections: list[ParsedSection], default_title: str
) -> tuple[str, list[ParsedSection]]:
    """`# Title` over `## Sections`: the lone top heading is the manuscript's title."""
    top = [s for s in sections if s.level == 1 and s.title != FRONT_MATTER_TITLE]
    if len(top) == 1 and not top[0].body.strip() and sections[0] is top[0]:
        rest = sections[1:]
        for section in rest:
            section.level = max(1, section.level - 1)
        return top[0].title, rest
    return default_title or sections[0].title, sections


def _references(items: list) -> list[ParsedReference]:
    if not isinstance(items, list):
        raise ImportRejected(
            "The front matter's 'references' should be a list of CSL records."
        )
    references = []
    for item in items:
        if not isinstance(item, dict) or not item.get("id"):
            raise ImportRejected(
                "Every entry in 'references' needs an 'id' (its citekey)."
            )
        key = standardize(str(item["id"]))
        csl = csl_record(item, key=key, source="The front matter's references")
        references.append(ParsedReference(key=key, csl=csl))
    return references

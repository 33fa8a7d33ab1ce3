"""Plain text like the seed draft: a title line, heading lines, paragraphs, and a
numbered reference list at the end, cited in the text as `[3]`.

Plain text has no heading markup, so a heading is recognised by its shape: a single
short line that does not read as a sentence (no full stop at the end, no sentence
break inside, no citation, no TODO marker). Nesting is what the text shows: a
heading with no text of its own, followed at once by another heading, opens a group
that the following headings join, until the next question heading (this kind of draft
asks its chapter-level questions as headings). A maintainer fixes the rest in the
outline.
"""

from __future__ import annotations

import re

from sections import claims
from sections.citations.keys import as_citation
from sections.exceptions import ImportRejected
from sections.importing import reference_list
from sections.importing.parsed import ParsedManuscript, ParsedReference, ParsedSection
from sections.todos import NOTE_MARKER

FRONT_MATTER_TITLE = "Front matter"
MAX_HEADING_LENGTH = 160
SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z]")
NUMBERED_CITATION = re.compile(r"\[(?P<numbers>\d{1,4}(?:\s*[,–-]\s*\d{1,4})*)\]")
REFERENCES_HEADING = re.compile(
    r"^(references|bibliography|works cited)$", re.IGNORECASE
)


def parse(text: str) -> ParsedManuscript:
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", text) if b.strip()]
    if not blocks:
        raise ImportRejected("The file has no text.")
    title, blocks = blocks[0].strip(), blocks[1:]
    if "\n" in title or len(title) > 300:
        raise ImportRejected("The first line should be the manuscript's title.")
    body_blocks, entries = _split_reference_list(blocks)
    references = reference_list.parse(entries)
    sections = _sections(body_blocks)
    if not any(section.title != FRONT_MATTER_TITLE for section in sections):
        raise ImportRejected(
            "No headings found: a plain-text manuscript needs heading lines "
            "(short lines on their own, without a full stop)."
        )
    by_number = {ref.number: ref for ref in references}
    missing: set[int] = set()
    for section in sections:
        section.body = _rewrite_numbered_citations(section.body, by_number, missing)
    notes = [
        f"Cited by number but not in the reference list: {n}" for n in sorted(missing)
    ]
    return ParsedManuscript(
        title=title, sections=sections, references=references, notes=notes
    )


def _split_reference_list(blocks: list[str]) -> tuple[list[str], list[str]]:
    """The body blocks, and the trailing run of numbered reference entries."""
    headings = [i for i, b in enumerate(blocks) if REFERENCES_HEADING.match(b.strip())]
    if headings:
        # Under a "References" heading, every block must be an entry.
        body, entries = blocks[: headings[-1]], blocks[headings[-1] + 1 :]
        if not entries or not all(reference_list.is_entry(e) for e in entries):
            raise ImportRejected(
                "The reference list does not parse: entries should read "
                "'1. Authors. Year Title. Journal. (doi:…)', one per paragraph."
            )
    else:
        start = len(blocks)
        while start > 0 and reference_list.is_entry(blocks[start - 1]):
            start -= 1
        body, entries = blocks[:start], blocks[start:]
    numbers = [
        int(reference_list.ENTRY.match(e.strip()).group("number")) for e in entries
    ]
    if numbers != sorted(set(numbers)):
        raise ImportRejected(
            "The reference list does not parse: its numbers repeat or are out of order."
        )
    return body, entries


def _sections(blocks: list[str]) -> list[ParsedSection]:
    sections: list[ParsedSection] = []
    paragraphs: list[str] = []
    group_level = 0  # 1 while inside a group opened by a heading with no text.
    previous_was_heading = False
    previous_is_fragment = False

    for block in blocks:
        if _is_heading(block, after_fragment=previous_is_fragment):
            if sections or paragraphs:
                _close(sections, paragraphs)
            paragraphs = []
            title = block.strip()
            if previous_was_heading and sections:
                group_level = sections[-1].level
            if title.endswith("?"):
                group_level = 0
            sections.append(ParsedSection(title=title, level=group_level + 1, body=""))
            previous_was_heading = True
            previous_is_fragment = False
        else:
            if not sections:
                sections.append(
                    ParsedSection(title=FRONT_MATTER_TITLE, level=1, body="")
                )
            paragraphs.append(block)
            previous_was_heading = False
            previous_is_fragment = not block.rstrip().endswith(
                (".", "?", "!", ":", ")", '"')
            ) and not NOTE_MARKER.match(block)
    _close(sections, paragraphs)
    return sections


def _close(sections: list[ParsedSection], paragraphs: list[str]) -> None:
    if sections:
        sections[-1].body = "\n\n".join(paragraphs)


def _is_heading(block: str, *, after_fragment: bool) -> bool:
    line = block.strip()
    if "\n" in line or not line or len(line) > MAX_HEADING_LENGTH:
        return False
    if not line[0].isupper() or line.endswith((".", ",", ";", ":")):
        return False
    if "[" in line or "TODO" in line or SENTENCE_BREAK.search(line):
        return False
    if claims.find_in(line):
        return False
    # After an unfinished fragment (a list that lost its bullets), short lines are
    # more items of that list; a question still opens a new section.
    return not after_fragment or line.endswith("?")


def _rewrite_numbered_citations(
    body: str, by_number: dict[int | None, ParsedReference], missing: set[int]
) -> str:
    """`[3]` becomes `[@doi:10.1038/nature14539]`; unknown numbers stay as written."""

    def replace(match: re.Match) -> str:
        numbers = _expand(match.group("numbers"))
        known = [by_number[n].key for n in numbers if n in by_number]
        unknown = [n for n in numbers if n not in by_number]
        missing.update(unknown)
        if not known:
            return match.group()
        rewritten = as_citation(known)
        if unknown:
            rewritten += " [" + ", ".join(str(n) for n in unknown) + "]"
        return rewritten

    return NUMBERED_CITATION.sub(replace, body)


def _expand(numbers: str) -> list[int]:
    """ "3", "3, 5" and "3–5" as the numbers they cite."""
    expanded: list[int] = []
    for part in re.split(r"\s*,\s*", numbers):
        bounds = [int(bound) for bound in re.split(r"\s*[–-]\s*", part)]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= 100:
            expanded.extend(range(bounds[0], bounds[1] + 1))
        else:
            expanded.extend(bounds)
    return expanded

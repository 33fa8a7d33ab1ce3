"""What a parser hands to the importer: a manuscript not yet stored."""

from __future__ import annotations

from dataclasses import dataclass, field

from sections.citations.http import MetadataInvalid
from sections.citations.resolve import clean_csl
from sections.exceptions import ImportRejected


@dataclass
class ParsedSection:
    title: str
    level: int
    body: str
    # Pandoc attributes after the heading, without braces: ".page_break_before".
    heading_attributes: str = ""
    # From a Manubot content folder: where it was written (Section.source_*).
    source_file: str = ""
    source_heading: str = ""
    source_layout: dict = field(default_factory=dict)


@dataclass
class ParsedReference:
    key: str
    csl: dict | None = None
    original_text: str = ""
    number: int | None = None
    alias_of: str | None = None
    is_manual: bool = False


@dataclass
class ParsedManuscript:
    title: str
    sections: list[ParsedSection]
    references: list[ParsedReference] = field(default_factory=list)
    # People named as authors: dicts with name, and optionally orcid, github, email.
    authors: list[dict] = field(default_factory=list)
    # A Manubot metadata.yaml as parsed: every key, for its templates' variables.
    metadata: dict = field(default_factory=dict)
    # Numbered citations the text used that its reference list does not have.
    notes: list[str] = field(default_factory=list)
    # A Manubot folder's files as they were: (name under content/, kind, bytes).
    source_files: list[tuple[str, str, bytes]] = field(default_factory=list)
    # Image files the text shows, checked (sections.figures.IncomingFigure).
    figures: list = field(default_factory=list)


def csl_record(item: dict, *, key: str, source: str) -> dict:
    """An imported CSL record, cleaned as fetched and hand-entered ones are
    (`resolve.clean_csl`: CSL variables only, as text), id'd by key.

    Raises ImportRejected naming source (a file, the front matter) for a record
    with no usable title.
    """
    try:
        return clean_csl(item, key=key)
    except MetadataInvalid as error:
        raise ImportRejected(f"{source}: {error}") from error

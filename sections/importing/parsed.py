"""What a parser hands to the importer: a manuscript not yet stored."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ParsedSection:
    title: str
    level: int
    body: str


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
    # Numbered citations the text used that its reference list does not have.
    notes: list[str] = field(default_factory=list)

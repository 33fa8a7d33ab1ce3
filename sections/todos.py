"""TODO items: the work still to do, found in a section's text or made by hand.

`find_in(body)` reads a body and returns what it asks for: `TODO:`-style notes,
placeholders ("Abstract goes here.", a lone `#` standing for a number) and citations
that need a source (`[refs]`, `[McHardy]`, a number missing from the reference list).
A fingerprint names each found item by what it says, not where it stands, so an
unchanged note keeps its identity when the text around it moves.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

from django.db import transaction

from sections.citations.keys import CITATION_GROUP
from sections.models import Contributor, Section, TodoItem

NOTE_MARKER = re.compile(r"\b(?:TODO|FIXME|TBD|XXX)\b:?")
# A note runs to the end of its first sentence (or of a citation that closes it),
# since a note typed inline is often followed by the paragraph's own text.
NOTE_END = re.compile(r"(?<=[.?!\]])\s+(?=[A-Z])|\n\s*\n")
# A placeholder is a sentence that stands in for text still to write: "Abstract goes
# here.", "conducted by # individuals". We find the marker, then its sentence, since a
# pattern spanning the whole sentence would backtrack over every character.
PLACEHOLDER_MARKER = re.compile(
    r"\b(?:goes|will go) here\b|(?<=\S[ \t])#(?=[ \t]+[a-z])", re.IGNORECASE
)
SENTENCE_END = re.compile(r"[.?!](?=\s|$)|\n")
# Any bracket that is not a Manubot citation, a Markdown link or a checkbox, and is
# short enough to be a key: `[refs]`, `[McHardy]`, `[ Ding et al]`, `[14]`.
INFORMAL_KEY = re.compile(r"(?<![\]!\\])\[(?!\^)(?P<key>[^\[\]@\n]{1,60})\](?![(\[:])")
NEEDS_SOURCE = {"ref", "refs", "citation needed", "citation", "cite", "?"}
# An @handle, but not a citekey such as @doi:10.1038/… (a colon and more text).
HANDLE = re.compile(r"(?<![\w@])@(?P<handle>[A-Za-z0-9][A-Za-z0-9_-]*)(?![\w-]|:\S)")


@dataclass(frozen=True)
class FoundTodo:
    kind: str
    text: str
    start: int
    end: int
    handles: tuple[str, ...] = ()

    def identity(self) -> str:
        normalized = " ".join(self.text.split()).lower()
        return hashlib.sha256(f"{self.kind}\n{normalized}".encode()).hexdigest()[:32]


def find_in(body: str) -> list[FoundTodo]:
    """Every TODO the text asks for, in order of appearance."""
    found = _notes(body) + _placeholders(body) + _missing_citations(body)
    return sorted(found, key=lambda todo: todo.start)


def _notes(body: str) -> list[FoundTodo]:
    notes = []
    for marker in NOTE_MARKER.finditer(body):
        end_match = NOTE_END.search(body, marker.end())
        end = end_match.start() if end_match else len(body)
        text = body[marker.start() : end].strip()
        handles = tuple(match.group("handle") for match in HANDLE.finditer(text))
        notes.append(
            FoundTodo(TodoItem.Kind.INLINE_NOTE, text, marker.start(), end, handles)
        )
    return notes


def _placeholders(body: str) -> list[FoundTodo]:
    found: list[FoundTodo] = []
    for marker in PLACEHOLDER_MARKER.finditer(body):
        if found and marker.start() < found[-1].end:
            continue  # a second marker in the same sentence
        start = max(body.rfind(stop, 0, marker.start()) for stop in ".?!\n") + 1
        while start < marker.start() and body[start].isspace():
            start += 1
        end_match = SENTENCE_END.search(body, marker.end())
        end = len(body) if end_match is None else end_match.end()
        text = body[start:end].strip()
        found.append(
            FoundTodo(TodoItem.Kind.PLACEHOLDER, text, start, start + len(text))
        )
    return found


def _missing_citations(body: str) -> list[FoundTodo]:
    citation_spans = [m.span() for m in CITATION_GROUP.finditer(body)]
    found = []
    for match in INFORMAL_KEY.finditer(body):
        key = match.group("key")
        if key.strip().lower() in {"", "x", " "} or any(
            start <= match.start() < end for start, end in citation_spans
        ):
            continue
        if key.strip().isdigit():
            why = "Cited by number, but the reference list has no such entry"
        elif key.strip().lower() in NEEDS_SOURCE:
            why = "Needs a source"
        else:
            why = "Informal citation key, not a reference"
        context = " ".join(
            body[max(0, match.start() - 60) : match.start()].split()[-6:]
        )
        found.append(
            FoundTodo(
                TodoItem.Kind.MISSING_CITATION,
                f"{why}: {match.group()} (after “{context}”)",
                match.start(),
                match.end(),
            )
        )
    return found


def fingerprints(found: list[FoundTodo]) -> list[str]:
    """Identities for found items; a repeated identical note gets an occurrence suffix."""
    seen: Counter[str] = Counter()
    result = []
    for todo in found:
        identity = todo.identity()
        result.append(f"{identity}-{seen[identity]}" if seen[identity] else identity)
        seen[identity] += 1
    return result


def sync_from_text(section: Section) -> list[TodoItem]:
    """Create the items the section's text asks for that it does not have yet.

    Idempotent: an item already recorded under the same fingerprint is kept as it is.
    Runs inside the caller's transaction.
    """
    found = find_in(section.body)
    prints = fingerprints(found)
    existing = set(
        TodoItem.objects.filter(section=section, fingerprint__in=prints).values_list(
            "fingerprint", flat=True
        )
    )
    handles = {h for todo in found for h in todo.handles}
    contributors = _contributors_for_handles(handles)
    created = [
        TodoItem(
            section=section,
            kind=todo.kind,
            text=todo.text,
            start=todo.start,
            end=todo.end,
            fingerprint=fingerprint,
            suggested_assignee=next(
                (
                    contributors[h.lower()]
                    for h in todo.handles
                    if h.lower() in contributors
                ),
                None,
            ),
        )
        for todo, fingerprint in zip(found, prints, strict=True)
        if fingerprint not in existing
    ]
    with transaction.atomic():
        return TodoItem.objects.bulk_create(created)


def _contributors_for_handles(handles: set[str]) -> dict[str, Contributor]:
    """The contributor for each @handle, made for handles nobody has yet."""
    contributors = {}
    for handle in sorted(handles):
        contributor = Contributor.objects.filter(handle__iexact=handle).first()
        if contributor is None:
            contributor = Contributor.objects.create(
                display_name=f"@{handle}", handle=handle
            )
        contributors[handle.lower()] = contributor
    return contributors

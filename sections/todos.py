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
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from sections import activity, contributors, spreadsheets
from sections.citations.keys import CITATION_GROUP
from sections.exceptions import ReviewappError
from sections.models import (
    Activity,
    Contributor,
    Manuscript,
    Revision,
    Section,
    TodoItem,
)

NOTE_MARKER = re.compile(r"\b(?:TODO|FIXME|TBD|XXX)\b:?")
# Where a note ends, since a note typed inline is often followed by the paragraph's
# own text: at the end of its first sentence (or of a citation that closes it), at
# the end of its line, or where a new sentence starts whose full stop before it was
# lost ("TODO: Add reference tags to this section Metagenomics (which…"): a word
# with a capital after a lower-case word. After an article, preposition or
# conjunction a capital is a name within the note ("once more of the Discussion
# section"). A name after another word ends the note early, which shows note text
# rather than hiding real text; `[TODO: …]` or `(TODO: …)` say exactly where a
# note ends, at its closing bracket. A note in an HTML comment (`<!-- TODO: … -->`)
# ends where the comment does.
NOTE_END = re.compile(
    r"(?<=[.?!\]])\s+(?=[A-Z])|[ \t]*\n|[ \t]*-->"
    r"|(?P<capital>(?<=[a-z])[ \t]+(?=[A-Z][a-z]))"
)
WORDS_BEFORE_A_NAME = {
    "a", "an", "the", "of", "to", "in", "on", "at", "by", "for", "from", "with",
    "about", "and", "or", "as", "is", "are", "than", "into", "like", "see", "via",
    "ask", "tell", "ping", "cc", "email", "contact", "thank",
}  # fmt: skip
# A note written in brackets or parentheses ends at the bracket that closes it.
BRACKETED_NOTE = re.compile(
    r"(?P<open>[\[(])[ \t]*(?=(?:TODO|FIXME|TBD|XXX)\b)"
    r"(?P<text>(?:[^\[\]()\n]|\([^()\n]*\)|\[[^\[\]\n]*\])*)(?P<close>[\])])"
)
# A placeholder is a sentence that stands in for text still to write: "Abstract goes
# here.", "conducted by # individuals". We find the marker, then its sentence, since a
# pattern spanning the whole sentence would backtrack over every character.
PLACEHOLDER_MARKER = re.compile(
    r"\b(?:goes|will go) here\b|(?<=\S[ \t])#(?=[ \t]+[a-z])", re.IGNORECASE
)
SENTENCE_END = re.compile(r"[.?!](?=\s|$)|\n")
# Any bracket that is not a Manubot citation, a Markdown link, a pandoc span
# (`[text]{.class}`) or a checkbox, and is short enough to be a key: `[refs]`,
# `[McHardy]`, `[ Ding et al]`, `[14]`.
INFORMAL_KEY = re.compile(r"(?<![\]!\\])\[(?!\^)(?P<key>[^\[\]@\n]{1,60})\](?![(\[:{])")
NEEDS_SOURCE = {"ref", "refs", "citation needed", "citation", "cite", "?"}
# An @handle, but not a citekey such as @doi:10.1038/… (a colon and more text). At
# most 100 characters, Contributor.handle's length: a longer one is no handle, rather
# than a save that fails on the database's length check.
HANDLE = re.compile(
    r"(?<![\w@])@(?P<handle>[A-Za-z0-9][A-Za-z0-9_-]{0,99})(?![\w-]|:\S)"
)


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
    bracketed = {
        match.start("text"): match
        for match in BRACKETED_NOTE.finditer(body)
        if "[]()".index(match.group("open")) + 1 == "[]()".index(match.group("close"))
    }
    for marker in NOTE_MARKER.finditer(body):
        if notes and marker.start() < notes[-1].end:
            continue  # a second marker within the note: "TODO: … (TBD) …"
        if marker.start() in bracketed:
            whole = bracketed[marker.start()]
            start, end = whole.start(), whole.end()
        else:
            start, end = marker.start(), _note_end(body, marker.end())
        text = body[start:end].strip()
        handles = tuple(match.group("handle") for match in HANDLE.finditer(text))
        notes.append(
            FoundTodo(
                TodoItem.Kind.INLINE_NOTE, text, start, start + len(text), handles
            )
        )
    return notes


def _note_end(body: str, after: int) -> int:
    """Where the note whose marker ends at `after` ends (see NOTE_END)."""
    for end in NOTE_END.finditer(body, after):
        if end.group("capital"):
            words_before = body[after : end.start()].split()
            if not words_before or words_before[-1].lower() in WORDS_BEFORE_A_NAME:
                continue
        return end.start()
    return len(body)


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
        if NOTE_MARKER.match(key.strip()):
            continue  # a note in brackets, "[TODO: …]": a note, not a citation
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
        # The words before it in its own paragraph: they tell two `[refs]` apart,
        # and an edit of another paragraph leaves the item's identity alone.
        before = body[max(0, match.start() - 60) : match.start()].split("\n\n")[-1]
        context = " ".join(before.split()[-6:])
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


def sync_from_text(
    section: Section, *, revision: Revision | None = None
) -> list[TodoItem]:
    """Keep the section's items in step with what its text asks for; return the new.

    An item keeps its identity (status, assignee, discussion) as long as its note is in
    the text, wherever it moves; a note gone from the text resolves its open item "in
    text" at `revision`, and a note that comes back reopens it. Items closed by hand
    stay closed, and items made by hand are not the text's to close. Runs inside the
    caller's transaction; idempotent.
    """
    found = find_in(section.body)
    in_text = dict(zip(fingerprints(found), found, strict=True))
    recorded = {
        item.fingerprint: item
        for item in TodoItem.objects.filter(section=section).exclude(fingerprint="")
    }
    now = timezone.now()
    moved = _follow_changed_extents(recorded, in_text)
    for fingerprint, todo in in_text.items():
        item = recorded.get(fingerprint)
        if item and (item.start, item.end) != (todo.start, todo.end):
            item.start, item.end = todo.start, todo.end
            moved.append(item)
    TodoItem.objects.bulk_update(moved, ["start", "end", "fingerprint", "text"])
    gone = [
        fp
        for fp, item in recorded.items()
        if fp not in in_text and item.status == TodoItem.Status.OPEN
    ]
    back = [
        fp
        for fp, item in recorded.items()
        if fp in in_text and item.status == TodoItem.Status.RESOLVED_IN_TEXT
    ]
    mine = TodoItem.objects.filter(section=section)
    mine.filter(fingerprint__in=gone).update(
        status=TodoItem.Status.RESOLVED_IN_TEXT,
        resolved_in=revision,
        closed_at=now,
        updated_at=now,
    )
    mine.filter(fingerprint__in=back).update(
        status=TodoItem.Status.OPEN, resolved_in=None, closed_at=None, updated_at=now
    )
    if revision is not None and (gone or back):
        _record_text_changes(section, revision, resolved=len(gone), reopened=len(back))
    new = [(fp, todo) for fp, todo in in_text.items() if fp not in recorded]
    handles = {h for _, todo in new for h in todo.handles}
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
        for fingerprint, todo in new
    ]
    with transaction.atomic():
        return TodoItem.objects.bulk_create(created)


def _follow_changed_extents(
    recorded: dict[str, TodoItem], in_text: dict[str, FoundTodo]
) -> list[TodoItem]:
    """Give a note found with a new extent the item it had: a note whose words are
    the start of a recorded note's words, or the other way round (the rule for
    where a note ends changed, or words were added to it), is that note. Changes
    `recorded` in place to key the item by its new fingerprint; returns the items
    changed, to be saved with the others."""
    gone = {
        fp: item
        for fp, item in recorded.items()
        if fp not in in_text and item.kind == TodoItem.Kind.INLINE_NOTE
    }
    changed = []
    for fingerprint, todo in in_text.items():
        if fingerprint in recorded or todo.kind != TodoItem.Kind.INLINE_NOTE:
            continue
        words = _words(todo.text)
        matches = [
            fp
            for fp, item in gone.items()
            if _words(item.text).startswith(words)
            or words.startswith(_words(item.text))
        ]
        if not matches:
            continue
        # An open item first: it is the one the text still asks for.
        matches.sort(key=lambda fp: gone[fp].status != TodoItem.Status.OPEN)
        item = gone.pop(matches[0])
        del recorded[matches[0]]
        item.fingerprint, item.text = fingerprint, todo.text
        item.start, item.end = todo.start, todo.end
        recorded[fingerprint] = item
        changed.append(item)
    return changed


def _words(text: str) -> str:
    return " ".join(text.split()).lower()


def _record_text_changes(
    section: Section, revision: Revision, *, resolved: int, reopened: int
) -> None:
    parts = []
    if resolved:
        parts.append(f"{resolved} TODO item{'s' * (resolved != 1)} resolved in text")
    if reopened:
        parts.append(f"{reopened} reopened, their notes back in the text")
    activity.record(
        section.manuscript_id,
        kind=Activity.Kind.TODO,
        summary=f"{'; '.join(parts)} in “{section.title}”",
        section=section,
        actor=revision.author,
        url=section.get_absolute_url(),
    )


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


# Triage


class TriageRejected(ReviewappError):
    """A triage change can't be made; nothing was written."""


def create_manual(
    section: Section,
    *,
    text: str,
    by: AbstractBaseUser,
    assignee: Contributor | None = None,
    priority: int = TodoItem.Priority.NORMAL,
) -> TodoItem:
    """A TODO item made by hand on the section, logged. Raises TriageRejected for
    empty text or a removed section."""
    text = text.strip()
    if not text:
        raise TriageRejected("Say what is to be done.")
    if section.removed_at:
        raise TriageRejected(f"“{section.title}” was removed; restore it first.")
    actor = contributors.for_user(by)
    with transaction.atomic():
        item = TodoItem.objects.create(
            section=section,
            kind=TodoItem.Kind.MANUAL,
            text=text,
            priority=priority,
            assignee=assignee,
        )
        to_whom = f", assigned to {assignee}" if assignee else ""
        activity.record(
            section.manuscript_id,
            kind=Activity.Kind.TODO,
            summary=f"New TODO on “{section.title}”{to_whom}: {text[:200]}",
            section=section,
            actor=actor,
            url=_board_url(section.manuscript, section.pk),
        )
    return item


def assign(
    manuscript: Manuscript,
    ids: Iterable[int],
    *,
    assignee: Contributor | None,
    by: AbstractBaseUser,
    now: datetime | None = None,
) -> int:
    """Assign the chosen items of the manuscript (None: unassign); how many changed."""
    summary = f"assigned to {assignee}" if assignee else "unassigned"
    return _bulk_change(
        manuscript,
        ids,
        changes={"assignee": assignee},
        summary=summary,
        by=by,
        now=now,
    )


def set_priority(
    manuscript: Manuscript,
    ids: Iterable[int],
    *,
    priority: int,
    by: AbstractBaseUser,
    now: datetime | None = None,
) -> int:
    """Give the chosen items of the manuscript one priority; how many changed."""
    label = TodoItem.Priority(priority).label.lower()
    return _bulk_change(
        manuscript,
        ids,
        changes={"priority": priority},
        summary=f"set to {label} priority",
        by=by,
        now=now,
    )


CLOSING = {TodoItem.Status.DONE: "done", TodoItem.Status.WONT_DO: "won't do"}


def close(
    manuscript: Manuscript,
    ids: Iterable[int],
    *,
    status: str,
    by: AbstractBaseUser,
    now: datetime | None = None,
) -> int:
    """Close the chosen open items as done or won't do, recording who and when;
    items already closed keep their closing. Returns how many were closed."""
    if status not in CLOSING:
        raise TriageRejected("An item is closed as done or as won't do.")
    now = now or timezone.now()
    return _bulk_change(
        manuscript,
        ids,
        only=Q(status=TodoItem.Status.OPEN),
        changes={
            "status": status,
            "closed_at": now,
            "closed_by": contributors.for_user(by),
        },
        summary=f"closed as {CLOSING[status]}",
        by=by,
        now=now,
        nothing="None of the chosen items is open.",
    )


def reopen(
    manuscript: Manuscript,
    ids: Iterable[int],
    *,
    by: AbstractBaseUser,
    now: datetime | None = None,
) -> int:
    """Reopen the chosen closed items, forgetting how they were closed."""
    return _bulk_change(
        manuscript,
        ids,
        only=~Q(status=TodoItem.Status.OPEN),
        changes={
            "status": TodoItem.Status.OPEN,
            "closed_at": None,
            "closed_by": None,
            "resolved_in": None,
        },
        summary="reopened",
        by=by,
        now=now,
        nothing="None of the chosen items is closed.",
    )


TRIAGE_ACTIONS = ["assign", "prioritise", "done", "wont_do", "reopen"]


def triage(
    manuscript: Manuscript,
    ids: Iterable[int],
    *,
    action: str,
    by: AbstractBaseUser,
    assignee: Contributor | None = None,
    priority: int | None = None,
) -> int:
    """One of the board's bulk actions on the chosen items; how many changed.
    Raises TriageRejected for an unknown action or when no chosen item qualifies."""
    if action == "assign":
        return assign(manuscript, ids, assignee=assignee, by=by)
    if action == "prioritise" and priority in TodoItem.Priority.values:
        return set_priority(manuscript, ids, priority=priority, by=by)
    if action in CLOSING:
        return close(manuscript, ids, status=action, by=by)
    if action == "reopen":
        return reopen(manuscript, ids, by=by)
    raise TriageRejected("Choose what to do with the ticked items.")


def _bulk_change(
    manuscript: Manuscript,
    ids: Iterable[int],
    *,
    changes: dict[str, object],
    summary: str,
    by: AbstractBaseUser,
    now: datetime | None,
    only: Q | None = None,
    nothing: str = "None of the chosen items is on this board.",
) -> int:
    """One UPDATE for the chosen items of the manuscript (those matching `only`),
    and one activity entry per section touched. Raises TriageRejected if none is."""
    now = now or timezone.now()
    actor = contributors.for_user(by)
    chosen = TodoItem.objects.filter(pk__in=list(ids), section__manuscript=manuscript)
    if only is not None:
        chosen = chosen.filter(only)
    with transaction.atomic():
        # Locked, so the rows counted per section below are exactly the rows updated,
        # even if extraction resolves or reopens one of them meanwhile; in pk order,
        # so two bulk changes over overlapping items can't deadlock.
        rows = list(
            chosen.select_for_update(of=("self",))
            .order_by("pk")
            .values_list("pk", "section_id")
        )
        if not rows:
            raise TriageRejected(nothing)
        TodoItem.objects.filter(pk__in=[pk for pk, _ in rows]).update(
            **changes, updated_at=now
        )
        per_section = Counter(section_id for _, section_id in rows)
        sections = Section.objects.in_bulk(per_section)
        for section_id, count in per_section.items():
            section = sections[section_id]
            items = "TODO item" if count == 1 else "TODO items"
            activity.record(
                manuscript.pk,
                kind=Activity.Kind.TODO,
                summary=f"{count} {items} in “{section.title}” {summary}",
                section=section,
                actor=actor,
                url=_board_url(manuscript, section_id),
            )
    return len(rows)


def _board_url(manuscript: Manuscript, section_id: int) -> str:
    """The triage board, filtered to the section's items."""
    board = reverse("sections:todo-board", args=[manuscript.slug])
    return f"{board}?{urlencode({'section': section_id, 'status': 'all'})}"


def csv_lines(items: Iterable[TodoItem]) -> Iterator[str]:
    """The triage board's CSV export, line by line for streaming: a header, then
    one row per item."""
    return spreadsheets.csv_lines(
        [
            "id",
            "section",
            "kind",
            "status",
            "priority",
            "assignee",
            "suggested assignee",
            "text",
            "created",
            "updated",
        ],
        (
            [
                item.pk,
                item.section.title,
                item.kind,
                item.status,
                item.get_priority_display(),
                str(item.assignee or ""),
                str(item.suggested_assignee or ""),
                item.text,
                item.created_at.isoformat(),
                item.updated_at.isoformat(),
            ]
            for item in items
        ),
    )

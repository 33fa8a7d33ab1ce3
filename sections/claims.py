"""Claims: a contributor says "I am writing this section"."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from sections import contributors
from sections.exceptions import ReviewappError
from sections.models import Claim, Contributor, Section

# "Jinbo Xu is writing this", "Anne and Bob are drafting this section".
CLAIM_SENTENCE = re.compile(
    r"(?m)^(?P<names>[A-Z][\w'’.-]+(?:\s+(?:and\s+)?[A-Z][\w'’.-]+){0,5})\s+"
    r"(?:is|are|will be)\s+(?:writing|drafting|working on|taking)\s+"
    r"(?:this|that|it)(?:\s+section)?\b[^\n]*$"
)


@dataclass(frozen=True)
class FoundClaim:
    name: str
    sentence: str
    start: int
    end: int


def find_in(body: str) -> list[FoundClaim]:
    """The people a body's own sentences say are writing it."""
    found = []
    for match in CLAIM_SENTENCE.finditer(body):
        for name in re.split(r"\s+and\s+", match.group("names")):
            found.append(
                FoundClaim(
                    name.strip(), match.group().strip(), match.start(), match.end()
                )
            )
    return found


def sync_from_text(section: Section) -> list[Claim]:
    """Record the claims a section's text states, for contributors found by name.

    People with no account yet become contributors without a user, to be linked
    later. Idempotent: an existing active claim is left alone.
    """
    claims = []
    with transaction.atomic():
        for found in find_in(section.body):
            contributor = Contributor.objects.filter(
                display_name__iexact=found.name
            ).first() or Contributor.objects.create(display_name=found.name)
            claim, _ = Claim.objects.get_or_create(
                section=section,
                contributor=contributor,
                released_at=None,
                defaults={"note": found.sentence},
            )
            claims.append(claim)
    return claims


class AlreadyClaimed(ReviewappError):
    """The contributor already holds an active claim on this section."""


def claim(section: Section, *, by: AbstractBaseUser, note: str = "") -> Claim:
    """The user claims the section. Raises AlreadyClaimed if they hold a claim on it."""
    contributor = contributors.for_user(by)
    try:
        # The partial unique constraint settles two simultaneous clicks.
        with transaction.atomic():
            return Claim.objects.create(
                section=section, contributor=contributor, note=note
            )
    except IntegrityError as error:
        raise AlreadyClaimed(f"You already claim “{section.title}”.") from error


def release(claim: Claim, *, by: AbstractBaseUser) -> None:
    """End a claim; the caller has checked permissions.can_release."""
    Claim.objects.filter(pk=claim.pk, released_at__isnull=True).update(
        released_at=timezone.now()
    )

"""Claims: a contributor says "I am writing this section"."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import (
    BooleanField,
    Case,
    OuterRef,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils import timezone

from sections import activity, contributors
from sections.exceptions import ReviewappError
from sections.models import Activity, Claim, Contributor, Revision, Section

logger = logging.getLogger(__name__)

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
    """The people a body's own sentences say are writing it (a "name" longer than a
    contributor's name can be stored is not one: an edit or import must not fail on
    the database's length check)."""
    found = []
    longest = Contributor._meta.get_field("display_name").max_length
    for match in CLAIM_SENTENCE.finditer(body):
        for name in re.split(r"\s+and\s+", match.group("names")):
            if len(name.strip()) > longest:
                continue
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


class TargetDateInPast(ReviewappError):
    """A claim's target date lies before today."""


def claim(
    section: Section,
    *,
    by: AbstractBaseUser,
    note: str = "",
    target_date: date | None = None,
    now: datetime | None = None,
) -> Claim:
    """The user claims the section, optionally by a target date. Raises
    TargetDateInPast for a date before today, AlreadyClaimed if they hold a claim."""
    now = now or timezone.now()
    if target_date is not None and target_date < timezone.localdate(now):
        raise TargetDateInPast("A target date can't be in the past.")
    contributor = contributors.for_user(by)
    try:
        # The partial unique constraint settles two simultaneous clicks.
        with transaction.atomic():
            claimed = Claim.objects.create(
                section=section,
                contributor=contributor,
                note=note,
                target_date=target_date,
                since=now,
            )
            by_when = f" by {target_date:%Y-%m-%d}" if target_date else ""
            _record(
                section,
                actor=contributor,
                summary=f"{contributor} claims “{section.label}”{by_when}",
            )
    except IntegrityError as error:
        raise AlreadyClaimed(f"You already claim “{section.label}”.") from error
    return claimed


def release(claim: Claim, *, by: AbstractBaseUser, now: datetime | None = None) -> bool:
    """End a claim, returning whether it was active; the caller has checked
    permissions.can_release. Releasing twice is harmless."""
    now = now or timezone.now()
    actor = contributors.for_user(by)
    with transaction.atomic():
        # Asked before the update: the activity says whether a stale claim went.
        was_stale = stale(Claim.objects.filter(pk=claim.pk), now=now).exists()
        released = Claim.objects.filter(pk=claim.pk, released_at__isnull=True).update(
            released_at=now
        )
        if released:
            section = claim.section
            own = actor.pk == claim.contributor_id
            whose = "their" if own else f"{claim.contributor}’s"
            kind = "stale claim" if was_stale else "claim"
            _record(
                section,
                actor=actor,
                summary=f"{actor} released {whose} {kind} on “{section.label}”",
            )
    return bool(released)


def _record(section: Section, *, actor: Contributor | None, summary: str) -> None:
    activity.record(
        section.manuscript_id,
        kind=Activity.Kind.CLAIM,
        summary=summary,
        section=section,
        actor=actor,
        url=section.get_absolute_url(),
    )


# Staleness: a claim whose claimant has not edited its section for
# CLAIM_STALE_AFTER_DAYS, counted from the later of the claim and their last edit.
# This is the one place the rule lives; pages, releases and the notice all ask it.


def with_staleness(
    claims: QuerySet[Claim], *, now: datetime | None = None
) -> QuerySet[Claim]:
    """The claims annotated with `last_edit_at` (the claimant's latest revision of
    the section, or None) and `is_stale` at `now` (default: now), both in SQL."""
    now = now or timezone.now()
    last_edit = (
        Revision.objects.filter(
            section=OuterRef("section_id"), author=OuterRef("contributor_id")
        )
        .order_by("-created_at")
        .values("created_at")[:1]
    )
    cutoff = now - timedelta(days=settings.CLAIM_STALE_AFTER_DAYS)
    # Coalesce first: GREATEST is NULL on SQLite when either side is NULL.
    active_since = Greatest("since", Coalesce(Subquery(last_edit), "since"))
    return claims.annotate(
        last_edit_at=Subquery(last_edit), active_since=active_since
    ).annotate(
        is_stale=Case(
            When(released_at__isnull=True, active_since__lt=cutoff, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def stale(claims: QuerySet[Claim], *, now: datetime) -> QuerySet[Claim]:
    """The active claims among `claims` that are stale at `now`."""
    return with_staleness(claims, now=now).filter(is_stale=True)


def notify_stale(*, now: datetime) -> int:
    """Email each stale claim's claimant once; returns how many were emailed.

    Claimants without an active account with an email address are skipped and *not*
    marked, so a person who links their account later is still told. A claim is
    told once: a later edit and a second staleness send nothing more.
    """
    waiting = (
        stale(Claim.objects.all(), now=now)
        .filter(
            stale_notified_at__isnull=True,
            contributor__user__is_active=True,
        )
        .exclude(contributor__user__email="")
        .values_list("pk", flat=True)
    )
    return sum(_notify_one(pk, now=now) for pk in list(waiting))


def _notify_one(claim_id: int, *, now: datetime) -> bool:
    """Email one claimant if the claim is still stale and untold."""
    with transaction.atomic():
        # Locked and checked in one transaction: two runs of the beat task (a
        # duplicate, a retry after a lost worker) would otherwise both see
        # stale_notified_at empty and both send. A failed send rolls back.
        locked = (
            Claim.objects.select_for_update()
            .filter(pk=claim_id, stale_notified_at__isnull=True)
            .first()
        )
        if locked is None:
            return False
        # Loaded apart from the lock: PostgreSQL can't lock the nullable side of
        # the outer join to the claimant's user.
        claim = (
            stale(Claim.objects.filter(pk=claim_id), now=now)
            .select_related("contributor__user", "section__manuscript")
            .first()
        )
        if claim is None:
            return False
        user = claim.contributor.user
        if user is None or not user.is_active or not user.email:
            return False
        section = claim.section
        base = settings.SITE_URL.rstrip("/")
        days = settings.CLAIM_STALE_AFTER_DAYS
        send_mail(
            subject=f"Are you still writing “{section.label}”?",
            message=(
                f"You claimed “{section.label}” ({section.manuscript.title}) and "
                f"have not edited it for {days} days.\n\n"
                f"Carry on: {base}{section.get_absolute_url()}\n"
                "If you are no longer writing it, please release the claim there, "
                "so others know the section is free.\n\n"
                f"All your work: {base}{reverse('sections:my-work')}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        locked.stale_notified_at = now
        locked.save(update_fields=["stale_notified_at"])
    logger.info("Told %s their claim %s is stale", user.pk, claim_id)
    return True

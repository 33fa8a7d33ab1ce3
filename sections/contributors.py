"""Contributors: everyone who signs up is one; imported people are too, without an account."""

from __future__ import annotations

from allauth.account.signals import user_signed_up
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone

from sections import activity
from sections.exceptions import ReviewappError
from sections.models import (
    Activity,
    Authorship,
    Claim,
    Comment,
    Contributor,
    LinkRequest,
    Mention,
    Revision,
    TodoItem,
)


def for_user(user: AbstractBaseUser) -> Contributor:
    """The user's contributor record, made on first need."""
    contributor = Contributor.objects.filter(user=user).first()
    if contributor is None:
        name = user.get_full_name() or user.get_username().split("@")[0]
        contributor = Contributor.objects.create(user=user, display_name=name)
    return contributor


@receiver(user_signed_up)
def make_contributor_on_sign_up(
    sender: object, *, request: HttpRequest, user: AbstractBaseUser, **kwargs: object
) -> None:
    for_user(user)


# Linking
#
# Claims found in imported text belong to contributors without an account. A
# signed-in user asks to be one of them; a maintainer approves or declines. We do
# not merge two people's records: a user whose own contributor already has claims,
# revisions, comments, assigned TODOs or mentions is refused with a message (a
# maintainer can move things in the admin); an empty one is deleted and replaced.


class LinkRefused(ReviewappError):
    """The user can't be linked to this contributor; the message says why."""


def request_link(contributor: Contributor, *, user: AbstractBaseUser) -> LinkRequest:
    """Ask to be linked to `contributor`. Raises LinkRefused if it has an account
    already, the user already asked, or the user's own record has content."""
    if contributor.user_id is not None:
        raise LinkRefused(f"{contributor} is already linked to an account.")
    _check_own_record_is_empty(user)
    try:
        # The partial unique constraint settles a double click.
        with transaction.atomic():
            return LinkRequest.objects.create(contributor=contributor, user=user)
    except IntegrityError as error:
        raise LinkRefused(
            f"You have already asked to be {contributor}; a maintainer will decide."
        ) from error


def decide_link(
    request: LinkRequest, *, approve: bool, by: AbstractBaseUser
) -> LinkRequest:
    """Approve (link the user to the contributor) or decline an open request; the
    caller has checked permissions.can_decide_links. Raises LinkRefused if it was
    decided already, or approving is no longer possible; nothing changes then."""
    decider = for_user(by)
    with transaction.atomic():
        # Locked: two maintainers deciding at once must not both link, or one link
        # and the other decline, the same request.
        locked = (
            LinkRequest.objects.select_for_update()
            .filter(pk=request.pk, decided_at__isnull=True)
            .first()
        )
        if locked is None:
            raise LinkRefused("This request was already decided.")
        # Locked too, so two approved requests for one contributor can't both link.
        contributor = Contributor.objects.select_for_update().get(
            pk=locked.contributor_id
        )
        user = locked.user
        if approve:
            if contributor.user_id is not None:
                raise LinkRefused(f"{contributor} is already linked to an account.")
            _link(contributor, user)
        locked.decided_at = timezone.now()
        locked.decided_by = decider
        locked.is_approved = approve
        locked.save(update_fields=["decided_at", "decided_by", "is_approved"])
        if approve:
            # Nobody else can be this person now: their open requests are declined.
            LinkRequest.objects.filter(
                contributor=contributor, decided_at__isnull=True
            ).update(
                decided_at=locked.decided_at, decided_by=decider, is_approved=False
            )
        _record_decision(contributor, user=user, approve=approve, by=decider)
    return locked


def _link(contributor: Contributor, user: AbstractBaseUser) -> None:
    """Make `user` the contributor's account; the caller holds the contributor lock."""
    own = _check_own_record_is_empty(user)
    if own is not None:
        # Keep what the person set up on their own record, where the other has none.
        for field in ["handle", "orcid", "github", "affiliations"]:
            if getattr(own, field) and not getattr(contributor, field):
                setattr(contributor, field, getattr(own, field))
        # Deleted first: the user is one-to-one, and handles are unique.
        own.delete()
    contributor.user = user
    contributor.save(
        update_fields=["user", "handle", "orcid", "github", "affiliations"]
    )


def _check_own_record_is_empty(user: AbstractBaseUser) -> Contributor | None:
    """The user's own contributor record, if any. Raises LinkRefused if it holds
    anything that deleting it would lose."""
    own = (
        Contributor.objects.filter(user=user)
        .annotate(
            has_content=Exists(Claim.objects.filter(contributor=OuterRef("pk")))
            | Exists(Revision.objects.filter(author=OuterRef("pk")))
            | Exists(Comment.objects.filter(author=OuterRef("pk")))
            | Exists(TodoItem.objects.filter(assignee=OuterRef("pk")))
            | Exists(Mention.objects.filter(contributor=OuterRef("pk")))
            | Exists(Authorship.objects.filter(contributor=OuterRef("pk")))
        )
        .first()
    )
    if own is not None and own.has_content:
        raise LinkRefused(
            "Your account already has its own claims, edits, comments, TODOs or a "
            "place on an author list, so it can't be linked to another name here. "
            "Ask a maintainer to merge them."
        )
    return own


def _record_decision(
    contributor: Contributor,
    *,
    user: AbstractBaseUser,
    approve: bool,
    by: Contributor,
) -> None:
    """One activity entry in each manuscript where the contributor claims sections."""
    verdict = "linked" if approve else "declined to link"
    claimed = (
        Claim.objects.filter(contributor=contributor)
        .values_list("section__manuscript_id", flat=True)
        .distinct()
    )
    for manuscript_id in claimed:
        activity.record(
            manuscript_id,
            kind=Activity.Kind.CLAIM,
            summary=f"{by} {verdict} {user.get_username()} as {contributor}",
            actor=by,
        )

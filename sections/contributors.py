"""Contributors: everyone who signs up is one; imported people are too, without an account."""

from __future__ import annotations

import re

from allauth.account.signals import user_signed_up
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.dispatch import receiver
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, get_random_string, salted_hmac
from django.utils.text import slugify

from sections import activity, permissions
from sections.exceptions import ReviewappError
from sections.models import (
    Activity,
    Authorship,
    Claim,
    Comment,
    Contributor,
    LinkRequest,
    Manuscript,
    Mention,
    Revision,
    TodoItem,
)

# What `@handle` in a comment or note matches (sections.todos.HANDLE): a letter or
# digit, then letters, digits, `_` and `-`. Short, so it is typed without thinking.
HANDLE_SHAPE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9_-]*\Z")
MAX_HANDLE_LENGTH = 30


class HandleTaken(ReviewappError):
    """Someone else goes by this @handle; nothing was changed."""


def for_user(user: AbstractBaseUser) -> Contributor:
    """The user's contributor record, made on first need with a free @handle derived
    from their name, so mentions reach them from the start."""
    contributor = Contributor.objects.filter(user=user).first()
    if contributor is None:
        name = user.get_full_name() or user.get_username().split("@")[0]
        contributor = _create_with_free_handle(
            user, display_name=name, handle=handle_from_name(name)
        )
    return contributor


def sign_up(user: AbstractBaseUser, *, display_name: str, handle: str) -> Contributor:
    """The new user's record, with the name and @handle they chose (shape and
    availability checked by the sign-up form). Should someone take the handle in
    between, the first free one numbered after it: the account exists by now, and a
    sign-up must not fail halfway; they can change it on My work."""
    existing = Contributor.objects.filter(user=user).first()
    if existing is not None:
        return set_identity(user, display_name=display_name, handle=handle)
    return _create_with_free_handle(user, display_name=display_name, handle=handle)


def set_identity(
    user: AbstractBaseUser, *, display_name: str, handle: str
) -> Contributor:
    """The user's name as bylines print it and their @handle (the shape checked by
    the caller). Raises HandleTaken, changing nothing, if another person has it."""
    contributor = for_user(user)
    check_handle_free(handle, of=contributor)
    contributor.display_name, contributor.handle = display_name, handle
    try:
        # The unique constraint settles two people taking one handle at once.
        with transaction.atomic():
            contributor.save(update_fields=["display_name", "handle"])
    except IntegrityError as error:
        raise HandleTaken(_taken(handle)) from error
    return contributor


def check_handle_free(handle: str, *, of: Contributor | None = None) -> None:
    """Raise HandleTaken if someone other than `of` goes by the handle (compared as
    mentions compare it: case-insensitively)."""
    others = Contributor.objects.filter(handle__iexact=handle)
    if of is not None:
        others = others.exclude(pk=of.pk)
    if others.exists():
        raise HandleTaken(_taken(handle))


def handle_from_name(name: str) -> str:
    """A handle of the shape mentions match, made from a name: "Casey Greene" is
    casey-greene; a name with no Latin letters or digits gives "contributor"."""
    handle = slugify(name)[:MAX_HANDLE_LENGTH].strip("-_")
    return handle or "contributor"


def _taken(handle: str) -> str:
    return f"@{handle} is taken; choose another handle."


def _create_with_free_handle(
    user: AbstractBaseUser, *, display_name: str, handle: str
) -> Contributor:
    """A new contributor for the user under the handle or, if taken, the first free
    one numbered after it (handle2, handle3, …)."""
    taken = {
        h.lower()
        for h in Contributor.objects.filter(handle__istartswith=handle).values_list(
            "handle", flat=True
        )
    }
    for n in range(1, 10_000):
        candidate = handle if n == 1 else f"{handle}{n}"
        if candidate.lower() in taken:
            continue
        try:
            with transaction.atomic():
                return Contributor.objects.create(
                    user=user, display_name=display_name, handle=candidate
                )
        except IntegrityError:
            # Taken meanwhile, or the user's own record made by a parallel request.
            existing = Contributor.objects.filter(user=user).first()
            if existing is not None:
                return existing
    raise RuntimeError(f"No free handle starting with {handle!r}.")


# Private feeds
#
# A feed reader can't sign in, so each person's feed addresses carry a token: their
# contributor id and an HMAC (keyed by SECRET_KEY) of that id and their feed key.
# Nothing stored reveals a token; resetting the key revokes every address made with
# the old one. Whoever holds the address reads what that person may read.

FEED_SALT = "sections.contributors.feed"


def feed_token(contributor: Contributor) -> str:
    """The secret part of the contributor's private feed addresses."""
    return f"{contributor.pk}-{_feed_signature(contributor.pk, contributor.feed_key)}"


def reset_feed_token(user: AbstractBaseUser) -> str:
    """Revoke the user's feed addresses and return the new token."""
    contributor = for_user(user)
    contributor.feed_key = get_random_string(32)
    contributor.save(update_fields=["feed_key"])
    return feed_token(contributor)


def user_for_feed_token(token: str) -> AbstractBaseUser | None:
    """The account a feed token was made for; None for a wrong, revoked or
    malformed token, or a person without an active account."""
    pk, _, signature = token.partition("-")
    if not pk.isdigit() or not signature:
        return None
    contributor = Contributor.objects.select_related("user").filter(pk=int(pk)).first()
    if contributor is None or contributor.user is None:
        return None
    expected = _feed_signature(contributor.pk, contributor.feed_key)
    # Constant time: how long a wrong guess takes says nothing of the right one.
    if not constant_time_compare(signature, expected):
        return None
    return contributor.user if contributor.user.is_active else None


def private_feeds(user: AbstractBaseUser) -> list[tuple[Manuscript, str]]:
    """Each manuscript the user may read, with the address of its activity feed
    under the user's token, on the site's configured address (SITE_URL): it is
    given to a feed reader, outside the site."""
    token = feed_token(for_user(user))
    site = settings.SITE_URL.rstrip("/")
    return [
        (
            manuscript,
            site
            + reverse(
                "sections:activity-atom-private",
                kwargs={"manuscript": manuscript.slug, "token": token},
            ),
        )
        for manuscript in Manuscript.objects.order_by("title")
        if permissions.can_read(user, manuscript)
    ]


def _feed_signature(pk: int, feed_key: str) -> str:
    return salted_hmac(FEED_SALT, f"{pk}:{feed_key}", algorithm="sha256").hexdigest()


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

"""Who belongs to a manuscript, and how they got there.

A user's role in a manuscript is a Membership row (sections.permissions reads it).
People join by an emailed invitation (single use, expiring) or by asking, which a
maintainer approves or declines; maintainers change roles and remove members. Each
of these is recorded in the activity log inside its own transaction. Signing up
grants nothing: an account without a membership reads public pages only.

The caller checks permissions (can_moderate for a maintainer's action) first; these
functions enforce the rules that hold whoever asks, such as keeping a maintainer.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from sections import activity, contributors, permissions
from sections.exceptions import ReviewappError
from sections.models import (
    Activity,
    Contributor,
    Invitation,
    JoinRequest,
    Manuscript,
    Membership,
    Role,
)

INVITATION_LIFETIME = timedelta(days=14)
# From most to least a member may do: accepting an invitation never lowers a role.
RANK = [Role.MAINTAINER, Role.AUTHOR, Role.REVIEWER, Role.READER]


class MembershipRejected(ReviewappError):
    """A change to the members that can't be made (the last maintainer leaving, an
    invitation used already); nothing was changed."""


def grant(
    manuscript: Manuscript,
    *,
    user: AbstractBaseUser,
    role: Role,
    by: AbstractBaseUser | None,
) -> Membership:
    """Give the user this role in the manuscript, a member already or not (creators,
    `make_maintainer`, the cast of tests). Recorded in the activity log when it
    changes anything."""
    with transaction.atomic():
        membership, created = Membership.objects.select_for_update().get_or_create(
            manuscript=manuscript, user=user, defaults={"role": role, "granted_by": by}
        )
        if not created and membership.role == role:
            return membership
        if not created:
            _keep_a_maintainer(membership, new_role=role)
            membership.role, membership.granted_by = role, by
            membership.granted_at = timezone.now()
            membership.save(update_fields=["role", "granted_by", "granted_at"])
        _record(manuscript, by=by, summary=f"{_name(user)} is now {with_article(role)}")
    permissions.forget_roles(user)
    return membership


def listed(manuscript: Manuscript) -> list[Membership]:
    """The members, maintainers first, then by name."""
    members = Membership.objects.filter(manuscript=manuscript).select_related(
        "user__contributor", "granted_by__contributor"
    )
    return sorted(members, key=lambda m: (RANK.index(m.role), _name(m.user).lower()))


# Invitations


def invite(
    manuscript: Manuscript,
    *,
    email: str,
    role: Role,
    by: AbstractBaseUser,
    now: datetime | None = None,
) -> Invitation:
    """Email a single-use link that makes whoever accepts it a member with this role.
    A pending invitation to the same address is withdrawn (the newest link counts).
    Raises MembershipRejected if that address's account is a member already. The
    email leaves after commit, so no link points at an invitation never saved."""
    now = now or timezone.now()
    email = email.strip()
    if Membership.objects.filter(
        manuscript=manuscript, user__email__iexact=email
    ).exists():
        raise MembershipRejected(f"{email} is a member already: change their role.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        manuscript.invitations.pending(now=now).filter(email__iexact=email).update(
            revoked_at=now
        )
        invitation = Invitation.objects.create(
            manuscript=manuscript,
            email=email,
            role=role,
            token_digest=_digest(token),
            invited_by=by,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        _record(manuscript, by=by, summary=f"{_name(by)} invited {with_article(role)}")
        link = settings.SITE_URL.rstrip("/") + reverse(
            "sections:invitation", kwargs={"invitation_token": token}
        )
        transaction.on_commit(
            lambda: _send_invitation(invitation, link=link, by=by), robust=True
        )
    return invitation


def invitation_for(token: str) -> Invitation | None:
    """The invitation this link's token belongs to, used or not; None if none."""
    return (
        Invitation.objects.select_related("manuscript", "invited_by__contributor")
        .filter(token_digest=_digest(token))
        .first()
    )


def why_unusable(invitation: Invitation, *, now: datetime | None = None) -> str:
    """Why the invitation can't be accepted, for its page; "" if it can."""
    if invitation.accepted_at:
        return "This invitation has been used already. Ask for a new one."
    if invitation.revoked_at:
        return "This invitation was withdrawn. Ask for a new one."
    if invitation.expires_at <= (now or timezone.now()):
        return "This invitation has expired. Ask for a new one."
    return ""


def accept(
    token: str, *, user: AbstractBaseUser, now: datetime | None = None
) -> Membership:
    """Make the user a member as the invitation says, and use it up. A member
    already keeps a higher role. Raises MembershipRejected for an unknown, used,
    withdrawn or expired invitation."""
    now = now or timezone.now()
    with transaction.atomic():
        # Locked, so the same link opened twice at once makes one member, once.
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_digest=_digest(token))
            .first()
        )
        if invitation is None:
            raise MembershipRejected("This invitation link is not valid.")
        reason = why_unusable(invitation, now=now)
        if reason:
            raise MembershipRejected(reason)
        invitation.accepted_at, invitation.accepted_by = now, user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        membership, created = Membership.objects.select_for_update().get_or_create(
            manuscript=invitation.manuscript,
            user=user,
            defaults={
                "role": invitation.role,
                "granted_by": invitation.invited_by,
                "granted_at": now,
            },
        )
        if not created and RANK.index(invitation.role) < RANK.index(membership.role):
            membership.role, membership.granted_by = (
                invitation.role,
                invitation.invited_by,
            )
            membership.granted_at = now
            membership.save(update_fields=["role", "granted_by", "granted_at"])
        _record(
            invitation.manuscript,
            by=user,
            summary=f"{_name(user)} joined as {with_article(membership.role)}, invited by "
            f"{_name(invitation.invited_by)}",
        )
    permissions.forget_roles(user)
    return membership


def revoke(invitation: Invitation, *, by: AbstractBaseUser) -> None:
    """Withdraw a pending invitation; its link stops working. Revoking one no longer
    pending changes nothing."""
    with transaction.atomic():
        updated = (
            Invitation.objects.pending()
            .filter(pk=invitation.pk)
            .update(revoked_at=timezone.now())
        )
        if updated:
            _record(
                invitation.manuscript,
                by=by,
                summary=f"{_name(by)} withdrew an invitation to {with_article(invitation.role)}",
            )


def pending_invitations(manuscript: Manuscript) -> list[Invitation]:
    return list(
        manuscript.invitations.pending()
        .select_related("invited_by__contributor")
        .order_by("-created_at")
    )


# Requests to join


def ask_to_join(
    manuscript: Manuscript, *, user: AbstractBaseUser, message: str = ""
) -> JoinRequest:
    """Ask the maintainers for a place; the caller checked can_ask_to_join. Asking
    again while a request is open returns that request."""
    with transaction.atomic():
        join_request, created = JoinRequest.objects.get_or_create(
            manuscript=manuscript,
            user=user,
            decided_at=None,
            defaults={"message": message.strip()[:500]},
        )
        if created:
            _record(manuscript, by=user, summary=f"{_name(user)} asked to join")
    return join_request


def open_requests(manuscript: Manuscript) -> list[JoinRequest]:
    return list(
        manuscript.join_requests.filter(decided_at__isnull=True).select_related(
            "user__contributor"
        )
    )


def has_open_request(manuscript: Manuscript, user: AbstractBaseUser) -> bool:
    return manuscript.join_requests.filter(user=user, decided_at__isnull=True).exists()


def decide(
    join_request: JoinRequest,
    *,
    approve: bool,
    role: Role = Role.READER,
    by: AbstractBaseUser,
) -> Membership | None:
    """Approve (with a role) or decline an open request; the member made, if any.
    Raises MembershipRejected if someone decided it already."""
    with transaction.atomic():
        # Locked, so two maintainers deciding at once can't both act on it.
        join_request = (
            JoinRequest.objects.select_for_update()
            .select_related("manuscript", "user")
            .get(pk=join_request.pk)
        )
        if join_request.decided_at:
            raise MembershipRejected("Someone has decided this request already.")
        join_request.decided_at, join_request.decided_by = timezone.now(), by
        join_request.is_approved = approve
        join_request.save(update_fields=["decided_at", "decided_by", "is_approved"])
        manuscript, user = join_request.manuscript, join_request.user
        if not approve:
            _record(
                manuscript,
                by=by,
                summary=f"{_name(by)} declined {_name(user)}'s request to join",
            )
            return None
        membership, _ = Membership.objects.get_or_create(
            manuscript=manuscript, user=user, defaults={"role": role, "granted_by": by}
        )
        _record(
            manuscript,
            by=by,
            summary=f"{_name(by)} let {_name(user)} join as {with_article(membership.role)}",
        )
    permissions.forget_roles(user)
    return membership


# Roles


def change_role(
    membership: Membership, *, role: Role, by: AbstractBaseUser
) -> Membership:
    """Give a member another role. Raises MembershipRejected if that would leave the
    manuscript without a maintainer."""
    with transaction.atomic():
        membership = _locked(membership)
        if membership.role == role:
            return membership
        _keep_a_maintainer(membership, new_role=role)
        membership.role, membership.granted_by = role, by
        membership.granted_at = timezone.now()
        membership.save(update_fields=["role", "granted_by", "granted_at"])
        _record(
            membership.manuscript,
            by=by,
            summary=f"{_name(by)} made {_name(membership.user)} {with_article(role)}",
        )
    permissions.forget_roles(membership.user)
    return membership


def remove(membership: Membership, *, by: AbstractBaseUser) -> None:
    """Take a member's role away: they read the public pages only from now on.
    Raises MembershipRejected for the last maintainer."""
    with transaction.atomic():
        membership = _locked(membership)
        _keep_a_maintainer(membership, new_role=None)
        membership.delete()
        _record(
            membership.manuscript,
            by=by,
            summary=f"{_name(by)} removed {_name(membership.user)} from the members",
        )
    permissions.forget_roles(membership.user)


def _locked(membership: Membership) -> Membership:
    """The membership row, locked; caller holds a transaction. Raises
    MembershipRejected if it is gone."""
    locked = (
        Membership.objects.select_for_update()
        .select_related("manuscript", "user")
        .filter(pk=membership.pk)
        .first()
    )
    if locked is None:
        raise MembershipRejected("This person is no longer a member.")
    return locked


def _keep_a_maintainer(membership: Membership, *, new_role: Role | None) -> None:
    """Raise MembershipRejected if the change leaves the manuscript without a
    maintainer. Caller holds the membership's row lock."""
    if membership.role != Role.MAINTAINER or new_role == Role.MAINTAINER:
        return
    # Lock the other maintainers' rows too: two maintainers demoting each other at
    # once would otherwise both see the other one stay.
    others = list(
        Membership.objects.select_for_update()
        .filter(manuscript_id=membership.manuscript_id, role=Role.MAINTAINER)
        .exclude(pk=membership.pk)
        .values_list("pk", flat=True)
    )
    if not others:
        raise MembershipRejected(
            "A manuscript needs a maintainer: make someone else one first."
        )


# Plumbing


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "The site"
    try:
        # Loaded with the membership by the lists' select_related: no query.
        return str(user.contributor)
    except Contributor.DoesNotExist:
        return str(contributors.for_user(user))


def with_article(role: str) -> str:
    """The role as a sentence names it: "an author", "a reader"."""
    label = Role(role).label.lower()
    return f"an {label}" if label[0] in "aeiou" else f"a {label}"


def _record(
    manuscript: Manuscript, *, by: AbstractBaseUser | None, summary: str
) -> None:
    activity.record(
        manuscript.pk,
        kind=Activity.Kind.MEMBERS,
        summary=summary,
        actor=contributors.for_user(by) if by is not None else None,
        url=reverse("sections:members", kwargs={"manuscript": manuscript.slug}),
    )


def _send_invitation(
    invitation: Invitation, *, link: str, by: AbstractBaseUser
) -> None:
    # One line: a title with a line break in it would make the subject a header
    # Django refuses to send.
    title = " ".join(invitation.manuscript.title.split())
    send_mail(
        subject=f"You are invited to {title}",
        message=(
            f"{_name(by)} invites you to join “{invitation.manuscript.title}” as "
            f"{with_article(invitation.role)}.\n\n"
            f"Accept the invitation here (sign in or create an account first):\n"
            f"{link}\n\n"
            f"The link works once, until "
            f"{invitation.expires_at:%d %B %Y, %H:%M} UTC.\n"
        ),
        from_email=None,
        recipient_list=[invitation.email],
    )

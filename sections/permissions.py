"""Who may do what: the one place that decides.

- The anonymous public reads the public pages only.
- Contributors (anyone signed in) read everything, edit, comment and claim.
- Maintainers also manage structure, triage, other people's claims, references and
  roles. They are members of the Maintainers group (`manage.py make_maintainer`).

`get_*` functions load an object and enforce access: what you may not read is a 404,
so its existence is not revealed; what you may read but not change is a 403.
"""

from __future__ import annotations

from django.contrib.auth.models import (
    AbstractBaseUser,
    AnonymousUser,
    Group,
    Permission,
)
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from sections.models import (
    Claim,
    Comment,
    Contributor,
    Figure,
    LinkRequest,
    Manuscript,
    Proposal,
    Reference,
    Revision,
    Section,
)

MAINTAINERS_GROUP = "Maintainers"

User = AbstractBaseUser | AnonymousUser


def is_contributor(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def is_maintainer(user: User) -> bool:
    if not is_contributor(user):
        return False
    if user.is_superuser:
        return True
    # Cached on the user object: templates and views ask several times per request.
    if not hasattr(user, "_is_maintainer"):
        user._is_maintainer = user.groups.filter(name=MAINTAINERS_GROUP).exists()
    return user._is_maintainer


def can_read(user: User, manuscript: Manuscript) -> bool:
    """Read the working manuscript: every section, claims, TODOs, comments."""
    return is_contributor(user)


def can_write(user: User, manuscript: Manuscript) -> bool:
    """Edit sections, comment, claim sections for oneself."""
    return is_contributor(user)


def can_moderate(user: User, manuscript: Manuscript) -> bool:
    """Structure, triage, anyone's claims, references, roles."""
    return is_maintainer(user)


def can_release(user: User, claim: Claim) -> bool:
    own = claim.contributor.user_id is not None and claim.contributor.user_id == user.pk
    return is_contributor(user) and (
        own or can_moderate(user, claim.section.manuscript)
    )


def get_manuscript(user: User, slug: str, *, moderate: bool = False) -> Manuscript:
    manuscript = Manuscript.objects.filter(slug=slug).first()
    if manuscript is None or not can_read(user, manuscript):
        raise Http404("No such manuscript.")
    if moderate and not can_moderate(user, manuscript):
        raise PermissionDenied("Only maintainers may do this.")
    return manuscript


def can_see_figures(user: User, manuscript: Manuscript) -> bool:
    """Load a manuscript's figure files: its readers, and everyone for the site's
    first manuscript, whose pages are public (/preview/, its versions at /v/)."""
    if can_read(user, manuscript):
        return True
    first = Manuscript.objects.order_by("created_at", "pk").values("pk")[:1]
    return manuscript.pk == first.get()["pk"]


def get_figure(user: User, manuscript_slug: str, path: str) -> Figure:
    """A figure file to serve; 404 alike for none and for one the user may not see."""
    figure = (
        Figure.objects.select_related("manuscript", "uploaded_by")
        .filter(manuscript__slug=manuscript_slug, path=path)
        .first()
    )
    if figure is None or not can_see_figures(user, figure.manuscript):
        raise Http404("No such figure.")
    return figure


def get_section(
    user: User,
    manuscript_slug: str,
    slug: str,
    *,
    write: bool = False,
    moderate: bool = False,
) -> Section:
    section = (
        Section.objects.select_related("manuscript", "parent")
        .filter(manuscript__slug=manuscript_slug, slug=slug)
        .first()
    )
    if section is None or not can_read(user, section.manuscript):
        raise Http404("No such section.")
    if section.removed_at and not can_moderate(user, section.manuscript):
        raise Http404("No such section.")
    if write and not can_write(user, section.manuscript):
        raise PermissionDenied("You may not change this section.")
    if moderate and not can_moderate(user, section.manuscript):
        raise PermissionDenied("Only maintainers may change this.")
    return section


def _readable_claim(user: User, pk: int) -> Claim:
    claim = (
        Claim.objects.select_related("section__manuscript", "contributor")
        .filter(pk=pk)
        .first()
    )
    if claim is None or not can_read(user, claim.section.manuscript):
        raise Http404("No such claim.")
    return claim


def get_claim(user: User, pk: int) -> Claim:
    claim = _readable_claim(user, pk)
    if not can_release(user, claim):
        raise PermissionDenied(
            "Only the claimant or a maintainer may release this claim."
        )
    return claim


def get_revision(user: User, pk: int, *, write: bool = False) -> Revision:
    revision = (
        Revision.objects.select_related("section__manuscript", "author")
        .filter(pk=pk)
        .first()
    )
    if revision is None:
        raise Http404("No such revision.")
    # Reading a revision is reading its section: the same rules, removed ones too.
    get_section(
        user, revision.section.manuscript.slug, revision.section.slug, write=write
    )
    return revision


def get_reference(user: User, pk: int, *, moderate: bool = False) -> Reference:
    reference = (
        Reference.objects.select_related("manuscript", "alias_of").filter(pk=pk).first()
    )
    if reference is None or not can_read(user, reference.manuscript):
        raise Http404("No such reference.")
    if moderate and not can_moderate(user, reference.manuscript):
        raise PermissionDenied("Only maintainers may change references.")
    return reference


def make_maintainer(user: AbstractBaseUser) -> None:
    """Add the user to the Maintainers group, with access to the admin."""
    group, _ = Group.objects.get_or_create(name=MAINTAINERS_GROUP)
    # In the admin, maintainers look the manuscript's records up and change a
    # manuscript's settings; content changes go through the application (see
    # sections/admin.py). No permission on accounts or groups: whoever may change
    # users may make themselves superuser. Set again on every call, so running the
    # command takes back what an older version of it granted.
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="sections").filter(
            Q(codename__startswith="view_") | Q(codename="change_manuscript")
        )
    )
    user.groups.add(group)
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])


def can_change_comment(user: User, comment: Comment) -> bool:
    """Edit or delete a comment: its author, or a maintainer."""
    own = comment.author.user_id is not None and comment.author.user_id == user.pk
    return is_contributor(user) and (
        own or can_moderate(user, comment.section.manuscript)
    )


def get_comment(
    user: User,
    pk: int,
    *,
    write: bool = False,
    discuss: bool = False,
    moderate: bool = False,
) -> Comment:
    """The comment, if the user may read it (else 404). `write`: edit or delete it;
    `discuss`: reply, resolve or reopen its thread; `moderate`: maintainers' actions
    such as making it a TODO. A 403 when the user may read but not do that."""
    comment = (
        Comment.objects.select_related("section__manuscript", "author")
        .filter(pk=pk)
        .first()
    )
    if comment is None or not can_read(user, comment.section.manuscript):
        raise Http404("No such comment.")
    manuscript = comment.section.manuscript
    # Comments on a removed section are as hidden as the section itself.
    if comment.section.removed_at and not can_moderate(user, manuscript):
        raise Http404("No such comment.")
    if write and not can_change_comment(user, comment):
        raise PermissionDenied("Only its author or a maintainer may change a comment.")
    if discuss and not can_write(user, manuscript):
        raise PermissionDenied("You may not take part in this discussion.")
    if moderate and not can_moderate(user, manuscript):
        raise PermissionDenied("Only maintainers may do this.")
    return comment


# Claims and my work


def can_request_link(user: User, contributor: Contributor) -> bool:
    """Ask to be linked to a contributor: anyone signed in, for one without an
    account (the rules beyond that are contributors.request_link's)."""
    return is_contributor(user) and contributor.user_id is None


def can_decide_links(user: User) -> bool:
    """Approve or decline link requests: they hand a person's record to an account,
    so maintainers only."""
    return is_maintainer(user)


def get_claim_to_read(user: User, pk: int) -> Claim:
    """The claim, if the user may read its manuscript (else 404)."""
    claim = _readable_claim(user, pk)
    if claim.section.removed_at and not can_moderate(user, claim.section.manuscript):
        raise Http404("No such claim.")
    return claim


def get_link_request(user: User, pk: int) -> LinkRequest:
    """An open or decided link request, for someone who may decide it: others get a
    403 if signed in (the claims page shows requests to maintainers only)."""
    if not is_contributor(user):
        raise Http404("No such request.")
    if not can_decide_links(user):
        raise PermissionDenied("Only maintainers decide who is who.")
    link_request = (
        LinkRequest.objects.select_related("contributor", "user").filter(pk=pk).first()
    )
    if link_request is None:
        raise Http404("No such request.")
    return link_request


# Triage board


def get_manuscript_to_triage(user: User, slug: str) -> Manuscript:
    """The manuscript, for a maintainer's triage: 404 unless readable, 403 unless
    the user may moderate it."""
    manuscript = get_manuscript(user, slug)
    if not can_moderate(user, manuscript):
        raise PermissionDenied("Only maintainers triage TODO items.")
    return manuscript


# Proposals


def can_propose(user: User, manuscript: Manuscript) -> bool:
    """Propose a change to a section instead of saving it. For now every reader;
    per-manuscript roles will say who may."""
    return is_contributor(user) and can_read(user, manuscript)


def can_review_proposal(user: User, proposal: Proposal) -> bool:
    """Review a proposal (and comment on its hunks): any reader but its author,
    whose own approval would count for nothing."""
    return (
        is_contributor(user)
        and can_read(user, proposal.section.manuscript)
        and proposal.author.user_id != user.pk
    )


def can_decide_proposal(user: User, proposal: Proposal) -> bool:
    """Accept or reject a proposal: the section's claimants and maintainers."""
    if not is_contributor(user):
        return False
    if can_moderate(user, proposal.section.manuscript):
        return True
    return proposal.section.claims.active().filter(contributor__user=user).exists()


def can_overrule_reviews(user: User, proposal: Proposal) -> bool:
    """Decide a disputed proposal (a reviewer asked for changes): maintainers."""
    return can_moderate(user, proposal.section.manuscript)


def can_withdraw_proposal(user: User, proposal: Proposal) -> bool:
    return is_contributor(user) and proposal.author.user_id == user.pk


def get_proposal(user: User, pk: int, *, to: str = "read") -> Proposal:
    """The proposal, if the user may read its section (else 404), and do `to` with
    it: "read", "comment" (on a hunk: reviewers and its author), "review",
    "decide", "withdraw"; a 403 when they may read but not do that."""
    proposal = (
        Proposal.objects.select_related(
            "section__manuscript", "author", "base_revision", "decided_by"
        )
        .filter(pk=pk)
        .first()
    )
    if proposal is None or not can_read(user, proposal.section.manuscript):
        raise Http404("No such proposal.")
    if proposal.section.removed_at and not can_moderate(
        user, proposal.section.manuscript
    ):
        raise Http404("No such proposal.")
    allowed = {
        "read": lambda: True,
        "comment": lambda: (
            can_review_proposal(user, proposal) or can_withdraw_proposal(user, proposal)
        ),
        "review": lambda: can_review_proposal(user, proposal),
        "decide": lambda: can_decide_proposal(user, proposal),
        "withdraw": lambda: can_withdraw_proposal(user, proposal),
    }[to]
    if not allowed():
        raise PermissionDenied(PROPOSAL_REFUSALS[to])
    return proposal


PROPOSAL_REFUSALS = {
    "comment": "You may not comment on this proposal.",
    "review": "You may not review this proposal (its author can't review it).",
    "decide": "Only the section's claimants and maintainers decide proposals.",
    "withdraw": "Only its author may withdraw a proposal.",
}

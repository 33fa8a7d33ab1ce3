"""Who may do what: the one place that decides.

Roles are per manuscript (`Membership`, written by sections.members):

- readers read the working manuscript: sections, claims, TODOs, comments, history;
- reviewers read and comment (and propose changes);
- authors also edit, claim sections and propose;
- maintainers also manage structure, triage, anyone's claims, references, settings
  and members. Superusers maintain every manuscript.

Anyone else (signed in without a membership, or anonymous) reads the public pages of
a public or unlisted manuscript (/preview/, its versions at /v/, its figures) and
nothing of a private one.

`get_*` functions load an object and enforce access. A private manuscript the user
is no member of is a 404, the same answer as a missing one, so its existence is not
revealed; a public or unlisted one they may not read or change is a 403, whose
message says why (and the members page offers to ask to join).
"""

from __future__ import annotations

from django.contrib.auth.models import (
    AbstractBaseUser,
    AnonymousUser,
    Group,
    Permission,
)
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from sections.models import (
    Claim,
    Comment,
    Contributor,
    Figure,
    Invitation,
    JoinRequest,
    LinkRequest,
    Manuscript,
    Membership,
    Proposal,
    Reference,
    Revision,
    Role,
    Section,
)

MAINTAINERS_GROUP = "Maintainers"

User = AbstractBaseUser | AnonymousUser

READERS = {Role.READER, Role.REVIEWER, Role.AUTHOR, Role.MAINTAINER}
COMMENTERS = {Role.REVIEWER, Role.AUTHOR, Role.MAINTAINER}
WRITERS = {Role.AUTHOR, Role.MAINTAINER}
PROPOSERS = {Role.REVIEWER, Role.AUTHOR, Role.MAINTAINER}


def is_contributor(user: User) -> bool:
    """Signed in with an active account (which by itself grants nothing)."""
    return bool(user.is_authenticated and user.is_active)


def role_of(user: User, manuscript: Manuscript) -> Role | None:
    """The user's role in the manuscript, or None for no membership. Superusers
    maintain every manuscript."""
    if not is_contributor(user):
        return None
    if user.is_superuser:
        return Role.MAINTAINER
    roles = _roles(user)
    if manuscript.pk not in roles:
        _load_all_roles(user)
    return roles.get(manuscript.pk)


def forget_roles(user: User) -> None:
    """Drop the roles cached on this user object, after they changed."""
    for cached in ("_manuscript_roles", "_all_roles_loaded"):
        if hasattr(user, cached):
            delattr(user, cached)


def is_maintainer(user: User) -> bool:
    """Maintains at least one manuscript (or is a superuser): the site-wide chores,
    such as deciding who is who among contributors, are theirs."""
    if not is_contributor(user):
        return False
    if user.is_superuser:
        return True
    _load_all_roles(user)
    return Role.MAINTAINER in _roles(user).values()


# Roles are cached on the user object: a page asks several times per request, and
# request.user is loaded afresh for each request. The get_* functions below read the
# role with the object they fetch (one query for both); any other question loads all
# of the user's memberships at once (one query per request however many manuscripts
# a page shows). sections.members forgets them after a change.


def _roles(user: AbstractBaseUser) -> dict[int, Role | None]:
    # Attributes, not user.__dict__: request.user is a lazy object that passes
    # attribute reads and writes on to the user, but has a __dict__ of its own.
    if not hasattr(user, "_manuscript_roles"):
        user._manuscript_roles = {}
    return user._manuscript_roles


def _load_all_roles(user: AbstractBaseUser) -> None:
    if getattr(user, "_all_roles_loaded", False):
        return
    roles = _roles(user)
    loaded = dict(
        Membership.objects.filter(user=user)
        .order_by()
        .values_list("manuscript_id", "role")
    )
    for manuscript_pk in roles.keys() - loaded.keys():
        roles[manuscript_pk] = None
    roles.update({pk: Role(role) for pk, role in loaded.items()})
    user._all_roles_loaded = True


def _with_viewer_role(queryset: QuerySet, user: User, manuscript_id: str) -> QuerySet:
    """The queryset with the user's role in each row's manuscript (at the field path
    `manuscript_id`) as `viewer_role`, read in the same query."""
    if not is_contributor(user) or user.is_superuser:
        return queryset
    return queryset.annotate(
        viewer_role=Subquery(
            Membership.objects.filter(
                manuscript_id=OuterRef(manuscript_id), user_id=user.pk
            ).values("role")[:1]
        )
    )


def _remember_role(user: User, manuscript: Manuscript, row: object) -> None:
    """Cache the role _with_viewer_role read with `row`."""
    if hasattr(row, "viewer_role"):
        _roles(user)[manuscript.pk] = Role(row.viewer_role) if row.viewer_role else None


def can_read(user: User, manuscript: Manuscript) -> bool:
    """Read the working manuscript: every section, claims, TODOs, comments."""
    return role_of(user, manuscript) in READERS


def can_comment(user: User, manuscript: Manuscript) -> bool:
    """Comment, reply, resolve and reopen threads: reviewers, authors, maintainers."""
    return role_of(user, manuscript) in COMMENTERS


def can_write(user: User, manuscript: Manuscript) -> bool:
    """Edit sections, comment, claim sections for oneself: authors and maintainers."""
    return role_of(user, manuscript) in WRITERS


def can_moderate(user: User, manuscript: Manuscript) -> bool:
    """Structure, triage, anyone's claims, references, settings, members."""
    return role_of(user, manuscript) == Role.MAINTAINER


def can_propose(user: User, manuscript: Manuscript) -> bool:
    """Propose a change to a section (suggest mode): reviewers, authors and
    maintainers, and any signed-in user if the manuscript takes proposals from
    everyone and is not private."""
    if role_of(user, manuscript) in PROPOSERS:
        return True
    return (
        is_contributor(user)
        and manuscript.proposals_from == Manuscript.ProposalsFrom.SIGNED_IN
        and manuscript.visibility != Manuscript.Visibility.PRIVATE
    )


def can_ask_to_join(user: User, manuscript: Manuscript) -> bool:
    """Ask the maintainers for a role: signed-in non-members of a manuscript that is
    not private (a private one takes members by invitation only)."""
    return (
        is_contributor(user)
        and role_of(user, manuscript) is None
        and manuscript.visibility != Manuscript.Visibility.PRIVATE
    )


def _refuse_reading(user: User, manuscript: Manuscript, missing: str) -> None:
    """Raise unless the user may read the manuscript: 404 (as if missing) for a
    private one, 403 for one whose existence is no secret."""
    if can_read(user, manuscript):
        return
    if manuscript.visibility == Manuscript.Visibility.PRIVATE:
        raise Http404(missing)
    raise PermissionDenied(
        "Only members of this manuscript may see this; ask its maintainers to join "
        "on its members page."
    )


def can_release(user: User, claim: Claim) -> bool:
    """Release a claim: the claimant while still a member, or a maintainer."""
    manuscript = claim.section.manuscript
    own = claim.contributor.user_id is not None and claim.contributor.user_id == user.pk
    return (own and can_read(user, manuscript)) or can_moderate(user, manuscript)


def get_manuscript(user: User, slug: str, *, moderate: bool = False) -> Manuscript:
    """The manuscript, if the user may read it (404 if missing or private to them,
    403 if not a member of a public one); `moderate`: 403 unless a maintainer."""
    manuscript = _with_viewer_role(
        Manuscript.objects.filter(slug=slug), user, "pk"
    ).first()
    if manuscript is None:
        raise Http404("No such manuscript.")
    _remember_role(user, manuscript, manuscript)
    _refuse_reading(user, manuscript, "No such manuscript.")
    if moderate and not can_moderate(user, manuscript):
        raise PermissionDenied("Only maintainers may do this.")
    return manuscript


def can_read_public(user: User, manuscript: Manuscript) -> bool:
    """Read the manuscript's public pages: its preview, its search, its versions and
    the figures they show. Everyone for a public or unlisted manuscript (asked before
    the user: such a page never loads the reader's session), members only for a
    private one; this is the one place that rule lives."""
    return manuscript.visibility != Manuscript.Visibility.PRIVATE or can_read(
        user, manuscript
    )


def get_public_manuscript(user: User, slug: str) -> Manuscript:
    """The manuscript whose public pages the user asks for; 404 alike for none and for
    one the user may not read."""
    manuscript = Manuscript.objects.filter(slug=slug).first()
    if manuscript is None or not can_read_public(user, manuscript):
        raise Http404("No such manuscript.")
    return manuscript


def get_manuscript_to_view_members(user: User, slug: str) -> Manuscript:
    """The manuscript whose members page the user opens: its members, and anyone
    signed in for a public or unlisted one (where they may ask to join); 404 for a
    private one they are no member of."""
    manuscript = Manuscript.objects.filter(slug=slug).first()
    if manuscript is None or not (
        can_read(user, manuscript)
        or (
            is_contributor(user)
            and manuscript.visibility != Manuscript.Visibility.PRIVATE
        )
    ):
        raise Http404("No such manuscript.")
    return manuscript


def get_figure(user: User, manuscript_slug: str, path: str) -> Figure:
    """A figure file to serve; 404 alike for none and for one the user may not see."""
    figure = _with_viewer_role(
        Figure.objects.select_related("manuscript", "uploaded_by").filter(
            manuscript__slug=manuscript_slug, path=path
        ),
        user,
        "manuscript_id",
    ).first()
    if figure is not None:
        _remember_role(user, figure.manuscript, figure)
    if figure is None or not can_read_public(user, figure.manuscript):
        raise Http404("No such figure.")
    return figure


def get_section_to_edit(
    user: User, manuscript_slug: str, slug: str, *, save: bool
) -> Section:
    """The section for its editor: authors and maintainers open it and save; whoever
    may only propose (reviewers) opens it to propose and preview, not to save."""
    section = get_section(user, manuscript_slug, slug)
    if can_write(user, section.manuscript):
        return section
    if not save and can_propose(user, section.manuscript):
        return section
    raise PermissionDenied("You may not change this section.")


def get_section(
    user: User,
    manuscript_slug: str,
    slug: str,
    *,
    write: bool = False,
    comment: bool = False,
    moderate: bool = False,
) -> Section:
    """The section, if the user may read it; `write`: edit or claim it (authors);
    `comment`: comment on it (reviewers too); `moderate`: maintainers' changes."""
    section = _with_viewer_role(
        Section.objects.select_related("manuscript", "parent").filter(
            manuscript__slug=manuscript_slug, slug=slug
        ),
        user,
        "manuscript_id",
    ).first()
    if section is None:
        raise Http404("No such section.")
    _remember_role(user, section.manuscript, section)
    _refuse_reading(user, section.manuscript, "No such section.")
    if section.removed_at and not can_moderate(user, section.manuscript):
        raise Http404("No such section.")
    if write and not can_write(user, section.manuscript):
        raise PermissionDenied("You may not change this section.")
    if comment and not can_comment(user, section.manuscript):
        raise PermissionDenied("You may not comment on this section.")
    if moderate and not can_moderate(user, section.manuscript):
        raise PermissionDenied("Only maintainers may change this.")
    return section


def _readable_claim(user: User, pk: int) -> Claim:
    claim = _with_viewer_role(
        Claim.objects.select_related("section__manuscript", "contributor").filter(
            pk=pk
        ),
        user,
        "section__manuscript_id",
    ).first()
    if claim is None:
        raise Http404("No such claim.")
    _remember_role(user, claim.section.manuscript, claim)
    _refuse_reading(user, claim.section.manuscript, "No such claim.")
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
    reference = _with_viewer_role(
        Reference.objects.select_related("manuscript", "alias_of").filter(pk=pk),
        user,
        "manuscript_id",
    ).first()
    if reference is None:
        raise Http404("No such reference.")
    _remember_role(user, reference.manuscript, reference)
    _refuse_reading(user, reference.manuscript, "No such reference.")
    if moderate and not can_moderate(user, reference.manuscript):
        raise PermissionDenied("Only maintainers may change references.")
    return reference


def make_maintainer(user: AbstractBaseUser) -> None:
    """Make the user a maintainer of every manuscript there is, with access to the
    admin (the site-wide maintainer `manage.py make_maintainer EMAIL` makes)."""
    from sections import members  # members asks this module; imported when used

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
    for manuscript in Manuscript.objects.all():
        members.grant(manuscript, user=user, role=Role.MAINTAINER, by=None)


def can_change_comment(user: User, comment: Comment) -> bool:
    """Edit or delete a comment: its author while still able to comment, or a
    maintainer."""
    manuscript = comment.section.manuscript
    own = comment.author.user_id is not None and comment.author.user_id == user.pk
    return (own and can_comment(user, manuscript)) or can_moderate(user, manuscript)


def get_comment(
    user: User,
    pk: int,
    *,
    write: bool = False,
    discuss: bool = False,
    moderate: bool = False,
) -> Comment:
    """The comment, if the user may read it (else 404, or 403 on a public
    manuscript). `write`: edit or delete it; `discuss`: reply, resolve or reopen its
    thread (reviewers too); `moderate`: maintainers' actions such as making it a
    TODO. A 403 when the user may read but not do that."""
    comment = _with_viewer_role(
        Comment.objects.select_related("section__manuscript", "author").filter(pk=pk),
        user,
        "section__manuscript_id",
    ).first()
    if comment is None:
        raise Http404("No such comment.")
    _remember_role(user, comment.section.manuscript, comment)
    manuscript = comment.section.manuscript
    _refuse_reading(user, manuscript, "No such comment.")
    # Comments on a removed section are as hidden as the section itself.
    if comment.section.removed_at and not can_moderate(user, manuscript):
        raise Http404("No such comment.")
    if write and not can_change_comment(user, comment):
        raise PermissionDenied("Only its author or a maintainer may change a comment.")
    if discuss and not can_comment(user, manuscript):
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
    so maintainers only (of any manuscript: contributor records are site-wide)."""
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


def get_manuscript_to_decide_links(user: User, slug: str) -> Manuscript:
    """The manuscript whose claims page a link decision comes from: 404 unless
    readable, 403 unless the user may decide link requests."""
    manuscript = get_manuscript(user, slug)
    if not can_decide_links(user):
        raise PermissionDenied("Only maintainers decide who is who.")
    return manuscript


# Figures


def get_manuscript_to_add_figures(user: User, slug: str) -> Manuscript:
    """The manuscript, for an upload of a figure file: 404 unless readable, 403
    unless the user may write it."""
    manuscript = get_manuscript(user, slug)
    if not can_write(user, manuscript):
        raise PermissionDenied("You may not add figures here.")
    return manuscript


def is_public(manuscript: Manuscript) -> bool:
    """Whether anyone, signed in or not, may read the manuscript's public pages (so
    shared caches may keep them)."""
    return can_read_public(AnonymousUser(), manuscript)


# Flags on a page's rows, for templates: computed here once per page, so a
# template reads a flag and decides nothing.


def flag_comments(
    user: User, threads: list[Comment], *, manuscript: Manuscript
) -> list[Comment]:
    """Mark each shown comment (the threads and their `shown_replies`, as
    selectors.comments_for returns them) with `can_change` (edit or delete it; a
    deleted one has nothing left to change) and `can_make_todo` (not a TODO item
    yet, and the user may moderate)."""
    moderate = can_moderate(user, manuscript)
    for thread in threads:
        for comment in [thread, *thread.shown_replies]:
            is_present = comment.deleted_at is None
            comment.can_change = is_present and can_change_comment(user, comment)
            comment.can_make_todo = is_present and moderate and not comment.has_todo
    return threads


def flag_claims(
    user: User,
    claims: list[Claim],
    *,
    requested: set[int] | frozenset[int] = frozenset(),
) -> list[Claim]:
    """Mark each claim with `can_release` and `can_request_link` (the "This is me"
    button: not for a claimant the user has asked to be already, `requested`)."""
    for claim in claims:
        claim.can_release = can_release(user, claim)
        claim.can_request_link = (
            can_request_link(user, claim.contributor)
            and claim.contributor_id not in requested
        )
    return claims


def can_claim(user: User, section: Section, *, claims: list[Claim]) -> bool:
    """Claim the section: a user who may write it and is not among its claimants
    (`claims`, its active claims with their contributors) already."""
    has_claimed = any(claim.contributor.user_id == user.pk for claim in claims)
    return can_write(user, section.manuscript) and not has_claimed


# Members


def get_membership(user: User, pk: int) -> Membership:
    """A membership to change or remove: maintainers of its manuscript only (404 if
    the user may not read it, 403 if they may but do not maintain it)."""
    membership = (
        Membership.objects.select_related("manuscript", "user").filter(pk=pk).first()
    )
    if membership is None:
        raise Http404("No such member.")
    _refuse_moderating(user, membership.manuscript, "No such member.")
    return membership


def get_invitation(user: User, pk: int) -> Invitation:
    """An invitation to withdraw: maintainers of its manuscript only."""
    invitation = Invitation.objects.select_related("manuscript").filter(pk=pk).first()
    if invitation is None:
        raise Http404("No such invitation.")
    _refuse_moderating(user, invitation.manuscript, "No such invitation.")
    return invitation


def get_join_request(user: User, pk: int) -> JoinRequest:
    """A request to join, to decide: maintainers of its manuscript only."""
    join_request = (
        JoinRequest.objects.select_related("manuscript", "user").filter(pk=pk).first()
    )
    if join_request is None:
        raise Http404("No such request.")
    _refuse_moderating(user, join_request.manuscript, "No such request.")
    return join_request


def _refuse_moderating(user: User, manuscript: Manuscript, missing: str) -> None:
    _refuse_reading(user, manuscript, missing)
    if not can_moderate(user, manuscript):
        raise PermissionDenied("Only maintainers manage the members.")


# Proposals


def can_review_proposal(user: User, proposal: Proposal) -> bool:
    """Review a proposal (and comment on its hunks): whoever may comment in its
    manuscript (reviewers, authors, maintainers) but its author, whose own approval
    would count for nothing."""
    return (
        can_comment(user, proposal.section.manuscript)
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
    if proposal is None:
        raise Http404("No such proposal.")
    _refuse_reading(user, proposal.section.manuscript, "No such proposal.")
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

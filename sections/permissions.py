"""Who may do what: the one place that decides.

- The anonymous public reads the public pages only: a manuscript's preview, its
  search and its versions, for the manuscripts `can_read_public` lets it read.
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


def can_read_public(user: User, manuscript: Manuscript) -> bool:
    """Read the manuscript's public pages: its preview, its search, its versions and
    the figures they show. For now the site's first manuscript is public and the
    others are their readers'; this is the one place that rule lives."""
    # Until manuscripts say who may read them (their visibility), the site's first
    # manuscript is the public one, as it was when /preview/ served it alone. Asked
    # before the user: a public page then never loads the reader's session. Kept on
    # the manuscript object, since a page asks again (is_public, for its caching).
    if not hasattr(manuscript, "_is_site_first"):
        first = Manuscript.objects.site_first()
        manuscript._is_site_first = first is not None and manuscript.pk == first.pk
    return manuscript._is_site_first or can_read(user, manuscript)


def get_public_manuscript(user: User, slug: str) -> Manuscript:
    """The manuscript whose public pages the user asks for; 404 alike for none and for
    one the user may not read."""
    manuscript = Manuscript.objects.filter(slug=slug).first()
    if manuscript is None or not can_read_public(user, manuscript):
        raise Http404("No such manuscript.")
    return manuscript


def get_figure(user: User, manuscript_slug: str, path: str) -> Figure:
    """A figure file to serve; 404 alike for none and for one the user may not see."""
    figure = (
        Figure.objects.select_related("manuscript", "uploaded_by")
        .filter(manuscript__slug=manuscript_slug, path=path)
        .first()
    )
    if figure is None or not can_read_public(user, figure.manuscript):
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

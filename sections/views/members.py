"""A manuscript's members and settings: the members page, invitations (sent, accepted,
withdrawn), requests to join, role changes, and the maintainers' settings page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
)

from sections import manuscripts, members, permissions
from sections.forms import (
    InviteForm,
    JoinDecisionForm,
    JoinRequestForm,
    ManuscriptSettingsForm,
    RoleForm,
)
from sections.models import Invitation, Manuscript, Role


@require_GET
@login_required
def members_page(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Who belongs: for maintainers with what they manage (invitations, requests,
    roles); for a signed-in non-member of a public manuscript, a way to ask in."""
    manuscript_ = permissions.get_manuscript_to_view_members(request.user, manuscript)
    return _members_page(request, manuscript_)


@require_POST
@login_required
def invite(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript(request.user, manuscript, moderate=True)
    form = InviteForm(request.POST)
    if form.is_valid():
        try:
            invitation = members.invite(
                manuscript_,
                email=form.cleaned_data["email"],
                role=Role(form.cleaned_data["role"]),
                by=request.user,
            )
        except members.MembershipRejected as error:
            form.add_error("email", str(error))
        else:
            messages.success(
                request,
                f"Invited {invitation.email} as {invitation.get_role_display()}; "
                "the link in their email works once.",
            )
            return redirect("sections:members", manuscript=manuscript_.slug)
    return _members_page(request, manuscript_, invite_form=form, status=422)


@require_POST
@login_required
def revoke_invitation(request: HttpRequest, pk: int) -> HttpResponse:
    invitation = permissions.get_invitation(request.user, pk)
    members.revoke(invitation, by=request.user)
    messages.success(request, f"Withdrew the invitation to {invitation.email}.")
    return redirect("sections:members", manuscript=invitation.manuscript.slug)


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, invitation_token: str) -> HttpResponse:
    """The emailed link. Signed in: accept it (POST). Not signed in: sign in or sign
    up first, and come back here. Used, withdrawn or expired: say so (410)."""
    invitation_ = members.invitation_for(invitation_token)
    if invitation_ is None:
        return _invitation_page(
            request, None, refused="This invitation link is not valid.", status=404
        )
    refused = members.why_unusable(invitation_)
    if refused:
        return _invitation_page(request, invitation_, refused=refused, status=410)
    if request.method == "GET":
        return _invitation_page(request, invitation_)
    if not permissions.is_contributor(request.user):
        return redirect_to_login(request.get_full_path())
    try:
        membership = members.accept(invitation_token, user=request.user)
    except members.MembershipRejected as error:
        return _invitation_page(request, invitation_, refused=str(error), status=410)
    messages.success(
        request,
        f"Welcome to {invitation_.manuscript.title}: you are "
        f"{membership.get_role_display().lower()}.",
    )
    return redirect("sections:home")


@require_POST
@login_required
def ask_to_join(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript_to_view_members(request.user, manuscript)
    if not permissions.can_ask_to_join(request.user, manuscript_):
        raise PermissionDenied("You are a member of this manuscript already.")
    form = JoinRequestForm(request.POST)
    if not form.is_valid():
        return _members_page(request, manuscript_, join_form=form, status=422)
    members.ask_to_join(
        manuscript_, user=request.user, message=form.cleaned_data["message"]
    )
    messages.success(request, "Asked the maintainers; they will decide.")
    return redirect("sections:members", manuscript=manuscript_.slug)


@require_POST
@login_required
def decide_join_request(request: HttpRequest, pk: int) -> HttpResponse:
    join_request = permissions.get_join_request(request.user, pk)
    form = JoinDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to approve or decline the request.")
        return _members_page(request, join_request.manuscript, status=422)
    approve = form.cleaned_data["decision"] == "approve"
    try:
        members.decide(
            join_request,
            approve=approve,
            role=Role(form.cleaned_data["role"] or Role.READER),
            by=request.user,
        )
    except members.MembershipRejected as error:
        messages.error(request, str(error))
    else:
        verb = "Approved" if approve else "Declined"
        messages.success(request, f"{verb} {join_request.user.email}'s request.")
    return redirect("sections:members", manuscript=join_request.manuscript.slug)


@require_POST
@login_required
def change_role(request: HttpRequest, pk: int) -> HttpResponse:
    membership = permissions.get_membership(request.user, pk)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return _members_page(request, membership.manuscript, status=422)
    try:
        members.change_role(
            membership, role=Role(form.cleaned_data["role"]), by=request.user
        )
    except members.MembershipRejected as error:
        messages.error(request, str(error))
        return _members_page(request, membership.manuscript, status=409)
    messages.success(request, f"Changed {membership.user.email}'s role.")
    return redirect("sections:members", manuscript=membership.manuscript.slug)


@require_POST
@login_required
def remove_member(request: HttpRequest, pk: int) -> HttpResponse:
    membership = permissions.get_membership(request.user, pk)
    try:
        members.remove(membership, by=request.user)
    except members.MembershipRejected as error:
        messages.error(request, str(error))
        return _members_page(request, membership.manuscript, status=409)
    messages.success(request, f"Removed {membership.user.email} from the members.")
    return redirect("sections:members", manuscript=membership.manuscript.slug)


@require_http_methods(["GET", "POST"])
@login_required
def manuscript_settings(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Maintainers' settings: title, visibility, who may propose, approvals."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript, moderate=True)
    if request.method == "GET":
        form = ManuscriptSettingsForm(
            initial={
                "title": manuscript_.title,
                "visibility": manuscript_.visibility,
                "proposals_from": manuscript_.proposals_from,
                "approvals_required": manuscript_.approvals_required,
            }
        )
        return _settings_page(request, manuscript_, form)
    form = ManuscriptSettingsForm(request.POST)
    if form.is_valid():
        try:
            manuscripts.change_settings(
                manuscript_, by=request.user, **form.cleaned_data
            )
        except manuscripts.SettingsRejected as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Saved the settings.")
            return redirect("sections:manuscript-settings", manuscript=manuscript_.slug)
    return _settings_page(request, manuscript_, form, status=422)


def _members_page(
    request: HttpRequest,
    manuscript: Manuscript,
    *,
    invite_form: InviteForm | None = None,
    join_form: JoinRequestForm | None = None,
    status: int = 200,
) -> HttpResponse:
    my_role = permissions.role_of(request.user, manuscript)
    can_manage = permissions.can_moderate(request.user, manuscript)
    is_member = permissions.can_read(request.user, manuscript)
    can_ask = permissions.can_ask_to_join(request.user, manuscript)
    has_asked = can_ask and members.has_open_request(manuscript, request.user)
    return render(
        request,
        "sections/members.html",
        {
            "manuscript": manuscript,
            # Members see each other; someone outside sees how to ask in.
            "memberships": members.listed(manuscript) if is_member else [],
            "my_role": my_role,
            "my_role_phrase": members.with_article(my_role) if my_role else "",
            "can_manage": can_manage,
            "invitations": members.pending_invitations(manuscript)
            if can_manage
            else [],
            "join_requests": members.open_requests(manuscript) if can_manage else [],
            "invite_form": invite_form or InviteForm(),
            "roles": Role.choices,
            "invitation_days": members.INVITATION_LIFETIME.days,
            "can_ask_to_join": can_ask and not has_asked,
            "has_asked": has_asked,
            "join_form": join_form or JoinRequestForm(),
        },
        status=status,
    )


def _invitation_page(
    request: HttpRequest,
    invitation: Invitation | None,
    *,
    refused: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sections/members_invitation.html",
        {
            "invitation": invitation,
            "role_phrase": members.with_article(invitation.role) if invitation else "",
            "refused": refused,
            "is_signed_in": permissions.is_contributor(request.user),
        },
        status=status,
    )


def _settings_page(
    request: HttpRequest,
    manuscript: Manuscript,
    form: ManuscriptSettingsForm,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sections/members_settings.html",
        {"manuscript": manuscript, "form": form},
        status=status,
    )

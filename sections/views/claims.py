"""Claims: claiming and releasing a section, the claims page, and the requests to link a
claimant to an account ("This is me") that maintainers decide."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from sections import claims, contributors, permissions, selectors
from sections.forms import ClaimForm, LinkDecisionForm


@require_POST
@login_required
def claim_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section, write=True)
    form = ClaimForm(request.POST)
    if form.is_valid():
        try:
            claims.claim(
                section_,
                by=request.user,
                note=form.cleaned_data["note"],
                target_date=form.cleaned_data["target_date"],
            )
            messages.success(request, f"You claim “{section_.title}”.")
        except claims.AlreadyClaimed as error:
            messages.info(request, str(error))
        except claims.TargetDateInPast as error:
            messages.error(request, str(error))
    else:
        messages.error(
            request,
            "A claim's note is at most 500 characters, and its target date a date.",
        )
    return redirect(section_)


@require_POST
@login_required
def release_claim(request: HttpRequest, pk: int) -> HttpResponse:
    claim = permissions.get_claim(request.user, pk)
    claims.release(claim, by=request.user)
    messages.success(
        request, f"{claim.contributor} no longer claims “{claim.section.title}”."
    )
    return redirect(claim.section)


@require_GET
@login_required
def claims_page(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Every active claim with the claimant's last edit, stale ones first; for
    maintainers, the requests to link people to accounts."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    page = selectors.claims_page(manuscript_, reader=request.user, now=timezone.now())
    permissions.flag_claims(
        request.user, page.claims, requested=page.requested_by_reader
    )
    return render(
        request,
        "sections/claims.html",
        {
            "manuscript": manuscript_,
            "page": page,
            "can_decide_links": permissions.can_decide_links(request.user),
            "stale_after_days": settings.CLAIM_STALE_AFTER_DAYS,
        },
    )


@require_POST
@login_required
def request_contributor_link(request: HttpRequest, pk: int) -> HttpResponse:
    """The "This is me" button: ask to be linked to this claim's claimant."""
    claim = permissions.get_claim_to_read(request.user, pk)
    try:
        contributors.request_link(claim.contributor, user=request.user)
        messages.success(
            request,
            f"Asked to be linked to {claim.contributor}; a maintainer will confirm.",
        )
    except contributors.LinkRefused as error:
        messages.error(request, str(error))
    return redirect("sections:claims", manuscript=claim.section.manuscript.slug)


@require_POST
@login_required
def decide_contributor_link(request: HttpRequest, manuscript: str) -> HttpResponse:
    """A maintainer approves or declines a link request from the claims page."""
    manuscript_ = permissions.get_manuscript_to_decide_links(request.user, manuscript)
    back = redirect("sections:claims", manuscript=manuscript_.slug)
    form = LinkDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a request, and approve or decline it.")
        return back
    link_request = permissions.get_link_request(
        request.user, form.cleaned_data["link_request"]
    )
    approve = form.cleaned_data["decision"] == "approve"
    try:
        contributors.decide_link(link_request, approve=approve, by=request.user)
    except contributors.LinkRefused as error:
        messages.error(request, str(error))
        return back
    who = f"{link_request.user.get_username()} as {link_request.contributor}"
    messages.success(request, f"Linked {who}." if approve else f"Declined {who}.")
    return back

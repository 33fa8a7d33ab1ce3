"""Proposed changes: proposing from the editor, the proposal page and its actions
(review, comment on a hunk, accept all or some, reject, withdraw, resolve a
conflict), and the lists per section and per manuscript."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from sections import figures, permissions, proposals, revisions, selectors
from sections.exceptions import EditConflict, EditRejected, ProposalRefused
from sections.forms import (
    AcceptProposalForm,
    EditForm,
    HunkCommentForm,
    IdentifierForm,
    ProposalReviewForm,
    RejectProposalForm,
    ResolveProposalForm,
)
from sections.models import Proposal


@require_POST
@login_required
def propose(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """The editor's "Propose instead of saving": the same fields as a save, made a
    proposal against the editor's base revision."""
    section_ = permissions.get_section(request.user, manuscript, section)
    if not permissions.can_propose(request.user, section_.manuscript):
        raise PermissionDenied("You may not propose changes to this manuscript.")
    form = EditForm(request.POST, heading_optional=not section_.title)
    if not form.is_valid():
        return _editor(request, section_, form)
    data = form.cleaned_data
    try:
        proposal = proposals.propose(
            section_,
            title=data["title"],
            body=data["body"],
            base=data["base"],
            summary=data["summary"],
            by=request.user,
        )
    except ProposalRefused as refused:
        form.add_error(None, str(refused))
        return _editor(request, section_, form)
    messages.success(
        request,
        "Proposed. The section's claimants and reviewers can see it now.",
        # As a save's message does: the draft the editor kept is in the proposal.
        extra_tags=f"draft-saved-{section_.pk}",
    )
    return redirect(proposal)


def _editor(request: HttpRequest, section, form: EditForm) -> HttpResponse:
    # The editor again with the user's text intact, as the editor view shows it.
    return render(
        request,
        "sections/section_edit.html",
        {
            "section": section,
            "form": form,
            "identifier_form": IdentifierForm(),
            "figure_limit": figures.max_megabytes(),
        },
        status=422,
    )


@require_GET
@login_required
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = permissions.get_proposal(request.user, pk)
    return _proposal_page(request, proposal)


def _proposal_page(
    request: HttpRequest, proposal: Proposal, *, status: int = 200, **forms: object
) -> HttpResponse:
    page = selectors.proposal_page(proposal)
    user = request.user
    context = {
        "page": page,
        "proposal": proposal,
        "section": proposal.section,
        "can_review": permissions.can_review_proposal(user, proposal),
        "can_comment": permissions.can_review_proposal(user, proposal)
        or permissions.can_withdraw_proposal(user, proposal),
        "can_decide": permissions.can_decide_proposal(user, proposal),
        "can_overrule": permissions.can_overrule_reviews(user, proposal),
        "can_withdraw": permissions.can_withdraw_proposal(user, proposal),
        "review_form": ProposalReviewForm(),
        "reject_form": RejectProposalForm(),
        **forms,
    }
    return render(request, "sections/proposal.html", context, status=status)


@require_POST
@login_required
def review_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = permissions.get_proposal(request.user, pk, to="review")
    form = ProposalReviewForm(request.POST)
    if not form.is_valid():
        return _proposal_page(request, proposal, status=422, review_form=form)
    try:
        proposals.review(proposal, by=request.user, **form.cleaned_data)
    except ProposalRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Your review is recorded.")
    return redirect(proposal)


@require_POST
@login_required
def comment_on_hunk(request: HttpRequest, pk: int) -> HttpResponse:
    """Comment on a hunk; with htmx, that hunk's comments are swapped in."""
    proposal = permissions.get_proposal(request.user, pk, to="comment")
    form = HunkCommentForm(request.POST)
    try:
        if not form.is_valid():
            raise ProposalRefused("Write a comment (at most 20,000 characters).")
        data = form.cleaned_data
        comment = proposals.comment_on_hunk(
            proposal, hunk=data["hunk"], body=data["body"], by=request.user
        )
    except ProposalRefused as refused:
        hunk = form.cleaned_data.get("hunk")
        if request.htmx and hunk is not None and hunk < len(proposal.diff["hunks"]):
            return _hunk_comments(request, proposal, hunk, error=str(refused))
        messages.error(request, str(refused))
        return redirect(proposal)
    if request.htmx:
        return _hunk_comments(request, proposal, comment.hunk)
    return redirect(f"{proposal.get_absolute_url()}#hunk-{comment.hunk}")


def _hunk_comments(
    request: HttpRequest, proposal: Proposal, hunk: int, *, error: str = ""
) -> HttpResponse:
    return render(
        request,
        "sections/proposal.html#hunk-comments",
        {
            "proposal": proposal,
            "shown": selectors.hunk_comments(proposal, hunk),
            "can_comment": True,  # get_proposal(to="comment") let them post
            "comment_error": error,
        },
        status=422 if error else 200,
    )


@require_POST
@login_required
def accept_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    """Accept all (the "Accept all" button) or the ticked hunks."""
    proposal = permissions.get_proposal(request.user, pk, to="decide")
    form = AcceptProposalForm(request.POST, hunk_count=len(proposal.diff["hunks"]))
    if not form.is_valid():
        messages.error(request, "Those are not changes of this proposal.")
        return redirect(proposal)
    hunks = None if "all" in request.POST else form.cleaned_data["hunks"]
    overrule = form.cleaned_data["overrule"] and permissions.can_overrule_reviews(
        request.user, proposal
    )
    try:
        accepted = proposals.accept(
            proposal, hunks=hunks, by=request.user, overrule=overrule
        )
    except ProposalRefused as refused:
        messages.error(request, str(refused))
        return redirect(proposal)
    except EditConflict as conflict:
        chosen = list(range(len(proposal.diff["hunks"]))) if hunks is None else hunks
        return _conflict_page(request, proposal, conflict, chosen, overrule)
    except EditRejected as error:
        messages.error(request, str(error))
        return redirect(proposal)
    return _accepted(request, accepted)


@require_POST
@login_required
def resolve_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    """The conflict page's save: the decider's reconciled text accepts the proposal."""
    proposal = permissions.get_proposal(request.user, pk, to="decide")
    form = ResolveProposalForm(
        request.POST,
        hunk_count=len(proposal.diff["hunks"]),
        heading_optional=not proposal.section.title,
    )
    if not form.is_valid():
        return render(
            request,
            "sections/proposal_conflict.html",
            {"proposal": proposal, "section": proposal.section, "form": form},
            status=422,
        )
    data = form.cleaned_data
    overrule = data["overrule"] and permissions.can_overrule_reviews(
        request.user, proposal
    )
    try:
        accepted = proposals.resolve_conflict(
            proposal,
            hunks=data["hunks"],
            title=data["title"],
            body=data["body"],
            base=data["base"],
            by=request.user,
            overrule=overrule,
        )
    except ProposalRefused as refused:
        messages.error(request, str(refused))
        return redirect(proposal)
    except EditConflict as conflict:
        return _conflict_page(request, proposal, conflict, data["hunks"], overrule)
    except EditRejected as error:
        form.add_error("body", str(error))
        return render(
            request,
            "sections/proposal_conflict.html",
            {"proposal": proposal, "section": proposal.section, "form": form},
            status=422,
        )
    return _accepted(request, accepted)


def _accepted(request: HttpRequest, accepted: proposals.Accepted) -> HttpResponse:
    proposal = accepted.proposal
    if accepted.saved.merged:
        note = " Someone had saved the section since it was proposed; both are kept."
    else:
        note = ""
    messages.success(
        request, f"Accepted and saved, credited to {proposal.author}.{note}"
    )
    return redirect(proposal)


def _conflict_page(
    request: HttpRequest,
    proposal: Proposal,
    conflict: EditConflict,
    hunks: list[int],
    overrule: bool,
) -> HttpResponse:
    # The accepted text (chosen hunks on the base) in an editor based on the
    # current revision, and what was saved since beside it: the decider reconciles
    # them and nothing of either is lost.
    form = ResolveProposalForm(
        initial={
            "title": conflict.title,
            "body": conflict.body,
            "base": conflict.current.pk,
            "hunks": hunks,
            "overrule": overrule,
        },
        hunk_count=len(proposal.diff["hunks"]),
        heading_optional=not proposal.section.title,
    )
    return render(
        request,
        "sections/proposal_conflict.html",
        {
            "proposal": proposal,
            "section": proposal.section,
            "form": form,
            "conflict": conflict,
            "their_changes": revisions.word_diff(
                conflict.base.body if conflict.base else "", conflict.current.body
            ),
        },
        status=409,
    )


@require_POST
@login_required
def reject_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = permissions.get_proposal(request.user, pk, to="decide")
    form = RejectProposalForm(request.POST)
    if not form.is_valid():
        return _proposal_page(request, proposal, status=422, reject_form=form)
    try:
        proposals.reject(proposal, reason=form.cleaned_data["reason"], by=request.user)
    except ProposalRefused as refused:
        form.add_error("reason", str(refused))
        return _proposal_page(request, proposal, status=422, reject_form=form)
    messages.success(request, "Rejected; its author is told why.")
    return redirect(proposal)


@require_POST
@login_required
def withdraw_proposal(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = permissions.get_proposal(request.user, pk, to="withdraw")
    try:
        proposals.withdraw(proposal, by=request.user)
    except ProposalRefused as refused:
        messages.error(request, str(refused))
    else:
        messages.success(request, "Withdrawn.")
    return redirect(proposal)


@require_GET
@login_required
def section_proposals(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section)
    return _list_page(request, section_.manuscript, section_)


@require_GET
@login_required
def manuscript_proposals(request: HttpRequest, manuscript: str) -> HttpResponse:
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    return _list_page(request, manuscript_, None)


def _list_page(request: HttpRequest, manuscript, section) -> HttpResponse:
    status = request.GET.get("status", "")
    if status not in Proposal.Status.values:
        status = ""
    return render(
        request,
        "sections/proposals.html",
        {
            "manuscript": manuscript,
            "section": section,
            "status": status,
            "statuses": Proposal.Status.choices,
            "proposals": selectors.proposals_list(
                manuscript=manuscript, section=section, status=status
            ),
            "can_propose": permissions.can_propose(request.user, manuscript),
        },
    )

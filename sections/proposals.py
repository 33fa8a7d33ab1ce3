"""Proposed changes (suggest mode): a change to a section offered for review.

A proposal is the text someone wrote against the revision they started from (its
base). It is shown as hunks: each paragraph-level change of base -> proposed (a
paragraph is a line in Markdown, as revisions merges them), with a word diff and
both sides rendered. Reviewers approve or ask for changes; the section's claimants
and maintainers accept all or some hunks, or reject it with a reason.

Accepting applies the chosen hunks to the base and saves that text with the base
as the editor's base, so it is merged three-way into the current text exactly as a
concurrent save is (revisions.save_edit): a hunk that no longer applies is an
EditConflict the decider resolves (resolve_conflict), never dropped. The revision
credits the proposer; the proposal records who accepted it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from sections import activity, contributors, rendering, revisions, tasks
from sections.exceptions import ProposalRefused
from sections.models import (
    Activity,
    Claim,
    HunkComment,
    Proposal,
    ProposalReview,
    Revision,
    Section,
)

TITLE, TEXT = "title", "text"


@dataclass(frozen=True)
class Hunk:
    """One change of a proposal: the title, or base lines [start, end) replaced by
    the proposed text. `words` is the word diff; `*_segments` the rendered sides."""

    index: int
    kind: str
    start: int
    end: int
    base_text: str
    proposed_text: str
    words: list
    base_segments: list
    proposed_segments: list


def hunks_of(proposal: Proposal) -> list[Hunk]:
    return [Hunk(**hunk) for hunk in proposal.diff["hunks"]]


def diff(*, base_title: str, base_body: str, title: str, body: str) -> dict:
    """The hunks of base -> proposed, each side rendered, plus what the whole
    proposed text (and, after it, the base) cites and labels, so a page numbers the
    hunks' citations without rendering anything. Pure; stored on the proposal."""
    hunks: list[dict] = []
    if title != base_title:
        hunks.append(_hunk(len(hunks), TITLE, 0, 0, base_title, title, rendered=False))
    old, new = base_body.splitlines(True), body.splitlines(True)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            hunks.append(
                _hunk(
                    len(hunks), TEXT, i1, i2, "".join(old[i1:i2]), "".join(new[j1:j2])
                )
            )
    proposed = rendering.render_fragment(title, body)
    base = rendering.render_fragment(base_title, base_body)
    # Keys only the base cites (in a hunk's removed side) are numbered after the
    # proposed text's, as a removed section is in a preview.
    keys = proposed.keys + [key for key in base.keys if key not in proposed.keys]
    labels = rendering.slot_labels(proposed.segments)
    defined = {slot.get("defines") for slot in labels}
    labels += [
        slot
        for slot in rendering.slot_labels(base.segments)
        if "defines" in slot and slot["defines"] not in defined
    ]
    return {"hunks": hunks, "keys": keys, "labels": labels}


def _hunk(
    index: int,
    kind: str,
    start: int,
    end: int,
    base_text: str,
    proposed_text: str,
    *,
    rendered: bool = True,
) -> dict:
    def segments(text: str) -> list:
        return rendering.render_fragment("", text).segments if rendered else []

    return {
        "index": index,
        "kind": kind,
        "start": start,
        "end": end,
        "base_text": base_text,
        "proposed_text": proposed_text,
        "words": [
            list(piece) for piece in revisions.word_diff(base_text, proposed_text)
        ],
        "base_segments": segments(base_text),
        "proposed_segments": segments(proposed_text),
    }


def apply(proposal: Proposal, chosen: set[int]) -> tuple[str, str]:
    """The base revision's title and body with the chosen hunks applied."""
    base = proposal.base_revision
    title, lines, out, at = base.title, base.body.splitlines(True), [], 0
    for hunk in hunks_of(proposal):
        if hunk.kind == TITLE:
            title = hunk.proposed_text if hunk.index in chosen else base.title
            continue
        out += lines[at : hunk.start]
        out.append(hunk.proposed_text if hunk.index in chosen else hunk.base_text)
        at = hunk.end
    out += lines[at:]
    return title, "".join(out)


# Proposing


def propose(
    section: Section,
    *,
    title: str,
    body: str,
    base: int,
    by: AbstractBaseUser,
    summary: str = "",
) -> Proposal:
    """Record a proposal of `title`/`body` against revision `base` of the section.
    Raises ProposalRefused for a base that is not one of its revisions, or for a
    text that changes nothing."""
    body = body.replace("\r\n", "\n")
    base_revision = Revision.objects.filter(pk=base, section=section).first()
    if base_revision is None:
        raise ProposalRefused(
            "Nothing was proposed: this form did not say which saved version of the "
            "section it started from. Your text is below; open the editor again and "
            "propose from there."
        )
    if (base_revision.title, base_revision.body) == (title, body):
        raise ProposalRefused(
            "Your text is the same as the version you started from: there is "
            "nothing to propose."
        )
    hunks = diff(
        base_title=base_revision.title,
        base_body=base_revision.body,
        title=title,
        body=body,
    )
    author = contributors.for_user(by)
    with transaction.atomic():
        proposal = Proposal.objects.create(
            section=section,
            base_revision=base_revision,
            title=title,
            body=body,
            summary=summary,
            author=author,
            diff=hunks,
        )
        _record(proposal, author, f"{author} proposed a change to “{section.label}”")
        tasks.notify_proposal.delay_on_commit(proposal.pk)
    return proposal


def withdraw(proposal: Proposal, *, by: AbstractBaseUser) -> Proposal:
    """The proposer takes an open proposal back. Raises ProposalRefused if decided."""
    with transaction.atomic():
        proposal = _locked_open(proposal)
        proposal.status = Proposal.Status.WITHDRAWN
        proposal.decided_by = contributors.for_user(by)
        proposal.decided_at = timezone.now()
        proposal.save(update_fields=["status", "decided_by", "decided_at"])
        _record(
            proposal,
            proposal.decided_by,
            f"{proposal.decided_by} withdrew their proposal on "
            f"“{proposal.section.label}”",
        )
    return proposal


# Reviewing


def review(
    proposal: Proposal,
    *,
    by: AbstractBaseUser,
    verdict: str,
    kind: str,
    body: str = "",
) -> ProposalReview:
    """Add a review of an open proposal (a reviewer's latest review counts).
    Raises ProposalRefused once the proposal is decided."""
    reviewer = contributors.for_user(by)
    with transaction.atomic():
        proposal = _locked_open(proposal)
        made = ProposalReview.objects.create(
            proposal=proposal, reviewer=reviewer, verdict=verdict, kind=kind, body=body
        )
        approves = verdict == ProposalReview.Verdict.APPROVE
        what = "approved" if approves else "asked for changes to"
        _record(
            proposal,
            reviewer,
            f"{reviewer} {what} {proposal.author}'s proposal on "
            f"“{proposal.section.label}” ({made.get_kind_display().lower()})",
        )
    return made


def comment_on_hunk(
    proposal: Proposal, *, hunk: int, body: str, by: AbstractBaseUser
) -> HunkComment:
    """Comment on one hunk. Raises ProposalRefused for a hunk it does not have."""
    if not 0 <= hunk < len(proposal.diff["hunks"]):
        raise ProposalRefused("This proposal has no such change to comment on.")
    return HunkComment.objects.create(
        proposal=proposal, hunk=hunk, body=body, author=contributors.for_user(by)
    )


@dataclass(frozen=True)
class Approvals:
    approvals: int
    required: int
    changes_requested: int

    @property
    def is_disputed(self) -> bool:
        return self.changes_requested > 0

    @property
    def is_enough(self) -> bool:
        return self.approvals >= self.required and not self.is_disputed


def approvals_of(proposal: Proposal, reviews: list[ProposalReview]) -> Approvals:
    """Each reviewer's latest verdict, counted (the proposer's own never counts).
    `reviews` in the order they were made."""
    latest = {
        review.reviewer_id: review.verdict
        for review in reviews
        if review.reviewer_id != proposal.author_id
    }
    verdicts = list(latest.values())
    return Approvals(
        approvals=verdicts.count(ProposalReview.Verdict.APPROVE),
        required=proposal.section.manuscript.approvals_required,
        changes_requested=verdicts.count(ProposalReview.Verdict.REQUEST_CHANGES),
    )


# Deciding


@dataclass(frozen=True)
class Accepted:
    proposal: Proposal
    saved: revisions.SavedEdit


def accept(
    proposal: Proposal,
    *,
    hunks: list[int] | None,
    by: AbstractBaseUser,
    overrule: bool = False,
) -> Accepted:
    """Accept the chosen hunks (None: all), merged into the current text as a save
    made from the base would be. Raises ProposalRefused (decided already, no hunk
    chosen, approvals missing unless `overrule`: a maintainer deciding a disputed
    proposal) or EditConflict (a hunk no longer applies: resolve_conflict it)."""
    chosen = _chosen(proposal, hunks)
    with transaction.atomic():
        proposal = _locked_open(proposal)
        _check_approvals(proposal, overrule=overrule)
        title, body = apply(proposal, chosen)
        return _accept(proposal, chosen, title=title, body=body, base=None, by=by)


def resolve_conflict(
    proposal: Proposal,
    *,
    hunks: list[int],
    title: str,
    body: str,
    base: int,
    by: AbstractBaseUser,
    overrule: bool = False,
) -> Accepted:
    """Accept a proposal whose chosen hunks conflicted, with the text the decider
    reconciled from the current revision `base` (merged again if someone saved
    since). Raises as accept does."""
    chosen = _chosen(proposal, hunks)
    with transaction.atomic():
        proposal = _locked_open(proposal)
        _check_approvals(proposal, overrule=overrule)
        return _accept(proposal, chosen, title=title, body=body, base=base, by=by)


def reject(proposal: Proposal, *, reason: str, by: AbstractBaseUser) -> Proposal:
    """Reject an open proposal. Raises ProposalRefused without a reason."""
    reason = reason.strip()
    if not reason:
        raise ProposalRefused(
            "Say why you reject this proposal: its author will read your reason."
        )
    decider = contributors.for_user(by)
    with transaction.atomic():
        proposal = _locked_open(proposal)
        proposal.status = Proposal.Status.REJECTED
        proposal.rejection_reason = reason
        proposal.decided_by, proposal.decided_at = decider, timezone.now()
        proposal.save(
            update_fields=["status", "rejection_reason", "decided_by", "decided_at"]
        )
        _record(
            proposal,
            decider,
            f"{decider} rejected {proposal.author}'s proposal on "
            f"“{proposal.section.label}”: {reason}",
        )
        tasks.notify_proposal_decision.delay_on_commit(proposal.pk)
    return proposal


def _chosen(proposal: Proposal, hunks: list[int] | None) -> set[int]:
    every = set(range(len(proposal.diff["hunks"])))
    chosen = every if hunks is None else set(hunks)
    if not chosen:
        raise ProposalRefused("Choose at least one change to accept, or reject it.")
    if not chosen <= every:
        raise ProposalRefused("This proposal has no such change to accept.")
    return chosen


def _locked_open(proposal: Proposal) -> Proposal:
    """The proposal's row, locked: two deciders clicking at once must not both
    accept (two revisions) or accept and reject. Raises ProposalRefused unless open.
    Call inside a transaction."""
    locked = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related(
            "section__manuscript", "base_revision", "author__user", "decided_by"
        )
        .get(pk=proposal.pk)
    )
    if not locked.is_open:
        raise ProposalRefused(
            f"This proposal is {locked.get_status_display().lower()} already."
        )
    return locked


def _check_approvals(proposal: Proposal, *, overrule: bool) -> None:
    approvals = approvals_of(proposal, list(proposal.reviews.order_by("created_at")))
    if approvals.is_enough or (overrule and approvals.is_disputed):
        return
    if approvals.is_disputed:
        raise ProposalRefused(
            "A reviewer asked for changes to this proposal: a maintainer decides a "
            "disputed one."
        )
    raise ProposalRefused(
        f"This proposal needs {approvals.required} approving review"
        f"{'' if approvals.required == 1 else 's'} before it is accepted; it has "
        f"{approvals.approvals}."
    )


def _accept(
    proposal: Proposal,
    chosen: set[int],
    *,
    title: str,
    body: str,
    base: int | None,
    by: AbstractBaseUser,
) -> Accepted:
    decider = contributors.for_user(by)
    everything = len(chosen) == len(proposal.diff["hunks"])
    which = "" if everything else f" ({len(chosen)} of {len(proposal.diff['hunks'])})"
    saved = revisions.save_edit(
        proposal.section,
        title=title,
        body=body,
        base=base or proposal.base_revision_id,
        by=by,
        author=proposal.author,
        summary=f"Proposal {proposal.pk}{which}, accepted by {decider}",
    )
    proposal.status = (
        Proposal.Status.ACCEPTED if everything else Proposal.Status.PARTLY_ACCEPTED
    )
    proposal.accepted_hunks = sorted(chosen)
    proposal.decided_by, proposal.decided_at = decider, timezone.now()
    proposal.resulting_revision = saved.revision
    proposal.save(
        update_fields=[
            "status",
            "accepted_hunks",
            "decided_by",
            "decided_at",
            "resulting_revision",
        ]
    )
    _record(
        proposal,
        decider,
        f"{decider} accepted {proposal.author}'s proposal on "
        f"“{proposal.section.label}”{which}",
    )
    tasks.notify_proposal_decision.delay_on_commit(proposal.pk)
    return Accepted(proposal, saved)


def _record(proposal: Proposal, actor, summary: str) -> None:
    activity.record(
        proposal.section.manuscript_id,
        kind=Activity.Kind.PROPOSAL,
        summary=summary,
        section=proposal.section,
        actor=actor,
        url=proposal.get_absolute_url(),
    )


# Notices


def notify_claimants(proposal_id: int) -> int:
    """Email the section's claimants about a new proposal, once (the mark is set in
    the transaction of the send, so a rerun after a failed send sends again)."""
    with transaction.atomic():
        proposal = (
            Proposal.objects.select_for_update(of=("self",))
            .select_related("section__manuscript", "author")
            .filter(pk=proposal_id, claimants_notified_at__isnull=True)
            .first()
        )
        if proposal is None:
            return 0
        emails = sorted(
            {
                claim.contributor.user.email
                for claim in Claim.objects.active()
                .filter(section=proposal.section, contributor__user__is_active=True)
                .exclude(contributor=proposal.author)
                .select_related("contributor__user")
                if claim.contributor.user.email
            }
        )
        section = proposal.section
        for email in emails:
            send_mail(
                subject=f"{proposal.author} proposed a change to “{section.label}”",
                message=(
                    f"{proposal.author} proposed a change to “{section.label}” "
                    f"({section.manuscript.title}), which you claim. Review it, "
                    f"accept it or reject it:\n\n{_link(proposal)}\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        proposal.claimants_notified_at = timezone.now()
        proposal.save(update_fields=["claimants_notified_at"])
    return len(emails)


def notify_decision(proposal_id: int) -> bool:
    """Email the proposer the decision on their proposal, once."""
    with transaction.atomic():
        proposal = (
            Proposal.objects.select_for_update(of=("self",))
            .select_related("section__manuscript", "author__user", "decided_by")
            .filter(pk=proposal_id, decision_notified_at__isnull=True)
            .exclude(status__in=[Proposal.Status.OPEN, Proposal.Status.WITHDRAWN])
            .first()
        )
        if proposal is None:
            return False
        user = proposal.author.user
        if user is None or not user.is_active or not user.email:
            return False
        section = proposal.section
        verdict = proposal.get_status_display().lower()
        reason = (
            f"\n\nTheir reason: {proposal.rejection_reason}"
            if proposal.rejection_reason
            else ""
        )
        send_mail(
            subject=f"Your proposal on “{section.label}” was {verdict}",
            message=(
                f"{proposal.decided_by} {verdict} your "
                f"proposed change to “{section.label}” ({section.manuscript.title})."
                f"{reason}\n\n{_link(proposal)}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        proposal.decision_notified_at = timezone.now()
        proposal.save(update_fields=["decision_notified_at"])
    return True


def _link(proposal: Proposal) -> str:
    return settings.SITE_URL.rstrip("/") + proposal.get_absolute_url()

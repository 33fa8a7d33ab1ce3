"""Celery tasks: thin, take ids, safe to run twice."""

from __future__ import annotations

import smtplib
from datetime import datetime

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from sections import (
    assembly,
    attribution,
    claims,
    comments,
    exporting,
    proposals,
    references,
    revisions,
)
from sections.models import Manuscript, ManuscriptRender, Reference, Section


@shared_task
def render_section(section_id: int) -> None:
    """Render one section if its text changed, then re-assemble its manuscript."""
    section = Section.objects.filter(pk=section_id).first()
    if section is None:
        return
    assembly.render_section(section)
    assemble_manuscript.delay(section.manuscript_id)


@shared_task
def attribute_latest(section_id: int) -> None:
    """Work out who wrote the section's latest revision (and any before it not yet
    worked out), so the authorship view opens without replaying its history."""
    section = Section.objects.filter(pk=section_id).first()
    if section is not None:
        attribution.owners_of_latest(section)


@shared_task
def render_manuscript(manuscript_id: int) -> None:
    """Render every changed section of a manuscript (after an import), then assemble."""
    manuscript = Manuscript.objects.filter(pk=manuscript_id).first()
    if manuscript is not None:
        assembly.render_sections(manuscript)
        assemble_manuscript.delay(manuscript_id)


@shared_task
def assemble_manuscript(manuscript_id: int) -> None:
    # Cleared first: a change made while this runs queues the next assembly.
    cache.delete(_assembly_queued(manuscript_id))
    manuscript = Manuscript.objects.filter(pk=manuscript_id).first()
    if manuscript is None:
        return
    for audience in ManuscriptRender.Audience:
        assembly.assemble(manuscript, audience=audience)


def assemble_soon(manuscript_id: int) -> None:
    """Queue one assembly after commit for many reference changes in a short while.

    Six hundred references resolving one after another would otherwise assemble the
    manuscript six hundred times; one assembly a moment later sees them all.
    """
    # Marked only once the change is committed: a rolled-back change must not leave
    # a mark that swallows the changes after it.
    transaction.on_commit(lambda: _queue_assembly(manuscript_id))


def _queue_assembly(manuscript_id: int) -> None:
    if cache.add(_assembly_queued(manuscript_id), True, timeout=300):
        assemble_manuscript.apply_async(
            (manuscript_id,), countdown=settings.ASSEMBLY_DELAY
        )


def _assembly_queued(manuscript_id: int) -> str:
    return f"assembly-queued:{manuscript_id}"


@shared_task(bind=True)
def fetch_reference(self, reference_id: int) -> None:
    """Fetch a waiting reference's metadata; an outage comes back after its backoff."""
    reference = Reference.objects.filter(pk=reference_id).first()
    if reference is None:
        return
    delay = references.fetch(reference, owner=self.request.id or "")
    _again_later(self, (reference_id,), delay)


@shared_task(bind=True)
def fetch_arxiv_references(self, reference_ids: list[int]) -> None:
    """Fetch several waiting arXiv references in one request."""
    batch = list(Reference.objects.filter(pk__in=reference_ids))
    delay = references.fetch_arxiv(batch, owner=self.request.id or "")
    _again_later(self, (reference_ids,), delay)


@shared_task
def retry_due_references() -> int:
    """Beat: queue the failed references whose outage may have passed."""
    return references.retry_due()


@shared_task
def requeue_stuck_references(now: str | None = None) -> int:
    """Beat: queue again the waiting references a killed worker left behind.

    `now` (ISO 8601) stands in for the clock, for tests that can't wait.
    """
    when = datetime.fromisoformat(now) if now else None
    return references.requeue_stuck(now=when)


@shared_task
def sync_unsynced_sections(now: str | None = None) -> int:
    """Beat: sync the sections whose last save's sync did not happen.

    `now` (ISO 8601) stands in for the clock, for tests that can't wait.
    """
    return revisions.sync_unsynced(now=datetime.fromisoformat(now) if now else None)


def _again_later(task, args: tuple, delay: float | None) -> None:
    # Not task.retry(): run eagerly it calls itself at once, ignoring the countdown.
    # Without a worker, waiting references are picked up by `resolve_references`.
    if delay is not None and not task.request.is_eager:
        task.apply_async(args, countdown=delay)


# Retried only when the mail server fails us; a sent mention is never sent again.
@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def notify_mention(mention_id: int) -> bool:
    """Email a mentioned contributor about the comment, unless already done."""
    return comments.notify(mention_id)


# Claims and my work


# Retried only when the mail server fails us; a told claimant is marked in the same
# transaction as the send, so a rerun tells only those not yet told.
@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def notify_stale_claims() -> int:
    """Beat, daily: email each stale claim's claimant once; returns how many."""
    return claims.notify_stale(now=timezone.now())


# Proposals


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def notify_proposal(proposal_id: int) -> int:
    """Email the section's claimants about a new proposal, unless already done."""
    return proposals.notify_claimants(proposal_id)


@shared_task(
    autoretry_for=(smtplib.SMTPException, ConnectionError),
    retry_backoff=True,
    max_retries=5,
)
def notify_proposal_decision(proposal_id: int) -> bool:
    """Email the proposer the decision on their proposal, unless already done."""
    return proposals.notify_decision(proposal_id)


# Exports


@shared_task
def print_pdf(manuscript_id: int) -> None:
    """Print the manuscript's PDF into the cache; a rerun finds it there."""
    manuscript = Manuscript.objects.filter(pk=manuscript_id).first()
    if manuscript is not None:
        exporting.print_pdf(manuscript)


def print_pdf_soon(state: exporting.PdfState) -> None:
    """Queue the PDF once however often its page is reloaded while it prints."""
    waiting = exporting.PDF_TIMEOUT_SECONDS + 60
    if cache.add(state.queued_key, True, timeout=waiting):
        print_pdf.delay(state.manuscript_id)

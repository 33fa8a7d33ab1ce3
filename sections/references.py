"""References: fetching their metadata, and what maintainers do to keep them healthy.

A reference waits (PENDING) until a service answers for its identifier. An outage
(timeout, 429, 5xx) is a try that backs off and comes again; after
CITATION_MAX_ATTEMPTS it fails with the reason and beat tries it again later. An
answer that says "no such work" or that we can't use fails it for good, until a
maintainer asks again. What was fetched is kept beside the imported record and a
maintainer's own record, and `Reference.csl` says which one counts.
"""

from __future__ import annotations

import json
import logging
import math
import random
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from sections import activity, contributors
from sections.citations import http, resolve
from sections.citations.keys import standardize
from sections.exceptions import ReviewappError
from sections.models import FETCHABLE_PREFIXES, Activity, Manuscript, Reference

logger = logging.getLogger(__name__)

# arXiv answers several ids in one request; more than this makes a long URL.
ARXIV_BATCH = 50


class ReferenceRejected(ReviewappError):
    """A maintainer's change to a reference can't be made; nothing was changed."""


def needs_fetching(reference: Reference) -> bool:
    return (
        reference.state == Reference.State.PENDING
        and reference.prefix in FETCHABLE_PREFIXES
    )


def fetch_new(references: Iterable[Reference]) -> int:
    """Queue fetching for references a save or an import brought, when automatic
    fetching is on (CITATION_AUTO_RESOLVE); returns how many were queued."""
    if not settings.CITATION_AUTO_RESOLVE:
        return 0
    return queue(references)


def queue(references: Iterable[Reference]) -> int:
    """Queue fetching for the references that wait, after the caller's commit.

    arXiv ids go in batches (one request answers many); every other key is a task of
    its own, so the per-host limit spreads them over the workers. Returns how many
    references were queued.
    """
    from sections import tasks  # tasks call this module

    waiting = [r for r in references if needs_fetching(r)]
    arxiv = [r.pk for r in waiting if r.prefix == "arxiv"]
    for start in range(0, len(arxiv), ARXIV_BATCH):
        tasks.fetch_arxiv_references.delay_on_commit(arxiv[start : start + ARXIV_BATCH])
    for reference in waiting:
        if reference.prefix != "arxiv":
            tasks.fetch_reference.delay_on_commit(reference.pk)
    return len(waiting)


def fetch(reference: Reference, *, owner: str) -> float | None:
    """Fetch one waiting reference's metadata and record the outcome.

    `owner` names this attempt (a task id: a redelivered task keeps its id, so a
    worker killed while fetching does not lock its own retry out). Returns the seconds
    after which to try again, or None when there is nothing more to do.
    """
    if not needs_fetching(reference):
        return None
    with fetching(reference.key, owner=owner) as is_ours:
        if not is_ours:
            # Someone else is fetching the same key: look again once they are done.
            return settings.CITATION_TIMEOUT
        try:
            fetched = resolve.fetch_csl(reference.key)
        except http.HostBusy as error:
            return error.retry_after  # nothing was sent: not a try
        except http.UpstreamUnavailable as error:
            return record_unavailable(reference, error)
        except (
            http.MetadataNotFound,
            http.MetadataInvalid,
            http.AddressRefused,
        ) as error:
            record_failure(reference, str(error))
            return None
        record_fetched(reference, fetched)
        return None


def fetch_arxiv(references: list[Reference], *, owner: str) -> float | None:
    """Fetch several waiting arXiv references in one request; as `fetch` otherwise."""
    waiting = [r for r in references if needs_fetching(r)]
    if not waiting:
        return None
    with fetching_all([r.key for r in waiting], owner=owner) as ours:
        mine = [r for r in waiting if r.key in ours]
        retry_after = None if len(mine) == len(waiting) else settings.CITATION_TIMEOUT
        if not mine:
            return retry_after
        ids = {r.key.partition(":")[2]: r for r in mine}
        try:
            answers = resolve.fetch_arxiv(list(ids))
        except http.HostBusy as error:
            return error.retry_after
        except http.UpstreamUnavailable as error:
            delays = [record_unavailable(r, error) for r in mine]
            return max((d for d in delays if d is not None), default=retry_after)
        except http.AddressRefused as error:
            for reference in mine:
                record_failure(reference, str(error))
            return retry_after
        for arxiv_id, reference in ids.items():
            answer = answers.get(arxiv_id)
            if isinstance(answer, resolve.Fetched):
                record_fetched(reference, answer)
            else:
                record_failure(reference, str(answer or "arXiv did not answer for it"))
        return retry_after


@contextmanager
def fetching(key: str, *, owner: str) -> Iterator[bool]:
    """Hold the "being fetched" mark of a key, shared by every process.

    Yields whether the mark is ours: two references to the same work (two
    manuscripts, or a task queued twice) must not fetch it at once.
    """
    with fetching_all([key], owner=owner) as ours:
        yield key in ours


@contextmanager
def fetching_all(keys: list[str], *, owner: str) -> Iterator[set[str]]:
    # Outlasts the longest fetch: one look-up's whole budget (CITATION_DEADLINE, its
    # fallbacks included) and the writes after it. A dead holder's mark expires, and
    # the mark says when, for the sweep (`requeue_stuck`) to tell.
    lifetime = settings.CITATION_DEADLINE + settings.CITATION_TIMEOUT
    until = timezone.now().timestamp() + lifetime
    ours = set()
    for key in keys:
        mark = _mark(key)
        held = cache.get(mark)
        if cache.add(mark, (owner, until), timeout=math.ceil(lifetime)) or (
            isinstance(held, tuple) and held[0] == owner
        ):
            ours.add(key)
    try:
        yield ours
    finally:
        cache.delete_many([_mark(key) for key in ours])


def _mark(key: str) -> str:
    return f"citation-fetching:{key}"


def _is_being_fetched(key: str, *, now: datetime) -> bool:
    """Whether a live "being fetched" mark holds the key at `now`; a mark past its
    time (its holder died) is removed."""
    held = cache.get(_mark(key))
    if held is None:
        return False
    # A mark without its time (written before marks carried one) is left to expire.
    if not isinstance(held, tuple) or held[1] > now.timestamp():
        return True
    cache.delete(_mark(key))
    return False


def requeue_stuck(*, now: datetime | None = None) -> int:
    """Queue again the waiting references whose task was lost; returns how many.

    A reference is stuck when it has waited longer than CITATION_PENDING_STUCK_AFTER
    with no try scheduled since and no live "being fetched" mark: its worker was
    killed, and the broker would hand the task out again only after its visibility
    timeout (an hour). Beat runs this; a requeued reference counts as scheduled now,
    so the next sweeps leave its task alone for as long again. Safe to run twice:
    fetching is idempotent and one key is fetched once at a time.
    """
    now = now or timezone.now()
    since = now - timedelta(seconds=settings.CITATION_PENDING_STUCK_AFTER)
    stale = Reference.objects.waiting().filter(
        Q(next_attempt_at__isnull=True, updated_at__lt=since)
        | Q(next_attempt_at__lt=since)
    )
    stuck = [r for r in stale if not _is_being_fetched(r.key, now=now)]
    if not stuck:
        return 0
    logger.warning("%d references waited past their time; queued again", len(stuck))
    with transaction.atomic():
        Reference.objects.filter(
            pk__in=[r.pk for r in stuck], state=Reference.State.PENDING
        ).update(next_attempt_at=now)
        return queue(stuck)


def record_fetched(reference: Reference, fetched: resolve.Fetched) -> None:
    now = timezone.now()
    with transaction.atomic():
        if not _update(
            reference,
            if_waiting=True,
            csl_fetched=fetched.csl,
            metadata_source=fetched.source,
            state=Reference.State.RESOLVED,
            error="",
            attempts=0,
            next_attempt_at=None,
            fetched_at=now,
        ):
            return
        _record_activity(reference, f"{reference.key} resolved")


def record_failure(reference: Reference, reason: str) -> None:
    """A final answer: the service has no such work, or sent what we can't use."""
    with transaction.atomic():
        if not _update(
            reference,
            if_waiting=True,
            state=Reference.State.FAILED,
            error=reason,
            attempts=reference.attempts + 1,
            next_attempt_at=None,
        ):
            return
        _record_activity(reference, f"{reference.key} failed: {reason}")


def _record_activity(reference: Reference, summary: str) -> None:
    """Log a fetch's outcome in the activity feed, with no actor: a task fetched it."""
    activity.record(
        reference.manuscript_id,
        kind=Activity.Kind.REFERENCE,
        summary=summary,
        url=reverse("sections:reference-detail", args=[reference.pk]),
    )


def record_unavailable(
    reference: Reference,
    error: http.UpstreamUnavailable,
    *,
    now: datetime | None = None,
) -> float | None:
    """An outage: back off (exponentially, with jitter, never sooner than the
    service's Retry-After) and return the delay; after the last try, fail with the
    reason and leave the next try to beat."""
    now = now or timezone.now()
    attempts = reference.attempts + 1
    if attempts >= settings.CITATION_MAX_ATTEMPTS:
        _update(
            reference,
            if_waiting=True,
            state=Reference.State.FAILED,
            error=f"{error} (gave up after {attempts} tries; tried again later)",
            attempts=attempts,
            next_attempt_at=now
            + timedelta(seconds=settings.CITATION_RETRY_FAILED_AFTER),
        )
        return None
    delay = backoff(attempts, retry_after=error.retry_after)
    _update(
        reference,
        if_waiting=True,
        error=f"{error} (try {attempts} of {settings.CITATION_MAX_ATTEMPTS})",
        attempts=attempts,
        next_attempt_at=now + timedelta(seconds=delay),
    )
    return delay


def backoff(attempts: int, *, retry_after: float | None = None) -> float:
    """Seconds before try number attempts+1: doubling, jittered so that references
    that failed together don't come back together, and at least Retry-After."""
    base = settings.CITATION_BACKOFF_BASE * 2 ** (attempts - 1)
    delay = min(base, settings.CITATION_BACKOFF_MAX) * random.uniform(0.5, 1.5)
    return max(delay, retry_after or 0)


def retry(reference: Reference) -> None:
    """Fetch again, at a maintainer's request: also a resolved one, which is
    otherwise never fetched twice. What was fetched stays until a new answer comes."""
    if reference.prefix not in FETCHABLE_PREFIXES:
        raise ReferenceRejected(
            f"“{reference.key}” names no identifier a service can look up."
        )
    with transaction.atomic():
        _update(
            reference,
            state=Reference.State.PENDING,
            error="",
            attempts=0,
            next_attempt_at=None,
        )
        queue([reference])


def fetch_all(
    waiting: list[Reference], *, owner: str, progress: Callable[[int], object]
) -> list[tuple[float, list[Reference]]]:
    """Fetch references in this process, arXiv ids in batches, reporting how many
    are done after each request (the `resolve_references` command).

    Returns the ones to try again, each batch with the seconds to wait first (an
    outage's backoff or Retry-After, a busy host, a key fetched elsewhere).
    """
    again: list[tuple[float, list[Reference]]] = []
    arxiv = [r for r in waiting if r.prefix == "arxiv"]
    for start in range(0, len(arxiv), ARXIV_BATCH):
        batch = arxiv[start : start + ARXIV_BATCH]
        delay = fetch_arxiv(batch, owner=owner)
        _done_or_again(batch, delay, again=again, progress=progress)
    for reference in waiting:
        if reference.prefix != "arxiv":
            delay = fetch(reference, owner=owner)
            _done_or_again([reference], delay, again=again, progress=progress)
    return again


def _done_or_again(
    batch: list[Reference],
    delay: float | None,
    *,
    again: list[tuple[float, list[Reference]]],
    progress: Callable[[int], object],
) -> None:
    left = [r for r in batch if needs_fetching(r)] if delay is not None else []
    if left:
        again.append((delay, left))
    progress(len(batch) - len(left))


def reopen_failed(failed: list[Reference]) -> None:
    """Make failed references wait again, their tries counted from zero."""
    from sections import tasks

    Reference.objects.filter(pk__in=[r.pk for r in failed]).update(
        state=Reference.State.PENDING,
        attempts=0,
        next_attempt_at=None,
        updated_at=timezone.now(),
    )
    for reference in failed:
        reference.state = Reference.State.PENDING
        reference.attempts = 0
    for manuscript_id in {r.manuscript_id for r in failed}:
        tasks.assemble_soon(manuscript_id)


def retry_failed(manuscript: Manuscript) -> int:
    """Fetch every failed reference of a manuscript again, at a maintainer's request."""
    return _requeue(list(manuscript.references.failed().fetchable()))


def retry_due(*, now: datetime | None = None) -> int:
    """Queue every failed reference whose outage may have passed (beat runs this)."""
    return _requeue(list(Reference.objects.due(now or timezone.now())))


def _requeue(failed: list[Reference]) -> int:
    with transaction.atomic():
        reopen_failed(failed)
        return queue(failed)


def set_manual(reference: Reference, *, csl_text: str, by) -> None:
    """A maintainer's own record, which wins over fetched and imported ones; empty
    text removes it. Raises ReferenceRejected for JSON that is not a usable record."""
    if not csl_text.strip():
        state = (
            Reference.State.RESOLVED
            if reference.csl_fetched
            else Reference.state_without_record(reference.key)
        )
        with transaction.atomic():
            _update(reference, csl_manual=None, state=state, attempts=0)
            queue([reference])  # waiting again, for a service to answer
        return
    try:
        data = json.loads(csl_text)
    except json.JSONDecodeError as error:
        raise ReferenceRejected(
            f"That is not JSON: {error.msg} (line {error.lineno})."
        ) from error
    if isinstance(data, list) and len(data) == 1:
        data = data[0]  # what Manubot's manual-references.json holds
    try:
        record = resolve.clean_csl(data, key=reference.key)
    except http.MetadataInvalid as error:
        raise ReferenceRejected(str(error)) from error
    author = contributors.for_user(by)
    _update(
        reference,
        csl_manual=record,
        state=Reference.State.RESOLVED,
        error="",
        metadata_source=f"entered by {author}"[:100],
    )


def set_alias(reference: Reference, *, target: str) -> Reference:
    """Point a tag: key at the reference it stands for (Manubot's citation tags).

    The target is any citekey; a new one becomes a reference of its own, queued for
    fetching. Raises ReferenceRejected for a key that is not a tag or points at itself.
    """
    if reference.prefix != "tag":
        raise ReferenceRejected("Only tag: keys stand for another reference.")
    key = standardize(target.strip().removeprefix("@"))
    if not key or key == reference.key or key.startswith("tag:"):
        raise ReferenceRejected("A tag stands for a reference with an identifier.")
    with transaction.atomic():
        aliased, created = Reference.objects.get_or_create(
            manuscript_id=reference.manuscript_id,
            key=key,
            defaults={"state": Reference.state_without_record(key)},
        )
        _update(
            reference,
            alias_of=aliased,
            state=Reference.State.RESOLVED,
            metadata_source=f"alias of {key}"[:100],
        )
        if created:
            queue([aliased])
    return aliased


def _update(
    reference: Reference, *, if_waiting: bool = False, **fields: object
) -> bool:
    """Write the fields, and queue re-assembling the manuscript after commit; return
    whether the row was written.

    `if_waiting` is for a fetch's outcome: a maintainer who entered a record or asked
    again while it was in flight has the last word. `updated_at` is set by hand:
    update() skips auto_now, and the formatted entry and the assembly's copy of the
    references tell staleness by it.
    """
    from sections import tasks

    fields["updated_at"] = timezone.now()
    rows = Reference.objects.filter(pk=reference.pk)
    if if_waiting:
        rows = rows.filter(state=Reference.State.PENDING)
    if not rows.update(**fields):
        return False
    for name, value in fields.items():
        setattr(reference, name, value)
    tasks.assemble_soon(reference.manuscript_id)
    return True

"""A real worker resolves what a save cites, and a killed worker loses nothing."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.utils import timezone
from werkzeug import Request, Response

from sections import revisions, tasks
from sections.models import ManuscriptRender, Reference
from tests.conftest import recorded
from tests.factories import make_manuscript, make_section
from tests.integration.conftest import worker_events

pytestmark = pytest.mark.integration

CSL_JSON = "application/vnd.citationstyles.csl+json"
WATER = "10.1126/science.169.3946.635"
DEEP_REVIEW = "10.1098/rsif.2017.0387"


def public_bibliography(manuscript) -> str:
    render = ManuscriptRender.objects.filter(
        manuscript=manuscript, audience=ManuscriptRender.Audience.PUBLIC
    ).first()
    return render.bibliography_html if render else ""


def test_a_worker_resolves_new_dois_and_the_preview_shows_them(
    upstream, workers, contributor
):
    for doi, name in [
        (WATER, "doi-csl/10.1126_science.169.3946.635.csl.json"),
        (DEEP_REVIEW, "doi-csl/10.1098_rsif.2017.0387.csl.json"),
    ]:
        upstream.expect_request(f"/{doi}").respond_with_data(
            recorded(name), content_type=CSL_JSON
        )
    section = make_section(make_manuscript("Worker review"), "Intro", body="Intro.")
    workers()

    with worker_events() as until:
        revisions.save_edit(
            section,
            body=f"Water [@doi:{WATER}] and a review [@doi:{DEEP_REVIEW}].",
            by=contributor,
            overwrite=True,
        )
        until(
            lambda: (
                "The Structure of Ordinary Water"
                in public_bibliography(section.manuscript)
                and "Opportunities and obstacles"
                in public_bibliography(section.manuscript)
            )
        )

    assert set(
        Reference.objects.filter(manuscript=section.manuscript).values_list(
            "state", flat=True
        )
    ) == {Reference.State.RESOLVED}
    assert len(upstream.log) == 2


def test_a_worker_killed_mid_fetch_leaves_the_reference_to_the_sweep_and_the_next(
    upstream, workers, contributor, settings
):
    arrived, release = threading.Event(), threading.Event()
    answered = []

    def doi_org(request: Request) -> Response:
        answered.append(request.path)
        if len(answered) == 1:
            arrived.set()
            release.wait(timeout=60)  # the first worker dies waiting for this
            return Response("too late", status=503)
        return Response(
            recorded("doi-csl/10.1126_science.169.3946.635.csl.json"),
            content_type=CSL_JSON,
        )

    upstream.expect_request(f"/{WATER}").respond_with_handler(doi_org)
    section = make_section(make_manuscript("Killed review"), "Intro", body="Intro.")
    first = workers()
    try:
        revisions.save_edit(
            section, body=f"Water [@doi:{WATER}].", by=contributor, overwrite=True
        )
        assert arrived.wait(timeout=60), "the first worker never asked doi.org"
        first.kill()
    finally:
        release.set()
    reference = Reference.objects.get(key=f"doi:{WATER}")
    assert reference.state == Reference.State.PENDING

    workers()
    # Beat's sweep, run as beat would once the reference has waited past its time
    # (derived from the fetch deadline); the dead worker's task stays with the
    # broker for its production visibility timeout, an hour.
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] == 3600
    later = timezone.now() + timedelta(
        seconds=settings.CITATION_PENDING_STUCK_AFTER + 1
    )
    # Through the worker, which shares the dead one's cache (its "being fetched"
    # mark) and broker. Sooner than that mark would expire by itself: the sweep,
    # not the clock, hands the reference on.
    mark_lifetime = settings.CITATION_DEADLINE + settings.CITATION_TIMEOUT
    tasks.requeue_stuck_references.delay(now=later.isoformat())
    with worker_events(timeout=mark_lifetime / 2) as until:
        until(
            lambda: (
                "The Structure of Ordinary Water"
                in public_bibliography(section.manuscript)
            )
        )

    reference.refresh_from_db()
    assert reference.state == Reference.State.RESOLVED
    assert reference.attempts == 0
    assert answered == [f"/{WATER}", f"/{WATER}"]

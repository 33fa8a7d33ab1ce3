"""References resolve in the background: a save brings new keys, workers fetch them
from the (local, recorded) services, and failures become states with reasons."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from pytest_httpserver import HTTPServer

from sections import assembly, references, revisions
from sections.models import ManuscriptRender, Reference
from tests.conftest import recorded
from tests.factories import make_manuscript, make_section

CSL_JSON = "application/vnd.citationstyles.csl+json"
WATER = "10.1126/science.169.3946.635"
DEEP_REVIEW = "10.1098/rsif.2017.0387"


@pytest.fixture
def auto_resolve(settings, upstream):
    settings.CITATION_AUTO_RESOLVE = True
    return upstream


@pytest.fixture
def section(db):
    return make_section(make_manuscript("Resolving review"), "Intro", body="Intro.")


def serve_doi(server, doi: str, name: str) -> None:
    server.expect_request(f"/{doi}").respond_with_data(
        recorded(name), content_type=CSL_JSON
    )


def save(section, body: str, by, capture) -> None:
    with capture(execute=True):
        revisions.save_edit(section, body=body, by=by, overwrite=True)


def bibliography(manuscript) -> str:
    render = assembly.assemble(manuscript, audience=ManuscriptRender.Audience.PUBLIC)
    return render.bibliography_html


def test_a_save_citing_a_new_doi_shows_the_real_paper_in_the_bibliography(
    auto_resolve, section, contributor, django_capture_on_commit_callbacks
):
    serve_doi(auto_resolve, WATER, "doi-csl/10.1126_science.169.3946.635.csl.json")

    save(
        section,
        f"Water [@doi:{WATER}].",
        contributor,
        django_capture_on_commit_callbacks,
    )

    reference = Reference.objects.get(key=f"doi:{WATER}")
    assert reference.state == Reference.State.RESOLVED
    assert reference.metadata_source == "doi.org content negotiation"
    assert "The Structure of Ordinary Water" in bibliography(section.manuscript)


def test_three_spellings_of_one_doi_are_one_reference_fetched_once(
    auto_resolve, section, contributor, django_capture_on_commit_callbacks
):
    serve_doi(auto_resolve, DEEP_REVIEW, "doi-csl/10.1098_rsif.2017.0387.csl.json")
    body = (
        f"One [@doi:{DEEP_REVIEW.upper()}], two [@https://doi.org/{DEEP_REVIEW}], "
        f"three [@doi:{DEEP_REVIEW}]."
    )

    save(section, body, contributor, django_capture_on_commit_callbacks)
    save(section, body + " Again.", contributor, django_capture_on_commit_callbacks)

    (reference,) = Reference.objects.filter(manuscript=section.manuscript)
    assert reference.key == f"doi:{DEEP_REVIEW}"
    assert reference.state == Reference.State.RESOLVED
    assert len(auto_resolve.log) == 1


def test_an_unknown_doi_fails_with_a_reason_and_is_not_retried_by_beat(
    auto_resolve, section, contributor, django_capture_on_commit_callbacks
):
    auto_resolve.expect_request("/10.1126/foo").respond_with_data(
        recorded("errors/doi.org_404_10.1126_foo.html"),
        status=404,
        content_type="text/html;charset=utf-8",
    )

    save(
        section,
        "Gone [@doi:10.1126/foo].",
        contributor,
        django_capture_on_commit_callbacks,
    )

    reference = Reference.objects.get(key="doi:10.1126/foo")
    assert reference.state == Reference.State.FAILED
    assert "404" in reference.error
    later = timezone.now() + timedelta(days=2)
    assert references.retry_due(now=later) == 0
    assert "doi:10.1126/foo: metadata not available yet" in bibliography(
        section.manuscript
    )


def test_an_outage_backs_off_honouring_retry_after_then_fails_and_beat_retries(
    auto_resolve, settings, section, contributor, django_capture_on_commit_callbacks
):
    settings.CITATION_MAX_ATTEMPTS = 2
    auto_resolve.expect_ordered_request(f"/{WATER}").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "120"}
    )

    before = timezone.now()
    save(
        section,
        f"Water [@doi:{WATER}].",
        contributor,
        django_capture_on_commit_callbacks,
    )

    reference = Reference.objects.get(key=f"doi:{WATER}")
    assert reference.state == Reference.State.PENDING
    assert "try 1 of 2" in reference.error
    assert reference.next_attempt_at >= before + timedelta(seconds=120)

    auto_resolve.expect_ordered_request(f"/{WATER}").respond_with_data(
        "down", status=503
    )
    call_command("resolve_references")
    reference.refresh_from_db()
    assert reference.state == Reference.State.FAILED
    assert "gave up after 2 tries" in reference.error

    serve_doi(auto_resolve, WATER, "doi-csl/10.1126_science.169.3946.635.csl.json")
    assert references.retry_due(now=timezone.now()) == 0  # not due yet
    later = timezone.now() + timedelta(seconds=settings.CITATION_RETRY_FAILED_AFTER)
    with django_capture_on_commit_callbacks(execute=True):
        assert references.retry_due(now=later) == 1
    reference.refresh_from_db()
    assert reference.state == Reference.State.RESOLVED


@pytest.fixture
def other_loopback():
    """A second local server, on 127.0.0.2: an address the tests do not allow, as an
    internal host would be."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.2:{port}/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/",
        "http://[::ffff:127.0.0.2]:{port}/",
        "http://0.0.0.0:{port}/",
    ],
    ids=["other-loopback", "cloud-metadata", "ipv6-loopback", "ipv4-mapped", "zero"],
)
def test_a_doi_redirecting_to_a_private_address_fails_for_good_without_following(
    auto_resolve,
    other_loopback,
    target,
    section,
    contributor,
    django_capture_on_commit_callbacks,
):
    # Only the recorded services' own address (127.0.0.1) is allowed; the internal
    # host answers with what would otherwise land in the bibliography.
    other_loopback.expect_request("/latest/meta-data/").respond_with_json(
        {"type": "article", "title": "Internal secret"}
    )
    location = target.format(port=other_loopback.port)
    auto_resolve.expect_request(f"/{WATER}").respond_with_data(
        "", status=302, headers={"Location": location}
    )

    save(
        section,
        f"Water [@doi:{WATER}].",
        contributor,
        django_capture_on_commit_callbacks,
    )

    reference = Reference.objects.get(key=f"doi:{WATER}")
    assert reference.state == Reference.State.FAILED
    assert "private network" in reference.error
    assert reference.next_attempt_at is None  # final: beat does not try it again
    assert references.retry_due(now=timezone.now() + timedelta(days=2)) == 0
    assert other_loopback.log == []
    assert "Internal secret" not in bibliography(section.manuscript)
    assert len(auto_resolve.log) == 1  # nor was Crossref asked instead


def test_imported_metadata_stays_until_fetched_metadata_wins(
    upstream, seed, django_capture_on_commit_callbacks
):
    reference = seed.references.get(key="doi:10.1371/journal.pbio.1002195")
    provisional = reference.csl_provisional["title"]
    assert provisional in bibliography(seed)
    upstream.expect_request("/10.1371/journal.pbio.1002195").respond_with_json(
        {
            "type": "article-journal",
            "title": "Big Data: Astronomical or Genomical? (as fetched)",
            "author": [{"family": "Stephens", "given": "Zachary D."}],
            "issued": {"date-parts": [[2015, 5, 27]]},
        }
    )

    with django_capture_on_commit_callbacks(execute=True):
        references.retry(reference)

    reference.refresh_from_db()
    assert reference.csl_provisional["title"] == provisional  # both are kept
    assert reference.csl["title"].endswith("(as fetched)")
    assert "Genomical? (as fetched)" in bibliography(seed)


def test_several_arxiv_ids_are_fetched_in_one_request(
    auto_resolve, section, contributor, django_capture_on_commit_callbacks
):
    auto_resolve.expect_request("/api/query").respond_with_data(
        recorded("arxiv/query_id_list_0808.05394,1707.08567.atom.xml"),
        content_type="application/atom+xml",
    )

    save(
        section,
        "Two preprints [@arxiv:0808.05394; @arxiv:1707.08567].",
        contributor,
        django_capture_on_commit_callbacks,
    )

    states = dict(
        Reference.objects.filter(manuscript=section.manuscript).values_list(
            "key", "state"
        )
    )
    assert states == {
        "arxiv:0808.05394": Reference.State.FAILED,
        "arxiv:1707.08567": Reference.State.RESOLVED,
    }
    assert len(auto_resolve.log) == 1


def test_a_manual_record_wins_and_bad_json_is_refused_with_a_reason(
    section, maintainer
):
    reference = Reference.objects.create(
        manuscript=section.manuscript,
        key="doi:10.1/hand",
        csl_fetched={"type": "article", "title": "Fetched title"},
        state=Reference.State.RESOLVED,
    )

    with pytest.raises(references.ReferenceRejected, match="not JSON"):
        references.set_manual(reference, csl_text="{title: oops", by=maintainer)
    with pytest.raises(references.ReferenceRejected, match="title"):
        references.set_manual(reference, csl_text='{"type": "book"}', by=maintainer)
    references.set_manual(
        reference,
        csl_text='[{"type": "book", "title": "Corrected <i>by hand</i>"}]',
        by=maintainer,
    )

    reference.refresh_from_db()
    assert reference.csl["title"] == "Corrected <i>by hand</i>"
    assert reference.csl_fetched["title"] == "Fetched title"
    assert reference.metadata_source.startswith("entered by")


def test_a_fetch_in_flight_never_overwrites_a_record_entered_meanwhile(
    section, maintainer
):
    reference = Reference.objects.create(
        manuscript=section.manuscript,
        key="doi:10.1/late",
        state=Reference.State.PENDING,
    )
    in_flight = Reference.objects.get(pk=reference.pk)  # what the worker loaded
    references.set_manual(
        reference, csl_text='{"type": "book", "title": "By hand"}', by=maintainer
    )

    references.record_failure(in_flight, "doi.org has no record of this (404)")

    reference.refresh_from_db()
    assert reference.state == Reference.State.RESOLVED
    assert reference.csl["title"] == "By hand"


def test_removing_a_manual_record_queues_the_reference_for_fetching(
    upstream, section, maintainer, django_capture_on_commit_callbacks
):
    serve_doi(upstream, WATER, "doi-csl/10.1126_science.169.3946.635.csl.json")
    reference = Reference.objects.create(
        manuscript=section.manuscript,
        key=f"doi:{WATER}",
        csl_manual={"type": "book", "title": "By hand"},
        state=Reference.State.RESOLVED,
    )

    with django_capture_on_commit_callbacks(execute=True):
        references.set_manual(reference, csl_text="", by=maintainer)

    reference.refresh_from_db()
    assert reference.state == Reference.State.RESOLVED
    assert reference.csl["title"] == "The Structure of Ordinary Water"


def test_resolve_references_waits_out_a_rate_limit_and_retries_in_the_same_run(
    upstream, settings, section, contributor, django_capture_on_commit_callbacks
):
    settings.CITATION_BACKOFF_BASE = 0  # the service's own Retry-After is the wait
    upstream.expect_ordered_request(f"/{WATER}").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "1"}
    )
    serve_doi(upstream, WATER, "doi-csl/10.1126_science.169.3946.635.csl.json")
    save(
        section,
        f"Water [@doi:{WATER}].",
        contributor,
        django_capture_on_commit_callbacks,
    )
    out, progress = StringIO(), StringIO()

    call_command("resolve_references", "--max-wait", "30", stdout=out, stderr=progress)

    reference = Reference.objects.get(key=f"doi:{WATER}")
    assert reference.state == Reference.State.RESOLVED
    assert "1 waiting 1 s to retry" in progress.getvalue()
    assert out.getvalue().startswith("Resolved 1, failed 0, still waiting 0")
    assert len(upstream.log) == 2


def test_a_reference_whose_task_was_lost_is_queued_again_by_the_sweep(
    upstream, settings, section, contributor, django_capture_on_commit_callbacks
):
    # Saved with nothing queued, as when the worker holding its task was killed.
    serve_doi(upstream, WATER, "doi-csl/10.1126_science.169.3946.635.csl.json")
    save(
        section,
        f"Water [@doi:{WATER}].",
        contributor,
        django_capture_on_commit_callbacks,
    )
    stuck_after = timedelta(seconds=settings.CITATION_PENDING_STUCK_AFTER)

    assert references.requeue_stuck(now=timezone.now()) == 0  # not late yet
    with django_capture_on_commit_callbacks(execute=True):
        requeued = references.requeue_stuck(now=timezone.now() + stuck_after * 1.1)

    assert requeued == 1
    reference = Reference.objects.get(key=f"doi:{WATER}")
    assert reference.state == Reference.State.RESOLVED

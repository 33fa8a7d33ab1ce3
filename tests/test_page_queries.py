"""Pages read what is stored: a page view costs the same few queries however many
sections the manuscript has, and writes nothing (assembling is the worker's job)."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from sections import revisions
from sections.models import Manuscript
from tests.factories import make_manuscript, make_section, preview_url

WRITES = ("INSERT", "UPDATE", "DELETE")
RENDERS = (
    "sections_sectionrender",
    "sections_assembledsection",
    "sections_manuscriptrender",
)
# Ceilings per page for a signed-in contributor (session and user included).
# The preview: the manuscript by its slug, whether it is the public one, its render's
# version and its release list's (the page itself comes from the cache). The
# outline's seventh reads the reader's visits (what changed since they looked); the
# section page's visit costs one read, and writes only when there is something new.
CEILINGS = {"outline": 7, "section page": 12, "preview": 4, "editor page": 4}


def manuscript_of(sections: int, author, capture):
    """A manuscript of citing sections, saved and assembled as the worker would."""
    manuscript = make_manuscript(f"Review of {sections}")
    with capture(execute=True):
        for n in range(sections):
            section = make_section(manuscript, f"Part {n}", body="")
            revisions.save_edit(
                section,
                body=f"Finding {n} [@doi:10.1000/{n}; @doi:10.1000/{n + 1}].\n\n"
                "TODO: check the figures.\n",
                by=author,
                summary="",
                overwrite=True,
            )
    return manuscript


def queries(client, url: str) -> list[str]:
    client.get(url)  # the first view may fill a cache; the second is the steady state
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


def test_pages_cost_the_same_few_queries_at_3_and_30_sections(
    contributor, contributor_client, django_capture_on_commit_callbacks
):
    counts = {}
    for size in (3, 30):
        Manuscript.objects.all().delete()  # one manuscript at a time, as on the home page
        manuscript = manuscript_of(
            size, contributor, django_capture_on_commit_callbacks
        )
        middle = manuscript.sections.order_by("position")[size // 2]
        pages = {
            "outline": "/",
            "section page": middle.get_absolute_url(),
            "preview": preview_url(manuscript),
            "editor page": middle.get_absolute_url() + "edit/",
        }
        for page, url in pages.items():
            made = queries(contributor_client, url)
            assert not [q for q in made if q.lstrip().upper().startswith(WRITES)], page
            assert not [q for q in made if "FOR UPDATE" in q.upper()], page
            counts[page, size] = len(made)
    for page, ceiling in CEILINGS.items():
        assert counts[page, 3] == counts[page, 30] <= ceiling, (page, counts)


def test_a_section_page_right_after_a_save_shows_it_before_the_worker_has(
    contributor, contributor_client, django_capture_on_commit_callbacks
):
    manuscript = manuscript_of(4, contributor, django_capture_on_commit_callbacks)
    section = manuscript.sections.order_by("position")[1]
    edit = section.get_absolute_url() + "edit/"
    form = contributor_client.get(edit).context["form"]
    # Saved through the editor; the render and assembly it queues have not run yet.
    answer = contributor_client.post(
        edit,
        {
            "title": section.title,
            "body": "A new finding [@doi:10.1000/2; @doi:10.1000/99].\n",
            "base": form.initial["base"],
            "summary": "",
            "save": "",
        },
    )
    assert answer.status_code == 302
    with CaptureQueriesContext(connection) as captured:
        page = contributor_client.get(answer.headers["Location"]).content.decode()
    assert "A new finding" in page
    # Numbered across the manuscript with the new text in place: after the first
    # section's two works, doi:10.1000/2 is the third and the new one the fourth.
    assert 'href="#ref-3">3<' in page
    assert 'href="#ref-4">4<' in page
    # Rendered for this page only: the stored renders are the worker's to write.
    made = [q["sql"] for q in captured.captured_queries]
    assert not [q for q in made if "FOR UPDATE" in q.upper()]
    writes = [q for q in made if q.lstrip().upper().startswith(WRITES)]
    assert not [q for q in writes if any(table in q for table in RENDERS)]

"""The public preview: numbered citations, a real bibliography, nothing private."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from sections import assembly, rendering, revisions
from sections.citations import records
from sections.models import ManuscriptRender, Reference, SectionRender
from tests.factories import make_manuscript, make_section, preview_url

PUBLIC = ManuscriptRender.Audience.PUBLIC
CONTRIBUTORS = ManuscriptRender.Audience.CONTRIBUTORS


def citation_numbers(html: str) -> list[str]:
    """Each citation's numbers as a reader sees them, e.g. ["1", "2, 3", "1"]."""
    return [
        ", ".join(re.findall(r'<a class="cite[^"]*" href="#ref-(\d+)"', group))
        for group in re.findall(r'<span class="citation">(.*?)\]</span>', html)
    ]


def bibliography_keys(html: str) -> list[str]:
    return re.findall(r'data-key="([^"]+)"', html)


@pytest.fixture
def small(db):
    manuscript = make_manuscript("Small review")
    for title, body in [
        ("Intro", "First [@doi:10.1/a]. Both [@doi:10.1/b; @pmid:42]."),
        ("Methods", "Again [@DOI:10.1/A] and new [@arxiv:1605.08386]."),
    ]:
        records.sync_section(make_section(manuscript, title, body=body))
    Reference.objects.filter(manuscript=manuscript, key="doi:10.1/a").update(
        csl_provisional={
            "type": "article-journal",
            "title": "Paper A",
            "author": [{"family": "Ames", "given": "A."}],
            "issued": {"date-parts": [[2015]]},
            "container-title": "Nature",
        },
    )
    return manuscript


def test_citations_are_numbered_by_first_appearance_and_keep_their_number(small):
    render = assembly.assemble(small, audience=PUBLIC)
    assert citation_numbers(assembly.body_html(render)) == ["1", "2, 3", "1", "4"]
    assert bibliography_keys(render.bibliography_html) == [
        "doi:10.1/a",
        "doi:10.1/b",
        "pmid:42",
        "arxiv:1605.08386",
    ]
    assert 'id="ref-1"' in render.bibliography_html
    assert "Ames, A. Paper A. <i>Nature</i> (2015)." in render.bibliography_html


def test_a_key_with_no_metadata_yet_renders_visibly_marked(small):
    render = assembly.assemble(small, audience=PUBLIC)
    assert '<a class="cite pending" href="#ref-2">' in assembly.body_html(render)
    assert "doi:10.1/b: metadata not available yet" in render.bibliography_html


def test_a_tag_shares_the_number_of_the_reference_it_stands_for(small):
    target = Reference.objects.get(manuscript=small, key="doi:10.1/a")
    Reference.objects.create(manuscript=small, key="tag:ames", alias_of=target)
    records.sync_section(make_section(small, "Results", body="As tagged [@tag:ames]."))
    render = assembly.assemble(small, audience=PUBLIC)
    assert citation_numbers(assembly.body_html(render))[-1] == "1"


def test_todo_notes_are_for_contributors_unless_the_manuscript_shows_them(db):
    manuscript = make_manuscript("Todo review")
    make_section(
        manuscript,
        "Intro",
        body="Text. TODO: add a figure here.\n\nAbstract goes here.\n\nMore [refs].",
    )
    public = assembly.body_html(assembly.assemble(manuscript, audience=PUBLIC))
    contributors = assembly.body_html(
        assembly.assemble(manuscript, audience=CONTRIBUTORS)
    )
    assert "TODO" not in public
    assert "Abstract goes here" not in public
    assert '<span class="missing-citation"' in public  # [refs] stays, marked
    assert '<mark class="todo">TODO: add a figure here.</mark>' in contributors
    manuscript.show_todos_publicly = True
    manuscript.save()
    assert "TODO: add a figure here." in assembly.body_html(
        assembly.assemble(manuscript, audience=PUBLIC)
    )


def test_hidden_sections_and_their_citations_stay_out_of_the_public_preview(small):
    small.sections.filter(title="Intro").update(is_hidden=True)
    public = assembly.assemble(small, audience=PUBLIC)
    assert "First" not in assembly.body_html(public)
    assert [t["title"] for t in public.toc] == ["Methods"]
    assert citation_numbers(assembly.body_html(public)) == ["1", "2"]
    assert "doi:10.1/b" not in public.bibliography_html
    contributors = assembly.assemble(small, audience=CONTRIBUTORS)
    assert "First" in assembly.body_html(contributors)


def test_seed_preview_reads_like_the_review(client: Client, seed):
    page = client.get(preview_url()).text
    body = page[page.index('<main id="main"') :]
    assert "Deep Learning, Genomics, and Precision Medicine" in page
    assert "TODO" not in body
    assert "Abstract goes here" not in body
    assert "Jinbo Xu" not in body  # a claim sentence is contributor business
    render = ManuscriptRender.objects.get(manuscript=seed, audience=PUBLIC)
    keys = bibliography_keys(render.bibliography_html)
    assert keys[:3] == [
        "doi:10.1371/journal.pbio.1002195",
        "tag:in-press-see-2",
        "doi:10.1103/revmodphys.34.135",
    ]
    assert (
        "Schmidhuber, J. Deep learning in neural networks: An overview. "
        "<i>Neural Networks</i> <b>61</b>, 85–117 (2015)."
    ) in render.bibliography_html
    # The seed cites [3] only inside a TODO note: a reference for contributors alone.
    assert "doi:10.1038/nature14539" not in keys
    contributors = assembly.assemble(seed, audience=CONTRIBUTORS)
    assert "Deep learning. <i>Nature</i> <b>521</b>" in contributors.bibliography_html
    assert (
        '<span class="missing-citation" title="No reference for this citation yet">[McHardy]</span>'
        in body
    )


def test_preview_answers_304_until_an_edit_changes_it(
    client: Client, seed, contributor, django_capture_on_commit_callbacks
):
    first = client.get(preview_url())
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(preview_url(), HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert (
        client.get(preview_url(), HTTP_IF_MODIFIED_SINCE=last_modified).status_code
        == 304
    )

    section = seed.sections.get(title="Patient Treatment")
    with django_capture_on_commit_callbacks(execute=True):
        revisions.save_edit(
            section,
            body=section.body + "\n\nA new closing thought.",
            by=contributor,
            overwrite=True,
        )
    after = client.get(preview_url(), HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200
    assert "A new closing thought." in after.text
    assert after.headers["ETag"] != etag


def test_one_save_re_renders_exactly_one_section(
    seed, contributor, django_capture_on_commit_callbacks
):
    assembly.assemble(seed, audience=PUBLIC)
    before = dict(SectionRender.objects.values_list("section_id", "rendered_at"))
    section = seed.sections.get(title="Gene expression")
    with django_capture_on_commit_callbacks(execute=True):
        revisions.save_edit(
            section,
            body="Expression, rewritten [@doi:10.1038/nature14539].",
            by=contributor,
            overwrite=True,
        )
    after = dict(SectionRender.objects.values_list("section_id", "rendered_at"))
    changed = [pk for pk in after if after[pk] != before.get(pk)]
    assert changed == [section.pk]
    # Saving the same text again renders nothing.
    with django_capture_on_commit_callbacks(execute=True):
        revisions.save_edit(
            section,
            body="Expression, rewritten [@doi:10.1038/nature14539].",
            by=contributor,
            overwrite=True,
        )
    assert dict(SectionRender.objects.values_list("section_id", "rendered_at")) == after


def reading_text(page: str) -> str:
    """The words of a page's manuscript as a reader reads them, spaces collapsed."""

    class Reader(HTMLParser):
        text = ""

        def handle_data(self, data: str) -> None:
            self.text += data

    reader = Reader()
    reader.feed(page[page.index('<main id="main"') :])
    return " ".join(reader.text.split())


def test_the_text_after_an_inline_note_is_public_and_the_note_is_not(client, seed):
    text = reading_text(client.get(preview_url()).text)
    assert (
        "Metagenomics (which refers to the study of genetic material, 16S rRNA "
        "and/or whole-genome shotgun DNA, from microbial communities) has "
        "revolutionized the study of micro-scale ecosystems within us and around us."
    ) in text
    assert "Add reference tags" not in text
    assert "TODO" not in text
    contributors = assembly.body_html(assembly.assemble(seed, audience=CONTRIBUTORS))
    assert (
        '<mark class="todo">TODO: Add reference tags to this section</mark> '
        "Metagenomics (which"
    ) in contributors


def test_a_number_missing_from_the_reference_list_reads_as_missing(client, seed):
    page = client.get(preview_url()).text
    text = reading_text(page)
    assert "to cluster breast cancer patients [missing reference 14]." in text
    assert "patients [14]" not in text
    assert 'patients <span class="missing-reference" title="' in page
    # Not a citation: it takes no number, so entry 14 is the 14th work cited.
    render = ManuscriptRender.objects.get(manuscript=seed, audience=PUBLIC)
    numbered = citation_numbers(assembly.body_html(render))
    assert len(bibliography_keys(render.bibliography_html)) == len(
        {n for group in numbered for n in group.split(", ")}
    )


@pytest.mark.parametrize(
    ("body", "public"),
    [
        ("Text TODO: add a figure. Next sentence.", "Text Next sentence."),
        ("TODO: Add tags to this section Metagenomics is big.", "Metagenomics is big."),
        ("TODO: Write it once the Discussion is done.\nNext line.", "Next line."),
        ("A [TODO: ask Casey Greene [@doi:10.1/x]] sentence.", "A sentence."),
        ("A (TODO: check (maybe) later) sentence.", "A sentence."),
    ],
)
def test_a_note_ends_where_the_note_ends(body, public):
    fragment = rendering.render_fragment("Notes", body)
    html = "".join(s for s in fragment.public_segments if isinstance(s, str))
    assert " ".join(re.sub(r"<[^>]+>", " ", html).split()) == public

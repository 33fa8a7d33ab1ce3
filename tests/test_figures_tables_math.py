"""Figures with numbered captions, table captions, typeset math and the cross-
references between them, as Manubot (pandoc with the xnos filters) shows them: on
the sample manuscript, on every page that shows a manuscript."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from sections import exporting, importing, releases, revisions
from sections.models import Citation, Reference
from tests.conftest import IN_CI
from tests.factories import make_manuscript, make_section, preview_url
from tests.test_preview import reading_text

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "manubot-sample"

FIGURE_1 = '<figcaption><span class="label-number">Figure 1:</span> Overview of the model families'
FIGURE_2 = (
    '<figcaption><span class="label-number">Figure 2:</span> Cell images classified'
)
TABLE_1 = '<caption><span class="label-number">Table 1:</span> Terms used in this review.</caption>'
REFERENCES = [
    'Figure <a class="xref" href="#fig:overview">1</a>',
    'Table <a class="xref" href="#tbl:terms">1</a>',
    'Equation <a class="xref" href="#eq:loss">1</a>',
    'Figure <a class="xref" href="#fig:imaging">2</a>',
]  # fmt: skip


@pytest.fixture
def sample(db):
    return importing.import_path(SAMPLE).manuscript


def assert_numbered(page: str) -> None:
    """Figures, the table and the equation numbered, and the text's references to
    them linked to them by number."""
    assert '<figure class="white" id="fig:overview">' in page  # pandoc's classes too
    assert FIGURE_1 in page
    assert FIGURE_2 in page
    assert '<table id="tbl:terms">' in page
    assert TABLE_1 in page
    for reference in REFERENCES:
        assert reference in page
    equation = re.search(r'<span id="eq:loss">(.*?)</span></p>', page, re.DOTALL)
    assert equation
    assert '<math display="block">' in equation.group(1)
    assert equation.group(1).endswith('</math><span class="label-number">(1)</span>')
    assert '<math display="inline"><mrow><mi>x</mi></mrow></math>' in page
    text = reading_text(page)
    for written in ("Table: Terms", "{#fig:", "{#tbl:", "{#eq:", "$", "@fig:", "@eq:"):
        assert written not in text


def test_the_sample_numbers_figures_tables_and_equations_on_the_public_page(
    client, sample
):
    page = client.get(preview_url()).text

    assert_numbered(page)
    # The figure's caption is Markdown, its citation numbered like any other.
    caption = page[page.index(FIGURE_1) :].split("</figcaption>")[0]
    assert re.search(r'<a class="cite[^"]*" href="#ref-\d+">\d+', caption)
    # Labels are no citations: no reference, no citation row, no bibliography entry.
    labels = re.compile(r"^(fig|tbl|eq):")
    assert not [r.key for r in Reference.objects.all() if labels.match(r.key)]
    assert not Citation.objects.filter(key_as_written__regex=r"^(fig|tbl|eq):")
    assert "fig:overview" not in page[page.index('<ol class="bibliography"') :]


def test_the_editor_preview_and_a_version_number_them_in_the_manuscript(
    client, contributor_client, maintainer, sample
):
    imaging = sample.sections.get(title="Imaging")
    # The figure this section shows is the manuscript's second: the first is in
    # the section before it.
    preview = contributor_client.post(
        reverse("sections:section-live-preview", args=[sample.slug, imaging.slug]),
        {
            "title": imaging.title,
            "body": imaging.body + "\n\nAs in Figure @fig:overview.",
        },
    ).text
    assert FIGURE_2 in preview
    assert 'Figure <a class="xref" href="#fig:imaging">2</a>' in preview
    assert 'As in Figure <a class="xref" href="#fig:overview">1</a>.' in preview

    release = releases.publish(sample, name="v1.0", note="", by=maintainer)
    assert_numbered(client.get(release.get_absolute_url()).text)


def test_the_standalone_html_that_is_also_printed_holds_numbers_and_mathml(sample):
    page = exporting.standalone_html(sample)

    assert_numbered(page)
    # Its figures are inlined on the parsed tree: no entity is escaped a second time.
    assert "&amp;#" not in page
    assert "&amp;amp;" not in page


def test_the_printed_pdf_reads_as_the_page_does(sample, settings):
    if not Path(settings.CHROMIUM_PATH).exists():
        if IN_CI:
            pytest.fail("CI needs Debian's chromium (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")

    pages = PdfReader(io.BytesIO(exporting.pdf(sample))).pages
    text = "\n".join(page.extract_text() for page in pages)

    assert "Figure 1: Overview of the model families" in text
    assert "Table 1: Terms used in this review." in text
    assert "ℒ(𝑥, ^𝑥) = ∑" in text  # typeset math, not its TeX nor its entities
    assert "the loss in Equation 1" in text.replace("The loss", "the loss")
    assert "1. LeCun, Y., Bengio, Y. & Hinton, G. Deep learning. Nature" in text
    assert "Author Competing Interests Last Reviewed" in text  # the template's table
    for written in ("&#x", "&amp;", "&#160;", "\\hat", "{#fig:", "{{", "{%"):
        assert written not in text


def test_an_edit_renumbers_the_figures_after_it_in_other_sections(
    client, maintainer, sample
):
    introduction = sample.sections.get(title="Introduction")
    revisions.save_edit(
        introduction,
        body="![A new first figure.](images/new.png){#fig:new}\n\n" + introduction.body,
        by=maintainer,
        overwrite=True,
    )

    page = client.get(preview_url()).text

    assert '<span class="label-number">Figure 1:</span> A new first figure.' in page
    assert 'Figure <a class="xref" href="#fig:overview">2</a>' in page
    assert 'Figure <a class="xref" href="#fig:imaging">3</a>' in page


def test_captions_before_tables_linked_figures_and_unlabelled_figures(client, db):
    manuscript = make_manuscript("Shapes")
    make_section(
        manuscript,
        "Data",
        body=(
            ": Sizes of the data sets. {#tbl:sizes}\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "[![A *linked* figure.](images/a.png){#fig:linked}](https://example.org/big)\n\n"
            "![An unlabelled figure.](images/plain.png)\n\n"
            "An icon ![icon](images/i.png) in a sentence is no figure.\n\n"
            "See Table @tbl:sizes and [@fig:linked].\n"
        ),
    )

    page = client.get(preview_url()).text

    assert (
        '<table id="tbl:sizes"><caption><span class="label-number">Table 1:</span> '
        "Sizes of the data sets.</caption>"
    ) in page
    # No file is stored for these paths: each figure holds the missing-figure mark.
    missing = '<span class="missing-figure" role="img"'
    assert (
        f'<figure id="fig:linked"><a href="https://example.org/big">{missing}' in page
    )
    assert (
        '<figcaption><span class="label-number">Figure 1:</span> A <em>linked</em> '
        "figure.</figcaption>"
    ) in page
    assert (
        f'<figure>{missing} aria-label="Missing figure: images/plain.png">'
        "Missing figure: images/plain.png</span>"
        "<figcaption>An unlabelled figure.</figcaption>"
    ) in page
    assert f'<p>An icon {missing} aria-label="Missing figure: images/i.png">' in page
    assert (
        'See Table <a class="xref" href="#tbl:sizes">1</a> and '
        '<a class="xref" href="#fig:linked">1</a>.'
    ) in page


def test_clever_and_protected_references_read_as_pandoc_xnos_writes_them(client, db):
    manuscript = make_manuscript("Clever")
    make_section(
        manuscript,
        "Results",
        body=(
            "![A figure.](images/a.png){#fig:a}\n\n"
            ": Sizes. {#tbl:sizes}\n\n| a |\n|---|\n| 1 |\n\n"
            "+@fig:a shows it; as *@fig:a and [+@tbl:sizes; !@fig:a] do, "
            "and panel {@fig:a}b.\n"
        ),
    )

    page = client.get(preview_url()).text

    fig = '<a class="xref" href="#fig:a">'
    assert f"<p>{fig}Fig.\u00a01</a> shows it; as {fig}fig.\u00a01</a> and " in page
    assert f'<a class="xref" href="#tbl:sizes">Table\u00a01</a>, {fig}1</a> do' in page
    assert f"and panel {fig}1</a>b.</p>" in page
    for written in ("+@", "*@", "!@", "{@", "{1}"):
        assert written not in reading_text(page)


def test_written_text_that_is_not_math_or_a_label_stays_as_written(client, db):
    manuscript = make_manuscript("Prices")
    make_section(
        manuscript,
        "Costs",
        body=(
            "A licence costs $5 and a second one $10, so $15 in all.\n\n"
            "In code, `$x$` and `@fig:overview` stay code.\n\n"
            "```\n$$ y $$\n```\n\n"
            "Figure @fig:nowhere is not in this manuscript, nor is [@tbl:none].\n"
        ),
    )

    page = client.get(preview_url()).text
    text = reading_text(page)

    assert "costs $5 and a second one $10, so $15 in all." in text
    assert "<math" not in page
    assert "<code>$x$</code> and <code>@fig:overview</code>" in page
    assert "<pre><code>$$ y $$\n</code></pre>" in page
    assert "Figure [missing figure fig:nowhere] is not in this manuscript" in text
    assert "nor is [missing table tbl:none]." in text
    assert not Reference.objects.filter(manuscript=manuscript).exists()


@pytest.mark.parametrize(
    "tex",
    [
        r"\href{javascript:alert(1)}{click}",
        r"\style{position:fixed;top:0;left:0}{x}",
        r"\raise{-999em}{x}\color{url(javascript:alert(1))}{y}\hspace{9999em}",
        r"\color{red\" onmouseover=\"alert(1)}{x}",
        "x" * 100_000,
        "{" * 2_400 + "x" + "}" * 2_400,
    ],
    ids=["href", "style", "lengths-and-colours", "quote", "huge", "deep"],
)
def test_hostile_tex_saved_through_the_editor_is_harmless(
    client, contributor_client, tex, db
):
    manuscript = make_manuscript("Hostile")
    section = make_section(manuscript, "Intro", body="Before.")
    edit = reverse("sections:section-edit", args=[manuscript.slug, section.slug])
    form = contributor_client.get(edit).context["form"]
    started = time.monotonic()

    response = contributor_client.post(
        edit,
        {
            "title": "Intro",
            "base": form.initial["base"],
            "body": f"Inline ${tex}$ and display\n\n$${tex}$$ {{#eq:bad}}\n\nAfter.",
        },
    )
    page = client.get(preview_url()).text

    assert response.status_code == 302
    assert time.monotonic() - started < 10
    body = page[page.index('<main id="main"') :]
    assert "After." in body
    assert not re.search(r'="\s*javascript:', body)
    math = "".join(re.findall(r"<math.*?</math>", body, re.DOTALL))
    for attribute in ("href=", "style=", "onmouseover", "voffset=", "mathcolor="):
        assert attribute not in math
    assert "9999em" not in math

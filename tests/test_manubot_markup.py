"""A Manubot manuscript's pandoc markup, as readers see it: the sample imported by the
importer the command uses, read through the public page, a published version and the
editor's live preview (the rows of tests/fixtures/manubot-sample/README.md for
attributes, spans, fenced divs, raw HTML, comments and footnotes)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.urls import reverse

from sections import figures, importing, releases, rendering
from sections.models import Section, TodoItem
from sections.scholarly.attributes import PAGE_IDS
from tests.factories import make_manuscript, make_section, preview_url

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "manubot-sample"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
PANDOC_SYNTAX = ["]{.", "{.page_break_before", "{height=", ":::", "<!--", "-->"]


def html_of(segments) -> str:
    """A fragment's HTML, each figure as an image at its own path (as if stored)."""
    return "".join(
        figures.html_for(s, {s["figure"]: s["figure"]}) if isinstance(s, dict) else s
        for s in segments
        if not isinstance(s, list)
    )


class Page(HTMLParser):
    """Elements (tag, attributes, the text inside) and the text, as a browser reads it."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict, list[str]]] = []
        self.open: list[list[str]] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        inside: list[str] = []
        self.elements.append((tag, dict(attrs), inside))
        if tag not in {"br", "img", "hr", "link", "meta", "input"}:
            self.open.append(inside)

    def handle_endtag(self, tag):
        if self.open and tag not in {"br", "img", "hr"}:
            self.open.pop()

    def handle_data(self, data):
        self.text += data
        for inside in self.open:
            inside.append(data)

    def find(self, tag: str, **attributes) -> list[tuple[dict, str]]:
        return [
            (attrs, " ".join("".join(inside).split()))
            for name, attrs, inside in self.elements
            if name == tag
            and all(attrs.get(key) == value for key, value in attributes.items())
        ]


@pytest.fixture
def sample(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return importing.import_path(SAMPLE).manuscript


def pages_of(sample, client, contributor_client, maintainer) -> dict[str, str]:
    main = sample.sections.get(title="Introduction")
    imaging = sample.sections.get(title="Imaging")
    release = releases.publish(sample, name="v1.0", note="", by=maintainer)
    # The editor's preview as a contributor types the subsection's text in too.
    live = contributor_client.post(
        reverse("sections:section-live-preview", args=[sample.slug, main.slug]),
        {"title": main.title, "body": f"{main.body}\n\n{imaging.body}"},
    )
    assert live.status_code == 200
    return {
        "public page": client.get(preview_url()).text,
        "published version": client.get(release.get_absolute_url()).text,
        "live preview": live.text,
    }


def test_readers_see_pandoc_markup_rendered_never_its_syntax(
    sample, client, contributor_client, maintainer
):
    pages = pages_of(sample, client, contributor_client, maintainer)
    for name, html in pages.items():
        page = Page(html)
        for syntax in PANDOC_SYNTAX:
            assert syntax not in page.text, (name, syntax)
        assert "add the imaging figure" not in page.text, name  # the HTML comment
        (note,) = page.find("div", **{"class": "note"})
        assert note[1].startswith("Reviewers: the numbers in this subsection"), name
        # The footnote: numbered, linked both ways, its citation a numbered link.
        (reference,) = page.find("a", **{"class": "footnote-ref"})
        target = reference[0]["href"].removeprefix("#")
        (footnote,) = page.find("li", id=target)
        assert footnote[1].startswith("Count data are often modelled"), name
        assert reference[1] == "1", name
        assert "stylesheet" not in html.split("</head>", 1)[-1], name  # <link> dropped

    public = Page(pages["public page"])
    (banner,) = public.find("span", **{"class": "banner lightred"})
    assert banner[1].startswith("Draft notice This is a working draft"), banner
    breaks = public.find("h2", **{"class": "page_break_before"})
    assert [text for _, text in breaks] == ["Abstract", "References"]
    assert [entry["title"] for entry in sample.renders.get(audience="public").toc][
        :3
    ] == ["Authors", "Abstract", "Introduction"]  # the lead text has no heading
    assert sample.sections.get(title="Abstract").slug == "abstract"
    assert "<small><em>" in pages["public page"]  # raw inline HTML kept


def test_a_footnotes_citation_is_numbered_where_the_footnote_is_referenced(
    contributor_client,
):
    """As pandoc-citeproc numbers it: the note's citation before those after the
    reference, though the note prints at the end of the section."""
    section = make_section(make_manuscript("Footnoted review"), "Intro")
    body = (
        "A first claim.[^n] A later one [@doi:10.1/after].\n\n"
        "[^n]: As shown in [@doi:10.1/in-note]."
    )
    preview = contributor_client.post(
        reverse(
            "sections:section-live-preview",
            args=[section.manuscript.slug, section.slug],
        ),
        {"title": section.title, "body": body},
    )
    page = Page(preview.text)
    (footnote,) = page.find(
        "li", id=page.find("a", **{"class": "footnote-ref"})[0][0]["href"][1:]
    )
    assert footnote[1].startswith("As shown in [1")
    later = [text for attrs, text in page.find("span", **{"class": "citation"})]
    assert later[0].startswith("[2"), later  # the text's citation, after the note's


def test_footnote_ids_never_collide_across_sections():
    first = rendering.render_fragment("One", "A claim.[^1]\n\n[^1]: A note.")
    second = rendering.render_fragment("Two", "A claim.[^1]\n\n[^1]: A note.")
    ids = [
        set(re.findall(r'id="([^"]+)"', html_of(fragment.segments)))
        for fragment in (first, second)
    ]
    assert ids[0]
    assert ids[1]
    assert not ids[0] & ids[1]


def test_a_todo_in_an_html_comment_is_on_the_board_and_hidden_from_readers(sample):
    main = sample.sections.get(title="Introduction")
    (todo,) = TodoItem.objects.filter(section=main, kind=TodoItem.Kind.INLINE_NOTE)
    assert todo.text == "TODO: add the imaging figure once the licence is clear"


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        # Only allowed classes; no handlers, styles or other attributes.
        (
            '[x]{.banner .evil onclick="window.__xss = 1" style="color:red" data-x=1}',
            "span",
            {"class": "banner"},
        ),
        # An id that is the page's own is dropped; a plain one kept.
        ("[x]{#main .note}", "span", {"class": "note"}),
        ("[x]{#fig:one}", "span", {"id": "fig:one"}),
        ("[x]{#ref-1}", "span", {}),
        ("[x]{#fn-0-1}", "span", {}),
        (
            '## Heading {#x" onclick="y .page_break_before}',
            "h2",
            {"class": "page_break_before"},
        ),
        (
            '![i](a.png){width="60%" height="2em" onerror="window.__xss = 2"}',
            "img",
            {"alt": "i", "src": "a.png", "width": "60%", "height": "32"},
        ),
        (
            '[![ORCID icon](images/orcid.svg){height="11px" width="11px"}](https://orcid.org/0)',
            "img",
            {
                "alt": "ORCID icon",
                "src": "images/orcid.svg",
                "height": "11",
                "width": "11",
            },
        ),
        (
            '![i](a.png){width="1px;background:url(javascript:x)" height="11px"}',
            "img",
            {"alt": "i", "src": "a.png", "height": "11"},
        ),
        (
            '::: {.note #comments onclick="window.__xss = 3"}\nText\n:::',
            "div",
            {"class": "note"},
        ),
        ('<span class="banner todo" style="x">raw</span>', "span", {"class": "banner"}),
    ],
)
def test_pandoc_attributes_keep_only_allowed_classes_ids_and_sizes(text, tag, expected):
    html = html_of(rendering.render_fragment("Attributes", text).segments)
    (attributes, _), *_ = Page(html).find(tag)
    assert attributes == expected, html


@pytest.mark.parametrize(
    "text",
    [
        "::: {.note}\nnever closed",
        ":::\nclosing with nothing open\n:::",
        "::: {.note}\n" * 300 + "deep\n" + ":::\n" * 300,
        "[" * 300 + "deep" + "]{.note}" * 300,
        "[javascript:window.__xss = 4]{.banner}",
        "[a](javascript:window.__xss=5){.banner}",
    ],
)
def test_odd_spans_and_divs_render_safely_and_keep_their_text(text):
    html = html_of(rendering.render_fragment("Odd", text).segments)
    page = Page(html)
    for _, attributes, _ in page.elements:
        assert not any(name.startswith("on") for name in attributes), html
        assert not attributes.get("href", "").startswith("javascript"), html
    visible = re.sub(r"\([^)]*\)", "", text)  # a link's address is no text
    words = [
        w for w in re.findall(r"[a-z]{4,}", visible) if w not in {"note", "banner"}
    ]
    assert all(word in page.text for word in words), (words, html)


def test_the_ids_of_our_templates_are_reserved_from_text():
    written = set()
    for template in TEMPLATES.rglob("*.html"):
        written |= set(re.findall(r'\bid="([A-Za-z][\w-]*)"', template.read_text()))
    assert written <= PAGE_IDS, written - PAGE_IDS


def test_heading_attributes_are_kept_apart_and_exported_as_written(
    sample, contributor_client
):
    assert not Section.objects.filter(title__contains="{").exists()
    exported = contributor_client.get(
        reverse("sections:export", args=[sample.slug, "markdown"])
    ).content.decode()
    assert re.search(r"^#+ Abstract \{\.page_break_before\}$", exported, re.MULTILINE)


def test_the_bibliography_goes_where_manubot_places_it_and_follows_new_citations(
    sample, client, contributor_client, django_capture_on_commit_callbacks
):
    page = Page(client.get(preview_url()).text)
    (placed,) = page.find("div", id="refs")
    assert placed[1].startswith("LeCun, Y., Bengio, Y. & Hinton, G. Deep learning.")
    # Under the back matter's own "References" heading, and no second one.
    assert [text for _, text in page.find("h2") if text == "References"] == [
        "References"
    ]
    assert [attrs for attrs, text in page.find("a") if text == "References"] == [
        {"href": "#references"},  # the contents' link to the section
        {"class": "anchor", "href": "#references"},
    ]

    methods = sample.sections.get(title="Methods")
    edit = reverse("sections:section-edit", args=[sample.slug, methods.slug])
    form = contributor_client.get(edit).context["form"]
    with django_capture_on_commit_callbacks(execute=True):
        contributor_client.post(
            edit,
            {
                "title": methods.title,
                "base": form.initial["base"],
                "body": f"{methods.body}\n\nAs reviewed before [@doi:10.1000/new].",
            },
        )
    page = Page(client.get(preview_url()).text)
    (placed,) = page.find("div", id="refs")
    assert "doi:10.1000/new" in placed[1]

"""Raw HTML a contributor types never runs: the hostile corpus, checked tag by tag."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from sections import rendering
from tests.factories import make_manuscript, make_section, preview_url

CORPUS = (Path(__file__).resolve().parent / "fixtures" / "hostile.md").read_text()
# What our renderer itself adds around notes and missing citations.
OWN_TAGS = {"mark", "span"}
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, attrs))


def html_of(segments: rendering.Segments) -> str:
    """A fragment's HTML without its citation slots (assembly's to fill)."""
    return "".join(segment for segment in segments if isinstance(segment, str))


def tags_of(html: str) -> list[tuple[str, list]]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


@pytest.mark.parametrize("block", [b for b in CORPUS.split("\n\n") if b.strip()])
def test_hostile_markdown_renders_only_allowed_tags_and_attributes(block):
    fragment = rendering.render_fragment("Hostile", block)
    html = html_of(fragment.segments) + html_of(fragment.public_segments)
    for tag, attrs in tags_of(html):
        assert tag in rendering.ALLOWED_TAGS | OWN_TAGS, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), (name, html)
            assert name != "autofocus", html
            assert name != "style", html
            if name in {"href", "src"}:
                assert urlsplit(value.strip()).scheme.lower() in SAFE_SCHEMES, (
                    value,
                    html,
                )


def test_code_keeps_markup_as_visible_text():
    code = CORPUS[CORPUS.index("`<script>window.__xss = 30") :]
    html = html_of(rendering.render_fragment("Code", code).segments)
    assert "&lt;script&gt;window.__xss = 30&lt;/script&gt;" in html
    assert "&lt;script&gt;window.__xss = 31&lt;/script&gt;" in html


def test_a_note_or_citation_inside_a_link_title_stays_attribute_text():
    body = '[a link](https://example.org "TODO: check [@doi:10.1/x] this") ends here.'
    fragment = rendering.render_fragment("Title", body)
    (html,) = fragment.segments  # one piece of HTML, no citation slot
    (link,) = [attrs for tag, attrs in tags_of(html) if tag == "a"]
    assert dict(link)["title"] == "TODO: check [@doi:10.1/x] this"
    assert "<mark" not in html


# A note inside an attribute value, then a paragraph of quoted text: if marks were
# swapped in or cut out by pattern over HTML, the cut would end the attribute early and
# the quoted text would become the abbreviation's attributes.
NOTE_IN_AN_ATTRIBUTE = (
    '<abbr title="x> TODO: hidden">k</abbr>\n\n'
    '" autofocus onfocus="window.__xss = 40" x="\n'
)


def attributes_and_text(page: str) -> tuple[list[tuple[str, str]], str]:
    """Every element's attributes (tag, name) and the text, as a browser parses it."""

    class Reader(HTMLParser):
        attributes: list[tuple[str, str]] = []
        text = ""

        def handle_starttag(self, tag: str, attrs: list) -> None:
            self.attributes += [(tag, name) for name, _ in attrs]

        def handle_data(self, data: str) -> None:
            self.text += data

    reader = Reader()
    reader.feed(page)
    return reader.attributes, reader.text


def test_a_note_inside_an_attribute_cannot_turn_text_into_attributes(
    contributor_client, client, django_capture_on_commit_callbacks
):
    manuscript = make_manuscript("Attribute review")
    section = make_section(manuscript, "Intro", body="")
    edit = reverse("sections:section-edit", args=[manuscript.slug, section.slug])
    fields = {
        name: str(contributor_client.get(edit).context["form"].initial[name])
        for name in ["title", "base"]
    }
    with django_capture_on_commit_callbacks(execute=True):
        saved = contributor_client.post(edit, {**fields, "body": NOTE_IN_AN_ATTRIBUTE})
    assert saved.status_code == 302

    pages = {
        "public preview": client.get(preview_url()).text,
        "standalone HTML": contributor_client.get(
            reverse("sections:export", args=[manuscript.slug, "html"])
        ).content.decode(),
        "section page": contributor_client.get(section.get_absolute_url()).text,
    }
    for name, page in pages.items():
        attributes, text = attributes_and_text(page)
        handlers = [
            (tag, attr)
            for tag, attr in attributes
            if attr.startswith("on") or attr == "autofocus"
        ]
        assert not handlers, (name, handlers)
        assert 'autofocus onfocus="window.__xss = 40"' in text, name

"""Raw HTML a contributor types never runs: the hostile corpus, checked tag by tag."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sections import rendering

CORPUS = (Path(__file__).resolve().parent / "fixtures" / "hostile.md").read_text()
# What our renderer itself adds around citations and notes.
OWN_TAGS = {"cite", "mark", "span"}
SAFE_SCHEMES = {"", "http", "https", "mailto"}


class TagCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.append((tag, attrs))


def tags_of(html: str) -> list[tuple[str, list]]:
    collector = TagCollector()
    collector.feed(html)
    return collector.tags


@pytest.mark.parametrize("block", [b for b in CORPUS.split("\n\n") if b.strip()])
def test_hostile_markdown_renders_only_allowed_tags_and_attributes(block):
    html = rendering.render_fragment("Hostile", block).html
    for tag, attrs in tags_of(html):
        assert tag in rendering.ALLOWED_TAGS | OWN_TAGS, (tag, html)
        for name, value in attrs:
            assert not name.startswith("on"), (name, html)
            assert name != "style", html
            if name in {"href", "src"}:
                assert urlsplit(value.strip()).scheme.lower() in SAFE_SCHEMES, (
                    value,
                    html,
                )


def test_code_keeps_markup_as_visible_text():
    code = CORPUS[CORPUS.index("`<script>window.__xss = 30") :]
    html = rendering.render_fragment("Code", code).html
    assert "&lt;script&gt;window.__xss = 30&lt;/script&gt;" in html
    assert "&lt;script&gt;window.__xss = 31&lt;/script&gt;" in html


def test_a_note_or_citation_inside_a_link_title_stays_attribute_text():
    body = '[a link](https://example.org "TODO: check [@doi:10.1/x] this") ends here.'
    html = rendering.render_fragment("Title", body).html
    (link,) = [attrs for tag, attrs in tags_of(html) if tag == "a"]
    assert dict(link)["title"] == "TODO: check [@doi:10.1/x] this"
    assert "<mark" not in html
    assert "<cite" not in html

"""Text that would hold a process for minutes or crash the renderer: thousands of
unclosed brackets and tags, lists nested hundreds deep. Each renders (or is refused
with a reason) through the editor, and what it does not touch reads as before."""

from __future__ import annotations

import pytest
from django.urls import reverse

from sections import importing, revisions
from sections.exceptions import ImportRejected
from sections.models import Revision
from tests.factories import make_manuscript, make_section

# Before sections.scholarly.linear each of these took Python-Markdown, Python's HTML
# parser or the span extension from 20 s to several minutes on this machine (the
# unclosed brackets alone over 99 s); now the whole body renders in about a second.
HOSTILE = {
    "unclosed brackets": "[x " * 6000,
    "unclosed citations": "[@doi:10.1/x " * 3000,
    "unclosed images": "![a](" * 6000,
    "unclosed tags": "<a " * 6000,
    "unclosed inline notes": "^[" * 6000,
    "unclosed footnote references": "[^a " * 6000,
}


@pytest.fixture
def section(db, maintainer):
    section = make_section(make_manuscript("Hostile review"), "Intro", body="")
    revisions.save_edit(section, body="Intro.", by=maintainer, overwrite=True)
    section.refresh_from_db()
    return section


def url(section, name: str) -> str:
    return reverse(f"sections:{name}", args=[section.manuscript.slug, section.slug])


def live_preview(client, section, body: str) -> str:
    response = client.post(
        url(section, "section-live-preview"), {"title": "Intro", "body": body}
    )
    assert response.status_code == 200
    return response.text


@pytest.mark.parametrize("kind", HOSTILE)
def test_unclosed_brackets_and_tags_preview_as_the_text_they_are(
    contributor_client, section, kind
):
    body = f"Before.\n\n{HOSTILE[kind]}\n\nA [real link](https://example.org/a) after."

    page = live_preview(contributor_client, section, body)

    assert "<p>Before.</p>" in page
    assert '<a href="https://example.org/a">real link</a> after.' in page
    unit = HOSTILE[kind].split(" ")[0] if " " in HOSTILE[kind] else HOSTILE[kind][:2]
    shown = unit.replace("<", "&lt;")
    assert page.count(shown) >= 3000  # every one of them is on the page, as text


def test_links_spans_notes_and_tags_read_as_before(contributor_client, section):
    body = (
        "A [link [with] brackets](https://example.org/b) and "
        '[a titled one](<https://example.org/c> "Its title").\n\n'
        "![A figure](https://example.org/f.png)\n\n"
        "[A banner]{.banner} with [an [inner]{.lightred} span]{.banner}.\n\n"
        "A reference[^n].\n\n"
        '<abbr title="p<0.05">significant</abbr> at last.\n\n'
        "[^n]: The note.\n"
    )

    page = live_preview(contributor_client, section, body)

    # The same HTML as before the linear parsing (checked against it, 2026-12-04).
    assert '<a href="https://example.org/b">link <span class="missing-citation"' in page
    assert '<a href="https://example.org/c" title="Its title">a titled one</a>' in page
    assert 'alt="A figure"' in page
    assert '<span class="banner">A banner</span>' in page
    assert (
        '<span class="banner">an <span class="lightred">inner</span> span</span>'
        in page
    )
    assert "The note." in page
    assert page.count('class="footnote-ref"') == 1
    assert '<abbr title="p&lt;0.05">significant</abbr> at last.' in page


def nested_list(levels: int) -> str:
    return "".join("    " * level + f"- level {level}\n" for level in range(levels))


def test_a_save_nesting_lists_too_deep_is_refused_with_the_text_kept(
    contributor_client, section
):
    form = contributor_client.get(url(section, "section-edit")).context["form"]
    body = nested_list(300)  # 250 levels exhausted Python's stack in the renderer

    response = contributor_client.post(
        url(section, "section-edit"),
        {"title": "Intro", "body": body, "base": form.initial["base"]},
    )

    assert response.status_code == 422
    assert "nested 300 levels deep" in response.text
    assert "level 299" in response.text  # the text is in the editor still
    assert section.revisions.count() == 1
    # Lists as deep as people write them save.
    fine = contributor_client.post(
        url(section, "section-edit"),
        {"title": "Intro", "body": nested_list(12), "base": form.initial["base"]},
    )
    assert fine.status_code == 302


def test_an_import_nesting_lists_too_deep_is_refused_whole(db, tmp_path):
    manuscript = tmp_path / "deep.md"
    manuscript.write_text(
        f"# Deep review\n\n## Fine\n\nText.\n\n## Deep\n\n{nested_list(80)}"
    )

    with pytest.raises(ImportRejected, match="Under the heading “Deep”: Lists or"):
        importing.import_path(manuscript, format="markdown")
    assert not Revision.objects.exists()


def test_a_stored_text_nested_too_deep_shows_as_plain_text(contributor_client, section):
    # Stored before saves refused it (or by a script): the page still opens.
    section.body = "Kept [@doi:10.1/kept].\n\n" + nested_list(300)
    section.save(update_fields=["body"])

    page = contributor_client.get(section.get_absolute_url())

    assert page.status_code == 200
    assert "it is shown as plain text" in page.text
    assert "level 299" in page.text
    assert 'href="#ref-1"' in page.text  # its citation is still numbered


def test_a_text_nested_too_deep_leaves_the_next_ones_html_intact(
    contributor_client, section
):
    section.body = nested_list(300)
    section.save(update_fields=["body"])
    assert contributor_client.get(section.get_absolute_url()).status_code == 200
    after = make_section(
        section.manuscript, "After", body='<img src="//cdn.example.org/a.png" alt="A">'
    )

    page = contributor_client.get(after.get_absolute_url()).text

    assert 'src="/media-proxy/' in page

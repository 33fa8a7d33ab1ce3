"""Markdown files and Manubot content folders import as their authors wrote them."""

from __future__ import annotations

import html
import json
import textwrap

import pytest

from sections import importing
from sections.exceptions import ImportRejected
from sections.models import Contributor, Manuscript, Reference
from tests.factories import preview_url

MARKDOWN = textwrap.dedent(
    """\
    ---
    title: A living review
    references:
      - id: tag:smith-2020
        type: article-journal
        title: Hand-made record
    ---

    <!-- Kept: an HTML comment the authors left for each other. -->

    ## Introduction

    Deep learning [@DOI:10.1038/NATURE14539; @pmid:26017442] changed imaging (@fig:overview).

    ### Imaging

    ```python
    # not a heading: this is code
    ```

    Seen in @tbl:results and [@tag:deep-review] and [@tag:smith-2020].

    ## Discussion

    TODO: write the discussion [refs].

    [@tag:deep-review]: doi:10.1098/rsif.2017.0387
    """
)


def test_markdown_headings_nest_and_keep_code_comments_and_cross_references(
    db, tmp_path
):
    path = tmp_path / "review.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    manuscript = importing.import_path(path).manuscript

    assert manuscript.title == "A living review"
    outline = list(manuscript.sections.values_list("title", "level"))
    assert outline == [
        ("Front matter", 1),
        ("Introduction", 1),
        ("Imaging", 2),
        ("Discussion", 1),
    ]
    assert manuscript.sections.get(title="Front matter").body.startswith("<!-- Kept:")
    imaging = manuscript.sections.get(title="Imaging").body
    assert "# not a heading: this is code" in imaging
    assert "@tbl:results" in imaging
    assert "(@fig:overview)" in manuscript.sections.get(title="Introduction").body


def test_markdown_citations_are_standardized_and_tags_map_to_their_target(db, tmp_path):
    path = tmp_path / "review.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    manuscript = importing.import_path(path).manuscript

    keys = set(manuscript.references.values_list("key", flat=True))
    assert {"doi:10.1038/nature14539", "pmid:26017442", "tag:deep-review"} <= keys
    assert not any(key.startswith("fig:") or key.startswith("tbl:") for key in keys)
    tag = manuscript.references.get(key="tag:deep-review")
    assert tag.alias_of.key == "doi:10.1098/rsif.2017.0387"
    smith = manuscript.references.get(key="tag:smith-2020")
    assert smith.csl_provisional["title"] == "Hand-made record"


def write_content_folder(root):
    content = root / "content"
    content.mkdir(parents=True)
    (content / "00.front-matter.md").write_text(
        "{## Manubot's template: kept as it is ##}\n_A DOI-citable version is available._\n"
    )
    (content / "01.abstract.md").write_text(
        "## Abstract\n\nDeep learning [@tag:lecun].\n"
    )
    (content / "02.introduction.md").write_text(
        "## Introduction\n\nAs shown [@url:https://example.org/a; @raw:notes-2017].\n"
    )
    (content / "metadata.yaml").write_text(
        "title: Opportunities and obstacles\nauthors:\n"
        "  - name: Casey S. Greene\n    orcid: 0000-0001-8713-9213\n    github: cgreene\n"
    )
    (content / "citation-tags.tsv").write_text(
        "tag\tcitation\nlecun\tdoi:10.1038/nature14539\n"
    )
    (content / "manual-references.json").write_text(
        json.dumps(
            [{"id": "raw:notes-2017", "type": "report", "title": "Meeting notes"}]
        )
    )
    return root


def test_manubot_content_folder_imports_files_in_order_with_its_metadata(db, tmp_path):
    manuscript = importing.import_path(
        write_content_folder(tmp_path / "repo")
    ).manuscript

    assert manuscript.title == "Opportunities and obstacles"
    titles = list(manuscript.sections.values_list("title", flat=True))
    # Text before the first heading is a section with none, as Manubot shows it.
    assert titles == ["", "Abstract", "Introduction"]
    lecun = manuscript.references.get(key="tag:lecun")
    assert lecun.alias_of.key == "doi:10.1038/nature14539"
    notes = manuscript.references.get(key="raw:notes-2017")
    assert notes.csl_manual["title"] == "Meeting notes"
    assert notes.state == Reference.State.RESOLVED
    assert (
        manuscript.references.get(key="url:https://example.org/a").state
        == Reference.State.PENDING
    )
    greene = Contributor.objects.get(display_name="Casey S. Greene")
    assert (greene.orcid, greene.github, greene.user) == (
        "0000-0001-8713-9213",
        "cgreene",
        None,
    )


def test_manubot_manual_records_are_cleaned_as_fetched_ones_are(db, tmp_path, client):
    root = write_content_folder(tmp_path / "repo")
    (root / "content" / "manual-references.json").write_text(
        json.dumps(
            [
                {
                    "id": "raw:notes-2017",
                    "type": "journal-article",  # Crossref's name, not CSL's
                    "title": ["Meeting notes", "a second title"],
                    "container-title": {"en": "Lab Journal"},
                    "volume": 12,
                    "author": [
                        {"family": "Greene", "given": ["Casey", "S."]},
                        "not a name",
                    ],
                    "publisher": {"name": "Penn"},
                    "issued": {"date-parts": [["2017", "13"]]},
                }
            ]
        )
    )
    importing.import_path(root)

    page = client.get(preview_url()).content.decode()
    bibliography = html.unescape(page[page.index('id="references"') :])

    assert "Meeting notes" in bibliography
    assert "2017" in bibliography
    for python_repr in ["{'", "['", "Lab Journal", "Penn"]:
        assert python_repr not in bibliography


def test_a_manubot_record_without_a_usable_title_is_refused_in_one_line(db, tmp_path):
    root = write_content_folder(tmp_path / "repo")
    (root / "content" / "manual-references.json").write_text(
        json.dumps([{"id": "raw:notes-2017", "title": {"en": "Meeting notes"}}])
    )

    with pytest.raises(ImportRejected, match=r"^manual-references.json: .*no title"):
        importing.import_path(root)
    assert not Manuscript.objects.exists()


def test_todo_notes_in_markdown_become_todo_items(db, tmp_path):
    path = tmp_path / "review.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    manuscript = importing.import_path(path).manuscript
    discussion = manuscript.sections.get(title="Discussion")
    kinds = sorted(discussion.todos.values_list("kind", flat=True))
    assert kinds == ["inline_note", "missing_citation"]

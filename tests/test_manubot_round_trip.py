"""A real Manubot manuscript comes back out as it went in: the sample's content/
folder, imported with the command and exported from the export page, is the same
files, byte for byte; an edit changes only what was edited; Manubot builds it."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.urls import reverse

from sections.models import Manuscript, Reference, Section, SourceFile
from tests.factories import preview_url
from tests.test_authors import posted

SAMPLE = Path(__file__).parent / "fixtures" / "manubot-sample"
CONTENT = SAMPLE / "content"


def sample_files() -> dict[str, bytes]:
    return {
        f"content/{path.relative_to(CONTENT).as_posix()}": path.read_bytes()
        for path in sorted(CONTENT.rglob("*"))
        if path.is_file()
    }


def imported() -> Manuscript:
    call_command("import_manuscript", str(SAMPLE), stdout=io.StringIO())
    return Manuscript.objects.get()


def exported(client, manuscript: Manuscript) -> dict[str, bytes]:
    response = client.get(reverse("sections:export", args=[manuscript.slug, "manubot"]))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    return {name: archive.read(name) for name in archive.namelist()}


def test_the_sample_exports_as_the_same_files_byte_for_byte(db, contributor_client):
    manuscript = imported()

    assert exported(contributor_client, manuscript) == sample_files()


def test_text_before_the_first_heading_is_a_section_without_one(
    db, contributor_client, client
):
    manuscript = imported()

    front, authors_ = manuscript.sections.order_by("position")[:2]
    assert (front.title, authors_.title) == ("", "Authors")
    assert front.body.startswith("{##")
    assert "## Authors" not in front.body
    outline = contributor_client.get(reverse("sections:home")).content.decode()
    assert "00.front-matter.md (no heading)" in outline
    assert "Front matter" not in outline
    preview = client.get(preview_url()).content.decode()
    section = re.search(rf'<section [^>]*id="{front.slug}">(.{{0,40}})', preview, re.S)
    assert not section.group(1).startswith("<h")
    # The editor saves it without inventing a heading.
    url = reverse("sections:section-edit", args=[manuscript.slug, front.slug])
    page = contributor_client.get(url)
    body = front.body + "\n\nA line the editor added."
    response = contributor_client.post(
        url, {"title": "", "body": body, "base": page.context["form"]["base"].value()}
    )
    assert response.status_code == 302
    front.refresh_from_db()
    assert (front.title, front.body) == ("", body)


def test_an_edit_through_the_editor_changes_only_that_sections_bytes(
    db, contributor_client
):
    manuscript = imported()
    imaging = manuscript.sections.get(title="Imaging")
    url = reverse("sections:section-edit", args=[manuscript.slug, imaging.slug])
    page = contributor_client.get(url)
    old = "A second family reads images of cells directly"
    new = "A second, smaller family reads micrographs of cells directly"
    form = page.context["form"]
    response = contributor_client.post(
        url,
        {
            "title": form["title"].value(),
            # as a browser posts a textarea: CRLF line breaks
            "body": form["body"].value().replace(old, new).replace("\n", "\r\n"),
            "base": form["base"].value(),
        },
    )
    assert response.status_code == 302

    files, original = exported(contributor_client, manuscript), sample_files()
    changed = {name for name in original if files.get(name) != original[name]}
    assert changed == {"content/02.main.md"}
    assert set(files) == set(original)
    assert files["content/02.main.md"] == original["content/02.main.md"].replace(
        old.encode(), new.encode()
    )


def test_added_and_renamed_sections_go_into_their_neighbours_file(
    db, maintainer_client
):
    manuscript = imported()
    imaging = manuscript.sections.get(title="Imaging")
    add = reverse("sections:section-add", args=[manuscript.slug, imaging.slug])
    assert maintainer_client.post(add, {"title": "Spatial data"}).status_code == 302
    introduction = manuscript.sections.get(title="Introduction")
    add = reverse("sections:section-add", args=[manuscript.slug, introduction.slug])
    response = maintainer_client.post(add, {"title": "Counts", "as_child": "on"})
    assert response.status_code == 302
    abstract = manuscript.sections.get(source_file="01.abstract.md")
    rename = reverse("sections:section-rename", args=[manuscript.slug, abstract.slug])
    response = maintainer_client.post(rename, {"title": "Summary"})
    assert response.status_code == 302
    competing = manuscript.sections.get(title="Competing interests")
    indent = reverse("sections:section-indent", args=[manuscript.slug, competing.slug])
    assert maintainer_client.post(indent).status_code == 302

    files, original = exported(maintainer_client, manuscript), sample_files()
    assert set(files) == set(original)
    main = files["content/02.main.md"].decode()
    assert main.endswith("are cited as well.\n\n### Spatial data\n")
    # A blank line before each heading, as pandoc needs; the rest as it was.
    assert (
        main.replace("### Counts\n\n", "").replace("\n\n### Spatial data\n", "\n")
        == original["content/02.main.md"].decode()
    )
    assert "-->\n\n### Counts\n\n### Imaging\n" in main
    # The rename keeps the heading's attributes and the file's other bytes.
    assert files["content/01.abstract.md"] == original[
        "content/01.abstract.md"
    ].replace(b"## Abstract {", b"## Summary {")
    assert (
        files["content/01.abstract.md"].split(b"\n", 1)[0]
        == b"## Summary {.page_break_before}"
    )
    # One level deeper in the outline: one '#' more, nothing else changed.
    assert files["content/08.methods.md"] == original["content/08.methods.md"].replace(
        b"### Competing", b"#### Competing"
    )


def test_changed_authors_rewrite_metadata_keeping_every_other_key(
    db, maintainer_client
):
    manuscript = imported()
    url = reverse("sections:author-list", args=[manuscript.slug])
    page = maintainer_client.get(url)
    response = maintainer_client.post(
        url,
        posted(
            page,
            {
                "Byung Kim": {"position": "1"},
                "Ana Duarte": {"position": "2"},
                "Chiara Rossi": {"position": ""},
            },
        ),
    )
    assert response.status_code == 302

    files = exported(maintainer_client, manuscript)
    original = yaml.safe_load(sample_files()["content/metadata.yaml"])
    metadata = yaml.safe_load(files["content/metadata.yaml"])
    assert list(metadata) == list(original)
    assert {k: v for k, v in metadata.items() if k != "authors"} == {
        k: v for k, v in original.items() if k != "authors"
    }
    by_name = {a["name"]: a for a in original["authors"]}
    assert metadata["authors"] == [by_name["Byung Kim"], by_name["Ana Duarte"]]
    assert list(metadata["authors"][1]) == list(by_name["Ana Duarte"])


def test_tag_definitions_stay_in_the_back_matter_unseen_and_uncited(
    db, client, contributor_client
):
    manuscript = imported()

    back = manuscript.sections.get(source_file="90.back-matter.md")
    assert "[@tag:Hinton2006]: doi:10.1126/science.1127647" in back.body
    assert not back.citations.exists()
    tag = manuscript.references.get(key="tag:Hinton2006")
    assert tag.alias_of.key == "doi:10.1126/science.1127647"
    preview = client.get(preview_url()).content.decode()
    assert "]: doi:10.1126" not in preview
    assert "Unused2019" not in preview
    assert "1901.00001" not in preview
    # A definition written in the editor defines the tag, and cites nothing.
    url = reverse("sections:section-edit", args=[manuscript.slug, back.slug])
    form = contributor_client.get(url).context["form"]
    body = form["body"].value() + "\n[@tag:Zoo]: url:https://example.org/model-zoo"
    contributor_client.post(
        url,
        {"title": form["title"].value(), "body": body, "base": form["base"].value()},
    )
    zoo = manuscript.references.get(key="tag:Zoo")
    assert zoo.alias_of.key == "url:https://example.org/model-zoo"
    assert not back.citations.exists()


def test_offline_the_snapshot_supplies_metadata_by_standard_id(db, client):
    manuscript = imported()

    works = {r.key: r for r in manuscript.references.all()}
    offline = [
        "doi:10.1038/nature14539",
        "pmid:26017442",
        "doi:10.1126/science.1127647",
        "arxiv:1512.03385",
        "url:https://example.org/model-zoo",
        "doi:10.1101/2020.01.01.000001",
    ]
    assert {key: bool(works[key].csl_manual) for key in offline} == dict.fromkeys(
        offline, True
    )
    waiting = [
        "doi:10.1186/s13059-019-1874-1",
        "doi:10.1371/journal.pcbi.1005177",
        "pmcid:PMC4709937",
    ]
    assert [works[key].state for key in waiting] == [Reference.State.PENDING] * 3
    preview = client.get(preview_url()).content.decode()
    bibliography = preview[preview.index('id="refs"') :]
    for title in [
        "Deep learning",
        "Reducing the Dimensionality of Data with Neural Networks",
        "A model zoo for single-cell analysis",
    ]:
        assert title in bibliography
    # Kept, as the snapshot holds them, but cited by nobody: not in the bibliography.
    for key in ["doi:10.1186/s13059-020-1926-6", "doi:10.1098/rsif.2017.0387"]:
        assert works[key].csl_manual
        assert works[key].csl_manual["title"] not in bibliography


def test_manubot_builds_the_export_offline(db, contributor_client, tmp_path):
    manuscript = imported()
    for name, data in exported(contributor_client, manuscript).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    # Installed with the test tools (requirements-dev.txt), beside this Python.
    manubot = shutil.which("manubot", path=Path(sys.executable).parent)
    assert manubot, "manubot is not installed: pip install -r requirements-dev.txt"
    command = [
        manubot,
        "process",
        "--skip-citations",  # citations are pandoc-manubot-cite's, which fetches
        "--skip-remote",
        "--content-directory",
        str(tmp_path / "content"),
        "--output-directory",
        str(tmp_path / "output"),
    ]
    # No network at all where the machine lets us say so.
    if (
        shutil.which("unshare")
        and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode
        == 0
    ):
        command = ["unshare", "-rn", *command]
    built = subprocess.run(command, capture_output=True, text=True, timeout=120)

    assert built.returncode == 0, built.stderr[-2000:]
    text = (tmp_path / "output" / "manuscript.md").read_text()
    assert "## Abstract {.page_break_before}" in text
    assert "Revised the imaging section: Ana Duarte." in text
    assert "[@tag:Hinton2006]: doi:10.1126/science.1127647" in text


def test_a_record_a_maintainer_enters_is_exported_beside_the_folders_own(
    db, maintainer_client
):
    manuscript = imported()
    waiting = manuscript.references.get(key="doi:10.1371/journal.pcbi.1005177")
    record = {"type": "article-journal", "title": "Imaging cells with deep nets"}
    response = maintainer_client.post(
        reverse("sections:reference-record", args=[waiting.pk]),
        {"csl_json": json.dumps(record)},
    )
    assert response.status_code == 302

    files, original = exported(maintainer_client, manuscript), sample_files()
    assert {name: files[name] for name in original} == original
    entered = json.loads(files["content/manual-references.reviewapp.json"])
    assert [(r["id"], r["title"]) for r in entered] == [
        ("doi:10.1371/journal.pcbi.1005177", "Imaging cells with deep nets")
    ]


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("metadata.yaml", b"title: [unclosed\n", "metadata.yaml does not parse"),
        ("manual-references.json", b"[{,}]", "is not valid JSON"),
        ("02.main.md", "## Caf\u00e9\n".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_a_bad_folder_gets_one_line_and_nothing_is_written(
    db, tmp_path, name, data, reason
):
    shutil.copytree(CONTENT, tmp_path / "content")
    (tmp_path / "content" / name).write_bytes(data)
    with pytest.raises(CommandError, match=reason) as refused:
        call_command("import_manuscript", str(tmp_path), stdout=io.StringIO())
    assert "\n" not in str(refused.value)
    assert not Manuscript.objects.exists()
    assert not Section.objects.exists()
    assert not SourceFile.objects.exists()

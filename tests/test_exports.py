"""Exports: a Manubot content/ zip that imports back to the same manuscript, the
bibliography as CSL-JSON and BibTeX, and the preview as one offline HTML file."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from sections import assembly, authors, exporting, importing
from sections.exceptions import ImportRejected
from sections.models import Citation, Contributor, Reference, SectionRender
from tests.factories import make_manuscript, make_section

BYLINE = [
    {
        "name": "Ada Author",
        "orcid": "0000-0002-1825-0097",
        "affiliations": ["Somewhere", "Elsewhere"],
    },
    {"name": "Ben Second", "github": "bsecond"},
]


def snapshot(manuscript) -> dict:
    return {
        "title": manuscript.title,
        "authors": authors.byline(manuscript),
        "sections": list(
            manuscript.sections.present()
            .order_by("position")
            .values_list("title", "level", "body")
        ),
        "references": {
            r.key: (r.csl_manual, r.csl_provisional, r.alias_of and r.alias_of.key)
            for r in manuscript.references.select_related("alias_of")
        },
        "citations": sorted(
            Citation.objects.filter(section__manuscript=manuscript).values_list(
                "section__title", "reference__key", "key_as_written", "position"
            )
        ),
    }


def test_manubot_zip_imports_back_to_the_same_manuscript_and_exports_the_same_bytes(
    seed, tmp_path
):
    authors.set_from_metadata(seed, BYLINE)
    exported = exporting.manubot_zip(seed)
    assert exporting.manubot_zip(seed) == exported
    before = snapshot(seed)
    assert before["authors"] == BYLINE
    # Another site: neither the manuscript nor its authors are known there.
    Contributor.objects.filter(authorships__manuscript=seed).delete()
    seed.delete()

    path = tmp_path / "review.zip"
    path.write_bytes(exported)
    again = importing.import_path(path).manuscript

    assert snapshot(again) == before
    assert exporting.manubot_zip(again) == exported


def test_manubot_zip_is_a_content_folder_with_fixed_entry_metadata(seed):
    archive = zipfile.ZipFile(io.BytesIO(exporting.manubot_zip(seed)))
    names = archive.namelist()
    assert names == sorted(names)
    assert all(name.startswith("content/") for name in names)
    assert {
        "content/metadata.yaml",
        "content/manual-references.json",
        "content/citation-tags.tsv",
    } <= set(names)
    assert any(re.fullmatch(r"content/\d{2}\.[a-z0-9-]+\.md", n) for n in names)
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert "title: " + seed.title in archive.read("content/metadata.yaml").decode()


def test_manubot_export_writes_tags_manual_records_and_authors(seed):
    tag = Reference.objects.create(manuscript=seed, key="tag:review")
    target = seed.references.exclude(pk=tag.pk).first()
    tag.alias_of = target
    tag.save()
    manual = seed.references.exclude(pk__in=[tag.pk, target.pk]).first()
    manual.csl_manual = {"type": "report", "title": "Fixed by hand"}
    manual.save()
    authors.set_from_metadata(seed, BYLINE)

    files = exporting.manubot_content(seed)

    assert f"review\t{target.key}\n" in files["content/citation-tags.tsv"].decode()
    records = json.loads(files["content/manual-references.json"])
    assert {"id": manual.key, "type": "report", "title": "Fixed by hand"} in records
    metadata = yaml.safe_load(files["content/metadata.yaml"])
    assert metadata["authors"] == BYLINE


@pytest.mark.parametrize(
    "name", ["../evil.md", "/etc/evil.md", "content/../../evil.md"]
)
def test_a_zip_with_a_path_outside_its_folder_is_refused(db, tmp_path, name):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("content/01.intro.md", "## Intro\n\nHello.\n")
        archive.writestr(name, "## Evil\n")
    with pytest.raises(ImportRejected, match="unsafe path"):
        importing.import_path(path)
    assert not (tmp_path.parent / "evil.md").exists()


def test_a_file_that_is_not_a_zip_is_refused_in_one_line(db, tmp_path):
    path = tmp_path / "broken.zip"
    path.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ImportRejected) as refused:
        importing.import_path(path)
    assert "\n" not in str(refused.value)
    assert "not a readable zip" in str(refused.value)


def give_records(manuscript):
    """Records with BibTeX's special characters, for the cited references."""
    cited = exporting.cited_references(manuscript)
    first = cited[0]
    first.csl_manual = {
        "type": "article-journal",
        "title": "Costs & benefits: 50% of {deep} nets_v2 #1",
        "author": [{"family": "Müller", "given": "Jürgen"}, {"family": "Ng"}],
        "container-title": "J. Stuff",
        "issued": {"date-parts": [[2016, 5]]},
        "volume": "12",
        "issue": "3",
        "page": "1-9",
        "DOI": "10.1000/xyz_123",
    }
    first.save()
    return cited


def test_csl_json_has_one_record_per_cited_reference_with_its_key(seed):
    cited = give_records(seed)
    records = json.loads(exporting.csl_json(seed))
    with_records = [r.key for r in cited if r.csl]
    assert [record["id"] for record in records] == with_records
    assert len(set(with_records)) == len(with_records)
    assert records[0]["DOI"] == "10.1000/xyz_123"


def test_bibtex_has_an_entry_per_reference_escaped_with_its_doi(seed):
    cited = give_records(seed)
    text = exporting.bibtex(seed)
    assert text.count("\n@") + 1 == len([r for r in cited if r.csl])
    first = text.split("\n@")[0]
    assert first.startswith("@article{")
    assert r"Costs \& benefits: 50\% of \{deep\} nets\_v2 \#1" in first
    assert "author = {Müller, Jürgen and Ng}" in first
    assert "doi = {10.1000/xyz_123}" in first
    assert "pages = {1--9}" in first
    assert "year = {2016}" in first
    keys = re.findall(r"^@\w+\{([^,]+),", text, re.MULTILINE)
    assert all(key.isascii() for key in keys)
    assert len(set(keys)) == len(keys)


def test_standalone_html_has_its_css_inline_and_nothing_external(seed):
    page = exporting.standalone_html(seed)
    assert "<style" in page
    assert not re.search(r"<link[^>]+stylesheet", page)
    assert not re.search(r"""\ssrc=["']?(https?:|//|/)""", page)
    assert "<link" not in page
    assert "<script" not in page
    # Links within the page only, none back to the site it came from.
    assert not re.search(r"""href=["']?/""", page)
    assert seed.title in page
    assert 'id="references"' in page


@pytest.mark.parametrize(
    ("format", "extension"),
    [
        ("markdown", "md"),
        ("manubot", "zip"),
        ("csl-json", "json"),
        ("bibtex", "bib"),
        ("html", "html"),
    ],
)
def test_a_contributor_downloads_each_export(
    seed, contributor_client, format, extension
):
    url = reverse("sections:export", args=[seed.slug, format])
    response = contributor_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="{seed.slug}.{extension}"'
    )


def test_an_unknown_export_format_is_404(seed, contributor_client):
    url = reverse("sections:export", args=[seed.slug, "docx"])
    assert contributor_client.get(url).status_code == 404


def test_the_public_is_sent_to_sign_in_for_exports(seed, client):
    response = client.get(reverse("sections:export", args=[seed.slug, "bibtex"]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_export_command_writes_each_format(seed, tmp_path):
    for format in ["markdown", "manubot", "csl-json", "bibtex", "html"]:
        path = tmp_path / f"out.{format}"
        call_command("export_manuscript", "--format", format, "-o", str(path))
        assert path.stat().st_size > 0
    assert zipfile.is_zipfile(tmp_path / "out.manubot")


def test_pdf_without_chromium_says_what_is_missing(seed, settings, tmp_path):
    settings.CHROMIUM_PATH = str(tmp_path / "no-chromium")
    with pytest.raises(exporting.ExportUnavailable, match="needs Chromium"):
        exporting.pdf(seed)


@pytest.mark.parametrize("chromium", ["no-chromium", "not-executable", "."])
def test_the_web_pdf_without_chromium_offers_the_html_to_print_instead(
    seed, contributor_client, settings, tmp_path, chromium
):
    (tmp_path / "not-executable").write_text("#!/bin/sh\n")
    settings.CHROMIUM_PATH = str(tmp_path / chromium)
    url = reverse("sections:export", args=[seed.slug, "pdf"])

    response = contributor_client.get(url)

    assert response.status_code == 503
    page = response.content.decode()
    assert "needs Chromium" in page or "could not print" in page
    assert reverse("sections:export", args=[seed.slug, "html"]) in page


@pytest.mark.browser
def test_pdf_is_printed_by_chromium_and_served_again_without_printing(
    seed, contributor_client, settings, tmp_path
):
    if not Path(settings.CHROMIUM_PATH).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    path = tmp_path / "review.pdf"
    call_command("export_manuscript", "--format", "pdf", "-o", str(path))
    assert path.read_bytes().startswith(b"%PDF")

    url = reverse("sections:export", args=[seed.slug, "pdf"])
    first = contributor_client.get(url)
    assert first.status_code == 200
    assert first["Content-Type"] == "application/pdf"
    assert first.content.startswith(b"%PDF")
    # Unchanged manuscript: the printed PDF is served, Chromium is not needed.
    settings.CHROMIUM_PATH = str(tmp_path / "no-chromium")
    assert contributor_client.get(url).content == first.content


def test_a_manuscript_with_one_top_level_section_keeps_it_through_manubot(db, tmp_path):
    source = tmp_path / "one.md"
    source.write_text(
        "---\ntitle: One part\n---\n\n# Only part\n\n## Details\n\nText [@pmid:1].\n"
    )
    manuscript = importing.import_path(source).manuscript
    before = snapshot(manuscript)
    exported = exporting.manubot_zip(manuscript)
    manuscript.delete()
    path = tmp_path / "one.zip"
    path.write_bytes(exported)

    again = importing.import_path(path).manuscript

    assert snapshot(again) == before
    assert [t for t, _, _ in before["sections"]] == ["Only part", "Details"]


def test_a_zip_with_too_many_files_is_refused(db, tmp_path, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ZIP_FILES", 3)
    path = tmp_path / "many.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for n in range(4):
            archive.writestr(f"content/{n:02d}.part.md", f"## Part {n}\n")
    with pytest.raises(ImportRejected, match="more than 3 files"):
        importing.import_path(path)


def test_a_zip_of_a_whole_repository_imports_its_content_folder(seed, tmp_path):
    exported = zipfile.ZipFile(io.BytesIO(exporting.manubot_zip(seed)))
    title = seed.title
    seed.delete()
    path = tmp_path / "repo.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("manuscript-main/README.md", "# A repository\n")
        for name in exported.namelist():
            archive.writestr(f"manuscript-main/{name}", exported.read(name))
    assert importing.import_path(path).manuscript.title == title


@pytest.mark.browser
def test_the_printed_pdf_runs_no_script_and_fetches_nothing_the_page_names(
    contributor_client, settings, httpserver, tmp_path
):
    if not Path(settings.CHROMIUM_PATH).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    httpserver.expect_request(re.compile("/.*")).respond_with_data(
        "", content_type="image/png"
    )
    internal = httpserver.url_for("").rstrip("/")
    manuscript = make_manuscript("Printed safely")
    section = make_section(
        manuscript,
        "Intro",
        body=f'Printed without calling out.\n\n<img src="{internal}/body.png" alt="">',
    )
    assembly.render_section(section)
    # The sanitiser is the first wall; this is the second: markup that got past it,
    # stored as the section's fragment, must neither run nor fetch when printed.
    fragment = SectionRender.objects.get(section=section)
    hostile = (
        f'<img src="{internal}/fragment.png">'
        f"<img src=x onerror=\"new Image().src='{internal}/onerror'\">"
        f"<script>fetch('{internal}/script')</script>"
        f'<iframe src="{internal}/frame"></iframe>'
        f'<link rel="stylesheet" href="{internal}/style.css">'
        f'<video poster="{internal}/poster"></video>'
    )
    fragment.segments.append(hostile)
    fragment.public_segments.append(hostile)
    fragment.save(update_fields=["segments", "public_segments"])
    assert f"{internal}/frame" in exporting.standalone_html(manuscript)

    response = contributor_client.get(
        reverse("sections:export", args=[manuscript.slug, "pdf"])
    )

    assert [entry[0].path for entry in httpserver.log] == []
    assert response.status_code == 200, response.content[:300]
    assert response.content.startswith(b"%PDF")
    if shutil.which("pdftotext"):  # poppler-utils, where installed
        printed = tmp_path / "printed.pdf"
        printed.write_bytes(response.content)
        text = subprocess.run(
            ["pdftotext", str(printed), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "Printed without calling out." in text

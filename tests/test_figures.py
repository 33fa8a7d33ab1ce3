"""A manuscript's own figure files: imported with a Manubot folder, shown where its
text names them by a relative path, served so that nothing in them runs, uploaded
from the editor, and carried by every export."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from sections import exporting, figures, releases
from sections.models import Figure, Manuscript
from tests.factories import make_manuscript, make_section, png, preview_url

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "manubot-sample"
SAMPLE_IMAGES = SAMPLE / "content" / "images"
IMG = re.compile(r'<img[^>]*\ssrc="([^"]+)"[^>]*>')


def imported_sample(django_capture_on_commit_callbacks) -> tuple[Manuscript, str]:
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_manuscript", str(SAMPLE), stdout=out)
    return Manuscript.objects.get(), out.getvalue()


def stored_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_the_samples_figures_are_imported_listed_and_shown_with_their_own_bytes(
    db, django_capture_on_commit_callbacks, figure_files
):
    manuscript, output = imported_sample(django_capture_on_commit_callbacks)

    assert (
        "Figures: 3 (images/imaging.png, images/orcid.svg, images/overview.svg)."
        in output
    )
    page = Client().get(preview_url()).content.decode()
    sources = IMG.findall(page)
    figure_sources = [src for src in sources if src.startswith("/figure/")]
    # Every image the sample shows resolves: none is left pointing at images/...
    assert len(figure_sources) == len(sources) >= 3
    served = {}
    for src in figure_sources:
        response = Client().get(src)
        assert response.status_code == 200
        served[src.rsplit("/", 2)[-2] + "/" + src.rsplit("/", 1)[-1]] = (
            response["Content-Type"],
            b"".join(response.streaming_content),
        )
    assert served["images/imaging.png"] == (
        "image/png",
        (SAMPLE_IMAGES / "imaging.png").read_bytes(),
    )
    assert served["images/overview.svg"] == (
        "image/svg+xml",
        (SAMPLE_IMAGES / "overview.svg").read_bytes(),
    )
    assert "Missing figure" not in page
    # Kept once each, under their hash, in the configured storage.
    assert len(stored_files(figure_files)) == 3


def test_a_figure_the_manuscript_lacks_is_a_labelled_placeholder(db, client):
    manuscript = make_manuscript("Illustrated review")
    make_section(manuscript, "Intro", body="See:\n\n![Survival curves](images/km.png)")

    page = client.get(preview_url()).content.decode()

    assert "Missing figure: images/km.png" in page
    assert IMG.findall(page) == []


@pytest.mark.parametrize(
    "src",
    [
        "../other-review/images/secret.png",
        "images/../../other-review/images/secret.png",
        "%2e%2e/other-review/images/secret.png",
        "/figure/other-review/0000000000000000/images/secret.png",
        "/etc/passwd",
        "file:///etc/passwd",
        "data:image/png;base64,iVBORw0KGgo=",
    ],
)
def test_no_image_path_reaches_another_manuscripts_files(db, client, contributor, src):
    manuscript = make_manuscript("Illustrated review")
    other = make_manuscript("Other review")
    figures.add(other, name="secret.png", data=png(), by=contributor)
    make_section(manuscript, "Intro", body=f"![Secret]({src})")

    page = client.get(preview_url(manuscript)).content.decode()

    assert "other-review/" not in "".join(IMG.findall(page))
    assert all(
        not s.startswith(("/figure/", "data:", "file:")) for s in IMG.findall(page)
    )


def test_a_figure_is_served_so_nothing_in_it_can_run_and_caches_keep_it(
    db, django_capture_on_commit_callbacks
):
    imported_sample(django_capture_on_commit_callbacks)
    page = Client().get(preview_url()).content.decode()
    [svg] = [s for s in IMG.findall(page) if s.endswith("overview.svg")]

    response = Client().get(svg)

    assert response["X-Content-Type-Options"] == "nosniff"
    policy = response["Content-Security-Policy"]
    assert "sandbox" in policy
    assert "default-src 'none'" in policy
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    digest = hashlib.sha256((SAMPLE_IMAGES / "overview.svg").read_bytes()).hexdigest()
    assert response["ETag"] == f'"{digest}"'
    again = Client().get(svg, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    # An address with another hash (the file has changed since) leads to this one.
    stale = svg.replace(svg.split("/")[3], "0" * 16)
    moved = Client().get(stale)
    assert moved.status_code == 302
    assert moved["Location"] == svg


def test_only_the_public_manuscripts_figures_are_public(
    db, contributor, contributor_client, maintainer
):
    public = make_manuscript("The public one")  # the site's first, so public
    make_section(public, "Intro", body="![Plot](images/plot.png)")
    draft = make_manuscript("A draft", visibility="private")
    shown = figures.url(figures.add(public, name="plot.png", data=png(), by=maintainer))
    private = figures.url(
        figures.add(draft, name="plot.png", data=png(), by=contributor)
    )

    assert Client().get(private).status_code == 404
    member = contributor_client.get(private)
    assert member.status_code == 200
    assert member["Cache-Control"].startswith("private,")
    # A published version shows the figure as it was, to everyone.
    releases.publish(public, name="v1.0", note="", by=maintainer)
    version = Client().get(reverse("sections:release", args=[public.slug, "v1.0"]))
    assert shown in IMG.findall(version.content.decode())
    assert Client().get(shown).status_code == 200


def test_a_figure_that_is_not_an_image_fails_the_whole_import(
    db, tmp_path, figure_files
):
    folder = tmp_path / "manuscript"
    shutil.copytree(SAMPLE, folder)
    # A page of HTML named like a picture: the bytes decide, not the name.
    (folder / "content" / "images" / "imaging.png").write_text("<html>hi</html>")

    with pytest.raises(CommandError, match=r"images/imaging.png is not a PNG"):
        call_command("import_manuscript", str(folder))

    assert not Manuscript.objects.exists()
    assert not Figure.objects.exists()
    assert stored_files(figure_files) == []


def test_an_image_named_outside_images_is_imported_but_not_one_outside_the_folder(
    db, tmp_path, django_capture_on_commit_callbacks
):
    folder = tmp_path / "manuscript"
    shutil.copytree(SAMPLE, folder)
    content = folder / "content"
    (content / "figures").mkdir()
    (content / "figures" / "extra.png").write_bytes(png(3, 3))
    with (content / "02.main.md").open("a") as text:
        text.write("\n\n![Extra](figures/extra.png)\n")

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_manuscript", str(folder), stdout=io.StringIO())

    assert Figure.objects.filter(path="figures/extra.png").exists()
    assert "/figures/extra.png" in "".join(
        IMG.findall(Client().get(preview_url()).content.decode())
    )

    Manuscript.objects.all().delete()
    (tmp_path / "secret.png").write_bytes(png(5, 5))
    (content / "figures" / "extra.png").unlink()
    (content / "figures" / "extra.png").symlink_to(tmp_path / "secret.png")
    with pytest.raises(CommandError, match="points outside the content folder"):
        call_command("import_manuscript", str(folder))


def test_an_import_that_fails_while_writing_files_leaves_none_behind(db, figure_files):
    # The storage cannot take the last figure (a file sits where its folder goes),
    # so the import fails after writing the others: those must go too.
    last = (SAMPLE_IMAGES / "overview.svg").read_bytes()
    blocker = figure_files / hashlib.sha256(last).hexdigest()[:2]
    blocker.write_text("in the way")

    with pytest.raises(FileExistsError, match="is not a directory"):
        call_command("import_manuscript", str(SAMPLE), stdout=io.StringIO())

    assert not Manuscript.objects.exists()
    assert stored_files(figure_files) == [blocker]


def test_a_contributor_uploads_a_figure_without_javascript(
    db, contributor_client, contributor
):
    manuscript = make_manuscript("Illustrated review")
    section = make_section(manuscript, "Intro", body="Text.")
    upload_url = reverse("sections:figure-upload", args=[manuscript.slug])
    edit_url = reverse("sections:section-edit", args=[manuscript.slug, section.slug])
    editor = contributor_client.get(edit_url).content.decode()
    assert f'action="{upload_url}"' in editor
    assert 'enctype="multipart/form-data"' in editor

    response = contributor_client.post(
        upload_url,
        {"file": SimpleUploadedFile("Fig 1 (final).PNG", png(4, 3)), "next": edit_url},
    )

    assert response.status_code == 302
    assert response["Location"] == edit_url
    figure = Figure.objects.get()
    assert (figure.path, figure.content_type, figure.size) == (
        "images/fig-1-final.png",
        "image/png",
        len(png(4, 3)),
    )
    assert figure.uploaded_by == contributor
    page = contributor_client.get(edit_url).content.decode()
    assert "Kept images/fig-1-final.png" in page
    listing = contributor_client.get(
        reverse("sections:figures", args=[manuscript.slug])
    ).content.decode()
    [row] = re.findall(r"<tr>.*?</tr>", listing.split("<tbody>")[1], re.DOTALL)
    assert "images/fig-1-final.png" in row
    assert contributor.get_username() in row
    assert f"{len(png(4, 3))}\xa0bytes" in row  # filesizeformat's own space


def test_a_name_already_taken_gets_a_suffix_and_the_same_file_is_kept_once(
    db, contributor_client
):
    manuscript = make_manuscript("Illustrated review")
    url = reverse("sections:figure-upload", args=[manuscript.slug])

    def upload(data: bytes) -> dict:
        response = contributor_client.post(
            url,
            {"file": SimpleUploadedFile("plot.png", data)},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 200
        return response.json()

    first, second, again = upload(png(2, 2)), upload(png(3, 3)), upload(png(2, 2))

    assert first["markdown"] == "![](images/plot.png)"
    assert second["markdown"] == "![](images/plot-2.png)"
    assert again["path"] == "images/plot.png"
    assert Figure.objects.count() == 2


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("notes.png", b"just some text", "is not a PNG, JPEG, GIF, WebP or SVG image"),
        ("photo.jpg", png(), "is named .jpg but holds a PNG image"),
        ("huge.png", png() + b"\0" * 2048, "larger than 0.0 MB"),
    ],
)
def test_an_upload_that_is_refused_says_why_and_keeps_nothing(
    db, contributor_client, settings, figure_files, name, data, message
):
    settings.FIGURE_MAX_BYTES = 1024
    manuscript = make_manuscript("Illustrated review")
    url = reverse("sections:figure-upload", args=[manuscript.slug])

    page = contributor_client.post(url, {"file": SimpleUploadedFile(name, data)})
    script = contributor_client.post(
        url, {"file": SimpleUploadedFile(name, data)}, HTTP_ACCEPT="application/json"
    )

    assert page.status_code == 422
    assert message in page.content.decode()
    assert script.status_code == 422
    assert message in script.json()["error"]
    assert not Figure.objects.exists()
    assert stored_files(figure_files) == []


def test_uploading_needs_a_signed_in_member_a_post_and_a_manuscript(
    db, client, contributor_client
):
    manuscript = make_manuscript("Illustrated review")
    url = reverse("sections:figure-upload", args=[manuscript.slug])
    upload = {"file": SimpleUploadedFile("plot.png", png())}

    assert client.post(url, upload)["Location"].startswith("/accounts/login/")
    assert contributor_client.get(url).status_code == 405
    missing = reverse("sections:figure-upload", args=["no-such-review"])
    assert contributor_client.post(missing, upload).status_code == 404
    assert not Figure.objects.exists()


def test_the_editors_live_preview_shows_an_uploaded_figure(db, contributor_client):
    manuscript = make_manuscript("Illustrated review")
    section = make_section(manuscript, "Intro", body="Text.")
    contributor_client.post(
        reverse("sections:figure-upload", args=[manuscript.slug]),
        {"file": SimpleUploadedFile("plot.png", png())},
    )

    preview = contributor_client.post(
        reverse("sections:section-live-preview", args=[manuscript.slug, section.slug]),
        {
            "title": "Intro",
            "body": "![A plot](images/plot.png)\n\n![](images/nope.png)",
        },
    ).content.decode()

    [src] = IMG.findall(preview)
    assert src.startswith(f"/figure/{manuscript.slug}/")
    assert src.endswith("plot.png")
    assert "Missing figure: images/nope.png" in preview


def test_the_exports_carry_the_figures_bytes(
    db, django_capture_on_commit_callbacks, contributor_client
):
    manuscript, _ = imported_sample(django_capture_on_commit_callbacks)
    export = reverse("sections:export", args=[manuscript.slug, "manubot"])
    standalone = reverse("sections:export", args=[manuscript.slug, "html"])

    archive = zipfile.ZipFile(io.BytesIO(contributor_client.get(export).content))
    page = contributor_client.get(standalone).content.decode()

    for name in ("imaging.png", "orcid.svg", "overview.svg"):
        data = (SAMPLE_IMAGES / name).read_bytes()
        assert archive.read(f"content/images/{name}") == data
    sources = IMG.findall(page)
    png_data = (SAMPLE_IMAGES / "imaging.png").read_bytes()
    assert "data:image/png;base64," + base64.b64encode(png_data).decode() in sources
    assert all(src.startswith("data:image/") for src in sources), sources
    assert "/figure/" not in page


@pytest.mark.browser
def test_the_pdf_prints_the_figure(db, settings, contributor):
    if not Path(settings.CHROMIUM_PATH).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    manuscript = make_manuscript("Printed review")
    make_section(manuscript, "Intro", body="![A red box](images/box.png)")
    unprinted = exporting.pdf(manuscript)
    figures.add(manuscript, name="box.png", data=png(200, 100), by=contributor)

    printed = exporting.pdf(manuscript)

    # Chromium writes a raster picture as an image object of the PDF.
    assert b"/Subtype /Image" not in unprinted
    assert b"/Subtype /Image" in printed

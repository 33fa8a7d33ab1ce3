"""Figures in a real browser: an imported Manubot manuscript's figures load, an
image pasted or dropped into the editor shows in its preview, and a hostile SVG
runs nothing and asks no one, whether shown in a page or opened on its own."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from sections import figures
from tests.browser.conftest import sign_in
from tests.factories import make_manuscript, make_section, png, preview_url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "manubot-sample"
SHOTS = Path("/tmp/shots-files")


@pytest.fixture
def shots() -> Path:
    SHOTS.mkdir(exist_ok=True)
    return SHOTS


def test_the_imported_samples_figures_load_on_the_preview(browser, live_server, shots):
    from playwright.sync_api import expect

    call_command("import_manuscript", str(SAMPLE), stdout=io.StringIO())

    requested: list[str] = []
    for width in (390, 1280):
        context = browser.new_context(viewport={"width": width, "height": 900})
        page = context.new_page()
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{live_server.url}{preview_url()}")
        overview = page.locator("img[src*='/images/overview.svg']")
        expect(overview).to_be_visible()
        overview.scroll_into_view_if_needed()
        imaging = page.locator("img[src*='/images/imaging.png']")
        expect(imaging).to_be_visible()
        for image in page.locator("img[src^='/figure/']").all():
            image.scroll_into_view_if_needed()
            # Decoded: a real picture, not a broken-image box.
            assert image.evaluate("i => i.decode().then(() => i.naturalWidth)") > 0
        box = overview.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        overview.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"preview-figures-{width}.png"))
        assert all(url.startswith(live_server.url) for url in requested), requested
        context.close()


def _put_image_in(page, how: str, name: str, data: bytes) -> None:
    """Paste or drop a file into the editor's text, as the browser hands it over."""
    page.locator("#id_body").evaluate(
        """(body, [how, name, encoded]) => {
            const bytes = Uint8Array.from(atob(encoded), c => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: "image/png"}));
            body.focus();
            body.setSelectionRange(body.value.length, body.value.length);
            const event = how === "paste"
                ? new ClipboardEvent("paste", {clipboardData: transfer, bubbles: true, cancelable: true})
                : new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true});
            body.dispatchEvent(event);
        }""",
        [how, name, base64.b64encode(data).decode()],
    )


def test_an_image_pasted_or_dropped_into_the_editor_shows_in_its_preview(
    browser, live_server, shots
):
    from playwright.sync_api import expect

    manuscript = make_manuscript("Illustrated review")
    section = make_section(manuscript, "Results", body="The cells, imaged:")
    _, context, page = sign_in(browser, live_server, "carol@example.org")
    page.goto(f"{live_server.url}{section.get_absolute_url()}edit/")
    body = page.locator("#id_body")

    _put_image_in(page, "paste", "image.png", png(120, 60))
    expect(body).to_have_value("The cells, imaged:\n\n![](images/image.png)")
    _put_image_in(page, "drop", "image.png", png(80, 40))
    # The same name with other bytes: kept beside the first, not over it.
    expect(body).to_have_value(
        "The cells, imaged:\n\n![](images/image.png)\n\n![](images/image-2.png)"
    )
    expect(page.get_by_role("status")).to_have_text("Added images/image-2.png.")

    preview = page.locator("#live-preview img")
    expect(preview).to_have_count(2)
    widths = [
        i.evaluate("i => i.decode().then(() => i.naturalWidth)") for i in preview.all()
    ]
    assert widths == [120, 80]
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.locator("#live-preview").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / f"editor-figures-{width}.png"), full_page=True)

    _put_image_in(page, "paste", "notes.png", b"not an image at all")
    expect(page.get_by_role("status")).to_contain_text(
        "is not a PNG, JPEG, GIF, WebP or SVG image"
    )
    body.press("End")
    body.type("\n\n![](images/typo.png)")
    expect(page.locator("#live-preview .missing-figure")).to_have_text(
        "Missing figure: images/typo.png"
    )

    page.goto(f"{live_server.url}/figures/of/{manuscript.slug}/")
    expect(page.locator(".figure-path")).to_have_text(
        ["images/image-2.png", "images/image.png"]
    )
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"figures-page-{width}.png"), full_page=True)
    context.close()


HOSTILE_SVG = """<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"
     width="200" height="100" onload="fetch('{base}/onload')">
  <script>fetch('{base}/script'); document.title = 'script ran';</script>
  <rect width="200" height="100" fill="#c33"/>
  <image href="{base}/external.png" width="10" height="10"/>
  <image xlink:href="{base}/external-xlink.png" width="10" height="10"/>
  <foreignObject width="200" height="100">
    <iframe xmlns="http://www.w3.org/1999/xhtml" src="{base}/frame"></iframe>
    <img xmlns="http://www.w3.org/1999/xhtml" src="x" onerror="fetch('{base}/onerror')"/>
  </foreignObject>
</svg>
"""


def test_a_hostile_svg_runs_no_script_and_requests_nothing(
    browser, live_server, httpserver, shots
):
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect

    base = httpserver.url_for("").rstrip("/")
    manuscript = make_manuscript("Illustrated review")
    hostile = HOSTILE_SVG.format(base=base).encode()
    figure = figures.add(manuscript, name="hostile.svg", data=hostile, by=None)
    make_section(manuscript, "Intro", body="![A red box](images/hostile.svg)")
    url = f"{live_server.url}{figures.url(figure)}"

    context = browser.new_context()
    page = context.new_page()
    finished: list[str] = []
    failed: list[tuple[str, str]] = []
    page.on("requestfinished", lambda request: finished.append(request.url))
    page.on("requestfailed", lambda r: failed.append((r.url, r.failure)))

    # In the page, through <img>: shown, inert.
    page.goto(f"{live_server.url}{preview_url()}")
    image = page.get_by_role("img", name="A red box")
    expect(image).to_be_visible()
    assert image.evaluate("i => i.decode().then(() => i.naturalWidth)") == 200
    page.screenshot(path=str(shots / "preview-hostile-svg-1280.png"))

    # Opened on its own: a download, never a document.
    with (
        page.expect_download() as download,
        pytest.raises(PlaywrightError, match="Download is starting"),
    ):
        page.goto(url)
    assert download.value.suggested_filename == "hostile.svg"

    # Even if a browser ignored the attachment and showed it, its policy sandboxes
    # it: the same response, minus that one header.
    def inline(route):
        response = route.fetch()
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() != "content-disposition"
        }
        route.fulfill(response=response, headers=headers)

    page.route(url, inline)
    page.goto(url, wait_until="load")
    assert page.evaluate("document.title") != "script ran"
    assert page.locator("rect").count() == 1  # it is the SVG document, shown
    page.unroute(url)
    page.goto(f"{live_server.url}{preview_url()}")  # a last round trip after it all

    # The SVG's own references were stopped by its policy before they left; its
    # scripts never ran, so they asked for nothing at all.
    assert [u for u in finished if u.startswith(base)] == []
    assert {why for u, why in failed if u.startswith(base)} <= {"csp"}
    assert not any(u.endswith(("/onload", "/script", "/onerror")) for u, _ in failed)
    assert httpserver.log == []
    context.close()

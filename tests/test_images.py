"""Images a body shows from other hosts reach readers through the app: their
browsers never ask the other host, so it cannot count or follow them."""

from __future__ import annotations

import base64
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import make_manuscript, make_section, png, preview_url


@pytest.fixture
def image_host(httpserver, settings):
    """A host serving images on 127.0.0.1, which the address guard lets through
    only because this test allows it."""
    settings.OUTBOUND_ALLOWED_ADDRESSES = ["127.0.0.1"]
    return httpserver


def proxied_sources(client: Client) -> list[str]:
    page = client.get(preview_url()).content.decode()
    return re.findall(r'<img[^>]*\ssrc="([^"]+)"', page)


def test_an_outside_image_is_served_by_the_app_without_the_readers_identity(
    db, image_host, contributor_client
):
    image = png()
    image_host.expect_request("/figure.png").respond_with_data(
        image, content_type="image/png"
    )
    outside = image_host.url_for("/figure.png")
    manuscript = make_manuscript("Illustrated review")
    make_section(manuscript, "Intro", body=f"A figure:\n\n![Figure 1]({outside})")

    [src] = proxied_sources(Client())
    assert src.startswith("/media-proxy/")
    assert outside not in Client().get(preview_url()).content.decode()

    # A signed-in reader with a session cookie, coming from the preview.
    response = contributor_client.get(src, HTTP_REFERER="http://testserver/preview/")
    again = Client().get(src)

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == image
    assert again.content == image
    # Fetched once, then from the cache; nothing of the reader's went along.
    [(request, _)] = image_host.log
    assert "Cookie" not in request.headers
    assert "Referer" not in request.headers
    assert request.headers["User-Agent"].startswith("Reviewapp/")
    assert "Set-Cookie" not in response.headers


def test_every_way_of_naming_another_host_points_at_the_app(db, client):
    sneaky = [
        "//cdn.example.org/a.png",  # the page's own scheme
        "/\\cdn.example.org/b.png",  # a backslash is a slash to browsers
        "https:cdn.example.org/c.png",  # the slashes are optional
        "ht&#9;tps://cdn.example.org/d.png",  # a tab (as an entity) is dropped
        " HTTPS://cdn.example.org/e.png",
    ]
    body = "\n\n".join(f'<img src="{src}" alt="x">' for src in sneaky)
    make_section(make_manuscript("Illustrated review"), "Intro", body=body)

    sources = proxied_sources(client)

    assert len(sources) == len(sneaky)
    assert all(src.startswith("/media-proxy/") for src in sources), sources


def test_the_html_export_carries_the_outside_image_inline(
    db, image_host, contributor_client
):
    image = png()
    image_host.expect_request("/exported-figure.png").respond_with_data(
        image, content_type="image/png"
    )
    manuscript = make_manuscript("Illustrated review")
    outside = image_host.url_for("/exported-figure.png")
    make_section(manuscript, "Intro", body=f"![Figure 1]({outside})")

    page = contributor_client.get(
        reverse("sections:export", args=[manuscript.slug, "html"])
    ).content.decode()

    [src] = re.findall(r'<img[^>]*\ssrc="([^"]+)"', page)
    assert src == "data:image/png;base64," + base64.b64encode(image).decode()
    assert outside not in page


def test_an_image_the_app_cannot_fetch_leaves_its_alt_text_in_the_export(
    db, httpserver, contributor_client
):
    manuscript = make_manuscript("Illustrated review")
    unreachable = httpserver.url_for("/private-figure.png")  # refused by the guard
    make_section(manuscript, "Intro", body=f"![Figure 1: survival]({unreachable})")

    page = contributor_client.get(
        reverse("sections:export", args=[manuscript.slug, "html"])
    ).content.decode()

    assert '<img alt="Figure 1: survival">' in page
    assert "/media-proxy/" not in page
    assert unreachable not in page


def test_a_tampered_or_made_up_image_token_is_404(db, image_host, client):
    manuscript = make_manuscript("Illustrated review")
    outside = image_host.url_for("/tampered-figure.png")
    make_section(manuscript, "Intro", body=f"![Figure 1]({outside})")
    [src] = proxied_sources(client)
    token = src.removeprefix("/media-proxy/").strip("/")
    signed_part, signature = token.rsplit(":", 1)

    tampered = f"/media-proxy/{signed_part}x:{signature}/"
    made_up = "/media-proxy/aHR0cDovLzEyNy4wLjAuMTo5L3gucG5n/"

    assert client.get(tampered).status_code == 404
    assert client.get(made_up).status_code == 404
    assert image_host.log == []


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>not an image</body></html>"),
        ("image/svg+xml", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'),
        # What the host claims is not enough: the bytes must be the image too.
        ("image/png", b"<script>alert(1)</script>"),
    ],
)
def test_anything_but_a_raster_image_is_refused_with_a_message(
    db, image_host, client, content_type, body
):
    # Its own address: the cache outlives a test (LocMemCache storage is global).
    path = f"/thing-{len(body)}"
    image_host.expect_request(path).respond_with_data(body, content_type=content_type)
    manuscript = make_manuscript("Illustrated review")
    make_section(manuscript, "Intro", body=f"![x]({image_host.url_for(path)})")
    [src] = proxied_sources(client)

    response = client.get(src)

    assert response.status_code == 502
    assert response["Content-Type"].startswith("text/plain")
    assert "not a PNG, JPEG, GIF or WebP image" in response.content.decode()


def test_an_image_on_a_private_address_is_not_fetched(db, httpserver, client):
    # The guard as production has it: 127.0.0.1 is not the public web.
    manuscript = make_manuscript("Illustrated review")
    make_section(
        manuscript, "Intro", body=f"![x]({httpserver.url_for('/private.png')})"
    )
    [src] = proxied_sources(client)

    response = client.get(src)

    assert response.status_code == 502
    assert httpserver.log == []


def test_the_pages_policy_allows_images_from_the_app_only(db, client):
    make_section(make_manuscript("Illustrated review"), "Intro", body="Text.")
    policy = client.get(preview_url()).headers["Content-Security-Policy"]
    [images] = [part for part in policy.split("; ") if part.startswith("img-src")]
    assert images.split() == ["img-src", "'self'", "data:"]

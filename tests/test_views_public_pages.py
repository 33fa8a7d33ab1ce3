"""Each manuscript's public pages (preview, its search, versions) at addresses that
name it; the addresses from before redirect for good; the public reads only a public
manuscript's."""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse

from sections import figures, releases
from sections.models import Activity, Manuscript
from tests.factories import make_manuscript, make_section, png, preview_url

IMG = re.compile(r'<img[^>]*\ssrc="([^"]+)"[^>]*>')


@pytest.fixture
def first(db, maintainer):
    """The site's first manuscript, public."""
    manuscript = make_manuscript("First review")
    make_section(manuscript, "Intro", body="Aardvarks dig burrows.")
    releases.publish(manuscript, name="v1.0", note="", by=maintainer)
    return manuscript


@pytest.fixture
def second(first, maintainer):
    """A second manuscript, private (read by its members only); a version named as
    the first's (names are unique per manuscript) and a figure."""
    manuscript = make_manuscript(
        "Second review", visibility=Manuscript.Visibility.PRIVATE
    )
    figures.add(manuscript, name="plot.png", data=png(), by=maintainer)
    make_section(
        manuscript, "Intro", body="Narwhals grow tusks.\n\n![Plot](images/plot.png)"
    )
    releases.publish(manuscript, name="v1.0", note="", by=maintainer)
    releases.publish(manuscript, name="v2.0", note="", by=maintainer)
    return manuscript


def public_urls(manuscript) -> dict[str, str]:
    slug = manuscript.slug
    return {
        "preview": preview_url(manuscript),
        "search": reverse("sections:public-search", args=[slug]) + "?q=intro",
        "version": reverse("sections:release", args=[slug, "v1.0"]),
        "compare": reverse("sections:release-compare", args=[slug, "v1.0"]),
    }


def test_a_second_manuscripts_preview_version_and_search_show_its_own_text_only(
    first, second, contributor_client: Client
):
    pages = {
        name: contributor_client.get(url) for name, url in public_urls(second).items()
    }

    assert {name: page.status_code for name, page in pages.items()} == dict.fromkeys(
        pages, 200
    )
    for name in ("preview", "version"):
        assert "Narwhals grow tusks." in pages[name].text, name
        assert "Aardvarks" not in pages[name].text, name
    preview = pages["preview"].text
    assert f'href="/v/{second.slug}/v1.0/">v1.0</a>' in preview
    assert f'action="/preview/{second.slug}/search/"' in preview
    [hit] = pages["search"].context["hits"]
    assert hit.url == f"/preview/{second.slug}/#intro"
    search = reverse("sections:public-search", args=[second.slug])
    assert contributor_client.get(search, {"q": "aardvarks"}).context["hits"] == []
    # The comparison offers this manuscript's other versions, and finds them.
    assert '<option value="v2.0">' in pages["compare"].text
    compared = contributor_client.get(public_urls(second)["compare"] + "?with=v2.0")
    assert "From v1.0 to v2.0" in compared.text


def test_the_public_gets_404_for_every_public_page_of_a_manuscript_it_may_not_read(
    first, second, client: Client
):
    for name, url in public_urls(second).items():
        assert client.get(url).status_code == 404, name
    [figure] = second.figures.all()
    assert client.get(figures.url(figure)).status_code == 404
    # The first manuscript's pages are everyone's.
    for name, url in public_urls(first).items():
        assert client.get(url).status_code == 200, name
    welcome = client.get(reverse("sections:home")).text
    assert f'href="{preview_url(first)}"' in welcome
    assert second.title not in welcome
    assert second.slug not in welcome


def test_a_second_manuscripts_figures_load_on_its_preview_for_its_readers(
    first, second, contributor_client: Client
):
    page = contributor_client.get(preview_url(second))
    [src] = IMG.findall(page.text)

    assert src.startswith(f"/figure/{second.slug}/")
    figure = contributor_client.get(src)
    assert figure.status_code == 200
    assert b"".join(figure.streaming_content) == png()
    # Only its readers see it: no shared cache may keep the page or the file.
    assert page["Cache-Control"] == "private, no-cache"
    assert figure["Cache-Control"].startswith("private,")
    assert Client().get(preview_url(first))["Cache-Control"] == "public, no-cache"


def test_the_old_public_addresses_redirect_for_good_to_the_first_manuscripts(
    first, second, client: Client, maintainer
):
    releases.publish(first, name="v1.1", note="", by=maintainer)
    slug = first.slug
    moved = {
        "/preview/": f"/preview/{slug}/",
        "/preview/search/?q=aardvarks": f"/preview/{slug}/search/?q=aardvarks",
        "/v/v1.0/": f"/v/{slug}/v1.0/",
        "/v/v1.0/compare/?with=v1.1": f"/v/{slug}/v1.0/compare/?with=v1.1",
    }
    for old, new in moved.items():
        response = client.get(old)
        assert (response.status_code, response["Location"]) == (301, new), old
        assert client.get(new).status_code == 200, new
    found = client.get("/preview/search/", {"q": "aardvarks"}, follow=True)
    assert [hit.title for hit in found.context["hits"]] == ["Intro"]


def test_the_old_preview_is_404_before_there_is_a_manuscript(db, client: Client):
    assert client.get("/preview/").status_code == 404
    assert client.get("/v/v1.0/").status_code == 404


def test_a_manuscript_called_search_keeps_its_preview_at_preview_search(
    db, client: Client
):
    manuscript = make_manuscript("Search")
    make_section(manuscript, "Intro", body="Seeking is finding.")

    page = client.get("/preview/search/")

    assert page.status_code == 200
    assert "Seeking is finding." in page.text
    assert preview_url(manuscript) == "/preview/search/"


def test_members_pages_link_each_manuscripts_own_preview(
    first, second, contributor_client: Client
):
    outline = contributor_client.get(reverse("sections:home")).text
    assert f'href="{preview_url(first)}">Public preview</a>' in outline
    assert f'href="{preview_url(second)}">Public preview</a>' in outline
    section = second.sections.get()
    page = contributor_client.get(section.get_absolute_url()).text
    assert f'href="{preview_url(second)}#{section.slug}"' in page
    versions = contributor_client.get(reverse("sections:releases", args=[second.slug]))
    assert f'href="/v/{second.slug}/v2.0/"' in versions.text


def test_old_activity_links_to_a_version_name_its_manuscript(first, second):
    """Migration 0024: entries written when /v/<name>/ was the address."""
    migration = importlib.import_module(
        "sections.migrations.0025_release_activity_urls_name_their_manuscript"
    )
    Activity.objects.filter(manuscript=second).update(url="/v/v1.0/")
    Activity.objects.filter(manuscript=first).update(url="/v/v1.0/")

    migration.name_the_manuscript(django_apps, schema_editor=None)

    assert set(Activity.objects.values_list("manuscript__slug", "url")) == {
        (first.slug, f"/v/{first.slug}/v1.0/"),
        (second.slug, f"/v/{second.slug}/v1.0/"),
    }

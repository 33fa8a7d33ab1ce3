"""Releases: a published version stays as it was while the draft moves on."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from sections import references, releases, revisions
from sections.models import Activity, Reference, Release
from tests.factories import preview_url

CLOSING = "A new closing thought about treatment."
REF_KEY = "doi:10.1371/journal.pbio.1002195"


def edit_draft(seed, user, capture) -> None:
    """Change one section's text and one cited reference's metadata."""
    section = seed.sections.get(title="Patient Treatment")
    with capture(execute=True):
        revisions.save_edit(
            section, body=section.body + f"\n\n{CLOSING}", by=user, overwrite=True
        )
        references.set_manual(
            Reference.objects.get(manuscript=seed, key=REF_KEY),
            csl_text=json.dumps(
                {
                    "type": "article-journal",
                    "title": "A retitled paper on open science",
                    "author": [{"family": "Zed", "given": "Z."}],
                    "issued": {"date-parts": [[2020]]},
                }
            ),
            by=user,
        )


@pytest.fixture
def v1(seed, maintainer) -> Release:
    return releases.publish(
        seed, name="v1.0", note="First public version.", by=maintainer
    )


def test_a_release_keeps_its_text_and_bibliography_while_the_draft_moves_on(
    client: Client, seed, v1, maintainer, django_capture_on_commit_callbacks
):
    frozen = client.get(v1.get_absolute_url())
    assert frozen.status_code == 200
    assert "Schmidhuber" in frozen.text
    edit_draft(seed, maintainer, django_capture_on_commit_callbacks)

    preview = client.get(preview_url()).text
    assert CLOSING in preview
    assert "A retitled paper on open science" in preview
    release = client.get(v1.get_absolute_url())
    assert release.text == frozen.text
    assert CLOSING not in release.text
    assert "A retitled paper on open science" not in release.text
    assert "Version v1.0" in release.text
    assert f'href="{preview_url(seed)}"' in release.text
    assert "TODO" not in release.text[release.text.index('<main id="main"') :]


def test_publishing_freezes_the_public_render_and_records_who(seed, v1, maintainer):
    assert v1.title == seed.title
    assert [s["slug"] for s in v1.sections] == [t["slug"] for t in v1.toc]
    treatment = next(s for s in v1.sections if s["title"] == "Patient Treatment")
    assert treatment["body"]
    assert "<" not in treatment["body"]
    assert all("TODO" not in s["body"] for s in v1.sections)
    assert '<ol class="bibliography">' in v1.bibliography_html
    entry = Activity.objects.get(manuscript=seed, kind=Activity.Kind.STRUCTURE)
    assert entry.summary.endswith("published v1.0")
    assert entry.url == f"/v/{seed.slug}/v1.0/"
    assert v1.published_by.user == maintainer


def test_the_preview_lists_each_version_with_its_date(client: Client, seed, maintainer):
    first = client.get(preview_url())
    assert "v1.0" not in first.text
    release = releases.publish(seed, name="v1.0", note="", by=maintainer)
    # The cached page and its ETag both move on when a version is published.
    again = client.get(preview_url(), HTTP_IF_NONE_MATCH=first.headers["ETag"])
    assert again.status_code == 200
    assert f'href="/v/{seed.slug}/v1.0/">v1.0</a>' in again.text
    assert release.published_at.strftime("%Y-%m-%d") in again.text


def test_comparing_with_the_draft_shows_the_changed_words_to_contributors(
    client: Client,
    contributor_client: Client,
    seed,
    v1,
    maintainer,
    django_capture_on_commit_callbacks,
):
    edit_draft(seed, maintainer, django_capture_on_commit_callbacks)
    url = reverse("sections:release-compare", args=[seed.slug, "v1.0"]) + "?with=draft"
    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))

    page = contributor_client.get(url)
    assert page.status_code == 200
    assert "<ins>" in page.text
    assert "closing thought about treatment" in page.text
    changes = page.context["changes"]
    changed = [c for c in changes if c.kind == "changed"]
    assert [c.title for c in changed] == ["Patient Treatment"]
    assert ("added", f"\n\n{CLOSING}") in changed[0].body_diff
    assert {c.kind for c in changes} == {"changed", "unchanged"}


def test_comparing_two_releases_is_public(
    client: Client, seed, v1, maintainer, django_capture_on_commit_callbacks
):
    edit_draft(seed, maintainer, django_capture_on_commit_callbacks)
    releases.publish(seed, name="v1.1", note="", by=maintainer)
    page = client.get(
        reverse("sections:release-compare", args=[seed.slug, "v1.0"]) + "?with=v1.1"
    )
    assert page.status_code == 200
    assert "From v1.0 to v1.1" in page.text
    assert "closing thought about treatment" in page.text
    assert '<details class="section-change unchanged' in page.text
    unknown = client.get(
        reverse("sections:release-compare", args=[seed.slug, "v1.0"]) + "?with=v9"
    )
    assert unknown.status_code == 404
    picker = client.get(reverse("sections:release-compare", args=[seed.slug, "v1.0"]))
    assert picker.status_code == 200
    assert '<option value="v1.1">' in picker.text


def test_compare_matches_sections_by_slug():
    old = [
        {"slug": "a", "title": "A", "level": 1, "body": "Same text."},
        {"slug": "b", "title": "B", "level": 1, "body": "Gone soon."},
        {"slug": "c", "title": "C", "level": 1, "body": "Old words here."},
    ]
    new = [
        {"slug": "a", "title": "A", "level": 1, "body": "Same text."},
        {"slug": "c", "title": "C", "level": 1, "body": "New words here."},
        {"slug": "d", "title": "D", "level": 2, "body": "Fresh."},
    ]
    changes = releases.compare(old, new)
    assert [(c.slug, c.kind) for c in changes] == [
        ("a", "unchanged"),
        ("b", "removed"),
        ("c", "changed"),
        ("d", "added"),
    ]
    assert ("removed", "Old") in changes[2].body_diff
    assert ("added", "New") in changes[2].body_diff


@pytest.mark.parametrize(
    "name", ["v1.0", "", "has space", ".v1", "draft", "compare", "x" * 51]
)
def test_a_taken_or_invalid_name_is_refused(seed, v1, maintainer, name):
    with pytest.raises(releases.ReleaseRejected) as refused:
        releases.publish(seed, name=name, note="", by=maintainer)
    assert str(refused.value)
    assert Release.objects.filter(manuscript=seed).count() == 1


def test_publishing_from_the_page(maintainer_client: Client, seed):
    url = reverse("sections:release-publish", args=[seed.slug])
    response = maintainer_client.post(url, {"name": "v1.0", "note": "Hello."})
    assert response.status_code == 302
    assert response.url == reverse("sections:releases", args=[seed.slug])
    listing = maintainer_client.get(response.url)
    assert "Published v1.0." in listing.text
    assert f'href="/v/{seed.slug}/v1.0/"' in listing.text
    again = maintainer_client.post(url, {"name": "v1.0"})
    assert again.status_code == 422
    assert "already has a version named v1.0" in again.text
    invalid = maintainer_client.post(url, {"name": "not valid!"})
    assert invalid.status_code == 422
    assert "can&#x27;t name a version" in invalid.text
    assert Release.objects.filter(manuscript=seed).count() == 1


def test_contributors_read_the_versions_but_only_maintainers_publish(
    client: Client, contributor_client: Client, maintainer_client: Client, seed
):
    url = reverse("sections:release-publish", args=[seed.slug])
    page = reverse("sections:releases", args=[seed.slug])
    assert maintainer_client.post(url, {"name": "v1.0"}).status_code == 302
    assert contributor_client.post(url, {"name": "v2.0"}).status_code == 403
    anonymous = client.post(url, {"name": "v3.0"})
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))
    assert list(Release.objects.values_list("name", flat=True)) == ["v1.0"]
    assert maintainer_client.get(url).status_code == 405
    listing = contributor_client.get(page)
    assert listing.status_code == 200
    assert "v1.0" in listing.text
    assert "Publish a version" not in listing.text
    assert client.get(page).status_code == 302


def test_a_release_answers_304_and_may_be_kept_for_good(client: Client, v1):
    url = v1.get_absolute_url()
    first = client.get(url)
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    etag = first.headers["ETag"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_an_unknown_version_is_404(client: Client, seed, v1):
    assert client.get(f"/v/{seed.slug}/v2.0/").status_code == 404
    assert client.get(f"/v/{seed.slug}/v2.0/compare/?with=v1.0").status_code == 404
    assert client.get("/v/no-such-review/v1.0/").status_code == 404

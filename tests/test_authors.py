"""The author list: a maintainer chooses the byline (ICMJE order, affiliations,
ORCID iDs); readers see it on the preview, in versions and in every export."""

from __future__ import annotations

import re

import pytest
import yaml
from django.urls import reverse

from sections import authors, exporting, importing, releases
from sections.models import Authorship, Contributor


def people(*names: str) -> list[Contributor]:
    return [Contributor.objects.create(display_name=name) for name in names]


def posted(response, changes: dict[str, dict]) -> dict:
    """The author list form as the page drew it, with some people's rows changed
    (by display name): what a maintainer's browser would post."""
    formset = response.context["formset"]
    management = formset.management_form
    data = {
        management[key].html_name: management[key].value() for key in management.fields
    }
    for form, person in response.context["forms"]:
        row = {
            name: form[name].value() if form[name].value() is not None else ""
            for name in form.fields
        }
        row.update(changes.get(person.display_name, {}))
        data.update({f"{form.prefix}-{name}": value for name, value in row.items()})
    return data


def preview_text(client) -> str:
    page = client.get(reverse("sections:preview")).content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_maintainer_sets_the_byline_and_the_preview_shows_it_in_that_order(
    seed, maintainer_client, client, django_capture_on_commit_callbacks
):
    people("Zoe Last", "Anna First", "Not An Author")
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)

    client.get(reverse("sections:preview"))  # rendered before the change
    with django_capture_on_commit_callbacks(execute=True):
        response = maintainer_client.post(
            url,
            posted(
                page,
                {
                    "Anna First": {
                        "position": "1",
                        "orcid": "https://orcid.org/0000-0002-1825-0097",
                        "affiliations": "University of Pennsylvania\n\n  Broad Institute ",
                    },
                    "Zoe Last": {
                        "position": "2",
                        "affiliations": "Broad Institute",
                    },
                },
            ),
        )

    assert response.status_code == 302
    assert authors.byline(seed) == [
        {
            "name": "Anna First",
            "orcid": "0000-0002-1825-0097",
            "affiliations": ["University of Pennsylvania", "Broad Institute"],
        },
        {"name": "Zoe Last", "affiliations": ["Broad Institute"]},
    ]
    text = preview_text(client)
    # Affiliations are numbered once each, in order of first appearance.
    assert "Anna First 1,2 iD , Zoe Last 2" in text
    assert "University of Pennsylvania Broad Institute" in text
    assert "Not An Author" not in text
    assert (
        'href="https://orcid.org/0000-0002-1825-0097"'
        in client.get(reverse("sections:preview")).content.decode()
    )


def test_moving_an_author_renumbers_the_list(seed, maintainer_client):
    authors.set_from_metadata(
        seed, [{"name": "One"}, {"name": "Two"}, {"name": "Three"}]
    )
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)

    maintainer_client.post(
        url, posted(page, {"Three": {"position": "1"}, "Two": {"position": ""}})
    )

    assert [a["name"] for a in authors.byline(seed)] == ["Three", "One"]
    assert list(
        Authorship.objects.filter(manuscript=seed).values_list("position", flat=True)
    ) == [1, 2]


def test_a_wrong_orcid_is_refused_and_what_was_typed_is_kept(seed, maintainer_client):
    people("Anna First")
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)

    response = maintainer_client.post(
        url,
        posted(
            page,
            {
                "Anna First": {
                    "position": "1",
                    "orcid": "0000-0002-1825-0098",
                    "affiliations": "Penn",
                }
            },
        ),
    )

    assert response.status_code == 422
    body = response.content.decode()
    assert "is not an ORCID iD" in body
    assert "Nothing was saved" in body
    assert 'value="0000-0002-1825-0098"' in body
    assert "Penn</textarea>" in body
    assert not Authorship.objects.exists()
    assert Contributor.objects.get(display_name="Anna First").affiliations == []


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0000-0002-1825-0097", "0000-0002-1825-0097"),
        ("https://orcid.org/0000-0002-1694-233X", "0000-0002-1694-233X"),
        ("0000 0002 1694 233x", "0000-0002-1694-233X"),
        ("", ""),
    ],
)
def test_orcid_ids_are_stored_in_one_form(typed, stored):
    assert authors.normalize_orcid(typed) == stored


@pytest.mark.parametrize("typed", ["0000-0002-1825-0098", "1234", "orcid please"])
def test_text_that_is_not_an_orcid_is_refused(typed):
    with pytest.raises(authors.InvalidOrcid):
        authors.normalize_orcid(typed)


def test_a_version_keeps_the_byline_it_was_published_with(
    seed, maintainer, client, django_capture_on_commit_callbacks
):
    authors.set_from_metadata(seed, [{"name": "Anna First"}])
    releases.publish(seed, name="v1.0", note="", by=maintainer)
    (zoe,) = people("Zoe Replaced")
    with django_capture_on_commit_callbacks(execute=True):
        authors.save_author_list(
            seed, [authors.AuthorEntry(zoe, 1, "", [])], by=maintainer
        )

    version = client.get(reverse("sections:release", args=["v1.0"])).content.decode()

    assert "Anna First" in version
    assert "Zoe Replaced" not in version
    assert "Zoe Replaced" in preview_text(client)


def test_the_byline_is_in_the_standalone_html_and_the_markdown_export(seed, tmp_path):
    byline = [
        {"name": "Anna First", "affiliations": ["Penn"]},
        {"name": "Zoe Last", "orcid": "0000-0002-1825-0097"},
    ]
    authors.set_from_metadata(seed, byline)

    assert "Anna First" in exporting.standalone_html(seed)
    markdown = exporting.to_markdown(seed)
    front = yaml.safe_load(markdown.split("---\n")[1])
    assert front["author"] == ["Anna First", "Zoe Last"]
    assert front["authors"] == byline
    # And back: the Markdown import reads the author list too.
    Contributor.objects.all().delete()
    seed.delete()
    path = tmp_path / "review.md"
    path.write_text(markdown)
    assert authors.byline(importing.import_path(path).manuscript) == byline

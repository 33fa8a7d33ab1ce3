"""The author list: a maintainer chooses the byline (ICMJE order, affiliations,
ORCID iDs); readers see it on the preview, in versions and in every export."""

from __future__ import annotations

import re

import pytest
import yaml
from django.urls import reverse

from sections import authors, exporting, importing, releases
from sections.exceptions import ImportRejected
from sections.models import Authorship, Contributor, Manuscript
from tests.factories import preview_url


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
        typed = changes.get(person.display_name, {})
        for name, field in form.fields.items():
            shown = form[name].value()
            shown = "" if shown is None else shown
            data[form[name].html_name] = typed.get(name, shown)
            if field.show_hidden_initial:
                data[form[name].html_initial_name] = shown
    return data


def preview_text(client) -> str:
    page = client.get(preview_url()).content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_a_maintainer_sets_the_byline_and_the_preview_shows_it_in_that_order(
    seed, maintainer_client, client, django_capture_on_commit_callbacks
):
    people("Zoe Last", "Anna First", "Not An Author")
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)

    client.get(preview_url())  # rendered before the change
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
        in client.get(preview_url()).content.decode()
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


def test_moving_an_author_down_puts_them_after_the_place_holder(seed, maintainer):
    one, two, three = people("One", "Two", "Three")
    authors.set_from_metadata(
        seed, [{"name": "One"}, {"name": "Two"}, {"name": "Three"}]
    )

    authors.save_author_list(
        seed,
        [
            authors.AuthorEntry(one, 3, "", []),
            authors.AuthorEntry(two, 2, "", []),
            authors.AuthorEntry(three, 3, "", []),
        ],
        by=maintainer,
    )

    assert [a["name"] for a in authors.byline(seed)] == ["Two", "Three", "One"]


def test_a_post_naming_one_person_twice_is_refused_not_an_error(
    seed, maintainer_client
):
    people("Anna First")
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)
    data = posted(page, {"Anna First": {"position": "1"}})
    anna = Contributor.objects.get(display_name="Anna First").pk
    total = int(data["form-TOTAL_FORMS"])
    data.update(
        {
            "form-TOTAL_FORMS": str(total + 1),
            f"form-{total}-contributor": str(anna),
            f"form-{total}-position": "2",
            f"form-{total}-orcid": "",
            f"form-{total}-affiliations": "",
        }
    )

    response = maintainer_client.post(url, data)

    assert response.status_code == 422
    assert "reload it and try again" in response.content.decode()
    assert not Authorship.objects.exists()


def test_saving_a_stale_page_keeps_what_someone_else_changed_meanwhile(
    seed, maintainer_client
):
    (anna,) = people("Anna First")
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)
    # Another maintainer adds Anna's ORCID iD while this page is open.
    Contributor.objects.filter(pk=anna.pk).update(orcid="0000-0002-1825-0097")

    maintainer_client.post(
        url, posted(page, {"Anna First": {"position": "1", "affiliations": "Penn"}})
    )

    anna.refresh_from_db()
    assert anna.orcid == "0000-0002-1825-0097"
    assert anna.affiliations == ["Penn"]


def test_a_changed_affiliation_reaches_every_byline_the_person_is_in(
    seed, maintainer, client, django_capture_on_commit_callbacks
):
    from tests.factories import make_manuscript

    (pat,) = people("Pat Person")
    other = make_manuscript("Another review")
    authors.set_from_metadata(seed, [{"name": "Pat Person", "affiliations": ["Old U"]}])
    authors.set_from_metadata(other, [{"name": "Pat Person"}])
    client.get(preview_url())  # the site's preview, rendered

    with django_capture_on_commit_callbacks(execute=True):
        authors.save_author_list(
            other, [authors.AuthorEntry(pat, 1, "", ["New U"])], by=maintainer
        )

    text = preview_text(client)
    assert "New U" in text
    assert "Old U" not in text


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

    version = client.get(
        reverse("sections:release", args=[seed.slug, "v1.0"])
    ).content.decode()

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


def test_imported_authors_with_one_name_and_two_orcid_ids_stay_two_people(seed):
    authors.set_from_metadata(
        seed,
        [
            {"name": "Wei Wang", "orcid": "0000-0002-1825-0097"},
            {"name": "Wei Wang", "orcid": "0000-0002-1694-233X"},
        ],
    )
    assert [a.get("orcid") for a in authors.byline(seed)] == [
        "0000-0002-1825-0097",
        "0000-0002-1694-233X",
    ]


def test_imported_affiliations_may_be_one_text_or_a_list(seed):
    notes = authors.set_from_metadata(
        seed,
        [
            {"name": "One", "affiliations": "Penn State"},
            {"name": "Two", "affiliations": ["Penn", 7]},
            {"name": "Three", "orcid": "0000-0002-1825-0098"},
        ],
    )
    assert [a.get("affiliations") for a in authors.byline(seed)] == [
        ["Penn State"],
        ["Penn", "7"],
        None,
    ]
    assert notes == [
        "Author “Three”: “0000-0002-1825-0098” is not an ORCID iD: sixteen digits "
        "such as 0000-0002-1825-0097 (or its orcid.org address), with a valid check "
        "digit. Left out."
    ]


@pytest.mark.parametrize(
    "author",
    [
        {"name": "One", "affiliations": 5},
        {"name": "One", "affiliations": {"a": 1}},
        {"name": ["One"]},
    ],
)
def test_a_markdown_file_with_malformed_authors_is_refused_in_one_line(
    db, tmp_path, author
):
    path = tmp_path / "review.md"
    front = yaml.safe_dump({"title": "T", "authors": [author]})
    path.write_text(f"---\n{front}---\n\n## Intro\n\nText.\n")
    with pytest.raises(ImportRejected) as refused:
        importing.import_path(path)
    assert "\n" not in str(refused.value)
    assert not Manuscript.objects.exists()


def test_a_contributor_sets_their_own_details_and_their_bylines_follow(
    seed, contributor, contributor_client, client, django_capture_on_commit_callbacks
):
    from sections import contributors

    me = contributors.for_user(contributor)
    authors.set_from_metadata(seed, [{"name": me.display_name}])
    client.get(preview_url())  # rendered before the change

    with django_capture_on_commit_callbacks(execute=True):
        response = contributor_client.post(
            reverse("sections:my-details"),
            {
                "display_name": "Carol Q. Author",
                "handle": "carol",
                "orcid": "0000-0002-1825-0097",
                "affiliations": "Penn\nBroad",
            },
        )

    assert response.status_code == 302
    assert authors.byline(seed) == [
        {
            "name": "Carol Q. Author",
            "orcid": "0000-0002-1825-0097",
            "affiliations": ["Penn", "Broad"],
        }
    ]
    assert "Carol Q. Author 1,2" in preview_text(client)


def test_my_details_with_a_wrong_orcid_are_refused_and_kept_on_the_page(
    contributor, contributor_client
):
    response = contributor_client.post(
        reverse("sections:my-details"),
        {
            "display_name": "Carol",
            "handle": "carol",
            "orcid": "1234",
            "affiliations": "Penn",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "is not an ORCID iD" in page
    assert 'value="1234"' in page
    assert Contributor.objects.get(user=contributor).orcid == ""


def test_an_orcid_id_someone_has_cannot_be_taken_by_another_contributor(
    contributor, contributor_client
):
    Contributor.objects.create(display_name="Jinbo Xu", orcid="0000-0002-1825-0097")

    response = contributor_client.post(
        reverse("sections:my-details"),
        {"display_name": "Jinbo Xu", "handle": "carol", "orcid": "0000-0002-1825-0097"},
    )

    assert response.status_code == 422
    assert "already the ORCID iD of Jinbo Xu" in response.content.decode()
    me = Contributor.objects.get(user=contributor)
    assert me.orcid == ""
    assert me.display_name != "Jinbo Xu"


def test_a_maintainer_may_move_an_orcid_id_but_not_copy_it(seed, maintainer):
    anna, zoe = people("Anna", "Zoe")
    Contributor.objects.filter(pk=anna.pk).update(orcid="0000-0002-1825-0097")
    anna.refresh_from_db()
    copied = [
        authors.AuthorEntry(anna, 1, "0000-0002-1825-0097", []),
        authors.AuthorEntry(zoe, 2, "0000-0002-1825-0097", []),
    ]
    with pytest.raises(authors.AuthorsRejected, match="two people"):
        authors.save_author_list(seed, copied, by=maintainer)

    moved = [
        authors.AuthorEntry(anna, 1, "", []),
        authors.AuthorEntry(zoe, 2, "0000-0002-1825-0097", []),
    ]
    authors.save_author_list(seed, moved, by=maintainer)
    assert authors.byline(seed) == [
        {"name": "Anna"},
        {"name": "Zoe", "orcid": "0000-0002-1825-0097"},
    ]


def test_a_post_without_what_the_page_showed_is_refused_not_an_overwrite(
    seed, maintainer_client
):
    (anna,) = people("Anna First")
    url = reverse("sections:author-list", args=[seed.slug])
    page = maintainer_client.get(url)
    Contributor.objects.filter(pk=anna.pk).update(orcid="0000-0002-1825-0097")
    data = posted(page, {"Anna First": {"position": "1", "affiliations": "Penn"}})
    blind = {name: value for name, value in data.items() if "initial-" not in name}

    response = maintainer_client.post(url, blind)

    assert response.status_code == 422
    assert "did not say what the page showed" in response.text
    assert "Penn" in response.text
    anna.refresh_from_db()
    assert (anna.orcid, anna.affiliations) == ("0000-0002-1825-0097", [])


def test_blank_forms_added_to_the_count_are_ignored(seed, maintainer_client):
    people("Anna First")
    url = reverse("sections:author-list", args=[seed.slug])
    data = posted(maintainer_client.get(url), {"Anna First": {"position": "1"}})
    data["form-TOTAL_FORMS"] = str(int(data["form-TOTAL_FORMS"]) + 1)

    response = maintainer_client.post(url, data)

    assert response.status_code == 302
    assert [a["name"] for a in authors.byline(seed)] == ["Anna First"]

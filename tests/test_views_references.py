"""Citation health: what maintainers see and fix, and the contributors' citation helper."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from sections import revisions
from sections.models import Reference
from tests.conftest import recorded


def health_url(manuscript) -> str:
    return reverse("sections:citation-health", args=[manuscript.slug])


def test_seed_health_lists_each_kind_of_problem_where_it_is_cited(
    maintainer_client, seed, django_assert_max_num_queries
):
    Reference.objects.create(
        manuscript=seed,
        key="doi:10.1234/preprint-of-paper",
        csl_provisional=seed.references.get(
            key="doi:10.1371/journal.pbio.1002195"
        ).csl_provisional,
    )
    with django_assert_max_num_queries(15):
        response = maintainer_client.get(health_url(seed))
    health = response.context["health"]

    assert response.status_code == 200
    # The seed cites numbers 14 and 50, which its list does not have, and informal
    # keys such as [McHardy]: all still in the text, each a missing citation.
    assert any("McHardy" in todo.text for todo in health.informal)
    assert [
        "doi:10.1234/preprint-of-paper",
        "doi:10.1371/journal.pbio.1002195",
    ] in [[r.key for r in group] for group in health.duplicates]
    assert "doi:10.1234/preprint-of-paper" in {r.key for r in health.uncited}
    without = {r.key: r for r in health.without_identifier}
    assert without, "the seed's entries with no identifier are cited"
    assert all(r.cited_in for r in without.values())
    waiting = {r.key for r in health.waiting}
    assert "doi:10.1371/journal.pbio.1002195" in waiting
    assert "Retry all failed" not in response.text  # nothing failed yet


def test_outline_counts_citation_problems_per_section(contributor_client, seed):
    response = contributor_client.get("/")
    rows = response.context["outlines"][0][1]
    with_problems = {r.section.title: r.citation_problems for r in rows}
    section = next(title for title, problems in with_problems.items() if problems)
    assert "Citation problems" in response.text
    assert with_problems[section] >= 1


def test_a_maintainer_retries_a_failed_reference_and_it_resolves(
    maintainer_client,
    contributor_client,
    client,
    upstream,
    seed,
    settings,
    django_capture_on_commit_callbacks,
):
    reference = seed.references.get(key="doi:10.1371/journal.pbio.1002195")
    Reference.objects.filter(pk=reference.pk).update(
        state=Reference.State.FAILED, error="doi.org had no answer (503)"
    )
    upstream.expect_request("/10.1371/journal.pbio.1002195").respond_with_data(
        recorded("doi-csl/10.1098_rsif.2017.0387.csl.json"),
        content_type="application/vnd.citationstyles.csl+json",
    )
    retry = reverse("sections:reference-retry", args=[reference.pk])

    assert client.post(retry).status_code == 302  # to the sign-in page
    assert contributor_client.post(retry).status_code == 403
    assert maintainer_client.get(retry).status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        assert maintainer_client.post(retry).status_code == 302

    reference.refresh_from_db()
    assert reference.state == Reference.State.RESOLVED
    page = maintainer_client.get(
        reverse("sections:reference-detail", args=[pk := reference.pk])
    )
    assert "Opportunities and obstacles for deep learning" in page.text
    assert pk


def test_a_maintainer_points_a_tag_at_a_doi(maintainer_client, seed):
    tag = seed.references.filter(key__startswith="tag:").first()
    alias = reverse("sections:reference-alias", args=[tag.pk])

    refused = maintainer_client.post(alias, {"target": tag.key})
    assert refused.status_code == 422
    assert "A tag stands for a reference with an identifier" in refused.text

    assert maintainer_client.post(alias, {"target": "@DOI:10.1/X"}).status_code == 302
    tag.refresh_from_db()
    assert tag.alias_of.key == "doi:10.1/x"
    assert tag.alias_of.state == Reference.State.PENDING


def test_a_bad_manual_record_is_refused_and_the_text_kept(maintainer_client, seed):
    reference = seed.references.get(key="doi:10.1371/journal.pbio.1002195")
    record = reverse("sections:reference-record", args=[reference.pk])

    response = maintainer_client.post(record, {"csl_json": '{"title": "x",'})

    assert response.status_code == 422
    assert "That is not JSON" in response.text
    assert "{&quot;title&quot;: &quot;x&quot;," in response.text
    reference.refresh_from_db()
    assert reference.csl_manual is None


@pytest.mark.parametrize(
    ("pasted", "citation"),
    [
        ("https://doi.org/10.1038/NATURE14539", "[@doi:10.1038/nature14539]"),
        ("PMC5832410", "[@pmcid:PMC5832410]"),
        ("https://arxiv.org/abs/1605.08386v2", "[@arxiv:1605.08386v2]"),
        ("29618526", "[@pmid:29618526]"),
        ("https://example.org/a page", None),
    ],
)
def test_citation_helper_turns_an_identifier_into_a_citekey(
    contributor_client, seed, pasted, citation
):
    url = reverse("sections:cite-helper", args=[seed.slug])
    response = contributor_client.get(url, {"identifier": pasted})
    if citation is None:
        assert response.status_code == 422
        assert "is not a DOI, PMID" in response.text
    else:
        assert response.status_code == 200
        assert f'value="{citation}"' in response.text


def test_citation_helper_answers_htmx_with_the_result_alone(contributor_client, seed):
    url = reverse("sections:cite-helper", args=[seed.slug])
    response = contributor_client.get(
        url, {"identifier": "10.1038/nature14539"}, HTTP_HX_REQUEST="true"
    )
    assert response.text.strip().startswith('<div id="cite-result"')


def test_the_public_sees_no_reference_pages(client: Client, seed):
    reference = seed.references.first()
    for url in [
        health_url(seed),
        reverse("sections:reference-detail", args=[reference.pk]),
        reverse("sections:cite-helper", args=[seed.slug]),
    ]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_a_save_with_a_typo_key_shows_as_unknown(
    maintainer, maintainer_client, seed, django_capture_on_commit_callbacks
):
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    with django_capture_on_commit_callbacks(execute=True):
        revisions.save_edit(
            section,
            body=section.body + " See [@doj:10.1/typo].",
            by=maintainer,
            overwrite=True,
        )
    health = maintainer_client.get(health_url(seed)).context["health"]
    (unknown,) = [r for r in health.unknown if r.key == "doj:10.1/typo"]
    assert [s.title for s in unknown.cited_in] == [section.title]

"""Every URL of the app, as each role: the anonymous public, a contributor and a
maintainer. What a role may not do is refused on the server, whatever the page shows."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from sections import claims, comments, contributors, figures, images, releases
from sections import urls as section_urls
from sections.models import Claim
from tests.factories import make_user, png

PUBLIC = {
    "home",
    "healthz",
    "preview",
    "release",
    "release-compare",
    "public-search",
    "media-proxy",  # its signed token is the permission (sections/images.py)
    "figure",  # the public manuscript's figures, which its public pages show
    # Read with the token in the address, whoever holds it (a feed reader has no
    # session).
    "activity-atom-private",
}
MAINTAINERS_ONLY = {
    "section-visibility",
    "references-retry-failed",
    "reference-retry",
    "reference-record",
    "reference-alias",
    "section-add",
    "section-rename",
    "section-move",
    "section-indent",
    "section-outdent",
    "section-remove",
    "section-restore",
    "comment-todo",
    "todo-bulk",
    "todo-create",
    "claims-link-decide",
    "release-publish",
}
# Someone else's claim and comment: theirs to change, or a maintainer's.
OWNERS_OR_MAINTAINERS = {"claim-release", "comment-edit", "comment-delete"}
READ_ONLY = {
    "home",
    "healthz",
    "preview",
    "section-detail",
    "section-history",
    "section-compare",
    "section-authorship",
    "citation-health",
    "cite-helper",
    "reference-detail",
    "todo-board",
    "activity",
    "activity-atom",
    "activity-atom-private",
    "section-activity",
    "contributions",
    "claims",
    "my-work",
    "search",
    "public-search",
    "release",
    "release-compare",
    "releases",
    "export",
    "media-proxy",
    "figure",
    "figures",
}
BOTH = {"section-edit"}  # the editor: GET shows it, POST saves
# Pages only maintainers see and post: GET shows the form, POST saves it.
MAINTAINER_PAGES = {"author-list"}


@pytest.fixture
def world(seed, httpserver, settings):
    """One object of each kind a URL names, none of them the contributor's own."""
    settings.OUTBOUND_ALLOWED_ADDRESSES = [
        "127.0.0.1"
    ]  # the image is served on 127.0.0.1
    httpserver.expect_request("/walk.png").respond_with_data(
        png(), content_type="image/png"
    )
    image = images.proxy_url(httpserver.url_for("/walk.png"))
    section = seed.sections.get(title="Protein secondary and tertiary structure")
    someone = make_user("someone@example.org")
    claim = claims.claim(section, by=someone)
    comment = comments.post(section, by=someone, body="A thought.")
    release = releases.publish(seed, name="v1.0", note="", by=someone)
    figure = figures.add(seed, name="walk.png", data=png(), by=someone)
    return {
        "manuscript": seed.slug,
        "section": section.slug,
        "revision": section.revisions.first().pk,
        "claim": claim.pk,
        "comment": comment.pk,
        "reference": seed.references.first().pk,
        "name": release.name,
        "format": "markdown",
        "token": contributors.feed_token(contributors.for_user(someone)),
        "signed": image.removeprefix("/media-proxy/").strip("/"),
        "digest": figure.sha256[:16],
        "path": figure.path,
    }


def every_url(world) -> list[tuple[str, str]]:
    found = []
    for pattern in section_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        name = pattern.name
        kwargs = {key: world[key] for key in pattern.pattern.converters if key != "pk"}
        if "pk" in pattern.pattern.converters:
            kind = name.split("-")[0]
            kwargs["pk"] = world[{"references": "reference"}.get(kind, kind)]
        url = reverse(f"sections:{name}", kwargs=kwargs)
        if name == "section-compare":
            url += f"?old={world['revision']}&new={world['revision']}"
        found.append((name, url))
    return found


def test_the_walk_covers_every_url(world):
    names = {name for name, _ in every_url(world)}
    writes = names - READ_ONLY - BOTH - MAINTAINER_PAGES
    assert MAINTAINERS_ONLY | OWNERS_OR_MAINTAINERS <= writes
    assert len(names) == len(section_urls.urlpatterns)


def test_the_public_reads_only_public_pages(client: Client, world):
    login = reverse("account_login")
    for name, url in every_url(world):
        response = client.get(url)
        if name in PUBLIC:
            assert response.status_code == 200, name
        elif name in READ_ONLY | BOTH | MAINTAINER_PAGES:
            assert response.status_code == 302, name
            assert response.url.startswith(login), name
        else:
            assert response.status_code == 405, name
        if name not in READ_ONLY:
            posted = client.post(url)
            assert posted.status_code == 302, name
            assert posted.url.startswith(login), name


@pytest.mark.parametrize("role", ["contributor", "maintainer"])
def test_each_role_gets_what_it_may_and_a_403_for_the_rest(role, world, request):
    user = request.getfixturevalue(role)
    client = Client()
    client.force_login(user)
    for name, url in every_url(world):
        if name in MAINTAINER_PAGES:
            allowed = role == "maintainer"
            assert client.get(url).status_code == (200 if allowed else 403), name
            status = client.post(url).status_code
            assert status in ({422} if allowed else {403}), (name, status)
        elif name in READ_ONLY | BOTH:
            assert client.get(url).status_code == 200, name
        else:
            assert client.get(url).status_code == 405, name
            refused = name in MAINTAINERS_ONLY | OWNERS_OR_MAINTAINERS
            status = client.post(url).status_code
            if role == "contributor" and refused:
                assert status == 403, name
            else:
                assert status in {200, 302, 409, 422}, (name, status)
    if role == "contributor":
        assert Claim.objects.active().filter(pk=world["claim"]).exists()

"""Text longer than the column it would be stored in never becomes a database error
(PostgreSQL checks lengths, SQLite does not): a saved section whose text has an
over-long @handle or claimant's name keeps it as plain text."""

from __future__ import annotations

from django.urls import reverse

from sections import outline
from sections.models import Contributor
from tests.factories import make_manuscript


def test_an_edit_with_an_overlong_handle_or_claimant_saves_as_plain_text(
    contributor_client, contributor
):
    section = outline.add_section(
        make_manuscript("A review"),
        title="Intro",
        after=None,
        as_child=False,
        by=contributor,
    )
    editor = reverse("sections:section-edit", args=[section.manuscript.slug, "intro"])
    base = contributor_client.get(editor).context["form"]["base"].value()
    people = set(Contributor.objects.values_list("pk", flat=True))
    body = (
        f"Text. TODO: ask @h{'a' * 150} about it.\n\n"
        f"N{'a' * 250} is writing this section.\n"
    )
    response = contributor_client.post(
        editor, {"title": "Intro", "body": body, "summary": "", "base": base}
    )
    assert response.status_code == 302
    section.refresh_from_db()
    assert "@h" + "a" * 150 in section.body
    assert set(Contributor.objects.values_list("pk", flat=True)) == people

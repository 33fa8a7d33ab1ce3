"""Maintainers change the manuscript's structure: add, rename, move, remove, restore."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from sections import outline, revisions, selectors
from sections.models import Manuscript, Section
from tests.factories import make_manuscript, make_section, preview_url


@pytest.fixture
def book(db) -> Manuscript:
    """A (A1, A2 (A2a)), B, C: each title slugified is its slug."""
    manuscript = make_manuscript("Small book")
    a = make_section(manuscript, "A")
    make_section(manuscript, "A1", parent=a, level=2)
    a2 = make_section(manuscript, "A2", parent=a, level=2)
    make_section(manuscript, "A2a", parent=a2, level=3)
    make_section(manuscript, "B")
    make_section(manuscript, "C")
    return manuscript


BOOK = ["A", "  A1", "  A2", "    A2a", "B", "C"]


def outline_of(manuscript: Manuscript) -> list[str]:
    """Present sections in reading order, indented by level, once the whole tree
    (removed sections too) is checked to be a dense pre-order walk."""
    sections = list(manuscript.sections.order_by("position"))
    assert [s.position for s in sections] == list(range(1, len(sections) + 1))
    ancestors: list[Section] = []  # the open section at each level
    for section in sections:
        ancestors = ancestors[: section.level - 1]
        assert len(ancestors) == section.level - 1, section.title
        assert section.parent_id == (ancestors[-1].pk if ancestors else None)
        ancestors.append(section)
    return ["  " * (s.level - 1) + s.title for s in sections if s.removed_at is None]


def snapshot(manuscript: Manuscript) -> list[tuple]:
    return list(
        manuscript.sections.order_by("pk").values_list(
            "title", "slug", "position", "level", "parent_id", "removed_at"
        )
    )


def get(manuscript: Manuscript, title: str) -> Section:
    return manuscript.sections.get(title=title)


def url_of(section: Section, name: str) -> str:
    return reverse(name, args=[section.manuscript.slug, section.slug])


# Adding


def test_a_section_added_after_one_with_subsections_lands_after_all_of_them(
    book, maintainer
):
    added = outline.add_section(
        book, title="New", after=get(book, "A"), as_child=False, by=maintainer
    )
    assert outline_of(book) == ["A", "  A1", "  A2", "    A2a", "New", "B", "C"]
    assert added.status == Section.Status.OUTLINE
    first = added.revisions.get()
    assert (first.title, first.body, first.summary) == ("New", "", "Added")
    assert first.author.user == maintainer


def test_a_section_added_inside_another_becomes_its_first_subsection(book, maintainer):
    added = outline.add_section(
        book, title="New", after=get(book, "A2"), as_child=True, by=maintainer
    )
    assert outline_of(book) == ["A", "  A1", "  A2", "    New", "    A2a", "B", "C"]
    assert added.parent == get(book, "A2")


def test_an_added_section_gets_a_slug_no_other_section_has(book, maintainer):
    outline.remove(get(book, "C"), by=maintainer)
    b2 = outline.add_section(
        book, title="B", after=get(book, "B"), as_child=False, by=maintainer
    )
    c2 = outline.add_section(book, title="C", after=b2, as_child=False, by=maintainer)
    assert (b2.slug, c2.slug) == ("b-2", "c-2")


def test_adding_to_the_seed_renumbers_every_section_after_it(seed, maintainer):
    clinical = seed.sections.get(title="Clinical care")
    outline.add_section(
        seed, title="Genomics", after=clinical, as_child=False, by=maintainer
    )
    order = outline_of(seed)
    assert len(order) == 37
    genomics = order.index("Genomics")
    assert order[genomics - 1] == '  Biomedical data is often "Wide"'
    assert order[genomics + 1].startswith("Has deep learning already induced")


def test_nothing_is_added_without_a_title_or_inside_a_removed_section(book, maintainer):
    outline.remove(get(book, "C"), by=maintainer)
    before = snapshot(book)
    with pytest.raises(outline.StructureRejected, match="needs a title"):
        outline.add_section(
            book, title="  ", after=get(book, "A"), as_child=False, by=maintainer
        )
    with pytest.raises(outline.StructureRejected, match="“C” is removed"):
        outline.add_section(
            book, title="New", after=get(book, "C"), as_child=True, by=maintainer
        )
    assert snapshot(book) == before


# Renaming


def test_renaming_keeps_the_slug_and_records_the_new_title_in_history(book, maintainer):
    b = get(book, "B")
    outline.rename(b, title="Background", by=maintainer)
    b.refresh_from_db()
    assert (b.title, b.slug) == ("Background", "b")
    latest = b.revisions.latest()
    assert (latest.title, latest.summary) == ("Background", "Renamed from “B”")
    assert latest.author.user == maintainer


def test_renaming_keeps_an_edit_saved_since_the_section_was_loaded(
    book, maintainer, contributor
):
    loaded = get(book, "B")
    revisions.save_edit(
        get(book, "B"), body="Fresh text.", by=contributor, overwrite=True
    )
    outline.rename(loaded, title="Background", by=maintainer)
    assert get(book, "Background").body == "Fresh text."


def test_renaming_to_the_same_title_is_refused(book, maintainer):
    with pytest.raises(outline.StructureRejected, match="already has that title"):
        outline.rename(get(book, "B"), title="B", by=maintainer)
    assert not get(book, "B").revisions.exists()


# Moving, indenting, outdenting


def test_moving_a_section_down_takes_its_subsections_along(book):
    outline.move(get(book, "A"), direction="down")
    assert outline_of(book) == ["B", "A", "  A1", "  A2", "    A2a", "C"]


def test_moving_a_subsection_up_swaps_it_with_the_one_before(book):
    a2 = get(book, "A2")
    outline.move(a2, direction="up")
    assert outline_of(book) == ["A", "  A2", "    A2a", "  A1", "B", "C"]
    assert a2.position == 2


def test_moving_a_seed_chapter_keeps_its_subsections_and_reading_order(seed):
    clinical = seed.sections.get(title="Clinical care")
    outline.move(clinical, direction="down")
    order = outline_of(seed)
    assert len(order) == 36
    chapter = order.index("Clinical care")
    assert order[chapter - 1].startswith("Has deep learning already induced")
    assert order[chapter + 1 : chapter + 7] == [
        "  Imaging applications in health care",
        "  Electronic health records",
        "  Unique challenges",
        "  Temporal Patient Trajectories",
        "  Data sharing and privacy",
        '  Biomedical data is often "Wide"',
    ]
    assert order[chapter + 7].startswith("Will deep learning induce")


def test_moving_up_steps_over_a_removed_section_which_keeps_its_place(book, maintainer):
    outline.remove(get(book, "B"), by=maintainer)
    outline.move(get(book, "C"), direction="up")
    assert outline_of(book) == ["C", "A", "  A1", "  A2", "    A2a"]
    outline.restore(get(book, "B"), by=maintainer)
    assert outline_of(book) == ["C", "A", "  A1", "  A2", "    A2a", "B"]


def test_indenting_makes_it_the_last_subsection_of_the_section_before_it(book):
    b = get(book, "B")
    outline.indent(b)
    assert outline_of(book) == ["A", "  A1", "  A2", "    A2a", "  B", "C"]
    b.refresh_from_db()
    assert (b.parent, b.level) == (get(book, "A"), 2)


def test_indenting_takes_subsections_one_level_deeper(book):
    outline.indent(get(book, "A2"))
    assert outline_of(book) == ["A", "  A1", "    A2", "      A2a", "B", "C"]
    assert get(book, "A2a").level == 4


def test_outdenting_places_it_after_its_parent_and_the_parents_subsections(book):
    a1 = get(book, "A1")
    outline.outdent(a1)
    assert outline_of(book) == ["A", "  A2", "    A2a", "A1", "B", "C"]
    a1.refresh_from_db()
    assert (a1.parent, a1.level) == (None, 1)


def test_outdenting_takes_subsections_one_level_up(book):
    outline.outdent(get(book, "A2"))
    assert outline_of(book) == ["A", "  A1", "A2", "  A2a", "B", "C"]


CHANGES: dict[str, Callable[[Section], None]] = {
    "up": lambda section: outline.move(section, direction="up"),
    "down": lambda section: outline.move(section, direction="down"),
    "indent": outline.indent,
    "outdent": outline.outdent,
}


@pytest.mark.parametrize(
    ("title", "change", "message"),
    [
        ("A", "up", "“A” is already first at the top level; it can't move up."),
        ("C", "down", "“C” is already last at the top level; it can't move down."),
        ("A1", "up", "“A1” is already first under “A”; it can't move up."),
        ("A2a", "down", "“A2a” is already last under “A2”; it can't move down."),
        ("A", "indent", "“A” has no section before it at the top level to go under"),
        ("A1", "indent", "“A1” has no section before it under “A” to go under"),
        ("B", "outdent", "“B” is already at the top level; it can't be outdented."),
    ],
)
def test_impossible_moves_are_refused_with_a_reason_and_change_nothing(
    book, title, change, message
):
    before = snapshot(book)
    with pytest.raises(outline.StructureRejected) as refused:
        CHANGES[change](get(book, title))
    assert str(refused.value).startswith(message)
    assert snapshot(book) == before


def test_a_removed_section_must_be_restored_before_it_moves(book, maintainer):
    outline.remove(get(book, "B"), by=maintainer)
    before = snapshot(book)
    for change in CHANGES.values():
        with pytest.raises(outline.StructureRejected, match="restore it first"):
            change(get(book, "B"))
    assert snapshot(book) == before


# Removing and restoring


def test_restoring_leaves_what_was_removed_before_on_its_own_removed(book, maintainer):
    outline.remove(get(book, "A2a"), by=maintainer)
    outline.remove(get(book, "A"), by=maintainer)
    assert outline_of(book) == ["B", "C"]
    assert [s.title for s in selectors.removed_sections(book)] == ["A"]
    with pytest.raises(outline.StructureRejected, match="restore that first"):
        outline.restore(get(book, "A2a"), by=maintainer)
    outline.restore(get(book, "A"), by=maintainer)
    assert outline_of(book) == ["A", "  A1", "  A2", "B", "C"]
    assert [s.title for s in selectors.removed_sections(book)] == ["A2a"]


def test_removing_or_restoring_twice_is_refused(book, maintainer):
    with pytest.raises(outline.StructureRejected, match="“B” is not removed"):
        outline.restore(get(book, "B"), by=maintainer)
    outline.remove(get(book, "B"), by=maintainer)
    with pytest.raises(outline.StructureRejected, match="“B” is removed already"):
        outline.remove(get(book, "B"), by=maintainer)


def test_removing_hides_a_section_and_its_subsections_until_restored(
    book, maintainer_client, client: Client, django_capture_on_commit_callbacks
):
    assert 'id="a2a"' in client.get(preview_url()).text
    a2 = get(book, "A2")
    with django_capture_on_commit_callbacks(execute=True):
        response = maintainer_client.post(url_of(a2, "sections:section-remove"))
    assert response.status_code == 302
    assert outline_of(book) == ["A", "  A1", "B", "C"]
    assert a2.revisions.count() == get(book, "A2a").revisions.count() == 0
    preview = client.get(preview_url()).text
    assert 'id="a1"' in preview
    assert 'id="a2"' not in preview
    assert 'id="a2a"' not in preview

    home = maintainer_client.get(response.url)
    outlines = home.context["outlines"]
    assert [row.section.title for row in outlines[0][1]] == ["A", "A1", "B", "C"]
    assert [s.title for s in outlines[0][2]] == ["A2"]
    assert "“A2” removed. Undo" in home.text
    assert url_of(a2, "sections:section-restore") in home.text

    with django_capture_on_commit_callbacks(execute=True):
        maintainer_client.post(url_of(a2, "sections:section-restore"))
    assert outline_of(book) == BOOK
    assert 'id="a2a"' in client.get(preview_url()).text
    assert "Removed sections" not in maintainer_client.get("/").text


def test_a_moved_section_moves_in_the_preview(
    book, maintainer_client, client: Client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        maintainer_client.post(
            url_of(get(book, "C"), "sections:section-move"), {"direction": "up"}
        )
    preview = client.get(preview_url()).text
    assert preview.index('id="c"') < preview.index('id="b"')


# Through the outline


def test_only_maintainers_change_the_structure(
    book, maintainer_client, contributor_client, client: Client
):
    move = url_of(get(book, "B"), "sections:section-move")
    assert contributor_client.post(move, {"direction": "up"}).status_code == 403
    response = client.post(move, {"direction": "up"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
    assert outline_of(book) == BOOK
    response = maintainer_client.post(move, {"direction": "up"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("sections:home"))
    assert outline_of(book) == ["B", "A", "  A1", "  A2", "    A2a", "C"]


def test_a_removed_section_is_not_found_by_contributors(
    book, maintainer, contributor_client
):
    b = get(book, "B")
    outline.remove(b, by=maintainer)
    assert (
        contributor_client.post(url_of(b, "sections:section-restore")).status_code
        == 404
    )


@pytest.mark.parametrize(
    "name",
    [
        "sections:section-add",
        "sections:section-rename",
        "sections:section-move",
        "sections:section-indent",
        "sections:section-outdent",
        "sections:section-remove",
        "sections:section-restore",
    ],
)
def test_structure_views_reject_get(book, maintainer_client, name):
    assert maintainer_client.get(url_of(get(book, "B"), name)).status_code == 405


def test_a_refused_move_says_why_on_the_outline(book, maintainer_client):
    response = maintainer_client.post(
        url_of(get(book, "A"), "sections:section-move"),
        {"direction": "up"},
        follow=True,
    )
    assert "“A” is already first at the top level" in response.text
    assert outline_of(book) == BOOK


def test_adding_and_renaming_from_the_outline(book, maintainer_client):
    response = maintainer_client.post(
        url_of(get(book, "A2"), "sections:section-add"),
        {"title": "Methods", "as_child": "on"},
        follow=True,
    )
    assert "“Methods” added under “A2”." in response.text
    response = maintainer_client.post(
        url_of(get(book, "B"), "sections:section-add"), {"title": "D"}, follow=True
    )
    assert "“D” added after “B”." in response.text
    assert outline_of(book) == [
        "A", "  A1", "  A2", "    Methods", "    A2a", "B", "D", "C"
    ]  # fmt: skip

    rename = url_of(get(book, "B"), "sections:section-rename")
    response = maintainer_client.post(rename, {"title": ""}, follow=True)
    assert "A title is required" in response.text
    response = maintainer_client.post(rename, {"title": "Background"}, follow=True)
    assert "“B” is now “Background”." in response.text
    assert get(book, "Background").slug == "b"


def test_indenting_and_outdenting_from_the_outline(book, maintainer_client):
    b = get(book, "B")
    response = maintainer_client.post(url_of(b, "sections:section-indent"), follow=True)
    assert "“B” is now under “A”." in response.text
    response = maintainer_client.post(
        url_of(b, "sections:section-outdent"), follow=True
    )
    assert "“B” moved out one level." in response.text
    assert outline_of(book) == BOOK


def test_structure_controls_are_shown_to_maintainers_only(
    book, maintainer_client, contributor_client
):
    assert 'aria-label="Move “B” up"' in maintainer_client.get("/").text
    page = contributor_client.get("/").text
    assert 'aria-label="Move “B” up"' not in page
    assert url_of(get(book, "B"), "sections:section-remove") not in page


def test_the_maintainers_outline_query_count_does_not_grow_with_sections(
    seed, maintainer, maintainer_client, django_assert_max_num_queries
):
    for title in ["Clinical care", "Gene expression", "Data limitations"]:
        outline.remove(seed.sections.get(title=title), by=maintainer)
    with django_assert_max_num_queries(12):
        maintainer_client.get("/")


# What the public sees follows at once


def test_hiding_a_section_takes_it_out_of_the_public_preview_at_once(
    book, maintainer_client, client: Client, django_capture_on_commit_callbacks
):
    b = get(book, "B")
    assert 'id="b"' in client.get(preview_url()).text  # assembled before the change
    visibility = url_of(b, "sections:section-visibility")
    with django_capture_on_commit_callbacks(execute=True):
        response = maintainer_client.post(visibility, {"hidden": "on"})
    assert response.status_code == 302
    preview = client.get(preview_url()).text
    assert 'id="b"' not in preview
    assert 'id="c"' in preview
    feed = maintainer_client.get(reverse("sections:activity", args=[book.slug])).text
    assert "hid “B” in the public preview" in feed

    with django_capture_on_commit_callbacks(execute=True):
        maintainer_client.post(visibility, {})
    assert 'id="b"' in client.get(preview_url()).text


def test_hiding_a_section_hides_its_subsections_from_the_public_too(
    book, maintainer_client, client: Client, django_capture_on_commit_callbacks
):
    Section.objects.filter(pk=get(book, "A2a").pk).update(body="Quokkas thrive.")
    assert "Quokkas thrive." in client.get(preview_url()).text
    search = reverse("sections:public-search", args=[book.slug])
    assert "A2a" in client.get(search, {"q": "quokkas"}).text

    with django_capture_on_commit_callbacks(execute=True):
        maintainer_client.post(
            url_of(get(book, "A"), "sections:section-visibility"), {"hidden": "on"}
        )
    preview = client.get(preview_url()).text
    for below_a in ['id="a"', 'id="a1"', 'id="a2"', 'id="a2a"', "Quokkas thrive."]:
        assert below_a not in preview
    assert 'id="b"' in preview
    assert "A2a" not in client.get(search, {"q": "quokkas"}).text
    # Members still see them, marked as hidden along with the section above.
    page = maintainer_client.get(reverse("sections:home")).text
    assert page.count("hidden with its parent") == 3


def test_a_manuscripts_settings_changed_in_the_admin_reach_the_preview_at_once(
    book, maintainer_client, client: Client, django_capture_on_commit_callbacks
):
    # Not rendered yet: the first assembly renders it.
    Section.objects.filter(pk=get(book, "C").pk).update(
        body="Text. TODO: add a figure here."
    )
    page = client.get(preview_url()).text  # assembled before the change
    assert "TODO: add a figure" not in page
    change = reverse("admin:sections_manuscript_change", args=[book.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = maintainer_client.post(
            change,
            {
                "title": "A renamed book",
                "csl_style": "apa",
                "show_todos_publicly": "on",
            },
        )
    assert response.status_code == 302
    page = client.get(preview_url()).text
    assert "A renamed book" in page
    assert "TODO: add a figure here." in page
    book.refresh_from_db()
    assert book.csl_style == "apa"

    # An unknown style is refused on the form, and nothing changes.
    response = maintainer_client.post(
        change, {"title": "Again", "csl_style": "no-such-style"}
    )
    assert response.status_code == 200
    assert "There is no CSL style called" in response.text
    book.refresh_from_db()
    assert (book.title, book.csl_style) == ("A renamed book", "apa")

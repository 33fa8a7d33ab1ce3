"""Who wrote what, and what changed since a reader looked: three people edit a
section through the editor form in turns, and the pages credit each passage right."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from sections.models import Attribution
from tests.factories import make_manuscript, make_section, make_user

ANN = "Ann shows that convolutional networks read protein sequences well.\n"
BO = "Bo adds that recurrent models capture long range contacts in folds.\n"
BO_AFTER_CY = "Bo adds that recurrent models capture distant contacts in folds.\n"
CY = "Cy warns that <b>benchmarks</b> leak & overlap badly.\n"


def url(section, name: str) -> str:
    return reverse(f"sections:{name}", args=[section.manuscript.slug, section.slug])


def signed_in(email: str, name: str) -> Client:
    client = Client()
    client.force_login(make_user(email, first_name=name))
    return client


def save(client: Client, section, body: str) -> None:
    """Open the editor and save body from the base it gives, as a browser does."""
    form = client.get(url(section, "section-edit")).context["form"]
    response = client.post(
        url(section, "section-edit"),
        {"title": form.initial["title"], "body": body, "base": form.initial["base"]},
    )
    assert response.status_code == 302, response.content


class _Marked(HTMLParser):
    """(data-author, text) for each element of `tag` carrying data-author, the text
    without the hidden label screen readers hear."""

    def __init__(self, tag: str) -> None:
        super().__init__()
        self.tag, self.found, self._open, self._hidden = tag, [], None, 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == self.tag and "data-author" in attributes:
            self._open = [attributes["data-author"], ""]
        elif tag == "span" and "visually-hidden" in (attributes.get("class") or ""):
            self._hidden += 1

    def handle_endtag(self, tag):
        if tag == "span" and self._hidden:
            self._hidden -= 1
        elif tag == self.tag and self._open is not None:
            self.found.append((self._open[0], self._open[1].strip()))
            self._open = None

    def handle_data(self, data):
        if self._open is not None and not self._hidden:
            self._open[1] += data


def marked(html: str, tag: str) -> list[tuple[str, str]]:
    parser = _Marked(tag)
    parser.feed(html)
    return parser.found


@pytest.fixture
def section(db):
    return make_section(make_manuscript("Attribution review"), "Intro", body="")


@pytest.fixture
def ann(db) -> Client:
    return signed_in("ann@example.org", "Ann")


@pytest.fixture
def bo(db) -> Client:
    return signed_in("bo@example.org", "Bo")


@pytest.fixture
def cy(db) -> Client:
    return signed_in("cy@example.org", "Cy")


def test_authorship_credits_each_passage_to_its_author_even_after_a_move(
    section, ann, bo, cy
):
    save(ann, section, ANN)
    save(bo, section, ANN + "\n" + BO)
    # Cy moves Ann's paragraph to the end, changes one of Bo's words and adds one.
    save(cy, section, BO_AFTER_CY + "\n" + CY + "\n" + ANN)

    page = bo.get(url(section, "section-authorship"))

    assert page.status_code == 200
    assert marked(page.text, "a") == [
        ("Bo", "Bo adds that recurrent models capture"),
        ("Cy", "distant"),
        ("Bo", "contacts in folds."),
        ("Cy", CY.strip()),
        ("Ann", ANN.strip()),
    ]
    # What anyone wrote is text on the page, never markup.
    assert "<b>benchmarks</b>" not in page.text
    assert "&lt;b&gt;benchmarks&lt;/b&gt;" in page.text
    legend = [(a.name, a.words, a.percent) for a in page.context["authorship"].authors]
    # Words, not tokens: "<b>" counts its b, as the Markdown reads.
    assert legend == [("Cy", 10, 36), ("Ann", 9, 32), ("Bo", 9, 32)]
    # The section page links to the authorship view and back.
    assert (
        url(section, "section-authorship")
        in bo.get(url(section, "section-detail")).text
    )
    assert section.get_absolute_url() in page.text


def test_authorship_is_worked_out_once_per_revision(
    section, ann, bo, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # Saved with nothing run after commit, as a history from before attribution:
    # the first opening works it out and stores it.
    save(ann, section, ANN)
    save(bo, section, ANN + "\n" + BO)
    ann.get(url(section, "section-authorship"))
    assert Attribution.objects.filter(revision__section=section).count() == 2

    # A save works out its own revision after commit, from the one stored before it.
    with django_capture_on_commit_callbacks(execute=True):
        save(ann, section, ANN + "\n" + BO + "\nAnn again.\n")
    assert Attribution.objects.filter(revision__section=section).count() == 3
    with django_assert_max_num_queries(8):
        page = bo.get(url(section, "section-authorship"))
    assert marked(page.text, "a")[-1] == ("Ann", "Ann again.")


def test_only_readers_see_authorship_and_mark_seen_wants_a_post(section, ann):
    save(ann, section, ANN)
    anonymous = Client().get(url(section, "section-authorship"))
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("account_login"))
    missing = reverse(
        "sections:section-authorship", args=["attribution-review", "nope"]
    )
    assert ann.get(missing).status_code == 404
    assert ann.get(url(section, "section-mark-seen")).status_code == 405
    assert Client().post(url(section, "section-mark-seen")).status_code == 302


def test_a_section_without_revisions_says_nobody_is_credited_yet(section, ann):
    page = ann.get(url(section, "section-authorship"))
    assert page.status_code == 200
    assert "nobody is credited" in page.text


def test_changes_since_a_visit_show_exactly_the_other_persons_insertion(
    section, ann, bo
):
    save(ann, section, ANN + "\n" + BO)
    ann.get(url(section, "section-detail"))  # Ann has seen her text
    first_half, second_half = BO.split(" capture ")
    inserted = "and, Bo notes, "
    save(bo, section, ANN + "\n" + f"{first_half} {inserted}capture {second_half}")

    outline = ann.get(reverse("sections:home"))
    assert "changed since you looked: 1 edit by Bo" in outline.text
    page = ann.get(url(section, "section-detail"))

    assert marked(page.text, "ins") == [("Bo", inserted.strip())]
    assert "1 edit by Bo since the revision you saw" in page.text
    # Opening the page counts as seeing it for the outline, but the highlight stays
    # (a reload, a trip to the comments) until Ann says she has seen it.
    assert "changed since you looked" not in ann.get(reverse("sections:home")).text
    page = ann.get(url(section, "section-detail"))
    assert marked(page.text, "ins") == [("Bo", inserted.strip())]

    seen = ann.post(url(section, "section-mark-seen"))
    assert seen.status_code == 302
    assert marked(ann.get(seen.url).text, "ins") == []


def test_your_own_saves_are_never_news_to_you(section, ann, bo):
    save(ann, section, ANN)
    ann.get(url(section, "section-detail"))
    save(ann, section, ANN + "\nAnn again.\n")
    bo.get(url(section, "section-detail"))  # a first visit has nothing to compare

    assert "changed since you looked" not in ann.get(reverse("sections:home")).text
    assert marked(ann.get(url(section, "section-detail")).text, "ins") == []
    assert "Changed since you looked" not in bo.get(url(section, "section-detail")).text


def test_the_changes_show_each_addition_in_its_context_not_the_whole_text(
    section, ann, bo
):
    opening = " ".join(f"word{n}" for n in range(60)) + ".\n"
    save(ann, section, opening + "\n" + ANN)
    ann.get(url(section, "section-detail"))
    save(bo, section, opening + "\n" + ANN + "\n" + BO)

    page = ann.get(url(section, "section-detail"))

    start = page.text.index('id="since-you-looked"')
    changes = page.text[start : page.text.index("</section>", start)]
    assert marked(changes, "ins") == [("Bo", BO.strip())]
    assert "…" in changes
    assert ANN.strip() in changes  # just before the change
    assert "word10 " not in changes  # far from it: left out

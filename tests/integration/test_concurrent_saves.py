"""Twenty people edit one section at once through the editor page, as a browser does:
GET the editor from a live server on PostgreSQL, read the form, change the text, POST
it. Every save the server called saved is in the history (and, where nobody overwrote
it on purpose, in the text); every other save got the conflict page with its text
kept. Nothing is silently lost.

The three scenarios are the ones that lost saves in issue 12: everyone appends at the
end, everyone adds a paragraph of their own, everyone rewrites one sentence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from sections import revisions, todos
from sections.citations.keys import find_citekeys, standardize
from sections.models import Citation, Revision, Section, TodoItem
from tests.factories import make_manuscript, make_section, make_user

pytestmark = pytest.mark.integration
WRITERS = 20
ROUNDS = 3
PARAGRAPHS = [f"Paragraph {n}." for n in range(WRITERS)]
SENTENCE = "Everyone rewrites this sentence."


class EditorFields(HTMLParser):
    """The fields the editor's form (#edit-form) sends, as a browser reads them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.fields: dict[str, str] = {}
        self._in_form = False
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._in_form = attributes.get("id") == "edit-form"
        elif self._in_form and tag == "input" and attributes.get("name"):
            if attributes.get("type") not in {"submit", "button"}:
                self.fields[attributes["name"]] = attributes.get("value", "")
        elif self._in_form and tag == "textarea" and attributes.get("name"):
            self._textarea = attributes["name"]
            self.fields[self._textarea] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "textarea" and self._textarea is not None:
            # HTML drops the one line break right after <textarea> (Django writes it).
            value = self.fields[self._textarea]
            self.fields[self._textarea] = value.removeprefix("\r").removeprefix("\n")
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


@dataclass
class Outcomes:
    """What each writer saw and was told, collected across threads."""

    opened: list[tuple[int, str, str]] = field(
        default_factory=list
    )  # base, title, body
    saved: list[tuple[int, str]] = field(default_factory=list)  # writer, marker
    conflicts: int = 0
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Writer:
    """One signed-in person with a browser's cookies, talking HTTP to the server."""

    def __init__(self, base_url: str, section: Section, n: int) -> None:
        user = make_user(f"writer{n}@example.org")
        client = Client()
        client.force_login(user)
        self.n, self.email = n, user.email
        self.http = requests.Session()
        self.http.cookies.set(
            settings.SESSION_COOKIE_NAME,
            client.cookies[settings.SESSION_COOKIE_NAME].value,
        )
        path = reverse(
            "sections:section-edit", args=[section.manuscript.slug, section.slug]
        )
        self.editor_url = base_url + path

    def open_editor(self) -> dict[str, str]:
        response = self.http.get(self.editor_url, timeout=60)
        response.raise_for_status()
        return EditorFields(response.text).fields

    def save(self, fields: dict[str, str], marker: str, outcomes: Outcomes) -> None:
        response = self.http.post(
            self.editor_url,
            {**fields, "save": ""},
            headers={"Referer": self.editor_url},
            allow_redirects=False,
            timeout=60,
        )
        if response.status_code == 302:
            landed = self.http.get(
                urljoin(self.editor_url, response.headers["Location"]), timeout=60
            )
            if "Saved." in landed.text:
                with outcomes.lock:
                    outcomes.saved.append((self.n, marker))
                return
            outcomes.failures.append(f"writer {self.n}: a redirect without “Saved.”")
        elif response.status_code == 409:
            kept = EditorFields(response.text).fields.get("body")
            if kept == fields["body"].replace("\r\n", "\n"):
                with outcomes.lock:
                    outcomes.conflicts += 1
                return
            outcomes.failures.append(f"writer {self.n}: a conflict lost the text")
        else:
            outcomes.failures.append(f"writer {self.n}: HTTP {response.status_code}")


def edit_concurrently(
    live_server, start: str, change: Callable[[str, int, str], str]
) -> tuple[Section, Outcomes]:
    """Each writer opens the editor, applies change(body, writer, marker) and saves,
    ROUNDS times, all twenty at once."""
    section = make_section(make_manuscript("Busy review"), "Intro", body="")
    revisions.save_edit(
        section, body=start, by=make_user("first@example.org"), overwrite=True
    )
    writers = [Writer(live_server.url, section, n) for n in range(WRITERS)]
    outcomes = Outcomes()
    barrier = threading.Barrier(WRITERS)

    def write(writer: Writer) -> None:
        barrier.wait(timeout=60)  # everyone starts at the same moment
        for round_ in range(ROUNDS):
            fields = writer.open_editor()
            with outcomes.lock:
                outcomes.opened.append(
                    (int(fields["base"]), fields["title"], fields["body"])
                )
            # A citation and a TODO note in each: their rows must follow the text.
            marker = (
                f"Writer {writer.n} wrote this in round {round_} "
                f"[@doi:10.1/w{writer.n}r{round_}]. TODO: check w{writer.n}r{round_}."
            )
            fields["body"] = change(fields["body"], writer.n, marker)
            writer.save(fields, marker, outcomes)

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(write, writers))
    section.refresh_from_db()
    assert outcomes.failures == []
    return section, outcomes


def assert_nothing_silently_lost(
    section: Section, outcomes: Outcomes, *, all_in_the_text: bool
) -> None:
    assert len(outcomes.saved) + outcomes.conflicts == WRITERS * ROUNDS
    if all_in_the_text:  # nobody changed another's words
        lost = [marker for _, marker in outcomes.saved if marker not in section.body]
        assert lost == []
    # Each "Saved." is one revision of that writer's, with their change in it.
    history = list(section.revisions.order_by("id").select_related("author__user"))
    assert len(history) == len(outcomes.saved) + 1
    for n, marker in outcomes.saved:
        assert any(
            marker in revision.body
            and revision.author.user.email == f"writer{n}@example.org"
            for revision in history
        ), marker
    assert_rows_follow_the_text(section)
    # The editor showed exactly the text of the revision it named as its base, so a
    # save from it could only merge or conflict, never undo what it didn't show.
    for base, title, body in outcomes.opened:
        shown_base = Revision.objects.get(pk=base)
        assert (shown_base.title, shown_base.body) == (title, body)


def assert_rows_follow_the_text(section: Section) -> None:
    """Citations and TODO items are those of the section's latest text, whatever
    order the saves' syncs ran in."""
    latest = section.revisions.order_by("-created_at", "-id").first()
    assert section.body == latest.body
    cited = Citation.objects.filter(section=section)
    assert sorted(cited.values_list("reference__key", flat=True)) == sorted(
        standardize(found.key_as_written) for found in find_citekeys(latest.body)
    )
    open_items = section.todos.filter(status=TodoItem.Status.OPEN).exclude(
        fingerprint=""
    )
    assert set(open_items.values_list("fingerprint", flat=True)) == set(
        todos.fingerprints(todos.find_in(latest.body))
    )


def test_everyone_appending_at_the_end_keeps_every_saved_paragraph(
    postgresql, live_server
):
    def append(body: str, n: int, marker: str) -> str:
        return f"{body.rstrip()}\n\n{marker}\n"

    section, outcomes = edit_concurrently(live_server, "Opening.\n", append)

    assert_nothing_silently_lost(section, outcomes, all_in_the_text=True)


def test_everyone_adding_a_paragraph_of_their_own_keeps_every_saved_paragraph(
    postgresql, live_server
):
    def add_own_paragraph(body: str, n: int, marker: str) -> str:
        mine = f"Paragraph {n}.\n"
        assert mine in body
        return body.replace(mine, f"{mine}\n{marker}\n", 1)

    start = "\n\n".join(PARAGRAPHS) + "\n"
    section, outcomes = edit_concurrently(live_server, start, add_own_paragraph)

    assert_nothing_silently_lost(section, outcomes, all_in_the_text=True)
    # Paragraphs of their own never overlap: most saves merge rather than conflict.
    assert len(outcomes.saved) > outcomes.conflicts


def test_everyone_rewriting_one_sentence_keeps_each_save_in_the_history(
    postgresql, live_server
):
    def rewrite_the_sentence(body: str, n: int, marker: str) -> str:
        before, _sentence, after = body.split("\n\n")
        return "\n\n".join([before, marker, after])

    start = f"Before.\n\n{SENTENCE}\n\nAfter.\n"
    section, outcomes = edit_concurrently(live_server, start, rewrite_the_sentence)

    # Each rewrite replaces the one before it, on purpose: kept in the history.
    assert_nothing_silently_lost(section, outcomes, all_in_the_text=False)
    latest = section.revisions.order_by("-created_at", "-id").first()
    assert section.body == latest.body
    assert latest.body.startswith("Before.\n\nWriter ")


def test_a_save_is_committed_before_its_syncing_and_does_not_hold_the_section(
    postgresql,
):
    section = make_section(make_manuscript("Busy review"), "Intro", body="")
    writer = make_user("writer@example.org")
    revisions.save_edit(
        section, body="See [@doi:10.1/first].\n", by=writer, overwrite=True
    )
    # Another transaction holds the section's citation rows, which only syncing
    # writes: each save's syncing waits (here, gives up after a second).
    blocker = connection.get_new_connection(connection.get_connection_params())
    blocker.execute(
        f"SELECT id FROM {Citation._meta.db_table} WHERE section_id = %s FOR UPDATE",
        [section.pk],
    )
    texts = [f"See [@doi:10.1/save{n}].\n" for n in (2, 3)]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")
        for text in texts:
            # Saved all the same, and said so: its sync is the beat's sweep's now.
            saved = revisions.save_edit(section, body=text, by=writer, overwrite=True)
            section.refresh_from_db()
            assert section.unsynced_revision == saved.revision
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        blocker.rollback()
        blocker.close()

    # Both saves were committed, the second not kept waiting by the first's syncing.
    assert (
        list(section.revisions.order_by("id").values_list("body", flat=True))[1:]
        == texts
    )
    revisions.sync_from_latest(section.pk)
    section.refresh_from_db()
    assert section.unsynced_revision is None
    assert_rows_follow_the_text(section)

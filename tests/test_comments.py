"""Comment threads on a section: quotes, replies, edits, mentions, TODOs, access."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from sections import comments, revisions, selectors, tasks
from sections.models import Comment, Contributor, Mention, Section, TodoItem
from tests.factories import make_manuscript, make_section, make_user, preview_url

BODY = (
    "Deep learning has **changed** how [protein structure](https://example.org) is "
    "predicted [@doi:10.1038/nature14539].\n\n"
    "Contact maps remain the hard part.\n\n"
    "- Residual networks help\n"
)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def section(db) -> Section:
    manuscript = make_manuscript("A review")
    return make_section(manuscript, "Protein structure", body=BODY)


@pytest.fixture
def sw1(other_contributor) -> Contributor:
    """The other contributor, who goes by @sw1."""
    person = Contributor.objects.get(user=other_contributor)
    person.handle = "sw1"
    person.save(update_fields=["handle"])
    return person


def page_of(section: Section) -> str:
    return section.get_absolute_url()


def comment_url(section: Section) -> str:
    return reverse(
        "sections:section-comment", args=[section.manuscript.slug, section.slug]
    )


def url(name: str, comment: Comment) -> str:
    return reverse(f"sections:comment-{name}", args=[comment.pk])


def post_comment(client: Client, section: Section, body: str, **extra) -> Comment:
    response = client.post(comment_url(section), {"body": body, **extra})
    assert response.status_code == 302, response.content
    return Comment.objects.latest("id")


def test_a_contributor_comments_and_another_replies(
    contributor_client, maintainer_client, section
):
    response = contributor_client.post(
        comment_url(section), {"body": "Is this still true?\nSee 2019."}
    )
    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response.url == f"{page_of(section)}?threads=all#comment-{comment.pk}"
    response = maintainer_client.post(url("reply", comment), {"body": "Yes, it is."})
    answer = Comment.objects.get(reply_to=comment)
    assert response.url.endswith(f"#comment-{answer.pk}")
    page = contributor_client.get(page_of(section)).text
    assert "Is this still true?<br>See 2019." in page
    assert "Yes, it is." in page
    assert f'id="comment-{answer.pk}"' in page


def test_a_reply_to_a_reply_joins_the_same_thread(
    contributor_client, maintainer_client, section
):
    thread = post_comment(contributor_client, section, "First")
    maintainer_client.post(url("reply", thread), {"body": "Second"})
    second = Comment.objects.get(body="Second")
    contributor_client.post(url("reply", second), {"body": "Third"})
    assert Comment.objects.get(body="Third").reply_to == thread


def test_comment_text_is_shown_as_escaped_text_not_markup(contributor_client, section):
    post_comment(contributor_client, section, "<b>bold</b> **not markdown**")
    page = contributor_client.get(page_of(section)).text
    assert "&lt;b&gt;bold&lt;/b&gt; **not markdown**" in page


def test_a_quote_of_rendered_text_matches_the_markdown(contributor_client, section):
    # As selected in the page: link text, no emphasis markers, a citation number.
    quote = "Deep learning has changed how protein structure is\npredicted [1]."
    comment = post_comment(contributor_client, section, "Which paper?", quote=quote)
    assert comments.quote_status(comment, section.body) == comments.QuoteStatus.FOUND
    assert (
        comments.quote_status(Comment(quote="Residual networks help"), section.body)
        == comments.QuoteStatus.FOUND
    )


def test_a_quote_is_found_again_after_an_edit_moves_it(
    contributor_client, contributor, section
):
    comment = post_comment(
        contributor_client, section, "Too strong.", quote="Contact maps remain"
    )
    revisions.save_edit(
        section,
        body="Contact maps remain the hard part.\n\nA new first paragraph.\n\n" + BODY,
        by=contributor,
        overwrite=True,
    )
    section.refresh_from_db()
    assert comments.quote_status(comment, section.body) == comments.QuoteStatus.FOUND
    page = contributor_client.get(page_of(section)).text
    assert "<blockquote" in page
    assert "no longer in the text" not in page


def test_a_quote_whose_passage_is_removed_says_so(
    contributor_client, contributor, section
):
    comment = post_comment(
        contributor_client, section, "Too strong.", quote="Contact maps remain"
    )
    revisions.save_edit(
        section, body="Something else entirely.", by=contributor, overwrite=True
    )
    section.refresh_from_db()
    assert comments.quote_status(comment, section.body) == comments.QuoteStatus.GONE
    page = contributor_client.get(page_of(section)).text
    assert "Contact maps remain" in page  # the comment keeps its quote
    assert "The quoted passage is no longer in the text." in page


def test_a_quote_that_is_not_in_the_text_is_rejected_with_the_text_kept(
    contributor_client, section
):
    response = contributor_client.post(
        comment_url(section), {"body": "My thoughts", "quote": "Never written"}
    )
    assert response.status_code == 422
    assert "passage isn&#x27;t in the section&#x27;s text" in response.text
    assert "My thoughts" in response.text
    assert "Never written" in response.text
    assert not Comment.objects.exists()


@pytest.mark.parametrize(
    "body", ["", "   ", "x" * 10_001], ids=["empty", "blank", "too-long"]
)
def test_an_invalid_comment_is_422_with_the_text_kept(
    contributor_client, section, body
):
    response = contributor_client.post(
        comment_url(section), {"body": body, "quote": "Contact maps remain"}
    )
    assert response.status_code == 422
    assert "Contact maps remain" in response.text
    if body.strip():
        assert body in response.text
        assert "at most 10,000 characters" in response.text
    else:
        assert "Write something first." in response.text
    assert not Comment.objects.exists()


def test_an_invalid_reply_or_edit_keeps_the_text(contributor_client, section):
    comment = post_comment(contributor_client, section, "First")
    too_long = "y" * 10_001
    for name in ["reply", "edit"]:
        response = contributor_client.post(url(name, comment), {"body": too_long})
        assert response.status_code == 422
        assert too_long in response.text
    comment.refresh_from_db()
    assert comment.body == "First"


def test_authors_edit_and_delete_their_own_comments_others_may_not(
    contributor_client, section, other_contributor
):
    comment = post_comment(contributor_client, section, "Frist")
    other = Client()
    other.force_login(other_contributor)
    assert other.post(url("edit", comment), {"body": "Hijacked"}).status_code == 403
    assert other.post(url("delete", comment)).status_code == 403
    assert (
        contributor_client.post(url("edit", comment), {"body": "First"}).status_code
        == 302
    )
    comment.refresh_from_db()
    assert comment.body == "First"
    assert comment.edited_at is not None
    assert "edited" in contributor_client.get(page_of(section)).text
    assert contributor_client.post(url("delete", comment)).status_code == 302
    comment.refresh_from_db()
    assert comment.deleted_at is not None


def test_only_the_author_sees_edit_and_delete_buttons(
    contributor_client, section, other_contributor
):
    comment = post_comment(contributor_client, section, "Mine")
    other = Client()
    other.force_login(other_contributor)
    assert url("edit", comment) in contributor_client.get(page_of(section)).text
    theirs = other.get(page_of(section)).text
    assert "Mine" in theirs
    assert url("edit", comment) not in theirs
    assert url("delete", comment) not in theirs
    assert url("todo", comment) not in theirs  # maintainers only


def test_maintainers_edit_and_delete_anyones_comment(
    contributor_client, maintainer_client, section
):
    comment = post_comment(contributor_client, section, "Rude words")
    assert url("edit", comment) in maintainer_client.get(page_of(section)).text
    response = maintainer_client.post(url("edit", comment), {"body": "[removed]"})
    assert response.status_code == 302
    assert maintainer_client.post(url("delete", comment)).status_code == 302
    comment.refresh_from_db()
    assert comment.deleted_at is not None


def test_a_deleted_comment_with_replies_keeps_its_thread(
    contributor_client, maintainer_client, section
):
    thread = post_comment(contributor_client, section, "Secret first words")
    maintainer_client.post(url("reply", thread), {"body": "A reply"})
    contributor_client.post(url("delete", thread))
    page = contributor_client.get(page_of(section)).text
    assert "comment deleted" in page
    assert "A reply" in page
    assert "Secret first words" not in page


def test_a_deleted_comment_without_replies_disappears(contributor_client, section):
    comment = post_comment(contributor_client, section, "Never mind")
    contributor_client.post(url("delete", comment))
    page = contributor_client.get(page_of(section)).text
    assert "Never mind" not in page
    assert "comment deleted" not in page
    assert f'id="comment-{comment.pk}"' not in page


def test_a_deleted_comment_cannot_be_edited(contributor_client, section):
    comment = post_comment(contributor_client, section, "Gone soon")
    contributor_client.post(url("delete", comment))
    contributor_client.post(url("edit", comment), {"body": "Back again"})
    comment.refresh_from_db()
    assert comment.body == ""


def test_any_contributor_resolves_and_reopens_a_thread(
    contributor_client, section, other_contributor
):
    thread = post_comment(contributor_client, section, "Fix the figure")
    other = Client()
    other.force_login(other_contributor)
    assert other.post(url("resolve", thread)).status_code == 302
    thread.refresh_from_db()
    assert thread.is_resolved
    assert thread.resolved_by.user == other_contributor
    assert thread.resolved_at is not None
    assert "Resolved by" in contributor_client.get(page_of(section)).text
    assert contributor_client.post(url("reopen", thread)).status_code == 302
    thread.refresh_from_db()
    assert not thread.is_resolved
    assert thread.resolved_by is None


def test_a_mention_emails_once_even_after_two_edits(
    contributor_client,
    section,
    sw1,
    mailoutbox,
    django_capture_on_commit_callbacks,
    settings,
):
    settings.SITE_URL = "https://review.example.org"
    with django_capture_on_commit_callbacks(execute=True):
        comment = post_comment(contributor_client, section, "@sw1 can you check?")
    for body in ["@sw1 could you check?", "@SW1 could you check this, please?"]:
        with django_capture_on_commit_callbacks(execute=True):
            contributor_client.post(url("edit", comment), {"body": body})
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["dave@example.org"]
    assert "Protein structure" in mail.subject
    assert "@sw1 can you check?" in mail.body
    assert f"https://review.example.org{page_of(section)}" in mail.body
    assert Mention.objects.get().notified_at is not None


def test_an_edit_that_names_someone_new_emails_only_them(
    contributor_client,
    section,
    sw1,
    maintainer,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    Contributor.objects.filter(user=maintainer).update(handle="maya")
    with django_capture_on_commit_callbacks(execute=True):
        comment = post_comment(contributor_client, section, "@sw1 look")
    with django_capture_on_commit_callbacks(execute=True):
        contributor_client.post(url("edit", comment), {"body": "@sw1 and @maya look"})
    assert [mail.to for mail in mailoutbox] == [
        ["dave@example.org"],
        ["maya@example.org"],
    ]


def test_a_reply_mention_emails_too(
    contributor_client,
    maintainer_client,
    section,
    sw1,
    mailoutbox,
    django_capture_on_commit_callbacks,
):
    thread = post_comment(contributor_client, section, "Hmm")
    with django_capture_on_commit_callbacks(execute=True):
        maintainer_client.post(url("reply", thread), {"body": "Ask @sw1."})
    assert [mail.to for mail in mailoutbox] == [["dave@example.org"]]


def test_unknown_handles_and_citekeys_are_ignored_and_the_writer_is_told(
    contributor_client, section, sw1, mailoutbox, django_capture_on_commit_callbacks
):
    contributors_before = Contributor.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        comment = post_comment(
            contributor_client, section, "@nobody see [@doi:10.1/x] or mail a@sw1.org"
        )
    assert mailoutbox == []
    assert not Mention.objects.exists()
    assert Contributor.objects.count() == contributors_before
    page = contributor_client.get(page_of(section)).text
    assert "Nobody goes by @nobody, so nobody was told." in page

    # Live (htmx): the answer names each handle that matched nobody, and only those.
    with django_capture_on_commit_callbacks(execute=True):
        response = contributor_client.post(
            url("edit", comment), {"body": "@sw1, @Nobody and @ghost look"}, **HTMX
        )
    assert "Nobody goes by @Nobody and @ghost; nobody was told for them." in (
        response.text
    )
    assert [mail.to for mail in mailoutbox] == [["dave@example.org"]]


def test_the_mention_task_sends_once_however_often_it_runs(
    contributor_client, section, sw1, mailoutbox
):
    comment = post_comment(contributor_client, section, "@sw1 please")
    mention = Mention.objects.get(comment=comment)  # queued on commit, not run yet
    assert tasks.notify_mention(mention.pk) is True
    assert tasks.notify_mention(mention.pk) is False
    assert len(mailoutbox) == 1


def test_no_mail_for_a_deleted_comment_or_a_person_without_an_account(
    contributor_client, section, mailoutbox
):
    Contributor.objects.create(display_name="Imported", handle="imp")
    comment = post_comment(contributor_client, section, "@imp hello")
    assert tasks.notify_mention(Mention.objects.get(comment=comment).pk) is False
    assert mailoutbox == []


def test_a_maintainer_turns_a_comment_into_one_todo(
    contributor_client, maintainer_client, section
):
    comment = post_comment(contributor_client, section, "Add a figure here")
    assert contributor_client.post(url("todo", comment)).status_code == 403
    response = maintainer_client.post(url("todo", comment), follow=True)
    assert "is now a TODO item" in response.text
    maintainer_client.post(url("todo", comment))
    todo = TodoItem.objects.get(comment=comment)
    assert todo.kind == TodoItem.Kind.MANUAL
    assert todo.text == "Add a figure here"
    assert todo.section == section
    page = maintainer_client.get(page_of(section)).text
    assert url("todo", comment) not in page
    assert "TODO item" in page


def test_the_public_is_sent_to_sign_in_for_every_comment_url(
    client: Client, contributor_client, section
):
    comment = post_comment(contributor_client, section, "Members only")
    urls = [comment_url(section)] + [
        url(name, comment)
        for name in ["reply", "edit", "delete", "resolve", "reopen", "todo"]
    ]
    for address in urls:
        response = client.post(address, {"body": "spam"})
        assert response.status_code == 302, address
        assert response.url.startswith(reverse("account_login"))
    assert Comment.objects.count() == 1


def test_the_public_preview_shows_no_comments(
    client: Client, contributor_client, section
):
    post_comment(contributor_client, section, "An internal remark")
    response = client.get(preview_url())
    assert response.status_code == 200
    assert "An internal remark" not in response.text


def test_comment_urls_reject_get(contributor_client, section):
    comment = post_comment(contributor_client, section, "Hi")
    urls = [comment_url(section)] + [
        url(name, comment)
        for name in ["reply", "edit", "delete", "resolve", "reopen", "todo"]
    ]
    for address in urls:
        assert contributor_client.get(address).status_code == 405, address


def test_comments_on_missing_or_removed_sections_are_404(
    contributor_client, maintainer_client, section
):
    comment = post_comment(contributor_client, section, "Hi")
    missing = Comment(pk=comment.pk + 100)
    assert (
        contributor_client.post(url("reply", missing), {"body": "x"}).status_code == 404
    )
    Section.objects.filter(pk=section.pk).update(removed_at=section.updated_at)
    assert (
        contributor_client.post(url("reply", comment), {"body": "x"}).status_code == 404
    )
    assert maintainer_client.post(url("resolve", comment)).status_code == 302


def test_an_htmx_request_gets_the_comments_partial_only(contributor_client, section):
    response = contributor_client.post(
        comment_url(section), {"body": "Via htmx"}, **HTMX
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<section id="comments"')
    assert "Via htmx" in response.text
    assert "<html" not in response.text
    assert "comments.js" not in response.text  # the page loaded it once
    comment = Comment.objects.get()
    response = contributor_client.post(url("reply", comment), {"body": ""}, **HTMX)
    assert response.status_code == 422
    assert "<html" not in response.text
    assert "Write something first." in response.text


def test_section_page_queries_do_not_grow_with_comments(
    contributor_client, maintainer_client, section
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert contributor_client.get(page_of(section)).status_code == 200
        return len(captured)

    first = post_comment(contributor_client, section, "One")
    maintainer_client.post(url("reply", first), {"body": "Reply"})
    queries()  # the first view renders and assembles the section; later ones read it
    few = queries()
    for n in range(5):
        thread = post_comment(maintainer_client, section, f"More {n}")
        contributor_client.post(url("reply", thread), {"body": "Reply"})
        maintainer_client.post(url("todo", thread))
    assert queries() == few


def test_a_long_discussion_shows_its_latest_threads_and_links_to_the_rest(
    contributor_client, contributor, section
):
    for n in range(selectors.THREADS_SHOWN + 3):
        comments.post(section, by=contributor, body=f"Thread number {n:02d}.")
    page = contributor_client.get(page_of(section)).text
    assert "Thread number 00." not in page
    assert "Thread number 02." not in page
    assert "Thread number 03." in page
    assert "Thread number 22." in page
    assert 'href="?threads=all#comments">Show 3 earlier threads</a>' in page

    everything = contributor_client.get(page_of(section), {"threads": "all"}).text
    assert "Thread number 00." in everything
    assert "earlier thread" not in everything
    # A link to a comment (after a post, in mentions, in the feed) finds it folded or not.
    oldest = section.comments.order_by("created_at", "id").first()
    path, anchor = oldest.get_absolute_url().split("#")
    assert f'id="{anchor}"' in contributor_client.get(path).text


def test_comments_for_lists_threads_with_their_replies(
    contributor_client, maintainer_client, section, django_assert_num_queries
):
    thread = post_comment(contributor_client, section, "Thread", quote="hard part")
    maintainer_client.post(url("reply", thread), {"body": "Answer"})
    with django_assert_num_queries(2):
        threads = selectors.comments_for(section)
        assert [t.body for t in threads] == ["Thread"]
        assert [r.body for r in threads[0].shown_replies] == ["Answer"]
        assert threads[0].quote_status == comments.QuoteStatus.FOUND


def test_find_mentions_reads_handles_not_citekeys_or_emails():
    assert comments.find_mentions(
        "@sw1 and @Anne-B, again @SW1; not [@doi:10.1/x] nor me@example.org"
    ) == ["sw1", "Anne-B"]


def test_a_new_user_has_no_comments_to_change(db, section):
    stranger = make_user("eve@example.org")
    client = Client()
    client.force_login(stranger)
    assert client.get(page_of(section)).context["threads"] == []

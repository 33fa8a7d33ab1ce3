"""Comments: threads on a section, each optionally about a quoted passage.

A thread is a top-level comment and its replies (one level: a reply to a reply joins
the thread). Deleting keeps the row with its text emptied, so a thread with replies
stays readable ("comment deleted") and one without disappears from the page.

Quotes are text selected in the *rendered* section, while the section stores
Markdown, so both are compared as plain text (`plain_text`): Manubot citations
(`[@doi:…]`), their rendered numbers (`[3]`, `[1, 2]`) and footnote marks dropped,
links and images reduced to their text, emphasis/code markers and line-leading block
markers (`#`, `>`, `-`, `1.`) removed, HTML entities decoded, whitespace collapsed,
case folded. A quote is found if its plain text is part of the body's. This is
worked out when the page is read (`quote_status`), so it is right after every save
of the section whoever makes it, and a quote that an edit moves is simply found again.

`@handle` mentions (handles only, never display names) are recorded as Mention rows,
one per comment and person, and each is emailed once by `tasks.notify_mention` after
the commit; editing a comment tells only the newly named. A handle nobody has is
recorded nowhere, and the writer is told so (`unmatched_notice`).
"""

from __future__ import annotations

import html
import re
from enum import StrEnum
from functools import lru_cache, reduce
from operator import or_

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from sections import activity, contributors, tasks
from sections.citations.keys import CITATION_GROUP
from sections.exceptions import ReviewappError
from sections.models import (
    Activity,
    Comment,
    Contributor,
    Mention,
    Section,
    TodoItem,
)
from sections.todos import HANDLE


class QuoteNotFound(ReviewappError):
    """The quoted passage is not in the section's text."""


class CommentGone(ReviewappError):
    """The comment was deleted; it can't be edited or turned into a TODO."""


class QuoteStatus(StrEnum):
    NONE = "none"
    FOUND = "found"
    GONE = "gone"


# Rendered citation numbers, as a reader selects them: [3], [1, 2], [4–6].
CITATION_NUMBERS = re.compile(r"\[\s*\d+(?:\s*[,–-]\s*\d+)*\s*\]")
FOOTNOTE_MARK = re.compile(r"\[\^[^\]\s]+\]")
# [text](url), ![alt](src), [text][ref]: the reader sees the text only.
LINK = re.compile(r"!?\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])")
LINE_MARKER = re.compile(r"(?m)^[ \t]{0,3}(?:#{1,6}|>|[-*+]|\d{1,9}[.)])[ \t]+")
# `_` only at a word's edge, so snake_case names survive.
EMPHASIS = re.compile(r"\*+|~~|`+|(?<!\w)_+|_+(?!\w)")
SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+(?=[.,;:!?)])")


@lru_cache(maxsize=64)
def plain_text(text: str) -> str:
    """Markdown or selected rendered text as comparable plain text (see the module)."""
    text = CITATION_GROUP.sub("", text)
    text = FOOTNOTE_MARK.sub("", text)
    text = LINK.sub(r"\1", text)
    text = LINE_MARKER.sub("", text)
    text = html.unescape(text)
    text = EMPHASIS.sub("", text)
    text = CITATION_NUMBERS.sub("", text)
    text = " ".join(text.split())
    return SPACE_BEFORE_PUNCTUATION.sub("", text).casefold()


def quote_status(comment: Comment, body: str) -> QuoteStatus:
    """Whether the comment's quote is still in `body` (the section's Markdown)."""
    if not comment.quote.strip():
        return QuoteStatus.NONE
    return QuoteStatus.FOUND if _contains(body, comment.quote) else QuoteStatus.GONE


def _contains(body: str, quote: str) -> bool:
    needle = plain_text(quote)
    return bool(needle) and needle in plain_text(body)


def find_mentions(body: str) -> list[str]:
    """The @handles a text names, in order, each once (compared case-insensitively)."""
    seen: dict[str, str] = {}
    for match in HANDLE.finditer(body):
        seen.setdefault(match.group("handle").lower(), match.group("handle"))
    return list(seen.values())


def unmatched_mentions(body: str) -> list[str]:
    """The @handles a text names that nobody goes by, in order."""
    handles = find_mentions(body)
    if not handles:
        return []
    named = reduce(or_, (Q(handle__iexact=handle) for handle in handles))
    known = {
        handle.lower()
        for handle in Contributor.objects.filter(named).values_list("handle", flat=True)
    }
    return [handle for handle in handles if handle.lower() not in known]


def unmatched_notice(body: str) -> str:
    """What to tell the writer of a comment about its handles that match nobody;
    "" when every one matched (or there are none)."""
    unknown = [f"@{handle}" for handle in unmatched_mentions(body)]
    if not unknown:
        return ""
    if len(unknown) == 1:
        return f"Nobody goes by {unknown[0]}, so nobody was told."
    names = ", ".join(unknown[:-1]) + f" and {unknown[-1]}"
    return f"Nobody goes by {names}; nobody was told for them."


def post(
    section: Section, *, by: AbstractBaseUser, body: str, quote: str = ""
) -> Comment:
    """Start a thread on the section. Raises QuoteNotFound if the quote isn't in
    its text; mentions are emailed after the commit."""
    quote = quote.strip()
    if quote and not _contains(section.body, quote):
        raise QuoteNotFound(
            "That passage isn't in the section's text (it may have just been edited). "
            "Select it again, or leave the quote empty."
        )
    author = contributors.for_user(by)
    with transaction.atomic():
        comment = Comment.objects.create(
            section=section, author=author, body=body, quote=quote
        )
        _record_mentions(comment)
        _record_activity(comment, f"{author} commented on “{section.label}”")
    return comment


def reply(comment: Comment, *, by: AbstractBaseUser, body: str) -> Comment:
    """Reply in the comment's thread (a reply to a reply joins the same thread)."""
    thread_id = comment.reply_to_id or comment.pk
    author = contributors.for_user(by)
    with transaction.atomic():
        answer = Comment.objects.create(
            section=comment.section,
            author=author,
            body=body,
            reply_to_id=thread_id,
        )
        _record_mentions(answer)
        _record_activity(answer, f"{author} replied on “{comment.section.label}”")
    return answer


def edit(comment: Comment, *, by: AbstractBaseUser, body: str) -> Comment:
    """Change the comment's text; the caller has checked can_change_comment.
    Raises CommentGone if it was deleted. Only people newly mentioned are emailed."""
    with transaction.atomic():
        # Locked so an edit racing a delete can't write text back into a deleted row.
        locked = Comment.objects.select_for_update().get(pk=comment.pk)
        if locked.deleted_at:
            raise CommentGone("This comment was deleted.")
        if locked.body == body:
            return comment
        comment.body, comment.edited_at = body, timezone.now()
        comment.save(update_fields=["body", "edited_at"])
        _record_mentions(comment)
    return comment


def delete(comment: Comment, *, by: AbstractBaseUser) -> None:
    """Delete the comment's text, keeping the row for its thread; the caller has
    checked can_change_comment. Deleting twice is harmless."""
    Comment.objects.filter(pk=comment.pk, deleted_at__isnull=True).update(
        body="", quote="", deleted_at=timezone.now()
    )


def resolve(comment: Comment, *, by: AbstractBaseUser) -> None:
    """Mark the comment's thread resolved, recording who and when; idempotent."""
    Comment.objects.filter(
        pk=comment.reply_to_id or comment.pk, is_resolved=False
    ).update(
        is_resolved=True,
        resolved_by=contributors.for_user(by),
        resolved_at=timezone.now(),
    )


def reopen(comment: Comment, *, by: AbstractBaseUser) -> None:
    """Open the comment's thread again; idempotent."""
    Comment.objects.filter(pk=comment.reply_to_id or comment.pk).update(
        is_resolved=False, resolved_by=None, resolved_at=None
    )


def to_todo(comment: Comment, *, by: AbstractBaseUser) -> tuple[TodoItem, bool]:
    """A manual TODO item made from the comment, and whether it is new: a comment
    makes one item however often this is asked. Raises CommentGone if deleted."""
    if comment.deleted_at:
        raise CommentGone("This comment was deleted.")
    # The unique constraint on TodoItem.comment settles two clicks at once:
    # get_or_create falls back to reading the row the other request wrote.
    return TodoItem.objects.get_or_create(
        comment=comment,
        defaults={
            "section_id": comment.section_id,
            "kind": TodoItem.Kind.MANUAL,
            "text": comment.body,
        },
    )


def _record_activity(comment: Comment, summary: str) -> None:
    """Log a new comment in the activity feed; runs inside the caller's transaction."""
    activity.record(
        comment.section.manuscript_id,
        kind=Activity.Kind.COMMENT,
        summary=summary,
        section=comment.section,
        actor=comment.author,
        url=comment.get_absolute_url(),
    )


def _record_mentions(comment: Comment) -> None:
    """Record the contributors the comment names by handle, and queue one email for
    each not named in it before. Runs inside the caller's transaction."""
    handles = find_mentions(comment.body)
    if not handles:
        return
    named = reduce(or_, (Q(handle__iexact=handle) for handle in handles))
    # The author is not told about their own comment.
    people = Contributor.objects.filter(named).exclude(pk=comment.author_id)
    for person in people:
        mention, created = Mention.objects.get_or_create(
            comment=comment, contributor=person
        )
        if created:
            tasks.notify_mention.delay_on_commit(mention.pk)


def notify(mention_id: int) -> bool:
    """Email the mentioned contributor, once: returns whether mail was sent. Nothing
    is sent for a deleted comment or a contributor without an email address."""
    with transaction.atomic():
        # Locked and checked in one transaction: two runs of the task (a duplicate
        # queue, a retry after a lost worker) would otherwise both see notified_at
        # empty and both send. A failed send rolls back, so a retry sends again.
        mention = (
            Mention.objects.select_for_update()
            .filter(pk=mention_id, notified_at__isnull=True)
            .first()
        )
        if mention is None:
            return False
        comment = Comment.objects.select_related("section__manuscript", "author").get(
            pk=mention.comment_id
        )
        user = mention.contributor.user
        if comment.deleted_at or user is None or not user.is_active or not user.email:
            return False
        section = comment.section
        link = settings.SITE_URL.rstrip("/") + comment.get_absolute_url()
        send_mail(
            subject=f"{comment.author} mentioned you on “{section.label}”",
            message=(
                f"{comment.author} mentioned you in a comment on “{section.label}” "
                f"({section.manuscript.title}):\n\n{comment.body}\n\n{link}\n"
            ),
            from_email=None,
            recipient_list=[user.email],
        )
        mention.notified_at = timezone.now()
        mention.save(update_fields=["notified_at"])
    return True

"""A section's comment threads: post, reply, edit, delete, resolve, reopen, make a TODO.
Each answers htmx with the threads alone, and a form post with a redirect (PRG)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from sections import comments, permissions, selectors
from sections.forms import CommentBodyForm, CommentForm
from sections.models import Comment, Section


def _comments_context(request: HttpRequest, section: Section, **extra: object) -> dict:
    return {
        "section": section,
        "threads": permissions.flag_comments(
            request.user, selectors.comments_for(section), manuscript=section.manuscript
        ),
        "can_comment": permissions.can_comment(request.user, section.manuscript),
        **extra,
    }


def _comments_answer(
    request: HttpRequest, comment: Comment, *, notice: str = "", error: bool = False
) -> HttpResponse:
    """After a change: the threads alone for htmx, else back to the comment (PRG)."""
    if request.htmx:
        return render(
            request,
            "sections/_comments.html#comments",
            _comments_context(
                request, comment.section, notice=notice, notice_is_error=error
            ),
        )
    if notice:
        (messages.error if error else messages.success)(request, notice)
    return redirect(comment)


def _mentions_answer(request: HttpRequest, comment: Comment) -> HttpResponse:
    """After a comment is written: the threads, and which @handles matched nobody."""
    notice = comments.unmatched_notice(comment.body)
    return _comments_answer(request, comment, notice=notice, error=bool(notice))


def _comments_rejected(
    request: HttpRequest, section: Section, **failed: object
) -> HttpResponse:
    """422 with the threads and the failed form, the user's text still in it: the
    partial for htmx, else a small page around it (nothing typed is lost)."""
    template = "sections/comments_page.html"
    if request.htmx:
        template = "sections/_comments.html#comments"
    return render(
        request, template, _comments_context(request, section, **failed), status=422
    )


@require_POST
@login_required
def post_comment(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section, comment=True)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = comments.post(
                section_,
                by=request.user,
                body=form.cleaned_data["body"],
                quote=form.cleaned_data["quote"],
            )
            return _mentions_answer(request, comment)
        except comments.QuoteNotFound as error:
            form.add_error("quote", str(error))
    return _comments_rejected(request, section_, comment_form=form)


@require_POST
@login_required
def reply_to_comment(request: HttpRequest, pk: int) -> HttpResponse:
    comment = permissions.get_comment(request.user, pk, discuss=True)
    form = CommentBodyForm(request.POST)
    if not form.is_valid():
        return _comments_rejected(
            request,
            comment.section,
            reply_form=form,
            failed_reply_to=comment.reply_to_id or comment.pk,
        )
    answer = comments.reply(comment, by=request.user, body=form.cleaned_data["body"])
    return _mentions_answer(request, answer)


@require_POST
@login_required
def edit_comment(request: HttpRequest, pk: int) -> HttpResponse:
    comment = permissions.get_comment(request.user, pk, write=True)
    form = CommentBodyForm(request.POST)
    if not form.is_valid():
        return _comments_rejected(
            request, comment.section, edit_form=form, failed_edit_of=comment.pk
        )
    try:
        comments.edit(comment, by=request.user, body=form.cleaned_data["body"])
    except comments.CommentGone as error:
        return _comments_answer(request, comment, notice=str(error), error=True)
    return _mentions_answer(request, comment)


@require_POST
@login_required
def delete_comment(request: HttpRequest, pk: int) -> HttpResponse:
    comment = permissions.get_comment(request.user, pk, write=True)
    comments.delete(comment, by=request.user)
    return _comments_answer(request, comment, notice="Comment deleted.")


@require_POST
@login_required
def resolve_comment(request: HttpRequest, pk: int) -> HttpResponse:
    comment = permissions.get_comment(request.user, pk, discuss=True)
    comments.resolve(comment, by=request.user)
    return _comments_answer(request, comment)


@require_POST
@login_required
def reopen_comment(request: HttpRequest, pk: int) -> HttpResponse:
    comment = permissions.get_comment(request.user, pk, discuss=True)
    comments.reopen(comment, by=request.user)
    return _comments_answer(request, comment)


@require_POST
@login_required
def comment_to_todo(request: HttpRequest, pk: int) -> HttpResponse:
    comment = permissions.get_comment(request.user, pk, moderate=True)
    try:
        _, created = comments.to_todo(comment, by=request.user)
    except comments.CommentGone as error:
        return _comments_answer(request, comment, notice=str(error), error=True)
    notice = (
        "The comment is now a TODO item."
        if created
        else "This comment is already a TODO item."
    )
    return _comments_answer(request, comment, notice=notice)

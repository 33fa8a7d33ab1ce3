"""The section page, its editor and its history: ask permissions, validate a form,
call one domain function, respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from sections import assembly, figures, permissions, revisions, selectors, visits
from sections.exceptions import EditConflict, EditRejected
from sections.forms import (
    ClaimForm,
    CompareForm,
    EditForm,
    IdentifierForm,
    LivePreviewForm,
)
from sections.models import Section


@require_GET
@login_required
def section_detail(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section)
    context = {
        "section": section_,
        "can_write": permissions.can_write(request.user, section_.manuscript),
        "can_comment": permissions.can_comment(request.user, section_.manuscript),
        "can_propose": permissions.can_propose(request.user, section_.manuscript),
        # Records the visit, and gives what others changed since the last one.
        "changes": visits.open_section(section_, by=request.user),
        "can_moderate": permissions.can_moderate(request.user, section_.manuscript),
        "claim_form": ClaimForm(),
        **selectors.section_page(section_),
    }
    threads, context["folded_threads"] = selectors.latest_threads(
        section_, show_all=request.GET.get("threads") == "all"
    )
    context["threads"] = permissions.flag_comments(
        request.user, threads, manuscript=section_.manuscript
    )
    permissions.flag_claims(request.user, context["claims"])
    context["can_claim"] = permissions.can_claim(
        request.user, section_, claims=context["claims"]
    )
    return render(request, "sections/section_detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def edit_section(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """The editor: GET shows it from the latest revision; POST saves (or, with the
    Preview button and no JavaScript, shows the preview and saves nothing)."""
    saving = request.method == "POST" and "preview" not in request.POST
    section_ = permissions.get_section_to_edit(
        request.user, manuscript, section, save=saving
    )
    if request.method != "POST":
        start = revisions.editor_start(section_)
        form = EditForm(
            initial={"title": start.title, "body": start.body, "base": start.base},
            heading_optional=not section_.title,
        )
        return _edit_page(request, section_, form=form)
    form = EditForm(request.POST, heading_optional=not section_.title)
    if not form.is_valid():
        return _edit_page(request, section_, form=form, status=422)
    data = form.cleaned_data
    if "preview" in request.POST:
        preview = assembly.preview_section(
            section_, title=data["title"], body=data["body"]
        )
        return _edit_page(request, section_, form=form, preview_html=preview)
    try:
        saved = revisions.save_edit(
            section_,
            title=data["title"],
            body=data["body"],
            summary=data["summary"],
            base=data["base"],
            by=request.user,
        )
    except EditConflict as conflict:
        return _conflict_page(request, section_, conflict, summary=data["summary"])
    except EditRejected as error:
        form.add_error("body", str(error))
        return _edit_page(request, section_, form=form, status=422)
    # Tells the page the browser lands on that this section's kept draft is saved.
    saved_draft = f"draft-saved-{section_.pk}"
    if saved.merged:
        messages.success(
            request,
            "Saved. Someone else had saved in the meantime; their changes were in "
            "other paragraphs, so both are kept.",
            extra_tags=saved_draft,
        )
    elif saved.changed:
        messages.success(request, "Saved.", extra_tags=saved_draft)
    else:
        messages.info(
            request, "Nothing changed, so nothing was saved.", extra_tags=saved_draft
        )
    return redirect(section_)


def _edit_page(
    request: HttpRequest,
    section: Section,
    *,
    form: EditForm,
    preview_html: str | None = None,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    return render(
        request,
        "sections/section_edit.html",
        {
            "section": section,
            "form": form,
            "preview_html": preview_html,
            "identifier_form": IdentifierForm(),
            "figure_limit": figures.max_megabytes(),
            "can_save": permissions.can_write(request.user, section.manuscript),
            "can_propose": permissions.can_propose(request.user, section.manuscript),
            **extra,
        },
        status=status,
    )


def _conflict_page(
    request: HttpRequest, section: Section, conflict: EditConflict, *, summary: str
) -> HttpResponse:
    # The editor again, with the user's text intact and based on the latest revision,
    # so the next save goes through; beside it, what the other person changed.
    form = EditForm(
        initial={
            "title": conflict.title,
            "body": conflict.body,
            "summary": summary,
            "base": conflict.current.pk,
        },
        heading_optional=not section.title,
    )
    return _edit_page(
        request,
        section,
        form=form,
        status=409,
        conflict=conflict,
        their_changes=revisions.word_diff(
            conflict.base.body if conflict.base else "", conflict.current.body
        ),
    )


@require_POST
@login_required
def live_preview(request: HttpRequest, manuscript: str, section: str) -> HttpResponse:
    """The editor's preview as the text is typed (htmx), numbered as it will be."""
    section_ = permissions.get_section(request.user, manuscript, section, write=True)
    form = LivePreviewForm(request.POST)
    if not form.is_valid():
        return HttpResponse("The text is too long to preview.", status=422)
    preview = assembly.preview_section(
        section_,
        title=form.cleaned_data["title"] or section_.title,
        body=form.cleaned_data["body"],
    )
    return render(
        request,
        "sections/section_edit.html#live-preview",
        {"section": section_, "preview_html": preview},
    )


@require_GET
@login_required
def section_history(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section)
    return render(
        request,
        "sections/section_history.html",
        {
            "section": section_,
            "rows": selectors.history_for(section_),
            "can_write": permissions.can_write(request.user, section_.manuscript),
        },
    )


@require_GET
@login_required
def compare_revisions(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    section_ = permissions.get_section(request.user, manuscript, section)
    form = CompareForm(request.GET)
    if not form.is_valid():
        messages.error(request, "Choose two revisions to compare.")
        return redirect("sections:section-history", manuscript, section)
    old, new = selectors.revisions_to_compare(
        section_, form.cleaned_data["old"], form.cleaned_data["new"]
    )
    return render(
        request,
        "sections/section_compare.html",
        {
            "section": section_,
            "old": old,
            "new": new,
            "title_diff": revisions.word_diff(old.title, new.title),
            "body_diff": revisions.word_diff(old.body, new.body),
        },
    )


@require_POST
@login_required
def restore_revision(request: HttpRequest, pk: int) -> HttpResponse:
    revision = permissions.get_revision(request.user, pk, write=True)
    saved = revisions.restore(revision, by=request.user)
    if saved.changed:
        messages.success(
            request,
            f"Restored the text of {revision.created_at:%Y-%m-%d %H:%M} as a new "
            "revision; nothing in the history was removed.",
        )
    else:
        messages.info(request, "That is already the current text.")
    return redirect(revision.section)

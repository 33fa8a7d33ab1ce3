"""The TODO board: every item of a manuscript, filtered, sorted and paged (or as CSV), and
maintainers' changes to it (bulk triage, an item written by hand)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from sections import permissions, selectors, todos
from sections.forms import ManualTodoForm, TodoBulkForm, TodoFilterForm
from sections.models import Manuscript


@require_GET
@login_required
def todo_board(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Every TODO item of the manuscript, filtered, sorted and paged, for everyone to
    read and maintainers to triage; `?format=csv` downloads the filtered list."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    if request.GET.get("format") != "csv":
        return _todo_board_page(request, manuscript_)
    filters = TodoFilterForm(
        request.GET,
        sections=selectors.present_sections(manuscript_),
        contributors=selectors.contributors_to_assign(),
    ).filters()
    items = selectors.todos_matching(manuscript_, filters, viewer_id=request.user.pk)
    response = StreamingHttpResponse(
        todos.csv_lines(items.iterator(chunk_size=500)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = (
        f'attachment; filename="todos-{manuscript_.slug}.csv"'
    )
    return response


def _todo_board_page(
    request: HttpRequest,
    manuscript: Manuscript,
    *,
    bulk_form: TodoBulkForm | None = None,
    manual_form: ManualTodoForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The board for the filters in the query string; the list alone for htmx."""
    sections = selectors.sections_with_open_todos(manuscript)
    people = selectors.contributors_to_assign()
    filter_form = TodoFilterForm(request.GET, sections=sections, contributors=people)
    page = selectors.todo_page(
        manuscript,
        filter_form.filters(),
        viewer_id=request.user.pk,
        page_number=request.GET.get("page"),
    )
    can_moderate = permissions.can_moderate(request.user, manuscript)
    if can_moderate:
        bulk_form = bulk_form or TodoBulkForm(contributors=people)
        manual_form = manual_form or ManualTodoForm(
            manuscript_id=manuscript.pk, sections=sections, contributors=people
        )
    template = "sections/todo_board.html"
    if request.htmx and request.method == "GET":
        template += "#todo-list"
    return render(
        request,
        template,
        {
            "manuscript": manuscript,
            "filter_form": filter_form,
            "page": page,
            "sections": sections,
            "can_moderate": can_moderate,
            "bulk_form": bulk_form,
            "manual_form": manual_form,
            # Ticked boxes stay ticked when a bulk change is sent back to fix.
            "ticked": set(request.POST.getlist("items")),
        },
        status=status,
    )


def _back_to_board(request: HttpRequest, manuscript: Manuscript) -> HttpResponse:
    """The board again, with the filters the form was sent from (PRG)."""
    board = reverse("sections:todo-board", args=[manuscript.slug])
    query = request.GET.urlencode()
    return redirect(f"{board}?{query}" if query else board)


@require_POST
@login_required
def todo_bulk(request: HttpRequest, manuscript: str) -> HttpResponse:
    """A maintainer's change to the ticked items: assign, prioritise, close, reopen."""
    manuscript_ = permissions.get_manuscript_to_triage(request.user, manuscript)
    form = TodoBulkForm(request.POST, contributors=selectors.contributors_to_assign())
    if not form.is_valid():
        return _todo_board_page(request, manuscript_, bulk_form=form, status=422)
    data = form.cleaned_data
    try:
        changed = todos.triage(
            manuscript_,
            data["items"],
            action=data["action"],
            by=request.user,
            assignee=data["assignee"],
            priority=data["priority"],
        )
    except todos.TriageRejected as error:
        form.add_error(None, str(error))
        return _todo_board_page(request, manuscript_, bulk_form=form, status=422)
    done = {
        "assign": f"assigned to {data['assignee'] or 'nobody'}",
        "prioritise": "given a new priority",
        "done": "closed as done",
        "wont_do": "closed as won't do",
        "reopen": "reopened",
    }[data["action"]]
    messages.success(request, f"{changed} item{'s' * (changed != 1)} {done}.")
    return _back_to_board(request, manuscript_)


@require_POST
@login_required
def todo_create(request: HttpRequest, manuscript: str) -> HttpResponse:
    """A maintainer writes a TODO item by hand on a section of the manuscript."""
    manuscript_ = permissions.get_manuscript_to_triage(request.user, manuscript)
    form = ManualTodoForm(
        request.POST,
        manuscript_id=manuscript_.pk,
        sections=selectors.present_sections(manuscript_),
        contributors=selectors.contributors_to_assign(),
    )
    if form.is_valid():
        data = form.cleaned_data
        try:
            item = todos.create_manual(
                data["section"],
                text=data["text"],
                by=request.user,
                assignee=data["assignee"],
                priority=data["priority"],
            )
            messages.success(request, f"New TODO on “{item.section.title}”.")
            board = reverse("sections:todo-board", args=[manuscript_.slug])
            return redirect(f"{board}?section={item.section_id}")
        except todos.TriageRejected as error:
            form.add_error("text", str(error))
    return _todo_board_page(request, manuscript_, manual_form=form, status=422)

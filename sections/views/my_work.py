"""My work: the user's claims, TODOs, mentions and replies, their details as author lists
print them, and their private feed addresses."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from sections import authors, contributors, selectors
from sections.forms import MyDetailsForm


@require_GET
@login_required
def my_work(request: HttpRequest) -> HttpResponse:
    """My claims, TODOs assigned to me, mentions of me and replies to my comments,
    and my details as author lists print them."""
    work = selectors.my_work(request.user, now=timezone.now())
    person = work.contributor
    details = MyDetailsForm(
        initial={
            "display_name": person.display_name if person else "",
            "handle": person.handle if person else "",
            "orcid": person.orcid if person else "",
            "affiliations": "\n".join(person.affiliations) if person else "",
        }
    )
    return _my_work_page(request, work, details)


@require_POST
@login_required
def my_details(request: HttpRequest) -> HttpResponse:
    form = MyDetailsForm(request.POST)
    if form.is_valid():
        try:
            authors.save_my_details(request.user, **form.cleaned_data)
        except authors.AuthorsRejected as error:
            form.add_error("orcid", str(error))
        except contributors.HandleTaken as error:
            form.add_error("handle", str(error))
        else:
            messages.success(request, "Saved your details.")
            return redirect("sections:my-work")
    work = selectors.my_work(request.user, now=timezone.now())
    return _my_work_page(request, work, form, status=422)


@require_POST
@login_required
def reset_feed_token(request: HttpRequest) -> HttpResponse:
    """Revoke the user's private feed addresses and make new ones."""
    contributors.reset_feed_token(request.user)
    messages.success(
        request,
        "Your feed addresses are new: the old ones no longer work. Give your feed "
        "reader the new one.",
    )
    return redirect(reverse("sections:my-work") + "#my-feeds")


def _my_work_page(
    request: HttpRequest,
    work: selectors.MyWork,
    details: MyDetailsForm,
    *,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "sections/my_work.html",
        {
            "work": work,
            "details": details,
            "feeds": contributors.private_feeds(request.user),
        },
        status=status,
    )

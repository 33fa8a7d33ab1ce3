"""What happened in a manuscript: the activity pages, their Atom feeds (by session, or
by a reader's private address) and the contributions table."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.views.decorators.http import require_GET

from sections import contributors, exporting, permissions, selectors
from sections.forms import ActivityFilterForm
from sections.models import Activity, Manuscript, Section


@require_GET
@login_required
def manuscript_activity(request: HttpRequest, manuscript: str) -> HttpResponse:
    """What happened in the manuscript, newest first, 50 a page, by kind."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    return _activity_page(request, manuscript_)


@require_GET
@login_required
def section_activity(
    request: HttpRequest, manuscript: str, section: str
) -> HttpResponse:
    """What happened in one section, as the manuscript's feed shows it."""
    section_ = permissions.get_section(request.user, manuscript, section)
    return _activity_page(request, section_.manuscript, section=section_)


def _activity_page(
    request: HttpRequest, manuscript: Manuscript, *, section: Section | None = None
) -> HttpResponse:
    form = ActivityFilterForm(request.GET)
    # An unknown kind shows everything, with the form saying why (422).
    is_valid = form.is_valid()
    kind = form.cleaned_data["kind"] if is_valid else ""
    page = selectors.activity_page(
        manuscript, section=section, kind=kind, page=request.GET.get("page")
    )
    return render(
        request,
        "sections/activity.html",
        {
            "manuscript": manuscript,
            "section": section,
            "form": form,
            "kind": kind,
            "page": page,
        },
        status=200 if is_valid else 422,
    )


class ActivityAtomFeed(Feed):
    """The manuscript's latest activity as Atom. Activity names contributor-only
    sections and comments, so the feed asks for a session like every other page
    (see `activity_atom`); readers that can't sign in use their owner's private
    address (`PrivateActivityAtomFeed`)."""

    feed_type = Atom1Feed
    author_name = "Reviewapp"
    item_guid_is_permalink = False

    def get_object(self, request: HttpRequest, manuscript: str) -> Manuscript:
        return permissions.get_manuscript(request.user, manuscript)

    def title(self, obj: Manuscript) -> str:
        return f"Activity in {obj.title}"

    def link(self, obj: Manuscript) -> str:
        return _absolute(reverse("sections:activity", args=[obj.slug]))

    def feed_url(self, obj: Manuscript) -> str:
        return _absolute(reverse("sections:activity-atom", args=[obj.slug]))

    def items(self, obj: Manuscript) -> list[Activity]:
        return selectors.recent_activity(obj)

    def item_title(self, item: Activity) -> str:
        return item.summary  # Atom titles are text: the feed writer escapes them

    def item_description(self, item: Activity) -> str:
        # Atom summaries are declared HTML: escaped, a summary reads as typed.
        return escape(item.summary)

    def item_link(self, item: Activity) -> str:
        return _absolute(
            item.url or reverse("sections:activity", args=[item.manuscript.slug])
        )

    def item_guid(self, item: Activity) -> str:
        # Several entries link to one section, so the id is the entry's own.
        page = reverse("sections:activity", args=[item.manuscript.slug])
        return _absolute(f"{page}#activity-{item.pk}")

    def item_updateddate(self, item: Activity) -> datetime:
        return item.created_at

    def item_pubdate(self, item: Activity) -> datetime:
        return item.created_at

    def item_author_name(self, item: Activity) -> str | None:
        return item.actor.display_name if item.actor else None


def _absolute(path: str) -> str:
    """A link for outside readers, on the site's configured address."""
    return settings.SITE_URL.rstrip("/") + path


activity_atom = require_GET(login_required(ActivityAtomFeed()))


class PrivateActivityAtomFeed(ActivityAtomFeed):
    """The same feed at an address that carries its reader's token instead of a
    session (contributors.feed_token), for feed readers: a wrong or revoked token is
    a 404, and the token's owner must be able to read the manuscript."""

    def get_object(
        self, request: HttpRequest, token: str, manuscript: str
    ) -> Manuscript:
        reader = contributors.user_for_feed_token(token)
        if reader is None:
            raise Http404("No such feed.")
        obj = permissions.get_manuscript(reader, manuscript)
        obj.feed_token = token  # for feed_url; this instance serves one request
        return obj

    def feed_url(self, obj: Manuscript) -> str:
        return _absolute(
            reverse(
                "sections:activity-atom-private",
                kwargs={"manuscript": obj.slug, "token": obj.feed_token},
            )
        )


_private_activity_atom = PrivateActivityAtomFeed()


@require_GET
def private_activity_atom(
    request: HttpRequest, token: str, manuscript: str
) -> HttpResponse:
    response = _private_activity_atom(request, token=token, manuscript=manuscript)
    # The address is the credential: no shared cache keeps it, no link passes it on.
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@require_GET
@login_required
def contributions(request: HttpRequest, manuscript: str) -> HttpResponse:
    """Who did what, per contributor and section, for authorship decisions;
    `?format=csv` downloads the table."""
    manuscript_ = permissions.get_manuscript(request.user, manuscript)
    rows = selectors.contributions_for(manuscript_)
    if request.GET.get("format") == "csv":
        response = HttpResponse(
            exporting.contributions_csv(rows), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = (
            f'attachment; filename="contributions-{manuscript_.slug}.csv"'
        )
        return response
    return render(
        request,
        "sections/contributions.html",
        {"manuscript": manuscript_, "rows": rows},
    )

"""The admin: a staff tool for maintainers, with the searches and filters they use.

It shows; it does not change. Every write to sections, revisions, references and
people goes through the concept modules, which keep the history, the activity log and
the public preview in step; a change saved here would skip all three. The one form
left is a manuscript's settings, and it saves through `manuscripts.change_settings`.
Accounts, groups and permissions are the superuser's alone: a maintainer is staff,
and a staff member who could edit users could make themselves superuser.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

from sections import manuscripts
from sections.models import (
    Attribution,
    Citation,
    Claim,
    Comment,
    Contributor,
    Figure,
    HunkComment,
    Invitation,
    JoinRequest,
    Manuscript,
    Membership,
    Mention,
    Proposal,
    ProposalReview,
    Reference,
    Revision,
    Section,
    SectionVisit,
    TodoItem,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Content: viewed here, changed only through the application's own pages."""

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class SuperuserOnlyAdmin:
    """Accounts, groups and permissions: for superusers only, whatever permissions a
    group grants (a Maintainers group made before this rule still carries them)."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_superuser(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_superuser(request)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_superuser(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_superuser(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return _is_superuser(request)


def _is_superuser(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_superuser)


class AccountAdmin(SuperuserOnlyAdmin, UserAdmin):
    pass


class RoleAdmin(SuperuserOnlyAdmin, GroupAdmin):
    pass


class ManuscriptSettingsForm(forms.ModelForm):
    class Meta:
        model = Manuscript
        fields = ["title", "csl_style", "show_todos_publicly"]

    def clean(self) -> dict:
        cleaned = super().clean()
        try:
            manuscripts.check_settings(
                title=cleaned.get("title", ""), csl_style=cleaned.get("csl_style", "")
            )
        except manuscripts.SettingsRejected as error:
            raise forms.ValidationError(str(error)) from error
        return cleaned


@admin.register(Manuscript)
class ManuscriptAdmin(admin.ModelAdmin):
    """Settings only (title, citation style, public TODOs): saved through
    `manuscripts.change_settings`, which logs the change and re-assembles."""

    list_display = ["title", "slug", "csl_style", "show_todos_publicly", "source_name"]
    search_fields = ["title", "slug"]
    form = ManuscriptSettingsForm
    fields = ["title", "slug", "csl_style", "show_todos_publicly", "source_name"]
    readonly_fields = ["slug", "source_name"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # A manuscript is made by importing one (`manage.py import_manuscript`).
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(
        self, request: HttpRequest, obj: Manuscript, form: object, change: bool
    ) -> None:
        manuscripts.change_settings(
            obj,
            title=obj.title,
            csl_style=obj.csl_style,
            show_todos_publicly=obj.show_todos_publicly,
            by=request.user,
        )


@admin.register(Section)
class SectionAdmin(ReadOnlyAdmin):
    list_display = [
        "title",
        "manuscript",
        "position",
        "level",
        "status",
        "is_hidden",
        "removed_at",
    ]
    list_filter = ["manuscript", "status", "is_hidden", "level"]
    list_select_related = ["manuscript"]
    search_fields = ["title", "slug", "body"]
    autocomplete_fields = ["manuscript", "parent"]
    ordering = ["manuscript", "position"]


@admin.register(Contributor)
class ContributorAdmin(ReadOnlyAdmin):
    list_display = ["display_name", "handle", "user", "orcid", "github"]
    list_filter = [("user", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["display_name", "handle", "orcid", "github", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    """Read-only: history is append-only."""

    list_display = ["section", "author", "summary", "created_at"]
    list_filter = ["section__manuscript", "created_at"]
    list_select_related = ["section", "author"]
    search_fields = ["section__title", "summary", "author__display_name"]
    date_hierarchy = "created_at"


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ["section", "contributor", "since", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter), "section__manuscript"]
    list_select_related = ["section", "contributor"]
    search_fields = ["section__title", "contributor__display_name", "note"]
    autocomplete_fields = ["section", "contributor"]


@admin.register(TodoItem)
class TodoItemAdmin(ReadOnlyAdmin):
    list_display = [
        "short_text",
        "section",
        "kind",
        "status",
        "priority",
        "assignee",
        "created_at",
    ]
    list_filter = ["status", "kind", "priority", "section__manuscript"]
    list_select_related = ["section", "assignee"]
    search_fields = ["text", "section__title", "assignee__display_name"]
    autocomplete_fields = ["section", "assignee", "suggested_assignee", "comment"]

    @admin.display(description="text")
    def short_text(self, todo: TodoItem) -> str:
        return todo.text[:100]


@admin.register(Reference)
class ReferenceAdmin(ReadOnlyAdmin):
    list_display = [
        "key",
        "manuscript",
        "state",
        "metadata_source",
        "imported_number",
        "updated_at",
    ]
    list_filter = ["state", "metadata_source", "manuscript"]
    list_select_related = ["manuscript"]
    search_fields = ["key", "original_text", "error"]
    autocomplete_fields = ["manuscript", "alias_of"]


@admin.register(Citation)
class CitationAdmin(ReadOnlyAdmin):
    list_display = ["key_as_written", "section", "reference", "position"]
    list_filter = ["section__manuscript", "reference__state"]
    list_select_related = ["section", "reference"]
    search_fields = ["key_as_written", "reference__key", "section__title"]
    autocomplete_fields = ["section", "reference"]


@admin.register(Comment)
class CommentAdmin(ReadOnlyAdmin):
    list_display = ["section", "author", "is_resolved", "created_at"]
    list_filter = ["is_resolved", "section__manuscript"]
    list_select_related = ["section", "author"]
    search_fields = ["body", "quote", "author__display_name", "section__title"]
    autocomplete_fields = ["section", "author", "reply_to", "resolved_by"]


@admin.register(Mention)
class MentionAdmin(ReadOnlyAdmin):
    list_display = ["contributor", "comment", "created_at", "notified_at"]
    list_filter = [("notified_at", admin.EmptyFieldListFilter)]
    list_select_related = ["contributor", "comment__author", "comment__section"]
    search_fields = ["contributor__handle", "contributor__display_name"]
    autocomplete_fields = ["comment", "contributor"]


@admin.register(Figure)
class FigureAdmin(ReadOnlyAdmin):
    list_display = ["path", "manuscript", "content_type", "size", "uploaded_by"]
    list_filter = ["content_type", "manuscript"]
    list_select_related = ["manuscript", "uploaded_by"]
    search_fields = ["path", "sha256"]
    autocomplete_fields = ["manuscript", "uploaded_by"]


@admin.register(Attribution)
class AttributionAdmin(ReadOnlyAdmin):
    """Read-only: worked out from the history (sections.attribution), never edited."""

    list_display = ["revision"]
    list_select_related = ["revision__section", "revision__author"]
    search_fields = ["revision__section__title"]
    autocomplete_fields = ["revision"]


@admin.register(SectionVisit)
class SectionVisitAdmin(ReadOnlyAdmin):
    list_display = ["user", "section", "seen_revision", "since_revision", "seen_at"]
    list_select_related = ["user", "section", "seen_revision", "since_revision"]
    search_fields = ["user__email", "section__title"]
    autocomplete_fields = ["user", "section", "seen_revision", "since_revision"]


# Replaces django.contrib.auth's registrations (its admin module is imported first,
# as it comes before sections in INSTALLED_APPS).
admin.site.unregister(get_user_model())
admin.site.unregister(Group)
admin.site.register(get_user_model(), AccountAdmin)
admin.site.register(Group, RoleAdmin)


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    """Roles change on a manuscript's members page (sections.members logs them)."""

    list_display = ["user", "manuscript", "role", "granted_by", "granted_at"]
    list_filter = ["role", "manuscript"]
    search_fields = ["user__email", "manuscript__title"]
    list_select_related = ["user", "manuscript", "granted_by"]
    autocomplete_fields = ["manuscript"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    # The token itself is never stored, so nothing here lets anyone accept one.
    list_display = ["email", "manuscript", "role", "created_at", "expires_at"]
    list_display += ["accepted_at", "revoked_at"]
    search_fields = ["email", "manuscript__title"]
    list_select_related = ["manuscript"]
    autocomplete_fields = ["manuscript"]


@admin.register(JoinRequest)
class JoinRequestAdmin(ReadOnlyAdmin):
    list_display = ["user", "manuscript", "created_at", "decided_at", "is_approved"]
    search_fields = ["user__email", "manuscript__title"]
    list_select_related = ["user", "manuscript"]
    autocomplete_fields = ["manuscript"]


# Proposals


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "author", "status", "created_at", "decided_by"]
    list_filter = ["status", "section__manuscript", "created_at"]
    list_select_related = ["section", "author", "decided_by"]
    search_fields = ["section__title", "summary", "author__display_name", "body"]
    autocomplete_fields = ["section", "author", "decided_by"]
    exclude = ["diff"]


@admin.register(ProposalReview)
class ProposalReviewAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "reviewer", "verdict", "kind", "created_at"]
    list_filter = ["verdict", "kind"]
    list_select_related = ["proposal__section", "reviewer"]
    search_fields = ["reviewer__display_name", "body"]
    autocomplete_fields = ["reviewer"]


@admin.register(HunkComment)
class HunkCommentAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "hunk", "author", "created_at"]
    list_select_related = ["proposal__section", "author"]
    search_fields = ["author__display_name", "body"]
    autocomplete_fields = ["author"]

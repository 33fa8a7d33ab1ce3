"""The admin: a staff tool for maintainers, with the searches and filters they use."""

from django.contrib import admin

from sections.models import (
    Citation,
    Claim,
    Comment,
    Contributor,
    Manuscript,
    Mention,
    Reference,
    Revision,
    Section,
    TodoItem,
)


@admin.register(Manuscript)
class ManuscriptAdmin(admin.ModelAdmin):
    list_display = ["title", "slug", "csl_style", "show_todos_publicly", "source_name"]
    search_fields = ["title", "slug"]
    prepopulated_fields = {"slug": ["title"]}


@admin.register(Section)
class SectionAdmin(admin.ModelAdmin):
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
class ContributorAdmin(admin.ModelAdmin):
    list_display = ["display_name", "handle", "user", "orcid", "github"]
    list_filter = [("user", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["display_name", "handle", "orcid", "github", "user__email"]
    autocomplete_fields = ["user"]


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    """Read-only: history is append-only."""

    list_display = ["section", "author", "summary", "created_at"]
    list_filter = ["section__manuscript", "created_at"]
    list_select_related = ["section", "author"]
    search_fields = ["section__title", "summary", "author__display_name"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Claim)
class ClaimAdmin(admin.ModelAdmin):
    list_display = ["section", "contributor", "since", "released_at"]
    list_filter = [("released_at", admin.EmptyFieldListFilter), "section__manuscript"]
    list_select_related = ["section", "contributor"]
    search_fields = ["section__title", "contributor__display_name", "note"]
    autocomplete_fields = ["section", "contributor"]


@admin.register(TodoItem)
class TodoItemAdmin(admin.ModelAdmin):
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
class ReferenceAdmin(admin.ModelAdmin):
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
class CitationAdmin(admin.ModelAdmin):
    list_display = ["key_as_written", "section", "reference", "position"]
    list_filter = ["section__manuscript", "reference__state"]
    list_select_related = ["section", "reference"]
    search_fields = ["key_as_written", "reference__key", "section__title"]
    autocomplete_fields = ["section", "reference"]


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ["section", "author", "is_resolved", "created_at"]
    list_filter = ["is_resolved", "section__manuscript"]
    list_select_related = ["section", "author"]
    search_fields = ["body", "quote", "author__display_name", "section__title"]
    autocomplete_fields = ["section", "author", "reply_to", "resolved_by"]


@admin.register(Mention)
class MentionAdmin(admin.ModelAdmin):
    list_display = ["contributor", "comment", "created_at", "notified_at"]
    list_filter = [("notified_at", admin.EmptyFieldListFilter)]
    list_select_related = ["contributor", "comment__author", "comment__section"]
    search_fields = ["contributor__handle", "contributor__display_name"]
    autocomplete_fields = ["comment", "contributor"]

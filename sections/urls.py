from django.urls import path

from sections import attribution_views, figure_views, views

app_name = "sections"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("preview/", views.preview, name="preview"),
    path(
        "m/<slug:manuscript>/<slug:section>/",
        views.section_detail,
        name="section-detail",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/edit/",
        views.edit_section,
        name="section-edit",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/edit/preview/",
        views.live_preview,
        name="section-live-preview",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/history/",
        views.section_history,
        name="section-history",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/compare/",
        views.compare_revisions,
        name="section-compare",
    ),
    path(
        "revisions/<int:pk>/restore/",
        views.restore_revision,
        name="revision-restore",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/claim/",
        views.claim_section,
        name="section-claim",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/visibility/",
        views.set_section_visibility,
        name="section-visibility",
    ),
    path("claims/<int:pk>/release/", views.release_claim, name="claim-release"),
    path(
        "references/of/<slug:manuscript>/",
        views.citation_health,
        name="citation-health",
    ),
    path(
        "references/of/<slug:manuscript>/retry-failed/",
        views.retry_failed_references,
        name="references-retry-failed",
    ),
    path("cite/<slug:manuscript>/", views.cite_helper, name="cite-helper"),
    path("references/<int:pk>/", views.reference_detail, name="reference-detail"),
    path("references/<int:pk>/retry/", views.retry_reference, name="reference-retry"),
    path(
        "references/<int:pk>/record/",
        views.set_manual_record,
        name="reference-record",
    ),
    path(
        "references/<int:pk>/alias/",
        views.set_reference_alias,
        name="reference-alias",
    ),
    # Structure: maintainers only, POST, back to the outline.
    path(
        "m/<slug:manuscript>/<slug:section>/structure/add/",
        views.add_section,
        name="section-add",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/rename/",
        views.rename_section,
        name="section-rename",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/move/",
        views.move_section,
        name="section-move",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/indent/",
        views.indent_section,
        name="section-indent",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/outdent/",
        views.outdent_section,
        name="section-outdent",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/remove/",
        views.remove_section,
        name="section-remove",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/restore/",
        views.restore_section,
        name="section-restore",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/comments/",
        views.post_comment,
        name="section-comment",
    ),
    path("comments/<int:pk>/reply/", views.reply_to_comment, name="comment-reply"),
    path("comments/<int:pk>/edit/", views.edit_comment, name="comment-edit"),
    path("comments/<int:pk>/delete/", views.delete_comment, name="comment-delete"),
    path("comments/<int:pk>/resolve/", views.resolve_comment, name="comment-resolve"),
    path("comments/<int:pk>/reopen/", views.reopen_comment, name="comment-reopen"),
    path("comments/<int:pk>/todo/", views.comment_to_todo, name="comment-todo"),
    # Activity and contributions
    path(
        "activity/of/<slug:manuscript>/",
        views.manuscript_activity,
        name="activity",
    ),
    path(
        "activity/of/<slug:manuscript>/atom/",
        views.activity_atom,
        name="activity-atom",
    ),
    # For feed readers, which can't sign in: the token in the address stands in.
    path(
        "activity/of/<slug:manuscript>/atom/<str:token>/",
        views.private_activity_atom,
        name="activity-atom-private",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/activity/",
        views.section_activity,
        name="section-activity",
    ),
    path(
        "contributions/of/<slug:manuscript>/",
        views.contributions,
        name="contributions",
    ),
]

# Triage board
urlpatterns += [
    path("todos/of/<slug:manuscript>/", views.todo_board, name="todo-board"),
    path("todos/of/<slug:manuscript>/bulk/", views.todo_bulk, name="todo-bulk"),
    path("todos/of/<slug:manuscript>/new/", views.todo_create, name="todo-create"),
]

# Claims and my work
urlpatterns += [
    path("claims/of/<slug:manuscript>/", views.claims_page, name="claims"),
    path(
        "claims/of/<slug:manuscript>/links/decide/",
        views.decide_contributor_link,
        name="claims-link-decide",
    ),
    # The pk is the claim whose claimant the user says they are.
    path(
        "claims/<int:pk>/this-is-me/", views.request_contributor_link, name="claim-link"
    ),
    path("me/", views.my_work, name="my-work"),
    path("me/details/", views.my_details, name="my-details"),
    path("me/feed/reset/", views.reset_feed_token, name="my-feed-reset"),
]

# Search
urlpatterns += [
    path("search/<slug:manuscript>/", views.search, name="search"),
    path("preview/search/", views.public_search, name="public-search"),
]

# Exports
urlpatterns += [
    path("export/<slug:manuscript>/<slug:format>/", views.export, name="export"),
]

# Images from other hosts, through the app
urlpatterns += [
    path("media-proxy/<str:signed>/", views.media_proxy, name="media-proxy"),
]

# A manuscript's own figure files
urlpatterns += [
    path(
        "figure/<slug:manuscript>/<str:digest>/<path:path>",
        figure_views.figure,
        name="figure",
    ),
    path("figures/of/<slug:manuscript>/", figure_views.figure_list, name="figures"),
    path(
        "figures/of/<slug:manuscript>/upload/",
        figure_views.upload_figure,
        name="figure-upload",
    ),
]

# Authors
urlpatterns += [
    path("authors/of/<slug:manuscript>/", views.author_list, name="author-list"),
]

# Releases: a release's name may hold dots (v1.0), which <slug:> refuses.
urlpatterns += [
    path("v/<str:name>/", views.release_page, name="release"),
    path("v/<str:name>/compare/", views.release_compare, name="release-compare"),
    path("releases/of/<slug:manuscript>/", views.releases_of, name="releases"),
    path(
        "releases/of/<slug:manuscript>/publish/",
        views.publish_release,
        name="release-publish",
    ),
]

# Who wrote what, and what changed since a reader's last visit
urlpatterns += [
    path(
        "m/<slug:manuscript>/<slug:section>/authorship/",
        attribution_views.authorship,
        name="section-authorship",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/seen/",
        attribution_views.mark_seen,
        name="section-mark-seen",
    ),
]

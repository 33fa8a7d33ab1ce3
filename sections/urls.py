from django.urls import path

from sections.views import (
    activity,
    attribution,
    authors,
    claims,
    comments,
    exporting,
    figures,
    health,
    images,
    members,
    my_work,
    old_addresses,
    outline,
    preview,
    proposals,
    references,
    releases,
    search,
    sections,
    todos,
)

app_name = "sections"

# The public addresses from before each manuscript had its own, redirected to the
# first manuscript's. First in the list: /v/<name>/compare/ would otherwise read as a
# release called "compare" (a name releases.publish refuses for this reason), and
# /preview/search/ as a manuscript called "search" (old_addresses.public_search
# serves that one).
urlpatterns = [
    path("preview/", old_addresses.preview, name="old-preview"),
    path("preview/search/", old_addresses.public_search, name="old-public-search"),
    path("v/<str:name>/", old_addresses.release, name="old-release"),
    path(
        "v/<str:name>/compare/",
        old_addresses.release_compare,
        name="old-release-compare",
    ),
]

urlpatterns += [
    path("", outline.home, name="home"),
    path("healthz/", health.healthz, name="healthz"),
    path(
        "m/<slug:manuscript>/<slug:section>/",
        sections.section_detail,
        name="section-detail",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/edit/",
        sections.edit_section,
        name="section-edit",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/edit/preview/",
        sections.live_preview,
        name="section-live-preview",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/history/",
        sections.section_history,
        name="section-history",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/compare/",
        sections.compare_revisions,
        name="section-compare",
    ),
    path(
        "revisions/<int:pk>/restore/",
        sections.restore_revision,
        name="revision-restore",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/claim/",
        claims.claim_section,
        name="section-claim",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/visibility/",
        outline.set_section_visibility,
        name="section-visibility",
    ),
    path("claims/<int:pk>/release/", claims.release_claim, name="claim-release"),
    path(
        "references/of/<slug:manuscript>/",
        references.citation_health,
        name="citation-health",
    ),
    path(
        "references/of/<slug:manuscript>/retry-failed/",
        references.retry_failed_references,
        name="references-retry-failed",
    ),
    path("cite/<slug:manuscript>/", references.cite_helper, name="cite-helper"),
    path("references/<int:pk>/", references.reference_detail, name="reference-detail"),
    path(
        "references/<int:pk>/retry/", references.retry_reference, name="reference-retry"
    ),
    path(
        "references/<int:pk>/record/",
        references.set_manual_record,
        name="reference-record",
    ),
    path(
        "references/<int:pk>/alias/",
        references.set_reference_alias,
        name="reference-alias",
    ),
    # Structure: maintainers only, POST, back to the outline.
    path(
        "m/<slug:manuscript>/<slug:section>/structure/add/",
        outline.add_section,
        name="section-add",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/rename/",
        outline.rename_section,
        name="section-rename",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/move/",
        outline.move_section,
        name="section-move",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/indent/",
        outline.indent_section,
        name="section-indent",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/outdent/",
        outline.outdent_section,
        name="section-outdent",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/remove/",
        outline.remove_section,
        name="section-remove",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/structure/restore/",
        outline.restore_section,
        name="section-restore",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/comments/",
        comments.post_comment,
        name="section-comment",
    ),
    path("comments/<int:pk>/reply/", comments.reply_to_comment, name="comment-reply"),
    path("comments/<int:pk>/edit/", comments.edit_comment, name="comment-edit"),
    path("comments/<int:pk>/delete/", comments.delete_comment, name="comment-delete"),
    path(
        "comments/<int:pk>/resolve/", comments.resolve_comment, name="comment-resolve"
    ),
    path("comments/<int:pk>/reopen/", comments.reopen_comment, name="comment-reopen"),
    path("comments/<int:pk>/todo/", comments.comment_to_todo, name="comment-todo"),
    # Activity and contributions
    path(
        "activity/of/<slug:manuscript>/",
        activity.manuscript_activity,
        name="activity",
    ),
    path(
        "activity/of/<slug:manuscript>/atom/",
        activity.activity_atom,
        name="activity-atom",
    ),
    # For feed readers, which can't sign in: the token in the address stands in.
    path(
        "activity/of/<slug:manuscript>/atom/<str:token>/",
        activity.private_activity_atom,
        name="activity-atom-private",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/activity/",
        activity.section_activity,
        name="section-activity",
    ),
    path(
        "contributions/of/<slug:manuscript>/",
        activity.contributions,
        name="contributions",
    ),
]

# Triage board
urlpatterns += [
    path("todos/of/<slug:manuscript>/", todos.todo_board, name="todo-board"),
    path("todos/of/<slug:manuscript>/bulk/", todos.todo_bulk, name="todo-bulk"),
    path("todos/of/<slug:manuscript>/new/", todos.todo_create, name="todo-create"),
]

# Claims and my work
urlpatterns += [
    path("claims/of/<slug:manuscript>/", claims.claims_page, name="claims"),
    path(
        "claims/of/<slug:manuscript>/links/decide/",
        claims.decide_contributor_link,
        name="claims-link-decide",
    ),
    # The pk is the claim whose claimant the user says they are.
    path(
        "claims/<int:pk>/this-is-me/",
        claims.request_contributor_link,
        name="claim-link",
    ),
    path("me/", my_work.my_work, name="my-work"),
    path("me/details/", my_work.my_details, name="my-details"),
    path("me/feed/reset/", my_work.reset_feed_token, name="my-feed-reset"),
]

# Search
urlpatterns += [
    path("search/<slug:manuscript>/", search.search, name="search"),
]

# Exports
urlpatterns += [
    path("export/<slug:manuscript>/<slug:format>/", exporting.export, name="export"),
]

# Images from other hosts, through the app
urlpatterns += [
    path("media-proxy/<str:signed>/", images.media_proxy, name="media-proxy"),
]

# A manuscript's own figure files
urlpatterns += [
    path(
        "figure/<slug:manuscript>/<str:digest>/<path:path>",
        figures.figure,
        name="figure",
    ),
    path("figures/of/<slug:manuscript>/", figures.figure_list, name="figures"),
    path(
        "figures/of/<slug:manuscript>/upload/",
        figures.upload_figure,
        name="figure-upload",
    ),
]

# Authors
urlpatterns += [
    path("authors/of/<slug:manuscript>/", authors.author_list, name="author-list"),
]

# A manuscript's public pages: its preview, the preview's search, its versions. A
# release's name may hold dots (v1.0), which <slug:> refuses.
urlpatterns += [
    path("preview/<slug:manuscript>/", preview.preview, name="preview"),
    path(
        "preview/<slug:manuscript>/search/",
        search.public_search,
        name="public-search",
    ),
    path("v/<slug:manuscript>/<str:name>/", releases.release_page, name="release"),
    path(
        "v/<slug:manuscript>/<str:name>/compare/",
        releases.release_compare,
        name="release-compare",
    ),
    path("releases/of/<slug:manuscript>/", releases.releases_of, name="releases"),
    path(
        "releases/of/<slug:manuscript>/publish/",
        releases.publish_release,
        name="release-publish",
    ),
]

# Members and settings of a manuscript
urlpatterns += [
    path("members/of/<slug:manuscript>/", members.members_page, name="members"),
    path(
        "members/of/<slug:manuscript>/invite/",
        members.invite,
        name="members-invite",
    ),
    path(
        "members/of/<slug:manuscript>/join/",
        members.ask_to_join,
        name="members-join",
    ),
    path(
        "invitations/<int:pk>/revoke/",
        members.revoke_invitation,
        name="invitation-revoke",
    ),
    path(
        "join-requests/<int:pk>/decide/",
        members.decide_join_request,
        name="join-request-decide",
    ),
    path("memberships/<int:pk>/role/", members.change_role, name="membership-role"),
    path(
        "memberships/<int:pk>/remove/",
        members.remove_member,
        name="membership-remove",
    ),
    path(
        "settings/of/<slug:manuscript>/",
        members.manuscript_settings,
        name="manuscript-settings",
    ),
    # The emailed link: its token is the invitation (only its digest is stored).
    path(
        "invitations/<str:invitation_token>/",
        members.invitation,
        name="invitation",
    ),
]

# Proposals (suggest mode)
urlpatterns += [
    path(
        "m/<slug:manuscript>/<slug:section>/propose/",
        proposals.propose,
        name="section-propose",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/proposals/",
        proposals.section_proposals,
        name="section-proposals",
    ),
    path(
        "proposals/of/<slug:manuscript>/",
        proposals.manuscript_proposals,
        name="proposals",
    ),
    path("proposals/<int:pk>/", proposals.proposal_detail, name="proposal"),
    path(
        "proposals/<int:pk>/review/",
        proposals.review_proposal,
        name="proposal-review",
    ),
    path(
        "proposals/<int:pk>/comment/",
        proposals.comment_on_hunk,
        name="proposal-comment",
    ),
    path(
        "proposals/<int:pk>/accept/",
        proposals.accept_proposal,
        name="proposal-accept",
    ),
    path(
        "proposals/<int:pk>/resolve/",
        proposals.resolve_proposal,
        name="proposal-resolve",
    ),
    path(
        "proposals/<int:pk>/reject/",
        proposals.reject_proposal,
        name="proposal-reject",
    ),
    path(
        "proposals/<int:pk>/withdraw/",
        proposals.withdraw_proposal,
        name="proposal-withdraw",
    ),
]

# Who wrote what, and what changed since a reader's last visit
urlpatterns += [
    path(
        "m/<slug:manuscript>/<slug:section>/authorship/",
        attribution.authorship,
        name="section-authorship",
    ),
    path(
        "m/<slug:manuscript>/<slug:section>/seen/",
        attribution.mark_seen,
        name="section-mark-seen",
    ),
]

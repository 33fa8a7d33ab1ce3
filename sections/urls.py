from django.urls import path

from sections import views

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
]

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
]

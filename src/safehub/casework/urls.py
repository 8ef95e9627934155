from django.urls import path

from safehub.casework import views

app_name = "casework"

urlpatterns = [
    path("", views.episode_list, name="episode_list"),
    path("<uuid:episode_id>/", views.episode_detail, name="episode_detail"),
    path("<uuid:episode_id>/child/", views.child_details_view, name="child_details"),
    path(
        "<uuid:episode_id>/assessments/new/",
        views.assessment_start_view,
        name="assessment_start",
    ),
    path(
        "<uuid:episode_id>/assessments/<int:assessment_id>/authorise/",
        views.assessment_authorise_view,
        name="assessment_authorise",
    ),
    path(
        "<uuid:episode_id>/enquiries/<int:enquiry_id>/conference/",
        views.conference_view,
        name="conference",
    ),
    path(
        "<uuid:episode_id>/enquiries/<int:enquiry_id>/protection-plan/",
        views.plan_start_view,
        name="plan_start",
    ),
    path(
        "<uuid:episode_id>/protection-plans/<int:plan_id>/review/",
        views.plan_review_view,
        name="plan_review",
    ),
    path(
        "<uuid:episode_id>/protection-plans/<int:plan_id>/end/",
        views.plan_end_view,
        name="plan_end",
    ),
    path("<uuid:episode_id>/cin-plan/", views.cin_plan_start_view, name="cin_plan_start"),
    path(
        "<uuid:episode_id>/cin-plans/<int:plan_id>/end/",
        views.cin_plan_end_view,
        name="cin_plan_end",
    ),
    path("<uuid:episode_id>/close/", views.close_view, name="close"),
]

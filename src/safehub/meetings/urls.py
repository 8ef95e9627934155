from django.urls import path

from safehub.meetings import views

app_name = "meetings"

urlpatterns = [
    path("", views.discussion_list, name="discussion_list"),
    path("call/<uuid:contact_id>/", views.discussion_call_view, name="discussion_call"),
    path("<uuid:discussion_id>/", views.discussion_detail, name="discussion_detail"),
    path("<uuid:discussion_id>/minutes.pdf", views.minutes_download, name="minutes_pdf"),
    path("<uuid:discussion_id>/invite/", views.participant_add_view, name="participant_add"),
    path("<uuid:discussion_id>/reschedule/", views.reschedule_view, name="reschedule"),
    path("<uuid:discussion_id>/cancel/", views.cancel_view, name="cancel"),
    path("<uuid:discussion_id>/attendance/", views.attendance_view, name="attendance"),
    path("<uuid:discussion_id>/outcome/", views.outcome_view, name="outcome"),
    path("<uuid:discussion_id>/actions/", views.action_add_view, name="action_add"),
    path(
        "<uuid:discussion_id>/actions/<int:action_id>/done/",
        views.action_done_view,
        name="action_done",
    ),
    path(
        "<uuid:discussion_id>/requests/<int:request_id>/chase/",
        views.request_chase_view,
        name="request_chase",
    ),
    path("<uuid:discussion_id>/send-minutes/", views.minutes_send_view, name="minutes_send"),
    path("<uuid:discussion_id>/not-shared/", views.refusal_view, name="refusal"),
    path("<uuid:discussion_id>/respond/", views.respond_view, name="respond"),
    path("<uuid:discussion_id>/answer/", views.answer_view, name="answer"),
]

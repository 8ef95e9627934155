from django.urls import path

from safehub.encompass import views

app_name = "encompass"

urlpatterns = [
    path("", views.notice_list, name="notice_list"),
    path("<uuid:notice_id>/", views.notice_detail, name="notice_detail"),
    path("<uuid:notice_id>/acknowledge/", views.notice_acknowledge, name="notice_acknowledge"),
]

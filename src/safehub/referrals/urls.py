from django.urls import path

from safehub.referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("take-next/", views.contact_take_next_view, name="take_next"),
    path("alerts/", views.alerts, name="alerts"),
    path("contacts/new/", views.contact_new, name="contact_new"),
    path("contacts/break-glass/", views.contact_break_glass_view, name="break_glass"),
    path(
        "contacts/break-glass/openings/",
        views.break_glass_openings_view,
        name="break_glass_openings",
    ),
    path("contacts/access/", views.access_lookup, name="access_lookup"),
    path("contacts/<uuid:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<uuid:contact_id>/access/", views.contact_access, name="contact_access"),
    path("contacts/<uuid:contact_id>/route/", views.contact_route_view, name="contact_route"),
    path("contacts/<uuid:contact_id>/decide/", views.contact_decide_view, name="contact_decide"),
    path(
        "contacts/<uuid:contact_id>/reassign/",
        views.contact_reassign_view,
        name="contact_reassign",
    ),
    path(
        "contacts/<uuid:contact_id>/decisions/<int:decision_id>/sign-off/",
        views.decision_sign_off_view,
        name="decision_sign_off",
    ),
    path(
        "contacts/<uuid:contact_id>/decisions/<int:decision_id>/return/",
        views.decision_return_view,
        name="decision_return",
    ),
]

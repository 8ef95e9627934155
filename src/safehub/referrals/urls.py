from django.urls import path

from safehub.referrals import views

app_name = "referrals"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("contacts/new/", views.contact_new, name="contact_new"),
    path("contacts/<uuid:contact_id>/", views.contact_detail, name="contact_detail"),
    path("contacts/<uuid:contact_id>/route/", views.contact_route_view, name="contact_route"),
]

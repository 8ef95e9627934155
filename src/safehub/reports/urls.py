from django.urls import path

from safehub.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("csv/", views.figure_csv, name="csv"),
    path("national/", views.national, name="national"),
    path("national/csv/", views.national_csv, name="national_csv"),
    path("contacts/", views.contacts, name="contacts"),
]

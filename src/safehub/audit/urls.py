from django.urls import path

from safehub.audit import views

app_name = "audit"

urlpatterns = [
    path("export/", views.export_view, name="export"),
]

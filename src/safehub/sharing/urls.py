from django.urls import path

from safehub.sharing import views

app_name = "sharing"

urlpatterns = [
    path("", views.decision_list, name="decision_list"),
    path("export.csv", views.decision_export, name="decision_export"),
]

from django.urls import path

from safehub.returns import views

app_name = "returns"

urlpatterns = [
    path("", views.index, name="index"),
]

from django.urls import path

from safehub.risk import views

app_name = "risk"

urlpatterns = [
    path("", views.referral_list, name="referral_list"),
    path("<uuid:referral_id>/", views.referral_detail, name="referral_detail"),
    path("<uuid:referral_id>/decide/", views.referral_decide, name="referral_decide"),
]

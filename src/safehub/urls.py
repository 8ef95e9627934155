from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from safehub.api import api

urlpatterns = [
    path("", include("safehub.referrals.urls")),
    path("encompass/", include("safehub.encompass.urls")),
    path("marac/", include("safehub.risk.urls")),
    path("sign-in/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler403 = "safehub.web.views.forbidden"
handler404 = "safehub.web.views.not_found"
handler500 = "safehub.web.views.server_error"

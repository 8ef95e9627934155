from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from safehub.accounts.views import CodeView, RecoveryCodeView, SetUpView, SignInView
from safehub.api import api

urlpatterns = [
    path("", include("safehub.referrals.urls")),
    path("encompass/", include("safehub.encompass.urls")),
    path("marac/", include("safehub.risk.urls")),
    path("strategy-discussions/", include("safehub.meetings.urls")),
    path("sharing/", include("safehub.sharing.urls")),
    path("audit/", include("safehub.audit.urls")),
    path("reports/", include("safehub.reports.urls")),
    path("casework/", include("safehub.casework.urls")),
    path("people/", include("safehub.people.urls")),
    path("returns/", include("safehub.returns.urls")),
    path("sign-in/", SignInView.as_view(), name="login"),
    # The second step, after a right password (safehub.accounts.twofactor).
    path("sign-in/code/", CodeView.as_view(), name="signin_code"),
    path("sign-in/recovery-code/", RecoveryCodeView.as_view(), name="signin_recovery_code"),
    path("sign-in/set-up/", SetUpView.as_view(), name="signin_set_up"),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    # The admin signs in through the same page and lockout (before admin.site.urls, to win). A
    # person signed in without admin rights is sent here by the admin: show the form, no loop.
    path("admin/login/", SignInView.as_view(redirect_authenticated_user=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]

handler400 = "safehub.web.views.bad_request"
handler403 = "safehub.web.views.forbidden"
handler404 = "safehub.web.views.not_found"
handler500 = "safehub.web.views.server_error"

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.views.generic import FormView

from safehub.accounts.forms import (
    AuthenticatorCodeForm,
    RecoveryCodeForm,
    SetUpCodeForm,
    SignInForm,
)
from safehub.accounts.signin import (
    client_address,
    signin_complete,
    signin_locked_message,
    signin_locked_until,
    signin_refuse_locked,
)
from safehub.accounts.twofactor import (
    PendingSignIn,
    SignInPendingExpired,
    TwoFactorAlreadySetUp,
    recovery_code_display,
    signin_pending_clear,
    signin_pending_get,
    signin_pending_start,
    twofactor_is_set_up,
    twofactor_key_display,
    twofactor_qr_code,
    twofactor_set_up_confirm,
    twofactor_set_up_device,
    twofactor_sign_in_with_code,
    twofactor_sign_in_with_recovery_code,
)


class SignInView(LoginView):
    """The one sign-in page (the admin's login URL comes here too), with the lockout of
    SignInForm. With SAFEHUB_TWO_FACTOR a right password signs no one in: it starts a pending
    sign-in and sends the person to the code step (or to set up an authenticator), which calls
    `signin_complete`."""

    authentication_form = SignInForm
    redirect_authenticated_user = True

    def form_valid(self, form: SignInForm) -> HttpResponse:  # type: ignore[override]
        user = form.get_user()
        next_url = self.get_success_url()
        if not settings.SAFEHUB_TWO_FACTOR:
            signin_complete(request=self.request, user=user)
            return HttpResponseRedirect(next_url)
        signin_pending_start(request=self.request, user=user, next_url=next_url)
        return redirect("signin_code" if twofactor_is_set_up(user=user) else "signin_set_up")


def sign_in_again(next_url: str) -> str:
    """The sign-in page, keeping where the person was going unless it is the usual landing."""
    login = reverse("login")
    if not next_url or next_url == resolve_url(settings.LOGIN_REDIRECT_URL):
        return login
    return f"{login}?{urlencode({'next': next_url})}"


class PendingStepView(FormView):
    """A step after the password: only with a pending sign-in of this session, which ends
    SAFEHUB_TWO_FACTOR_PENDING_MINUTES after the password (back to the password, with why)."""

    pending: PendingSignIn

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not settings.SAFEHUB_TWO_FACTOR:
            return redirect("login")
        try:
            pending = signin_pending_get(request=request)
        except SignInPendingExpired as expired:
            minutes = settings.SAFEHUB_TWO_FACTOR_PENDING_MINUTES
            unit = "minute" if minutes == 1 else "minutes"
            messages.info(
                request,
                f"You did not finish signing in within {minutes} {unit}; sign in again",
            )
            return redirect(sign_in_again(expired.next_url))
        if pending is None:
            return redirect("login")
        self.pending = pending
        return super().dispatch(request, *args, **kwargs)


class CodeStepView(PendingStepView):
    """A step that checks a code against the (username, address) lock first, as the password
    step does: a locked pair is sent back to the password page, its code unchecked."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not twofactor_is_set_up(user=self.pending.user):
            return redirect("signin_set_up")
        username, address = self.pending.user.get_username(), client_address(request)
        if signin_locked_until(username=username, address=address) is not None:
            signin_refuse_locked(username=username, address=address)
            signin_pending_clear(request=request)
            messages.error(request, signin_locked_message())
            return redirect(sign_in_again(self.pending.next_url))
        return super().post(request, *args, **kwargs)


class CodeView(CodeStepView):
    """The code step: the code from the person's authenticator app."""

    template_name = "accounts/signin_code.html"
    form_class = AuthenticatorCodeForm

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not twofactor_is_set_up(user=self.pending.user):
            return redirect("signin_set_up")
        return super().get(request, *args, **kwargs)

    def form_valid(self, form: forms.Form) -> HttpResponse:
        code = form.cleaned_data["code"]
        if twofactor_sign_in_with_code(request=self.request, pending=self.pending, code=code):
            return HttpResponseRedirect(self.pending.next_url)
        form.add_error(
            "code",
            "The code is not right, or was used already: enter the code your "
            "authenticator app shows now",
        )
        return self.form_invalid(form)


class RecoveryCodeView(CodeStepView):
    """The code step with one of the person's recovery codes, each of which works once."""

    template_name = "accounts/signin_recovery_code.html"
    form_class = RecoveryCodeForm

    def form_valid(self, form: forms.Form) -> HttpResponse:
        left = twofactor_sign_in_with_recovery_code(
            request=self.request, pending=self.pending, code=form.cleaned_data["code"]
        )
        if left is None:
            form.add_error("code", "The recovery code is not right, or was used already")
            return self.form_invalid(form)
        codes = "1 recovery code" if left == 1 else f"{left} recovery codes"
        messages.info(
            self.request,
            f"You signed in with a recovery code: you have {codes} left. If you no longer have "
            "your authenticator app, ask your hub's administrator to reset your two-factor "
            "sign-in",
        )
        return HttpResponseRedirect(self.pending.next_url)


class SetUpView(PendingStepView):
    """Set up an authenticator app (the first sign-in, or after a reset): its QR code and key,
    then its first code; the recovery codes are shown once, on the answer to that code."""

    template_name = "accounts/signin_set_up.html"
    form_class = SetUpCodeForm

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except TwoFactorAlreadySetUp:
            # Set up already (in another tab, say): the code step, never a second device.
            return redirect("signin_code")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        device = twofactor_set_up_device(request=self.request, pending=self.pending)
        qr_code, qr_size = twofactor_qr_code(device)
        return super().get_context_data(
            qr_code=qr_code,
            qr_size=qr_size,
            key=twofactor_key_display(device),
            username=self.pending.user.get_username(),
            **kwargs,
        )

    def form_valid(self, form: forms.Form) -> HttpResponse:
        codes = twofactor_set_up_confirm(
            request=self.request, pending=self.pending, code=form.cleaned_data["code"]
        )
        if codes is None:
            form.add_error(
                "code",
                "The code is not right: check the app shows safehub, and enter the code it "
                "shows now",
            )
            return self.form_invalid(form)
        return render(
            self.request,
            "accounts/signin_recovery_codes.html",
            {
                "codes": [recovery_code_display(c) for c in codes],
                "next_url": self.pending.next_url,
            },
        )

import re
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from safehub.accounts.signin import (
    client_address,
    signin_fail,
    signin_locked_message,
    signin_locked_until,
    signin_refuse_locked,
)
from safehub.accounts.twofactor import code_normalise


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refused without a password check while the (username, address) pair
    is locked, and recording each wrong username or password towards that lock."""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password or self.request is None:
            return super().clean()  # a field is missing: its own error says so
        address = client_address(self.request)
        if signin_locked_until(username=username, address=address) is not None:
            signin_refuse_locked(username=username, address=address)
            # The same words whether or not the username exists.
            raise ValidationError(signin_locked_message(), code="locked")
        try:
            return super().clean()
        except ValidationError:
            signin_fail(username=username, address=address)
            raise


def _code_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=20,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "spellcheck": "false",
                "autocapitalize": "off",
            }
        ),
        error_messages={"required": "Enter the code from your authenticator app"},
    )


class AuthenticatorCodeForm(forms.Form):
    """The code from the person's authenticator app: six digits, spaces allowed."""

    code = _code_field(
        "Enter the code from your authenticator app",
        "Open the authenticator app on your phone and enter the 6-digit code it shows for safehub.",
    )

    def clean_code(self) -> str:
        code = code_normalise(self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError(
                "Enter the 6 digits your authenticator app shows", code="malformed"
            )
        return code


class SetUpCodeForm(AuthenticatorCodeForm):
    code = _code_field(
        "Code from your authenticator app",
        "The 6-digit code the app shows for safehub once you have added it.",
    )


class RecoveryCodeForm(forms.Form):
    """One of the person's single-use recovery codes."""

    code = forms.CharField(
        label="Enter a recovery code",
        help_text="One of the 10 codes you saved when you set up your authenticator app, for "
        "example abcd-2345. Each code works once.",
        max_length=40,
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off"}
        ),
        error_messages={"required": "Enter a recovery code"},
    )

    def clean_code(self) -> str:
        return code_normalise(self.cleaned_data["code"])

from typing import Any

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from safehub.accounts.signin import (
    client_address,
    signin_fail,
    signin_locked_message,
    signin_locked_until,
    signin_refuse_locked,
)


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

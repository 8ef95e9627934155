"""Authentication for the API: bearer tokens for integration clients, sessions for people."""

from typing import Any

from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, SessionAuth

from safehub.accounts.selectors import apiclient_by_token, apiclient_token_refusal


class TokenRefused(AuthenticationError):
    """A token that was good once: revoked, or replaced and past its rotation's overlap. The
    401 says which, so that the sender's operators know what to do."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(401, message)
        self.code = code


class ClientToken(HttpBearer):
    """`Authorization: Bearer <token>` of a police force's integration client."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        client = apiclient_by_token(token=token)
        if client is not None:
            request.api_client = client  # type: ignore[attr-defined]
            return client
        # Only on the way to a 401: a second look, to say why a known token is refused.
        refusal = apiclient_token_refusal(token=token)
        if refusal is not None:
            code, message = refusal
            raise TokenRefused(message, code=code)
        return None


class StaffSession(SessionAuth):
    """A signed-in person (the browser)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            request.api_client = None  # type: ignore[attr-defined]
        return user


client_token = ClientToken()
staff_session = StaffSession()

"""Authentication for the API: bearer tokens for integration clients, sessions for people."""

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from safehub.accounts.selectors import apiclient_by_token


class ClientToken(HttpBearer):
    """`Authorization: Bearer <token>` of a police force's integration client."""

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        client = apiclient_by_token(token=token)
        if client is not None:
            request.api_client = client  # type: ignore[attr-defined]
        return client


class StaffSession(SessionAuth):
    """A signed-in person (the browser)."""

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = super().authenticate(request, key)
        if user is not None:
            request.api_client = None  # type: ignore[attr-defined]
        return user


client_token = ClientToken()
staff_session = StaffSession()

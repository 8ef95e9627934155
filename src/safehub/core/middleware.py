import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse

from safehub.core.request_context import reset_request_id, set_request_id

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Give every request an id (or keep a well-formed `X-Request-ID`) and echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)
        response["X-Request-ID"] = request_id
        return response


class NoStoreMiddleware:
    """Pages and API answers carry personal data: no browser or proxy may keep a copy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store"
        return response


class AccessDeclaredMiddleware:
    """Fail closed: a page that the access matrix (core/access.py) does not declare is not
    served, whatever its view does. The API's operations are declared by operation in the
    matrix and checked by django-ninja's own authentication; the access matrix test walks both,
    so this only catches a page added without a declaration."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        from safehub.core.access import access_for_url

        match = request.resolver_match
        if match is None or match.namespaces[:1] == ["api"]:
            return None
        name = match.view_name if match.url_name else None
        if access_for_url(name, ":".join(match.namespaces), match.route) is None:
            log.error("refused %s: no access declaration for %s", request.path, name or match.route)
            raise Http404("No such page")
        return None

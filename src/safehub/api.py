"""The API under /api/v1/: one NinjaAPI, routers from each app, errors in one shape."""

import copy
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.http.request import RawPostDataException
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from safehub.core.api_auth import TokenRefused
from safehub.core.errors import DomainError
from safehub.core.ratelimit import ApiRateThrottle
from safehub.intake.api import router as intake_router
from safehub.intake.services import InvalidNotification
from safehub.intake.validation import NotificationBody
from safehub.meetings.api import router as meetings_router


class SafehubAPI(NinjaAPI):
    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> Any:
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        # The notification body is read raw (so it is kept byte for byte), so ninja does not see
        # its model: add it and the models it uses to the components.
        body = NotificationBody.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(body.pop("$defs", {}))
        components["NotificationBody"] = body
        # Every operation is rate-limited (the throttle is the API's, not each operation's).
        components["RateLimited"] = RateLimitedOut.model_json_schema()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                operation.setdefault("responses", {})["429"] = copy.deepcopy(RATE_LIMITED_RESPONSE)
        return schema


class RateLimitedOut(Schema):
    detail: str
    code: Literal["rate_limited"]


RATE_LIMITED_RESPONSE = {
    "description": (
        "Too many requests from this client or person (safehub.core.ratelimit): wait the "
        "seconds that Retry-After gives, then send again."
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds to wait before the next request.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RateLimited"}}},
}


api = SafehubAPI(
    title="safehub API",
    version="1",
    description=(
        "Police domestic-abuse notifications in, and the hub's records out. The notification "
        "contract is public: fields are never renamed or given a new meaning."
    ),
    urls_namespace="api",
    # On the API, so that every operation, a new one too, is limited: writes and reads per
    # client or person (safehub.core.ratelimit).
    throttle=ApiRateThrottle(),
)
api.add_router("/", intake_router)
api.add_router("/", meetings_router)


def _error(request: HttpRequest, status: int, detail: str, code: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(InvalidNotification)
def invalid_notification(request: HttpRequest, exc: InvalidNotification) -> HttpResponse:
    return api.create_response(request, {"errors": exc.errors}, status=422)


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, exc.status, exc.message, exc.code)


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    if isinstance(exc, TokenRefused):
        response = _error(request, 401, exc.message, exc.code)
    else:
        response = _error(
            request, 401, "Send a valid token: Authorization: Bearer <token>.", "unauthenticated"
        )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(Throttled)
def rate_limited(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # django-ninja adds Retry-After (the throttle's wait) to this answer.
    wait = f" Try again in {exc.wait:.0f} seconds." if exc.wait else ""
    return _error(request, 429, f"Too many requests.{wait}", "rate_limited")


@api.exception_handler(NinjaValidationError)
def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [{"loc": list(e.get("loc", [])), "msg": e.get("msg", "")} for e in exc.errors]
    return api.create_response(request, {"errors": errors}, status=422)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, str(exc), "error")


@api.exception_handler(RawPostDataException)
def raw_post_data(request: HttpRequest, exc: RawPostDataException) -> HttpResponse:
    return _error(request, 400, "The body could not be read.", "unreadable_body")

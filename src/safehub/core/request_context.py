"""The request id of the request in progress, for the audit log and the logs."""

import uuid
from contextvars import ContextVar

_request_id: ContextVar[str | None] = ContextVar("safehub_request_id", default=None)


def get_request_id() -> str:
    """The current request's id, or a fresh one for work outside a request (CLI, worker)."""
    value = _request_id.get()
    if value is None:
        value = uuid.uuid4().hex
        _request_id.set(value)
    return value


def set_request_id(value: str | None) -> object:
    return _request_id.set(value)


def reset_request_id(token: object) -> None:
    _request_id.reset(token)  # type: ignore[arg-type]

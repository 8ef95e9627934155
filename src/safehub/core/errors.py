"""Domain errors that the API and the pages turn into HTTP answers."""


class DomainError(Exception):
    """A request that the domain refuses. `status` is the HTTP status it maps to."""

    status = 400

    def __init__(self, message: str, *, code: str = "refused") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(DomainError):
    """Absent, or outside the caller's scope: the two are never told apart."""

    status = 404


class PermissionDenied(DomainError):
    status = 403


class Conflict(DomainError):
    """The request clashes with the record's state or with an earlier request."""

    status = 409

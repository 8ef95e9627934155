"""The API against its own OpenAPI document, fuzzed with schemathesis: every operation of the
document, 100 generated requests each that follow the schema and 100 that break it. No 5xx; every
response as documented (status code, content type, body schema, headers); a request that breaks
the schema is refused with a 4xx.

The Django application runs in process (WSGI) with an integration client's token for the
Merseyside force; the data each example writes stays in the test's transaction.

One check is left out: that every request the schema allows is accepted. The contract has rules
across fields that JSON Schema does not state (a notification names a victim; a child has a date
of birth or an estimated age; a postcode is a UK one; a time is not in the future), so a
schema-valid body may rightly get the 422 the document lists, naming each problem."""

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode

pytestmark = pytest.mark.fuzz

EXAMPLES = 100


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """The WSGI handler closes the database connection after each request (request_finished),
    which would end the test's transaction on PostgreSQL: do what Django's test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def operations():
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
    return [result.ok() for result in schema.get_all_operations()]


# The operations an integration client calls with its token; every other one is a signed-in
# person's, called with the session cookie of Wirral's hub manager.
CLIENT_OPERATIONS = {
    "POST /api/v1/notifications",
    "PUT /api/v1/notifications/{force_code}/{incident_reference}",
    "GET /api/v1/notifications/{force_code}/{incident_reference}",
}
SESSION_OPERATIONS = {
    "GET /api/v1/strategy-discussions",
    "GET /api/v1/strategy-discussions/{discussion_id}",
    "GET /api/v1/reports/strategy-discussions",
}


@pytest.fixture
def credentials(msp_token, make_user):
    """What each operation is called with: the force's token, or a manager's session cookie."""
    from django.conf import settings as django_settings
    from django.test import Client

    client = Client()
    client.force_login(make_user("mary", "LA344", "hub_manager"))
    name = django_settings.SESSION_COOKIE_NAME
    session = {name: client.cookies[name].value}

    def given_to(case: Any) -> dict[str, Any]:
        """The token as a header; the session as the case's own cookie, where schemathesis's
        authentication checks know to take it away. Where the fuzzer broke the cookie on purpose
        (negative mode), its broken session is sent: it must be refused."""
        if case.operation.label in CLIENT_OPERATIONS:
            return {"headers": {"Authorization": f"Bearer {msp_token}"}}
        cookie = case.meta.components.get(ParameterLocation.COOKIE) if case.meta else None
        if cookie is None or cookie.mode != GenerationMode.NEGATIVE:
            case.cookies = {**(case.cookies or {}), **session}
        return {}

    return given_to


# One person's session calls every session operation a hundred times: above the per-person
# read limit, which its own test below checks.
@override_settings(SAFEHUB_API_READS_PER_MINUTE=100_000)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(reference, credentials, mode):
    found = operations()
    assert {op.label for op in found} == CLIENT_OPERATIONS | SESSION_OPERATIONS, (
        "a new operation: check it is fuzzed as it should be"
    )
    calls: dict[str, int] = {}
    answers: dict[str, set[int]] = {}
    for operation in found:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case):
            calls[operation.label] = calls.get(operation.label, 0) + 1
            response = case.call_and_validate(
                **credentials(case),
                excluded_checks=[positive_data_acceptance],
            )
            answers.setdefault(operation.label, set()).add(response.status_code)

        call()
    assert all(n >= EXAMPLES for n in calls.values()), calls
    if mode == GenerationMode.POSITIVE:
        # The session reached past sign-in: the person's lists and figures were answered.
        for label in (
            "GET /api/v1/strategy-discussions",
            "GET /api/v1/reports/strategy-discussions",
        ):
            assert 200 in answers[label], (label, answers[label])


@override_settings(
    SAFEHUB_API_READS_PER_MINUTE=1, SAFEHUB_API_WRITES_PER_SECOND=1, SAFEHUB_API_WRITES_PER_HOUR=1
)
def test_rate_limited_answers_are_as_documented(reference, credentials):
    """With every limit at one request, nearly every answer is the 429: its status, headers
    (Retry-After) and body checked against the document as above."""
    statuses: dict[str, set[int]] = {}
    for operation in operations():

        @given(case=operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
        def call(case):
            response = case.call_and_validate(
                **credentials(case),
                excluded_checks=[positive_data_acceptance],
            )
            statuses.setdefault(operation.label, set()).add(response.status_code)

        call()
    assert len(statuses) == len(CLIENT_OPERATIONS | SESSION_OPERATIONS)
    assert all(429 in found for found in statuses.values()), repr(statuses)

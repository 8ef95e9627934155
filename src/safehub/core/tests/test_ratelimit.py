"""Rate limits against bulk extraction: the API per client or person, record pages per person."""

import datetime as dt
import threading

import jsonschema_rs
import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from safehub.accounts.models import ApiClient, RateBucket
from safehub.audit.models import AuditEvent
from safehub.core import clock
from safehub.core.ratelimit import Rate, api_write_rates, rate_take
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel, Notification
from safehub.intake.services import notification_receive
from safehub.referrals.models import Contact

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
URL = "/api/v1/notifications"
READ = f"{URL}/MSP/MSP-26-004821"
PAGE_LIMIT = "safehub.core.ratelimit.PageRateLimitMiddleware"


def at(seconds: float):
    return clock.frozen(T0 + dt.timedelta(seconds=seconds))


def post(client, token: str, body: bytes = b"{}"):
    return client.post(
        URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


def get(client, token: str | None = None, url: str = READ):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.get(url, **headers)


def assert_rate_limited(response, retry_after: str) -> None:
    assert response.status_code == 429
    assert response["Retry-After"] == retry_after
    body = response.json()
    assert body["code"] == "rate_limited"
    assert body["detail"].startswith("Too many requests.")


# The algorithm ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_burst_of_the_limit_is_allowed_then_one_per_interval():
    rate = Rate(120, 60)  # a burst of 120, then one every half second
    with at(0):
        assert all(rate_take("k", [rate]) is None for _ in range(120))
        assert rate_take("k", [rate]) == 0.5
    with at(0.49):
        assert rate_take("k", [rate]) == pytest.approx(0.01)
    with at(0.5):
        assert rate_take("k", [rate]) is None
        assert rate_take("k", [rate]) == 0.5
    with at(60.5):  # a minute after the last one taken: the whole burst again
        assert all(rate_take("k", [rate]) is None for _ in range(120))
        assert rate_take("k", [rate]) is not None


@pytest.mark.django_db
def test_a_request_refused_by_one_limit_is_not_counted_by_the_other():
    burst, hourly = Rate(5, 1), Rate(8, 3600)
    with at(0):
        assert [rate_take("k", [hourly, burst]) is None for _ in range(6)] == [True] * 5 + [False]
    with at(1):
        # The refused sixth did not use up the hourly allowance: three more go through.
        assert [rate_take("k", [hourly, burst]) is None for _ in range(4)] == [True] * 3 + [False]


@pytest.mark.django_db
def test_the_intake_benchmark_pace_is_never_refused():
    """100 notifications a second for 40 seconds from one token (benchmarks/intake.py), then
    ten seconds of its saturation run (160 a second measured), under the default write limits."""
    rates = api_write_rates()
    assert rates == [Rate(200, 1), Rate(20_000, 3600)]
    refused = 0
    for i in range(4000):
        with at(i / 100):
            refused += rate_take("api-write:client:1", rates) is not None
    for i in range(1600):
        with at(40 + i / 160):
            refused += rate_take("api-write:client:1", rates) is not None
    assert refused == 0
    # A burst of 200 at one instant passes; the 201st waits.
    with at(100):
        assert all(rate_take("api-write:client:2", rates) is None for _ in range(200))
        assert rate_take("api-write:client:2", rates) == pytest.approx(0.005)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite serialises writes (and its in-memory test database refuses a second writer)",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_processes_never_let_more_than_the_limit_through():
    """Eight threads, each with its own database connection, 25 requests each at one instant
    against a burst of 100: exactly 100 go through."""
    rate = Rate(100, 60)
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker():
        try:
            start.wait()
            results = [rate_take("api-read:client:9", [rate]) is None for _ in range(25)]
            with lock:
                allowed.extend(results)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    with at(0):  # the clock is the process's: held here, for every thread
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    close_old_connections()
    assert len(allowed) == 200
    assert allowed.count(True) == 100


# The API -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_writes_over_the_limit_get_429_with_retry_after_and_store_nothing(
    client, settings, msp_token
):
    settings.SAFEHUB_API_WRITES_PER_SECOND = 2
    settings.SAFEHUB_API_WRITES_PER_HOUR = 0  # off
    with at(0):
        assert post(client, msp_token).status_code == 422  # counted, then refused as invalid
        assert post(client, msp_token).status_code == 422
        response = post(client, msp_token, example_bytes("notification-high-risk.json"))
    assert_rate_limited(response, "1")
    assert not Notification.objects.exists()
    assert not AuditEvent.objects.exists()
    with at(1):
        response = post(client, msp_token, example_bytes("notification-high-risk.json"))
    assert response.status_code == 201


@pytest.mark.django_db
def test_the_hourly_write_limit_says_how_long_to_wait(client, settings, msp_token):
    settings.SAFEHUB_API_WRITES_PER_SECOND = 0
    settings.SAFEHUB_API_WRITES_PER_HOUR = 3  # one every 20 minutes after the burst
    with at(0):
        for _ in range(3):
            post(client, msp_token)
        response = post(client, msp_token)
    assert_rate_limited(response, "1200")
    assert response.json()["detail"] == "Too many requests. Try again in 1200 seconds."


@pytest.mark.django_db
def test_reads_are_limited_per_client_and_each_client_counts_alone(
    client, settings, msp_token, chs_token
):
    settings.SAFEHUB_API_READS_PER_MINUTE = 120
    with at(0):
        answers = [get(client, msp_token).status_code for _ in range(120)]
        assert set(answers) == {404}
        assert_rate_limited(get(client, msp_token), "1")
        assert get(client, chs_token).status_code == 404
    with at(0.5):
        assert get(client, msp_token).status_code == 404


@pytest.mark.django_db
def test_reads_and_writes_are_counted_apart(client, settings, msp_token):
    settings.SAFEHUB_API_READS_PER_MINUTE = 1
    with at(0):
        assert get(client, msp_token).status_code == 404
        assert get(client, msp_token).status_code == 429
        assert post(client, msp_token).status_code == 422


@pytest.mark.django_db
def test_reads_are_limited_per_signed_in_person(client, settings, msp_token, alice, bob):
    settings.SAFEHUB_API_READS_PER_MINUTE = 2
    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    client.force_login(alice)
    with at(0):
        assert get(client).status_code == 200
        assert get(client).status_code == 200
        assert_rate_limited(get(client), "30")
        # The person's limit is theirs: the force's client, and Bob, still read.
        assert get(client, msp_token).status_code == 200
        client.force_login(bob)
        assert get(client).status_code == 404
    assert AuditEvent.objects.filter(action="view", user=alice).count() == 2


@pytest.mark.django_db
def test_a_request_that_fails_authentication_is_not_counted(client, settings, msp_token):
    settings.SAFEHUB_API_READS_PER_MINUTE = 1
    with at(0):
        for _ in range(5):
            assert get(client, "shb_not-a-token").status_code == 401
        assert get(client).status_code == 401
    assert not RateBucket.objects.exists()


@pytest.mark.django_db
def test_the_document_lists_the_429_and_the_answer_matches_it(client, settings, msp_token):
    schema = client.get("/api/v1/openapi.json").json()
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        answer = operation["responses"]["429"]
        assert answer["headers"]["Retry-After"]["required"] is True
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/RateLimited"
        }
    settings.SAFEHUB_API_READS_PER_MINUTE = 1
    with at(0):
        get(client, msp_token)
        response = get(client, msp_token)
    assert response.status_code == 429
    component = schema["components"]["schemas"]["RateLimited"]
    jsonschema_rs.validate(component, response.json())
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db
def test_a_revoked_client_row_is_untouched_by_the_limits(client, settings, msp_token):
    """The buckets are their own table: counting never writes to the client's row."""
    before = ApiClient.objects.values().get()
    with at(0):
        get(client, msp_token)
        post(client, msp_token)
    assert ApiClient.objects.values().get() == before
    assert RateBucket.objects.count() == 3  # the read bucket, and the write's two


# Pages -----------------------------------------------------------------------------------------


@pytest.fixture
def page_limit(settings):
    if PAGE_LIMIT not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, PAGE_LIMIT]
    settings.SAFEHUB_PAGE_VIEWS_PER_MINUTE = 3
    settings.SAFEHUB_PAGE_RATE_LIMITED = ["referrals:contact_detail", "encompass:notice_detail"]
    return settings


@pytest.fixture
def contact(reference):
    raw = example_bytes("notification-two-authorities.json")
    notification_receive(raw=raw, channel=Channel.API)
    return Contact.objects.get(child_ref="C1")


def contact_page(client, contact):
    return client.get(reverse("referrals:contact_detail", args=[contact.pk]))


def test_a_person_opening_records_too_fast_gets_a_429_page(client, page_limit, alice, contact):
    client.force_login(alice)
    with at(0):
        assert [contact_page(client, contact).status_code for _ in range(3)] == [200] * 3
        response = contact_page(client, contact)
    assert response.status_code == 429
    assert response["Retry-After"] == "20"
    page = response.content.decode()
    assert "You have opened too many records in a short time" in page
    assert "Try again in 20 seconds." in page
    assert "Ravi" not in page
    # The refused view did not run: three views audited, not four.
    assert AuditEvent.objects.filter(action="view", object_id=str(contact.pk)).count() == 3
    with at(20):
        assert contact_page(client, contact).status_code == 200


def test_the_listed_pages_count_together_and_others_not_at_all(client, page_limit, alice, contact):
    client.force_login(alice)
    with at(0):
        for _ in range(10):
            assert client.get(reverse("referrals:queue")).status_code == 200
        contact_page(client, contact)
        contact_page(client, contact)
        # A notice page that does not exist still counts: the limit is on asking.
        missing = "00000000-0000-0000-0000-000000000000"
        client.get(reverse("encompass:notice_detail", args=[missing]))
        assert contact_page(client, contact).status_code == 429


def test_each_person_has_their_own_page_limit(client, page_limit, alice, mary, contact):
    with at(0):
        client.force_login(alice)
        for _ in range(3):
            contact_page(client, contact)
        assert contact_page(client, contact).status_code == 429
        client.force_login(mary)
        assert contact_page(client, contact).status_code == 200


def test_a_person_not_signed_in_is_sent_to_sign_in_not_counted(client, page_limit, contact):
    for _ in range(5):
        assert contact_page(client, contact).status_code == 302
    assert not RateBucket.objects.exists()


def test_a_page_limit_of_zero_is_off(client, page_limit, alice, contact):
    page_limit.SAFEHUB_PAGE_VIEWS_PER_MINUTE = 0
    client.force_login(alice)
    with at(0):
        assert {contact_page(client, contact).status_code for _ in range(5)} == {200}

"""Request size limits: the notification API's 1 MiB, Django's 1 MiB for forms, and the 2 MiB
cap on any declared body (multipart files included) before anything reads it."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from safehub.audit.models import AuditEvent
from safehub.core.testing import example, example_bytes
from safehub.intake.models import Notification, NotificationVersion
from safehub.referrals.models import Contact

URL = "/api/v1/notifications"
SIZE_LIMIT = "safehub.core.ratelimit.RequestSizeLimitMiddleware"
TWO_MB = 2_000_000


@pytest.fixture
def size_limit(settings):
    if SIZE_LIMIT not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [SIZE_LIMIT, *settings.MIDDLEWARE]
    return settings


def padded(name: str, size: int) -> bytes:
    """The example notification with its summary grown to make the body `size` bytes long."""
    body = example(name)
    body["summary"] = ""
    short = len(json.dumps(body).encode())
    body["summary"] = "x" * (size - short)
    raw = json.dumps(body).encode()
    assert len(raw) == size
    return raw


def nothing_stored() -> bool:
    return not (
        Notification.objects.exists()
        or NotificationVersion.objects.exists()
        or Contact.objects.exists()
        or AuditEvent.objects.exists()
    )


@pytest.mark.django_db
@pytest.mark.parametrize("middleware", [False, True], ids=["api-only", "with-size-limit"])
def test_a_two_megabyte_notification_is_refused_with_413_and_nothing_stored(
    client, settings, msp_token, middleware
):
    rest = [m for m in settings.MIDDLEWARE if m != SIZE_LIMIT]
    settings.MIDDLEWARE = [SIZE_LIMIT, *rest] if middleware else rest
    response = client.post(
        URL,
        data=padded("notification-high-risk.json", TWO_MB),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {msp_token}",
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The body is larger than 1048576 bytes.",
        "code": "too_large",
    }
    assert nothing_stored()


@pytest.mark.django_db
def test_a_two_megabyte_amendment_is_refused_and_the_notification_unchanged(client, msp_token):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {msp_token}"}
    first = example_bytes("notification-high-risk.json")
    assert (
        client.post(URL, data=first, content_type="application/json", **headers).status_code == 201
    )
    response = client.put(
        f"{URL}/MSP/MSP-26-004821",
        data=padded("notification-high-risk.json", TWO_MB),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 413
    assert NotificationVersion.objects.count() == 1
    assert Notification.objects.get().current_version == 1


@pytest.mark.django_db
def test_a_body_over_the_cap_is_refused_before_authentication(client, size_limit):
    """Over SAFEHUB_MAX_REQUEST_BYTES (2 MiB), the middleware answers, in the API's shape, with no
    token asked for and no byte of the body read."""
    response = client.post(URL, data=b"x" * (3 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The body is larger than 2097152 bytes.",
        "code": "too_large",
    }
    assert nothing_stored()


@pytest.mark.django_db
def test_a_huge_form_to_the_sign_in_page_is_refused(client):
    response = client.post(reverse("login"), {"username": "alice", "password": "x" * TWO_MB})
    assert response.status_code == 400


def test_a_huge_form_to_a_page_is_refused_and_nothing_stored(client, alice):
    client.force_login(alice)
    response = client.post(reverse("referrals:contact_new"), {"summary": "x" * TWO_MB})
    assert response.status_code == 400
    assert not Contact.objects.exists()


def test_thousands_of_form_fields_are_refused(client, alice):
    client.force_login(alice)
    fields = {f"f{i}": "1" for i in range(1500)}
    response = client.post(reverse("referrals:contact_new"), fields)
    assert response.status_code == 400
    assert not Contact.objects.exists()


@pytest.mark.django_db
def test_a_large_file_upload_to_a_page_is_refused_with_the_cap(client, size_limit):
    """Django's DATA_UPLOAD_MAX_MEMORY_SIZE leaves out the files of a multipart body (it would
    write them to a temporary file): the cap on the declared length catches them."""
    upload = SimpleUploadedFile("big.bin", b"\0" * (3 * 1024 * 1024))
    response = client.post(reverse("login"), {"username": "alice", "file": upload})
    assert response.status_code == 413
    assert response["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_a_normal_request_passes_the_cap(client, size_limit, msp_token):
    response = client.post(
        URL,
        data=example_bytes("notification-high-risk.json"),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {msp_token}",
    )
    assert response.status_code == 201

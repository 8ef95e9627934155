"""Data at rest (security issue, item 7): a password, a token, a victim's address, safe phone
number and NHS number planted in requests appear in no log line, and the address, phone and NHS
number appear nowhere in plaintext in a dump of the database.

The requests are the real ones: a notification sent through the API with a force's token, a
notification that fails the contract (422), a sign-in with a wrong password, the notification read
back through the API and on the contact page, and the Encompass e-mail delivered by the outbox.
Every log record of the whole test is captured at DEBUG (the root logger, django.request and
django.db.backends, which logs each SQL statement with its parameters when DEBUG is on).

Production runs with DEBUG off; the same test with DEBUG on shows that the SQL log, which then
holds every statement's parameters, holds only tokens for the encrypted fields.
"""

import json
import logging
import shutil
import subprocess

import pytest
from django.core import mail
from django.db import connection
from django.urls import reverse

from safehub.core.outbox import outbox_deliver_due
from safehub.core.testing import example
from safehub.referrals.models import Contact

URL = "/api/v1/notifications"
ADDRESS = "17 Plantedsecret Street"
PHONE = "07700 900 111"
NHS_NUMBER = "943 476 5919"  # check digit valid
PASSWORD = "Planted-Wrong-Password-4417"
REFERENCE = "MSP-26-PLANTED1"

# What a dump must not show, in every spelling the stored data could take.
AT_REST = [ADDRESS, "Plantedsecret", PHONE, PHONE.replace(" ", ""), NHS_NUMBER, "9434765919"]


def planted_body(reference: str = REFERENCE) -> dict:
    """The high-risk example with the planted address (the incident's, the victim's and so the
    children's), the victim's safe phone and NHS number, and the child's NHS number."""
    body = example("notification-high-risk.json")
    body["incident_reference"] = reference
    body["incident_address"]["line1"] = ADDRESS
    victim, _, amy, _ = body["people"]
    victim["address"]["line1"] = ADDRESS
    victim["safe_contact"]["phone"] = PHONE
    victim["identifiers"] = {"nhs_number": NHS_NUMBER}
    amy["identifiers"] = {"nhs_number": NHS_NUMBER}
    return body


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.request", "django.db.backends", "django.security", "safehub"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def log_text(caplog) -> str:
    """Every record as a handler would write it, with its arguments and anything extra."""
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or ""]
        parts.append(repr({k: v for k, v in vars(record).items() if k not in ("msg", "args")}))
    return "\n".join(parts)


def database_dump() -> bytes:
    """The whole test database: `pg_dump` on PostgreSQL; on SQLite, every column of every row
    of every table."""
    if connection.vendor == "postgresql":
        settings = connection.settings_dict
        command = [
            "pg_dump",
            "--data-only",
            "-h",
            settings["HOST"] or "127.0.0.1",
            "-p",
            str(settings["PORT"] or 5432),
            "-U",
            settings["USER"] or "postgres",
            settings["NAME"],
        ]
        return subprocess.run(command, check=True, capture_output=True, timeout=120).stdout
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f'SELECT * FROM "{table}"')
            for row in cursor.fetchall():
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        chunks.append(bytes(value))
                    elif value is not None:
                        chunks.append(str(value).encode())
    return b"\n".join(chunks)


def found_in(dump: bytes, secret: str) -> bool:
    """Whether the secret is in the dump as text, or as the hex a bytea column is dumped in."""
    data = secret.encode()
    return data in dump or data.hex().encode() in dump.lower()


@pytest.mark.skipif(
    connection.vendor == "postgresql" and shutil.which("pg_dump") is None,
    reason="pg_dump is not installed",
)
@pytest.mark.django_db(transaction=True)  # committed, so that pg_dump sees it
@pytest.mark.parametrize("debug", [False, True], ids=["debug-off", "debug-on"])
def test_planted_secrets_reach_no_log_and_no_dump(
    client, msp_token, alice, frozen_now, settings, all_logs, debug
):
    settings.DEBUG = debug
    auth = {"HTTP_AUTHORIZATION": f"Bearer {msp_token}"}

    sent = client.post(
        URL, data=json.dumps(planted_body()), content_type="application/json", **auth
    )
    assert sent.status_code == 201, sent.content
    refused = planted_body("MSP-26-PLANTED2")
    refused["occurred_at"] = "yesterday"
    failed = client.post(URL, data=json.dumps(refused), content_type="application/json", **auth)
    assert failed.status_code == 422
    read = client.get(f"{URL}/MSP/{REFERENCE}", **auth)
    assert read.status_code == 200
    assert read.json()["body"]["people"][0]["safe_contact"]["phone"] == PHONE  # as sent

    wrong = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session
    client.force_login(alice)
    amy = Contact.objects.get(notification__incident_reference=REFERENCE, child_ref="C1")
    page = client.get(reverse("referrals:contact_detail", args=[amy.pk]))
    assert page.status_code == 200 and ADDRESS in page.content.decode()  # shown to the hub

    assert outbox_deliver_due() == 1  # the school's Encompass e-mail
    [email] = mail.outbox
    assert f"Where: {ADDRESS}" in email.body  # the school is told where: its statutory need

    logs = log_text(all_logs)
    if debug:
        assert "INSERT INTO" in logs  # the SQL log was on, parameters and all
    for secret in [*AT_REST, PASSWORD, msp_token]:
        assert secret not in logs, f"{secret!r} is in the logs"

    dump = database_dump()
    assert REFERENCE.encode() in dump  # the right database, and a plaintext column dumped
    for secret in [*AT_REST, PASSWORD, msp_token]:
        assert not found_in(dump, secret), f"{secret!r} is in the database in plaintext"


def test_template_debug_records_never_reach_a_handler_even_after_logging_is_reconfigured(
    settings,
):
    """At DEBUG, django.template logs each variable a template misses with the whole context
    (the contact page's: the notification). Dropped, even once logging is configured again
    (a second `django.setup()` does it, and resets the levels of loggers below "django")."""
    from django.utils.log import configure_logging

    configure_logging(settings.LOGGING_CONFIG, settings.LOGGING)
    kept: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = kept.append  # type: ignore[method-assign]
    template_log = logging.getLogger("django.template")
    level = template_log.level
    template_log.addHandler(handler)
    template_log.setLevel(logging.DEBUG)
    try:
        template_log.debug("context: %s", ADDRESS)
        template_log.warning("a template warning is kept")
    finally:
        template_log.removeHandler(handler)
        template_log.setLevel(level)
    assert [r.getMessage() for r in kept] == ["a template warning is kept"]

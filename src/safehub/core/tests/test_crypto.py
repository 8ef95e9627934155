"""The most dangerous fields are encrypted at rest: the request body (victim's address, safe
phone, NHS numbers), the child's address, the Encompass subset and the outbox's e-mail text.

Each reads back what was written, whichever path wrote it; the column holds a token only; a key
is rotated without losing a row; a value no key opens fails loudly, naming the field; and the
database is never asked to filter by what it cannot read."""

import datetime as dt
import io
import json
import stat

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError, ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor

from safehub.core import clock, crypto
from safehub.core.fields import encrypted_columns
from safehub.core.models import OutboxMessage
from safehub.core.testing import example_bytes, migrate_to
from safehub.encompass.models import EncompassNotice
from safehub.intake.models import Channel, Notification, NotificationVersion
from safehub.intake.services import notification_receive, notifications_receive_batch
from safehub.referrals.models import Contact

KEY_A = crypto.key_generate()
KEY_B = crypto.key_generate()
HIGH_RISK = "notification-high-risk.json"
ADDRESS = b"14 Example Road"  # the incident address of the high-risk example
TOKEN_START = b"gAAAAA"  # every Fernet token (version byte 0x80, then the time)

COLUMNS = [
    (NotificationVersion, "body"),
    (Contact, "address"),
    (EncompassNotice, "content"),
    (OutboxMessage, "body"),
]


def raw_values(model, field_name: str) -> list[bytes]:
    """What the database holds in a column, read past the ORM."""
    column = model._meta.get_field(field_name).column
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {model._meta.db_table}")
        values = [row[0] for row in cursor.fetchall()]
    return [v.encode() if isinstance(v, str) else bytes(v) for v in values]


def assert_tokens_only(model, field_name: str, *, key: str | None = None) -> None:
    values = raw_values(model, field_name)
    assert values, f"no {model.__name__} rows"
    for value in values:
        assert value.startswith(TOKEN_START)
        assert ADDRESS not in value and b"Example Road" not in value
        if key is not None:
            Fernet(key).decrypt(value)  # made under this key


@pytest.fixture
def received(reference):
    """The high-risk example, received: a version, two contacts, one Encompass notice and its
    e-mail, each with the incident address."""
    return notification_receive(raw=example_bytes(HIGH_RISK), channel=Channel.API)


@pytest.fixture
def key_a(settings):
    settings.SAFEHUB_FIELD_KEYS = [KEY_A]
    return settings


@pytest.mark.django_db
def test_each_field_reads_back_what_was_written_and_the_column_holds_a_token(received):
    version = NotificationVersion.objects.get()
    assert bytes(version.body) == example_bytes(HIGH_RISK)
    amy = Contact.objects.get(child_ref="C1")
    assert amy.address == {
        "line1": "14 Example Road",
        "line2": None,
        "town": "Birkenhead",
        "postcode": "CH41 6AB",
    }
    assert amy.postcode == "CH41 6AB"  # routing reads it: plaintext
    notice = EncompassNotice.objects.get()
    assert notice.content["incident_address"]["line1"] == "14 Example Road"
    assert notice.police_reference == "MSP-26-004821"
    message = OutboxMessage.objects.get()
    assert "Where: 14 Example Road, Birkenhead, CH41 6AB" in message.body
    assert message.attachments == []
    for model, name in COLUMNS:
        assert_tokens_only(model, name)


@pytest.mark.django_db
def test_values_list_and_update_go_through_the_encryption(received):
    amy = Contact.objects.get(child_ref="C1")
    moved = {"line1": "1 New Street", "town": "Liverpool", "postcode": "L8 1AA"}
    assert Contact.objects.filter(pk=amy.pk).update(address=moved) == 1
    assert list(Contact.objects.filter(pk=amy.pk).values_list("address", flat=True)) == [moved]
    assert Contact.objects.filter(pk=amy.pk).values("address")[0]["address"] == moved
    assert all(b"New Street" not in v for v in raw_values(Contact, "address"))
    OutboxMessage.objects.update(body="Changed text")
    assert list(OutboxMessage.objects.values_list("body", flat=True)) == ["Changed text"]
    assert_tokens_only(OutboxMessage, "body")


@pytest.mark.django_db
def test_bulk_create_and_bulk_update_encrypt():
    now = clock.now()
    messages = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(
                recipients=["dsl@school.example"],
                subject="s",
                body=f"Where: {n} Example Road",
                attachments=[{"filename": "a.txt", "content_base64": "eA=="}],
                reason="test",
                next_attempt_at=now,
                created_at=now,
            )
            for n in range(3)
        ]
    )
    assert_tokens_only(OutboxMessage, "body")
    assert_tokens_only(OutboxMessage, "attachments")
    for message in messages:
        message.body = message.body.replace("Where", "Now")
    OutboxMessage.objects.bulk_update(messages, ["body"])
    assert sorted(OutboxMessage.objects.values_list("body", flat=True)) == [
        f"Now: {n} Example Road" for n in range(3)
    ]
    assert_tokens_only(OutboxMessage, "body")
    assert OutboxMessage.objects.first().attachments[0]["filename"] == "a.txt"


@pytest.mark.django_db
def test_the_batch_path_stores_tokens_through_copy_on_postgresql(reference):
    """`notifications_receive_batch` writes with COPY on PostgreSQL (each field's
    `get_db_prep_save`) and bulk_create elsewhere: tokens either way, the body byte for byte."""
    raw = example_bytes(HIGH_RISK)
    with transaction.atomic():
        [receipt] = notifications_receive_batch([raw], channel=Channel.IMPORT, now=clock.now())
    assert receipt.created
    assert bytes(NotificationVersion.objects.get().body) == raw
    assert Contact.objects.get(child_ref="C1").address["line1"] == "14 Example Road"
    assert EncompassNotice.objects.get().content["incident_address"]["postcode"] == "CH41 6AB"
    for model, name in COLUMNS:
        assert_tokens_only(model, name)


@pytest.mark.django_db
def test_a_row_written_under_an_old_key_reads_once_a_new_key_leads_and_rotation_retires_it(
    key_a, reference
):
    notification_receive(raw=example_bytes(HIGH_RISK), channel=Channel.API)
    for model, name in COLUMNS:
        assert_tokens_only(model, name, key=KEY_A)

    key_a.SAFEHUB_FIELD_KEYS = [KEY_B, KEY_A]  # the new key first; the old one still opens
    assert bytes(NotificationVersion.objects.get().body) == example_bytes(HIGH_RISK)
    out = io.StringIO()
    call_command("keys", "rotate", "--batch-size", "1", stdout=out)
    text = out.getvalue()
    assert "intake.NotificationVersion.body: 1 re-encrypted" in text
    assert "referrals.Contact.address: 1 re-encrypted" in text
    assert "referrals.Contact.address: 2 re-encrypted" in text  # one line per batch
    # body and attachments of one message, two contacts, one notice, one version; the strategy
    # discussions' columns hold nothing yet.
    columns = len(list(encrypted_columns()))
    assert f"Re-encrypted 6 values in {columns} columns with the current key." in text

    key_a.SAFEHUB_FIELD_KEYS = [KEY_B]  # the old key is gone
    for model, name in COLUMNS:
        assert_tokens_only(model, name, key=KEY_B)
    assert bytes(NotificationVersion.objects.get().body) == example_bytes(HIGH_RISK)
    assert Contact.objects.get(child_ref="C1").address["line1"] == "14 Example Road"
    assert "14 Example Road" in OutboxMessage.objects.get().body

    # Again: the same rows rewritten under the same key, nothing lost.
    again = io.StringIO()
    call_command("keys", "rotate", stdout=again)
    assert f"Re-encrypted 6 values in {columns} columns" in again.getvalue()
    assert EncompassNotice.objects.get().content["child"]["given_names"] == "Amy"


@pytest.mark.django_db
def test_a_value_no_key_opens_raises_an_error_naming_the_field(key_a, reference):
    notification_receive(raw=example_bytes(HIGH_RISK), channel=Channel.API)
    key_a.SAFEHUB_FIELD_KEYS = [KEY_B]  # KEY_A lost
    with pytest.raises(crypto.DecryptionError, match=r"^intake\.NotificationVersion\.body: "):
        NotificationVersion.objects.get()
    with pytest.raises(crypto.DecryptionError, match=r"referrals\.Contact\.address"):
        list(Contact.objects.values_list("address", flat=True))
    with pytest.raises(CommandError, match=r"cannot be decrypted .* so it cannot be re-encrypted"):
        call_command("keys", "rotate", stdout=io.StringIO())


@pytest.mark.django_db
def test_a_value_that_was_never_encrypted_raises_an_error_naming_the_field(received):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE core_outboxmessage SET body = %s", ["Where: 14 Example Road"])
    with pytest.raises(crypto.DecryptionError) as error:
        OutboxMessage.objects.get()
    assert str(error.value).startswith("core.OutboxMessage.body: the stored value cannot be")
    assert "14 Example Road" not in str(error.value)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        lambda: Contact.objects.filter(address={"line1": "14 Example Road"}),
        lambda: Contact.objects.filter(address__line1="14 Example Road"),
        lambda: Contact.objects.exclude(address__icontains="Example"),
        lambda: EncompassNotice.objects.filter(content__police_reference="MSP-26-004821"),
        lambda: NotificationVersion.objects.filter(body=b"{}"),
        lambda: OutboxMessage.objects.filter(body__contains="Example Road"),
    ],
    ids=["exact", "key", "icontains", "json-key", "binary", "text-contains"],
)
def test_filtering_by_an_encrypted_field_is_refused(query):
    with pytest.raises(FieldError, match="is encrypted: the database cannot filter"):
        query()


@pytest.mark.django_db
def test_isnull_is_the_one_lookup_allowed(received):
    assert Contact.objects.filter(address__isnull=False).count() == 2


def test_keys_generate_prints_a_key_that_encrypts():
    out = io.StringIO()
    call_command("keys", "generate", stdout=out)
    key = out.getvalue().strip()
    assert crypto.key_is_valid(key)
    assert Fernet(key).decrypt(Fernet(key).encrypt(b"x")) == b"x"


def test_a_key_that_is_not_a_fernet_key_is_refused_by_its_place(settings):
    settings.SAFEHUB_FIELD_KEYS = [KEY_A, "not-a-key"]
    with pytest.raises(ImproperlyConfigured, match="key 2 of 2 is not a Fernet key"):
        crypto.encrypt(b"x")


def test_without_the_setting_one_key_is_derived_from_secret_key(settings, monkeypatch):
    monkeypatch.delenv("SAFEHUB_FIELD_KEYS", raising=False)
    settings.SAFEHUB_FIELD_KEYS = None
    settings.DEMO = False
    settings.SECRET_KEY = "one secret"
    first = crypto.field_keys()
    assert first == [crypto.key_derive("one secret")] and crypto.key_is_valid(first[0])
    token = crypto.encrypt(b"data")
    settings.SECRET_KEY = "another secret"
    assert crypto.field_keys() != first
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(token)


def test_the_demo_keeps_its_key_in_a_file_beside_its_database(settings, monkeypatch, tmp_path):
    monkeypatch.delenv("SAFEHUB_FIELD_KEYS", raising=False)
    settings.SAFEHUB_FIELD_KEYS = None
    settings.DEMO = True
    settings.VAR_DIR = tmp_path
    keys = crypto.field_keys()
    path = tmp_path / crypto.DEMO_KEY_FILE
    assert path.read_text().split() == keys and len(keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.demo_keys_file(tmp_path).read_text().split() == keys  # made once


# The data migrations: rows stored in plaintext before them are encrypted, and back.

BEFORE = [
    ("core", "0001_initial"),
    ("intake", "0002_personkey"),
    ("referrals", "0004_contact_rating"),
    ("encompass", "0001_initial"),
]


@pytest.mark.django_db(transaction=True)
def test_the_migrations_encrypt_existing_plaintext_rows_and_decrypt_them_backwards():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    body = b'{"incident_address": {"line1": "14 Example Road"}}\n'
    address = {"line1": "14 Example Road", "postcode": "CH41 6AB"}
    content = {"incident_address": address, "child": {"given_names": "Amy"}}
    text = "Where: 14 Example Road, Birkenhead, CH41 6AB"
    now = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
    try:
        executor = migrate_to(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        notification = old.get_model("intake", "Notification").objects.create(
            force_code="MSP",
            incident_reference="MSP-26-1",
            occurred_at=now,
            recorded_at=now,
            received_at=now,
            officer_grade="high",
        )
        old.get_model("intake", "NotificationVersion").objects.create(
            notification=notification,
            number=1,
            body=body,
            body_sha256="0" * 64,
            received_at=now,
            channel="api",
        )
        contact = old.get_model("referrals", "Contact").objects.create(
            routing="routed",
            received_at=now,
            referral_source="6",
            given_names="Amy",
            family_name="Example",
            address=address,
        )
        old.get_model("encompass", "EncompassNotice").objects.create(
            contact_id=contact.pk,
            reason_for_recipient="school_dsl",
            recorded_at=now,
            due_at=now,
            content=content,
            created_at=now,
        )
        old.get_model("core", "OutboxMessage").objects.create(
            recipients=["dsl@school.example"],
            subject="s",
            body=text,
            attachments=[{"filename": "a.txt"}],
            reason="test",
            next_attempt_at=now,
            created_at=now,
        )
        assert raw_values(NotificationVersion, "body") == [body]  # plaintext before

        migrate_to(leaves)
        for model, name in [*COLUMNS, (OutboxMessage, "attachments")]:
            assert_tokens_only(model, name)
        assert bytes(NotificationVersion.objects.get().body) == body
        assert Contact.objects.get().address == address
        assert EncompassNotice.objects.get().content == content
        message = OutboxMessage.objects.get()
        assert (message.body, message.attachments) == (text, [{"filename": "a.txt"}])

        migrate_to(BEFORE)  # backwards: plaintext again, as it was
        assert raw_values(NotificationVersion, "body") == [body]
        with connection.cursor() as cursor:
            cursor.execute("SELECT address FROM referrals_contact")
            assert json.loads(cursor.fetchone()[0]) == address
            cursor.execute("SELECT content FROM encompass_encompassnotice")
            assert json.loads(cursor.fetchone()[0]) == content
            cursor.execute("SELECT body, attachments FROM core_outboxmessage")
            stored_body, attachments = cursor.fetchone()
            assert (stored_body, json.loads(attachments)) == (text, [{"filename": "a.txt"}])
    finally:
        migrate_to(leaves)
    assert Notification.objects.count() == 1

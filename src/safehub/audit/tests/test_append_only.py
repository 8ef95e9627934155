"""On PostgreSQL no role, the application's included, can update or delete an audit event or a
seal: triggers refuse, and the transaction around the attempt goes on unharmed."""

import datetime as dt

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models.deletion import ProtectedError

from safehub.audit.chain import audit_seal
from safehub.audit.models import AuditEvent, AuditSeal
from safehub.audit.tests.helpers import MINUTE, T0, make_events

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="triggers are PostgreSQL's"),
]


def test_an_audit_event_cannot_be_updated():
    (event,) = make_events(1)
    with pytest.raises(DatabaseError, match="audit events are append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor="Mallory")
    assert AuditEvent.objects.get(pk=event.pk).actor == "Alice Archer"


def test_an_audit_event_cannot_be_saved_again():
    (event,) = make_events(1)
    event.actor = "Mallory"
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).actor == "Alice Archer"


def test_an_audit_event_cannot_be_deleted():
    (event,) = make_events(1)
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_a_sealed_event_is_protected_before_the_database_is_asked():
    (event,) = make_events(1)
    audit_seal(now=T0 + MINUTE)
    with pytest.raises(ProtectedError):
        event.delete()


def test_a_seal_cannot_be_updated_or_deleted():
    make_events(2)
    audit_seal(now=T0 + MINUTE)
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        AuditSeal.objects.filter(seq=1).update(hash="f" * 64)
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        AuditSeal.objects.filter(seq=2).delete()
    assert list(AuditSeal.objects.values_list("seq", flat=True)) == [1, 2]
    assert AuditSeal.objects.get(seq=1).hash != "f" * 64


def test_inserting_still_works_in_the_same_transaction_after_a_refusal():
    (event,) = make_events(1)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    make_events(1)
    assert AuditEvent.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_sealers_running_at_once_make_one_chain_and_the_test_flush_still_empties_the_log():
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from safehub.audit.chain import audit_verify

    make_events(3000, step=dt.timedelta(milliseconds=10))

    def seal() -> int:
        try:
            return audit_seal(now=T0 + MINUTE, batch_size=250)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=3) as pool:
        counts = list(pool.map(lambda _: seal(), range(3)))
    assert sum(counts) == 3000
    result = audit_verify(now=T0 + MINUTE)
    assert result.ok and result.checked == 3000
    # The flush after this test TRUNCATEs both tables: the triggers let it.

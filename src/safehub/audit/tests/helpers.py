"""What the audit chain's tests share: events made in bulk at known times, and a hand that
changes the database behind the application's back (as a superuser would, on PostgreSQL with
the append-only triggers off for the moment)."""

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from safehub.audit.models import AuditEvent

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)


def make_events(
    count: int, *, at: dt.datetime = T0, step: dt.timedelta = dt.timedelta(seconds=1), **extra
) -> list[AuditEvent]:
    """`count` events, a `step` apart from `at`, as the web requests would have written them."""
    return AuditEvent.objects.bulk_create(
        AuditEvent(
            at=at + i * step,
            actor="Alice Archer",
            role="hub_social_worker",
            action="view",
            object_type="referrals.contact",
            object_id=str(1000 + i),
            purpose="triage",
            request_id=f"req-{i}",
            detail={"child": "Zoë", "fields": ["name", "dob"], "n": i},
            **extra,
        )
        for i in range(count)
    )


@contextmanager
def _triggers_off() -> Iterator[None]:
    """On PostgreSQL, what a superuser can do: run with no trigger firing (the append-only ones,
    and the foreign keys' too), for this transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = origin")


def by_hand(sql: str, params: list | None = None) -> int:
    """Run SQL as someone with the database open would: no model, no trigger. Returns the rows
    changed."""
    with _triggers_off(), connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.rowcount


def insert_many_events(count: int, *, at: dt.datetime = T0) -> None:
    """`count` events a hundredth of a second apart, inserted as the bulk import's COPY would:
    one prepared statement, no model objects (for the scale test)."""
    fields = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(str(f.column)) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    adapt = connection.ops.adapt_datetimefield_value
    step = dt.timedelta(milliseconds=10)
    values = {
        "user_id": None,
        "api_client_id": None,
        "agency_id": None,
        "actor": "Alice Archer",
        "role": "hub_social_worker",
        "action": "view",
        "object_type": "referrals.contact",
        "purpose": "triage",
    }
    rows = []
    for i in range(count):
        row = {
            **values,
            "at": adapt(at + i * step),
            "object_id": str(1000 + i),
            "request_id": f"req-{i}",
            "detail": json.dumps({"child": "Zoë", "fields": ["name", "dob"], "n": i}),
        }
        rows.append([row[f.attname] for f in fields])
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO audit_auditevent ({columns}) VALUES ({marks})", rows)

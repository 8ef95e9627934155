"""Fixtures of the audit chain's tests (their helpers are in `helpers`)."""

import pytest

from safehub.audit.models import AuditEvent


@pytest.fixture
def restore_deleted():
    """Put back the events a test deleted by hand, before Django checks the foreign keys (which
    are checked at commit, and at the end of each test)."""
    kept: list[dict] = []

    def keep(event_id: int) -> None:
        kept.append(AuditEvent.objects.filter(pk=event_id).values().get())

    yield keep
    if kept:
        AuditEvent.objects.bulk_create(AuditEvent(**row) for row in kept)

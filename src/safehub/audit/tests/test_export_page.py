"""The information governance lead downloads what their agency's people did, from the web."""

import csv
import hashlib
import io

import pytest
from django.urls import reverse

from safehub.audit.models import Action, AuditEvent

pytestmark = pytest.mark.django_db


def test_an_auditor_downloads_their_agencys_events_and_the_export_is_recorded(
    client, make_user, alice, bob, frozen_now
):
    from django.db import transaction

    from safehub.audit.services import audit_record

    with transaction.atomic():
        audit_record(
            actor=alice, action=Action.VIEW, object_type="referrals.contact", object_id="a"
        )
        audit_record(actor=bob, action=Action.VIEW, object_type="referrals.contact", object_id="b")
    audrey = make_user("audrey", "LA344", "auditor")
    client.force_login(audrey)
    page = client.get(reverse("audit:export"))
    assert page.status_code == 200
    response = client.get(
        reverse("audit:export"), {"start": "2026-11-24", "end": "2026-11-24", "download": "1"}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    # Alice's view (Wirral's) and the export page's own view by Audrey; never Bob's (Liverpool).
    assert {r["object_id"] for r in rows if r["object_type"] == "referrals.contact"} == {"a"}
    assert {r["agency"] for r in rows} == {"Wirral children's services"}
    export = AuditEvent.objects.get(user=audrey, action=Action.EXPORT)
    assert export.detail["rows"] == len(rows)
    assert export.detail["sha256"] == hashlib.sha256(body).hexdigest()
    assert export.detail["filters"]["agency"] == "LA344"


def test_a_period_that_ends_before_it_starts_is_refused_and_nothing_is_exported(client, make_user):
    client.force_login(make_user("audrey", "LA344", "auditor"))
    response = client.get(
        reverse("audit:export"), {"start": "2026-11-24", "end": "2026-11-01", "download": "1"}
    )
    assert response.status_code == 422
    assert "The period must end on or after the day it starts" in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.EXPORT).exists()

"""Notification bodies for the Encompass tests."""

import copy
import itertools
from typing import Any

from safehub.core.testing import example

_refs = itertools.count(1)


def high_risk(**child: Any) -> dict[str, Any]:
    """The spec's high-risk example under a fresh incident reference, Amy's (C1) fields changed
    as given (a value of None removes the field)."""
    body = copy.deepcopy(example("notification-high-risk.json"))
    body["incident_reference"] = f"MSP-26-9{next(_refs):05d}"
    amy = next(p for p in body["people"] if p["ref"] == "C1")
    for key, value in child.items():
        if value is None:
            amy.pop(key, None)
        else:
            amy[key] = value
    return body


def receive_with_notices(body: dict[str, Any] | None = None) -> dict[str, Any]:
    """Store a notification (default: the spec's high-risk example as it is) and open the
    Encompass notice of each child's contact, in one transaction, as intake will once it calls
    `encompass_open_for_contact`. Returns the notices made, by child ref."""
    import json

    from django.db import transaction

    from safehub.core import clock
    from safehub.core.testing import example_bytes
    from safehub.encompass.services import encompass_open_for_contact
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.intake.validation import validate_notification

    raw = (
        json.dumps(body).encode()
        if body is not None
        else example_bytes("notification-high-risk.json")
    )
    with transaction.atomic():
        receipt = notification_receive(raw=raw, channel=Channel.IMPORT)
        parsed, errors = validate_notification(raw, now=clock.now())
        assert parsed is not None, errors
        children = {p.ref: p for p in parsed.people}
        notices = {}
        for contact in receipt.notification.contacts.select_related("school", "local_authority"):
            notice = encompass_open_for_contact(
                contact=contact,
                body=parsed,
                child=children[contact.child_ref],
                recorded_at=parsed.recorded_at,
            )
            if notice is not None:
                notices[contact.child_ref] = notice
    return notices

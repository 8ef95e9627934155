"""Receiving police notifications: one path for the API and the bulk import.

A notification is stored with its body byte for byte, then becomes one contact per child in the
child's council's queue, all in one transaction with its audit event. `(force_code,
incident_reference)` is the natural key: the same body again is a no-op that answers with the same
ids; a different body under the same key is refused and must come as an amendment (a new version).
"""

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction

from safehub.accounts.models import ApiClient
from safehub.accounts.selectors import force_by_code
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.intake.models import Channel, IdempotencyKey, Notification, NotificationVersion
from safehub.intake.validation import NotificationBody, validate_notification
from safehub.referrals.models import Contact, Routing
from safehub.referrals.services import (
    contacts_open_for_notification,
    contacts_update_for_notification,
)


class InvalidNotification(DomainError):
    status = 422

    def __init__(self, errors: list[dict]) -> None:
        super().__init__("The notification does not meet the contract.", code="invalid")
        self.errors = errors


@dataclass
class Receipt:
    """What the sender is told: the notification, and whether this call created it."""

    notification: Notification
    created: bool
    contacts: list[Contact] = field(default_factory=list)


def body_digest(raw: bytes) -> str:
    """The hash of the body's content, whatever its spacing or key order."""
    canonical = json.dumps(
        json.loads(raw), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _flags(body: NotificationBody, contacts: list[Contact], force_known: bool) -> list[str]:
    flags = []
    if not force_known:
        flags.append("unknown_force")
    if any(c.routing not in (Routing.ROUTED, Routing.ROUTED_BY_PERSON) for c in contacts):
        flags.append("unrouted")
    if any(c.unknown_school for c in contacts):
        flags.append("unknown_school")
    return flags


def _existing_answer(notification: Notification, digest: str, *, what: str) -> Receipt:
    if notification.versions.filter(body_sha256=digest).exists():
        return Receipt(notification=notification, created=False)
    raise Conflict(
        f"{what} was already used for a different body. To change notification "
        f"{notification.force_code} {notification.incident_reference}, send the whole new body "
        f"with PUT /api/v1/notifications/{notification.force_code}/"
        f"{notification.incident_reference}.",
        code="duplicate_key",
    )


def notification_receive(
    *,
    raw: bytes,
    channel: Channel,
    submitted_by: ApiClient | None = None,
    idempotency_key: str | None = None,
    now: dt.datetime | None = None,
) -> Receipt:
    """Validate and store a new notification and open its contacts. Idempotent on the natural
    key and on the `Idempotency-Key`; safe under concurrent identical requests."""
    now = now or clock.now()
    body, errors = validate_notification(raw, now=now)
    if body is None:
        raise InvalidNotification(errors)
    if submitted_by is not None and body.force_code != submitted_by.force.code:
        raise PermissionDenied(
            f"This client sends for force {submitted_by.force.code}, not {body.force_code}."
        )
    digest = body_digest(raw)
    key_text = f"Idempotency-Key {idempotency_key!r}" if idempotency_key else ""

    def answer_existing() -> Receipt | None:
        if idempotency_key:
            used = (
                IdempotencyKey.objects.filter(force_code=body.force_code, key=idempotency_key)
                .select_related("notification")
                .first()
            )
            if used is not None:
                if used.body_sha256 != digest:
                    raise Conflict(
                        f"{key_text} was already used for a different body.", code="duplicate_key"
                    )
                return Receipt(notification=used.notification, created=False)
        existing = Notification.objects.filter(
            force_code=body.force_code, incident_reference=body.incident_reference
        ).first()
        if existing is not None:
            return _existing_answer(
                existing,
                digest,
                what=f"Incident reference {body.force_code} {body.incident_reference}",
            )
        return None

    found = answer_existing()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return _store_new(body, raw, digest, channel, submitted_by, idempotency_key, now)
    except IntegrityError:
        # Another request stored the same key between our look and our write: answer as it did.
        found = answer_existing()
        if found is None:
            raise
        return found


def _store_new(
    body: NotificationBody,
    raw: bytes,
    digest: str,
    channel: Channel,
    submitted_by: ApiClient | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> Receipt:
    force = submitted_by.force if submitted_by else force_by_code(code=body.force_code)
    notification = Notification.objects.create(
        force=force,
        force_code=body.force_code,
        incident_reference=body.incident_reference,
        occurred_at=body.occurred_at,
        recorded_at=body.recorded_at,
        received_at=now,
        officer_grade=body.risk.officer_grade,
        child_count=sum(1 for p in body.people if p.role == "child"),
    )
    NotificationVersion.objects.create(
        notification=notification,
        number=1,
        body=raw,
        body_sha256=digest,
        received_at=now,
        channel=channel,
        api_client=submitted_by,
    )
    if idempotency_key:
        IdempotencyKey.objects.create(
            force_code=body.force_code,
            key=idempotency_key,
            body_sha256=digest,
            notification=notification,
            created_at=now,
        )
    contacts = contacts_open_for_notification(
        notification=notification, body=body, version=1, received_at=now
    )
    notification.flags = _flags(body, contacts, force_known=force is not None)
    if notification.flags:
        notification.save(update_fields=["flags"])
    audit_record(
        actor=submitted_by or f"bulk import ({channel})",
        action=Action.CREATE,
        obj=notification,
        detail={"version": 1, "contacts": len(contacts), "channel": channel},
    )
    return Receipt(notification=notification, created=True, contacts=contacts)


def notification_amend(
    *,
    force_code: str,
    incident_reference: str,
    raw: bytes,
    channel: Channel,
    submitted_by: ApiClient | None = None,
) -> Receipt:
    """A new version of a notification: the old versions are kept, the contacts are brought up
    to date and their allocated workers told. The same body as the current version is a no-op."""
    now = clock.now()
    if submitted_by is not None and force_code != submitted_by.force.code:
        raise PermissionDenied(f"This client sends for force {submitted_by.force.code}.")
    body, errors = validate_notification(raw, now=now)
    if body is not None:
        if body.force_code != force_code:
            errors.append({"loc": ["force_code"], "msg": "does not match the address"})
        if body.incident_reference != incident_reference:
            errors.append({"loc": ["incident_reference"], "msg": "does not match the address"})
    if body is None or errors:
        raise InvalidNotification(errors)
    digest = body_digest(raw)
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(force_code=force_code, incident_reference=incident_reference)
            .first()
        )
        if notification is None:
            raise NotFound(
                f"No notification {force_code} {incident_reference}: send it with POST first."
            )
        current = notification.versions.get(number=notification.current_version)
        if current.body_sha256 == digest:
            return Receipt(notification=notification, created=False)
        number = notification.current_version + 1
        NotificationVersion.objects.create(
            notification=notification,
            number=number,
            body=raw,
            body_sha256=digest,
            received_at=now,
            channel=channel,
            api_client=submitted_by,
        )
        updated, opened = contacts_update_for_notification(
            notification=notification, body=body, version=number
        )
        notification.current_version = number
        notification.occurred_at = body.occurred_at
        notification.recorded_at = body.recorded_at
        notification.officer_grade = body.risk.officer_grade
        notification.child_count = sum(1 for p in body.people if p.role == "child")
        notification.flags = _flags(
            body, list(notification.contacts.all()), force_known=notification.force_id is not None
        )
        notification.save()
        audit_record(
            actor=submitted_by or f"bulk import ({channel})",
            action=Action.UPDATE,
            obj=notification,
            detail={
                "version": number,
                "contacts_updated": len(updated),
                "contacts_opened": len(opened),
            },
        )
    return Receipt(notification=notification, created=True, contacts=updated + opened)

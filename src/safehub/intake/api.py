"""The police notification contract: POST, PUT and GET under /api/v1/notifications."""

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from safehub.accounts.permissions import user_can
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core.api_auth import client_token, staff_session
from safehub.core.errors import DomainError, NotFound, PermissionDenied
from safehub.encompass.models import EncompassNotice, RecipientReason
from safehub.intake.models import Channel, Notification
from safehub.intake.services import (
    InvalidNotification,
    Receipt,
    notification_amend,
    notification_receive,
)
from safehub.referrals.models import Contact
from safehub.referrals.selectors import contacts_in_scope

router = Router(tags=["notifications"])

_BODY_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/NotificationBody"}}
        },
    },
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": "Optional. The same key with the same body answers as the first time.",
        }
    ],
}


class ContactOut(Schema):
    id: str
    child_ref: str
    local_authority: str | None = Field(description="DfE LA code; null while unrouted.")
    rag: str | None = Field(description="red, amber or green; null until rated.")
    due_at: dt.datetime | None = Field(description="The screening deadline.")


class EncompassOut(Schema):
    id: str
    child_ref: str
    school_urn: str | None = Field(
        description="The school told; null when the notice goes to the council's education "
        "safeguarding inbox (no known school, or educated at home) or waits for a recipient."
    )
    due_at: dt.datetime = Field(description="The start of the next school day.")


class ReceiptOut(Schema):
    id: str
    received_at: dt.datetime
    contacts: list[ContactOut]
    encompass: list[EncompassOut]


class VersionOut(Schema):
    number: int
    received_at: dt.datetime
    channel: str


class NotificationOut(ReceiptOut):
    force_code: str
    incident_reference: str
    current_version: int
    flags: list[str]
    versions: list[VersionOut]
    body: dict[str, Any] = Field(description="The current version as the force sent it.")


class ErrorOut(Schema):
    detail: str
    code: str


class ProblemOut(Schema):
    loc: list[str | int]
    msg: str


class ProblemsOut(Schema):
    errors: list[ProblemOut]


class PayloadTooLarge(DomainError):
    status = 413


def _read_body(request: HttpRequest) -> bytes:
    limit = settings.NOTIFICATION_MAX_BYTES
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    too_large = PayloadTooLarge(f"The body is larger than {limit} bytes.", code="too_large")
    if declared > limit:
        raise too_large
    try:
        raw = request.body
    except RequestDataTooBig:
        raise too_large from None
    if len(raw) > limit:
        raise too_large
    return raw


def _receipt(
    notification: Notification,
    contacts: list[Contact] | None = None,
    notices: list[EncompassNotice] | None = None,
) -> dict[str, Any]:
    if contacts is None:
        contacts = list(
            notification.contacts.filter(withdrawn_in_version__isnull=True).select_related(
                "local_authority"
            )
        )
    if notices is None:
        notices = list(
            EncompassNotice.objects.filter(
                contact__notification=notification, contact__withdrawn_in_version__isnull=True
            ).select_related("contact", "recipient")
        )
    contacts = sorted(contacts, key=lambda c: c.child_ref)
    notices = sorted(notices, key=lambda n: n.contact.child_ref)
    return {
        "id": str(notification.pk),
        "received_at": notification.received_at,
        "contacts": [
            {
                "id": str(c.pk),
                "child_ref": c.child_ref,
                "local_authority": c.local_authority.la_code if c.local_authority else None,
                "rag": c.rag or None,
                "due_at": c.due_at,
            }
            for c in contacts
        ],
        "encompass": [
            {
                "id": str(n.pk),
                "child_ref": n.contact.child_ref,
                "school_urn": (
                    n.recipient.urn
                    if n.recipient is not None
                    and n.reason_for_recipient == RecipientReason.SCHOOL_DSL
                    else None
                ),
                "due_at": n.due_at,
            }
            for n in notices
        ],
    }


def _answer(receipt: Receipt, *, complete: bool = False) -> Status:
    """201 for a new notification or version, 200 for a repeat. `complete`: the receipt holds
    every contact of the notification, so there is no need to read them again."""
    if complete and receipt.created:
        return Status(201, _receipt(receipt.notification, receipt.contacts, receipt.notices))
    return Status(201 if receipt.created else 200, _receipt(receipt.notification))


ERRORS: dict[int, Any] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    413: ErrorOut,
    422: ProblemsOut,
}


@router.post(
    "/notifications",
    auth=client_token,
    response={201: ReceiptOut, 200: ReceiptOut, **ERRORS},
    openapi_extra=_BODY_DOC,
    summary="Send a notification",
    description=(
        "Send a new domestic-abuse notification. The same body again answers 200 with the same "
        "ids; a different body under the same force code and incident reference is refused with "
        "409: send it with PUT."
    ),
)
def notification_create(request: HttpRequest) -> Status:
    raw = _read_body(request)
    key = request.headers.get("Idempotency-Key") or None
    if key is not None and len(key) > 255:
        raise InvalidNotification(
            [{"loc": ["header", "Idempotency-Key"], "msg": "at most 255 characters"}]
        )
    receipt = notification_receive(
        raw=raw,
        channel=Channel.API,
        submitted_by=request.auth,  # type: ignore[attr-defined]
        idempotency_key=key,
    )
    return _answer(receipt, complete=True)


@router.put(
    "/notifications/{force_code}/{path:incident_reference}",
    auth=client_token,
    response={201: ReceiptOut, 200: ReceiptOut, **ERRORS},
    openapi_extra={"requestBody": _BODY_DOC["requestBody"]},
    summary="Amend a notification",
    description=(
        "Send the whole new body of a notification already sent. It becomes a new version; the "
        "old versions are kept; the contacts are brought up to date and their workers told. "
        "201 when a new version was stored, 200 when the body equals the current version."
    ),
)
def notification_update(request: HttpRequest, force_code: str, incident_reference: str) -> Status:
    raw = _read_body(request)
    receipt = notification_amend(
        force_code=force_code,
        incident_reference=incident_reference,
        raw=raw,
        channel=Channel.API,
        submitted_by=request.auth,  # type: ignore[attr-defined]
    )
    return _answer(receipt)


@router.get(
    "/notifications/{force_code}/{path:incident_reference}",
    auth=[client_token, staff_session],
    response={200: NotificationOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Read a notification back",
    description="For the force that sent it, or hub staff whose council has one of its contacts.",
)
def notification_read(
    request: HttpRequest, force_code: str, incident_reference: str
) -> dict[str, Any]:
    notification = (
        Notification.objects.filter(force_code=force_code, incident_reference=incident_reference)
        .prefetch_related("versions")
        .first()
    )
    actor = request.auth  # type: ignore[attr-defined]
    if notification is None:
        raise NotFound("No such notification.")
    client = getattr(request, "api_client", None)
    if client is not None:
        if client.force.code != force_code:
            raise NotFound("No such notification.")
    else:
        # The same scope as the contact pages: a notification is visible through its contacts.
        in_scope = contacts_in_scope(fetched_by=actor).filter(notification=notification).exists()
        if not in_scope:
            raise NotFound("No such notification.")
        if not user_can(actor, "notification.view"):
            raise PermissionDenied("Your role does not allow reading notifications.")
    versions = list(notification.versions.all())
    current = next(v for v in versions if v.number == notification.current_version)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=Action.VIEW,
            obj=notification,
            detail={"via": "api", "version": current.number},
        )
    return {
        **_receipt(notification),
        "force_code": notification.force_code,
        "incident_reference": notification.incident_reference,
        "current_version": notification.current_version,
        "flags": notification.flags,
        "versions": [
            {"number": v.number, "received_at": v.received_at, "channel": v.channel}
            for v in versions
        ],
        "body": json.loads(bytes(current.body)),
    }

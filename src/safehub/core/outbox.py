"""The transactional outbox: `outbox_enqueue` inside the act's transaction, delivery by the worker.

The delivery task is enqueued with the database task backend, in the same transaction as the
message: both are written or neither is. Delivery is at least once: a failure is retried with a
growing delay, and after `OUTBOX_MAX_ATTEMPTS` the message is left as dead for a person to see.
"""

import base64
import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.tasks import task

from safehub.core import clock
from safehub.core.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)


def outbox_enqueue(
    *,
    recipients: list[str],
    subject: str,
    body: str,
    reason: str,
    obj: Any = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxMessage:
    now = clock.now()
    message = OutboxMessage.objects.create(
        recipients=recipients,
        subject=subject,
        body=body,
        reason=reason,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        attachments=attachments or [],
        next_attempt_at=now,
        created_at=now,
    )
    outbox_deliver.enqueue(message_id=message.pk)
    return message


def _retry_delay(attempts: int) -> dt.timedelta:
    base = settings.OUTBOX_RETRY_BASE_SECONDS
    return dt.timedelta(seconds=min(base * 2 ** (attempts - 1), 3600))


def _send(message: OutboxMessage) -> None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=message.recipients,
        connection=get_connection(),
    )
    for item in message.attachments:
        email.attach(
            item["filename"], base64.b64decode(item["content_base64"]), item["content_type"]
        )
    email.send(fail_silently=False)


def outbox_deliver_one(*, message_id: int) -> str:
    """Try to deliver one message. Returns its status afterwards."""
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.status != OutboxStatus.PENDING:
            return message.status if message else "missing"
        message.attempts += 1
        try:
            _send(message)
        except Exception as exc:  # any failure of the far side is retried
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                message.status = OutboxStatus.DEAD
                log.error(
                    "outbox message %s is dead after %s attempts", message.pk, message.attempts
                )
            else:
                message.next_attempt_at = clock.now() + _retry_delay(message.attempts)
                outbox_deliver.using(run_after=message.next_attempt_at).enqueue(
                    message_id=message.pk
                )
        else:
            message.status = OutboxStatus.SENT
            message.sent_at = clock.now()
            message.last_error = ""
        message.save()
        return message.status


def outbox_deliver_due() -> int:
    """Deliver every pending message whose time has come: the safety net behind the tasks."""
    due = OutboxMessage.objects.filter(
        status=OutboxStatus.PENDING, next_attempt_at__lte=clock.now()
    ).values_list("pk", flat=True)
    return sum(1 for pk in list(due) if outbox_deliver_one(message_id=pk) == OutboxStatus.SENT)


@task()
def outbox_deliver(*, message_id: int) -> str:
    return outbox_deliver_one(message_id=message_id)

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
from django.core.mail import EmailMessage
from django.db import transaction
from django.tasks import task
from django.utils.module_loading import import_string

from safehub.core import clock
from safehub.core.models import OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)


def outbox_message_build(
    *,
    recipients: list[str],
    subject: str,
    body: str,
    reason: str,
    obj: Any = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxMessage:
    """A message, not saved and with no delivery task: for work that saves many at once (the
    bulk import), whose messages `outbox_sweep` delivers within a minute."""
    now = clock.now()
    return OutboxMessage(
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


def outbox_enqueue(
    *,
    recipients: list[str],
    subject: str,
    body: str,
    reason: str,
    obj: Any = None,
    attachments: list[dict[str, str]] | None = None,
) -> OutboxMessage:
    """Save a message and its delivery task, inside the caller's transaction."""
    message = outbox_message_build(
        recipients=recipients,
        subject=subject,
        body=body,
        reason=reason,
        obj=obj,
        attachments=attachments,
    )
    message.save(force_insert=True)
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
    )
    for item in message.attachments:
        email.attach(
            item["filename"], base64.b64decode(item["content_base64"]), item["content_type"]
        )
    email.send(fail_silently=False, using="default")


LEASE = dt.timedelta(minutes=5)


def outbox_deliver_one(*, message_id: int) -> str:
    """Try to deliver one message. Returns its status afterwards.

    Three short steps, so that no database transaction stays open while the far side answers (on
    SQLite an open write would stall every other write): claim the message for a few minutes,
    send it with no transaction open, then record what happened. A worker that dies mid-send
    leaves the claim to run out, and the message is tried again: delivery is at least once."""
    now = clock.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().filter(pk=message_id).first()
        if message is None:
            return "missing"
        if message.status != OutboxStatus.PENDING or message.next_attempt_at > now:
            return message.status  # done, dead, or claimed by another worker / not yet due
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        message.save(update_fields=["attempts", "next_attempt_at"])
    error = ""
    try:
        _send(message)
    except Exception as exc:  # any failure of the far side is retried
        error = f"{type(exc).__name__}: {exc}"[:2000]
    with transaction.atomic():
        if error:
            message.last_error = error
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
        message.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at"])
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


SWEEP_EVERY = dt.timedelta(minutes=1)


@task()
def sweep() -> dict[str, Any]:
    """Run every scheduled sweep (`settings.SAFEHUB_SWEEPS`: deliver what the outbox has due,
    bring Encompass notices up to date, record breached clocks...), then come back in a minute.
    The worker starts the first one. One sweep failing does not stop the others."""
    results: dict[str, Any] = {}
    for path in settings.SAFEHUB_SWEEPS:
        try:
            results[path] = str(import_string(path)())
        except Exception:  # logged and retried a minute later
            log.exception("sweep %s failed", path)
            results[path] = "failed"
    sweep.using(run_after=clock.now() + SWEEP_EVERY).enqueue()
    return results

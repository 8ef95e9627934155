"""The audit primitive: every later service records its act through `audit_record`."""

from typing import Any

from django.db import connection

from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.core.request_context import get_request_id


def audit_record(
    *,
    actor: Any,
    action: Action | str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one act. Must run inside the transaction of the act itself, so that the act and its
    record stand or fall together; outside one it refuses."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the act it records")
    event = audit_event_build(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        detail=detail,
    )
    event.save(force_insert=True)
    return event


def audit_event_build(
    *,
    actor: Any,
    action: Action | str,
    obj: Any = None,
    object_type: str = "",
    object_id: str = "",
    purpose: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """The event `audit_record` writes, not saved: for work that saves many rows at once in one
    transaction (the bulk import), which must save it with the act."""
    from safehub.accounts.models import ApiClient, User

    user = actor if isinstance(actor, User) else None
    client = actor if isinstance(actor, ApiClient) else None
    if user is not None:
        name, agency, role = user.display_name, user.agency, ",".join(user.roles)
    elif client is not None:
        name, agency, role = f"API client {client.name}", client.force, "integration_client"
    else:
        name, agency, role = str(actor or "system"), None, "system"
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent(
        at=clock.now(),
        user=user,
        api_client=client,
        actor=name[:200],
        agency=agency,
        role=role[:200],
        action=Action(action),
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        request_id=get_request_id(),
        detail=detail or {},
    )

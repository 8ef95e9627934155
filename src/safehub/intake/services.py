"""Receiving police notifications: one path for the API and the bulk import.

A notification is stored with its body byte for byte, then becomes one contact per child in the
child's council's queue, all in one transaction with its audit event. `(force_code,
incident_reference)` is the natural key: the same body again is a no-op that answers with the same
ids; a different body under the same key is refused and must come as an amendment (a new version).
"""

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass, field, replace

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.db.models import Model
from django.db.models.fields import AutoFieldMixin

from safehub.accounts.models import ApiClient
from safehub.accounts.selectors import force_by_code, reference_cache
from safehub.audit.models import Action, AuditEvent
from safehub.audit.services import audit_event_build, audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from safehub.core.outbox import outbox_deliver
from safehub.encompass.models import EncompassNotice
from safehub.encompass.services import encompass_drafts_save, encompass_open_for_contact
from safehub.intake.models import (
    Channel,
    IdempotencyKey,
    Notification,
    NotificationVersion,
    PersonKey,
)
from safehub.intake.validation import NotificationBody, validate_notification
from safehub.people.services import (
    linkage_inline,
    notification_people_reindex,
    notifications_people_index,
    notifications_rerate,
)
from safehub.referrals.models import Contact, Routing
from safehub.referrals.services import (
    contacts_for_notification,
    contacts_prefetch_reference,
    contacts_update_for_notification,
)
from safehub.referrals.triage import (
    ENCOMPASS_RULE,
    TriageContext,
    TriageRows,
    triage_apply,
    triage_assess,
    triage_keys,
    triage_rerate,
)
from safehub.risk.models import MaracReferral
from safehub.risk.selectors import policy_get
from safehub.timescales.clocks import clock_start
from safehub.timescales.models import Clock, ClockKind


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
    notices: list[EncompassNotice] = field(default_factory=list)


@dataclass
class NewRows:
    """The rows a new notification becomes, built but not saved."""

    notification: Notification
    version: NotificationVersion
    contacts: list[Contact]
    triage: TriageRows
    body: NotificationBody | None = None

    def receipt(self) -> Receipt:
        return Receipt(
            notification=self.notification,
            created=True,
            contacts=self.contacts,
            notices=[d.notice for d in self.triage.notices],
        )


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
    raise _conflict(notification, what=what)


def _conflict(notification: Notification, *, what: str) -> Conflict:
    return Conflict(
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

    # Write first and let the unique constraints find a repeat: repeats are rare, and this way a
    # new notification costs no look-up and two identical requests racing each other are safe.
    try:
        with transaction.atomic():
            return _store_new(body, raw, digest, channel, submitted_by, idempotency_key, now)
    except IntegrityError:
        # Stored already (by an earlier or a concurrent request): answer as it was answered.
        found = answer_existing()
        if found is None:
            raise
        return found


def _new_rows(
    body: NotificationBody,
    raw: bytes,
    digest: str,
    channel: Channel,
    submitted_by: ApiClient | None,
    now: dt.datetime,
    context: TriageContext | None = None,
    pk: uuid.UUID | None = None,
) -> NewRows:
    """The rows a new notification becomes, built but not saved: the notification (its flags
    set), its first version, its contacts rated by triage with their clocks, its people's keys,
    its Encompass notices and MARAC referrals. The one place both write paths take them from.
    `context`: what triage reads, read already for a batch (the batch's own keys in it, under
    the notification id `pk`)."""
    force = submitted_by.force if submitted_by else force_by_code(code=body.force_code)
    notification = Notification(
        id=pk or uuid.uuid4(),
        force=force,
        force_code=body.force_code,
        incident_reference=body.incident_reference,
        occurred_at=body.occurred_at,
        recorded_at=body.recorded_at,
        received_at=now,
        officer_grade=body.risk.officer_grade,
        child_count=sum(1 for p in body.people if p.role == "child"),
    )
    version = NotificationVersion(
        notification=notification,
        number=1,
        body=raw,
        body_sha256=digest,
        received_at=now,
        channel=channel,
        api_client=submitted_by,
    )
    contacts = contacts_for_notification(
        notification=notification, body=body, version=1, received_at=now
    )
    keys = triage_keys(notification=notification, body=body)
    if context is None:
        context = TriageContext.load(items=[(body, keys)], received_at=now)
    triage = triage_assess(
        body=body, notification_id=notification.pk, keys=keys, received_at=now, context=context
    )
    rows = triage_apply(
        notification=notification, body=body, contacts=contacts, triage=triage, now=now
    )
    notification.flags = _flags(body, contacts, force_known=force is not None)
    return NewRows(
        notification=notification, version=version, contacts=contacts, triage=rows, body=body
    )


def _create_detail(rows: NewRows, channel: Channel) -> dict:
    return {
        "version": 1,
        "contacts": len(rows.contacts),
        "channel": channel,
        "rag": {c.child_ref: c.rag for c in rows.contacts},
        "policy_version": rows.contacts[0].policy_version if rows.contacts else None,
        "encompass_notices": len(rows.triage.notices),
        "marac_referrals_to_confirm": [
            {"victim": m.victim_ref, "criteria": m.criteria_codes} for m in rows.triage.marac
        ],
    }


def _store_new(
    body: NotificationBody,
    raw: bytes,
    digest: str,
    channel: Channel,
    submitted_by: ApiClient | None,
    idempotency_key: str | None,
    now: dt.datetime,
) -> Receipt:
    rows = _new_rows(body, raw, digest, channel, submitted_by, now)
    notification = rows.notification
    notification.save(force_insert=True)
    rows.version.save(force_insert=True)
    if idempotency_key:
        IdempotencyKey.objects.create(
            force_code=body.force_code,
            key=idempotency_key,
            body_sha256=digest,
            notification=notification,
            created_at=now,
        )
    Contact.objects.bulk_create(rows.contacts)
    _save_triage([rows.triage], deliver_now=True)
    _people_index([(notification, body, rows.contacts)], now)
    audit_record(
        actor=submitted_by or f"bulk import ({channel})",
        action=Action.CREATE,
        obj=notification,
        detail=_create_detail(rows, channel),
    )
    return rows.receipt()


def _people_index(
    items: list[tuple[Notification, NotificationBody, list[Contact]]], now: dt.datetime
) -> None:
    """The person index at intake (docs/linkage.md, "At intake"). By default
    (SAFEHUB_LINKAGE_AT_INTAKE = "worker") nothing: the worker's `people_index_sweep` links the
    notifications' people seconds later and re-rates their contacts, so that intake answers
    without the matching's cost. "inline": the same linking and re-rating in this transaction."""
    if not linkage_inline():
        return
    if notifications_people_index(items=items, now=now):
        notifications_rerate(items=items, now=now)


def _save_triage(all_rows: list[TriageRows], *, deliver_now: bool) -> None:
    """Save what triage built for new notifications, after their contacts. `deliver_now`: give
    each Encompass e-mail its delivery task (one notification); otherwise the outbox sweep sends
    them within a minute (a batch)."""
    _insert_rows(PersonKey, [k for rows in all_rows for k in rows.keys])
    _insert_rows(Clock, [c for rows in all_rows for c in rows.clocks])
    drafts = [d for rows in all_rows for d in rows.notices]
    encompass_drafts_save(drafts)
    if deliver_now:
        for draft in drafts:
            if draft.message is not None:
                outbox_deliver.enqueue(message_id=draft.message.pk)
    marac = [m for rows in all_rows for m in rows.marac]
    if marac:
        MaracReferral.objects.bulk_create(marac)


def notifications_receive_batch(
    raws: list[bytes], *, channel: Channel, now: dt.datetime
) -> list[Receipt | DomainError]:
    """Many notifications from one sender that is not an API client (the bulk import): for each,
    what `notification_receive` would answer (its receipt, or the error that refused it) and the
    same rows stored, but in a handful of queries for the whole list instead of a dozen for each
    record. Must run inside a transaction; the caller commits.

    New notifications are written with one write per table (a COPY on PostgreSQL), the reference
    data they need read once for the list. If one of them collides with a notification another
    process stored meanwhile, or the same key comes twice in the list, those records go through
    `notification_receive` one at a time, in order, so that the answers are exactly the single
    path's."""
    if not connection.in_atomic_block:
        raise RuntimeError("notifications_receive_batch must run inside a transaction")
    results: list[Receipt | DomainError | None] = [None] * len(raws)
    pending: dict[tuple[str, str], tuple[int, NotificationBody, str]] = {}
    one_by_one: list[int] = []
    for i, raw in enumerate(raws):
        body, errors = validate_notification(raw, now=now)
        if body is None:
            results[i] = InvalidNotification(errors)
            continue
        key = (body.force_code, body.incident_reference)
        if key in pending:
            one_by_one.append(i)
            continue
        pending[key] = (i, body, body_digest(raw))

    with reference_cache():
        if pending:
            _answer_known(pending, results)
        if pending:
            contacts_prefetch_reference(body for _, body, _ in pending.values())
            # Every record of the batch is a notification now: its people's keys are history
            # for the others (each counts earlier incidents only, whatever the order).
            pks = {key: uuid.uuid4() for key in pending}
            keys = {
                key: triage_keys(notification=Notification(id=pks[key]), body=body)
                for key, (_, body, _) in pending.items()
            }
            context = TriageContext.load(
                items=[(body, keys[key]) for key, (_, body, _) in pending.items()],
                received_at=now,
            )
            context.history.add(k for found in keys.values() for k in found)
            built = {
                key: _new_rows(
                    body, raws[i], digest, channel, None, now, context=context, pk=pks[key]
                )
                for key, (i, body, digest) in pending.items()
            }
            try:
                with transaction.atomic():
                    _store_many(list(built.values()), channel)
            except IntegrityError:
                one_by_one.extend(i for i, _, _ in pending.values())
            else:
                for key, (i, _, _) in pending.items():
                    results[i] = built[key].receipt()
        for i in sorted(one_by_one):
            try:
                results[i] = notification_receive(raw=raws[i], channel=channel, now=now)
            except DomainError as exc:
                results[i] = exc
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _answer_known(
    pending: dict[tuple[str, str], tuple[int, NotificationBody, str]],
    results: list[Receipt | DomainError | None],
) -> None:
    """Answer, and take out of `pending`, the records whose key is already stored: the same body
    is a no-op, a different one a conflict (as `_existing_answer`)."""
    forces = {force for force, _ in pending}
    references = {reference for _, reference in pending}
    known = {
        (n.force_code, n.incident_reference): n
        for n in Notification.objects.filter(
            force_code__in=forces, incident_reference__in=references
        )
        if (n.force_code, n.incident_reference) in pending
    }
    if not known:
        return
    bodies = set(
        NotificationVersion.objects.filter(notification__in=list(known.values())).values_list(
            "notification_id", "body_sha256"
        )
    )
    for key, notification in known.items():
        i, _, digest = pending.pop(key)
        if (notification.pk, digest) in bodies:
            results[i] = Receipt(notification=notification, created=False)
        else:
            results[i] = _conflict(notification, what=f"Incident reference {key[0]} {key[1]}")


def _store_many(all_rows: list[NewRows], channel: Channel) -> None:
    """Save what `_new_rows` built for many notifications, with the audit event of each as
    `audit_record` writes it for a system actor: one write per table."""
    _insert_rows(Notification, [rows.notification for rows in all_rows])
    _insert_rows(NotificationVersion, [rows.version for rows in all_rows])
    _insert_rows(Contact, [c for rows in all_rows for c in rows.contacts])
    _save_triage([rows.triage for rows in all_rows], deliver_now=False)
    _people_index(
        [(r.notification, r.body, r.contacts) for r in all_rows if r.body is not None],
        all_rows[0].notification.received_at,
    )
    actor = f"bulk import ({channel})"
    _insert_rows(
        AuditEvent,
        [
            audit_event_build(
                actor=actor,
                action=Action.CREATE,
                obj=rows.notification,
                detail=_create_detail(rows, channel),
            )
            for rows in all_rows
        ],
    )


def _insert_rows(model: type[Model], objs: list[Model]) -> None:
    """Insert these new objects: `bulk_create`, or on PostgreSQL a COPY of the same column values
    (each field's own `pre_save` and `get_db_prep_save`, as an INSERT takes them), which spends
    a third of the CPU time. An auto-increment primary key is left to the database and not read
    back: the batch path does not use those ids."""
    if not objs:
        return
    db = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the per-thread proxy
    if db.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.column and not (f.primary_key and isinstance(f, AutoFieldMixin))
    ]
    columns = ", ".join(db.ops.quote_name(str(f.column)) for f in fields)
    sql = f"COPY {db.ops.quote_name(model._meta.db_table)} ({columns}) FROM STDIN"
    with db.cursor() as cursor, db.wrap_database_errors, cursor.cursor.copy(sql) as copy:
        for obj in objs:
            copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), db) for f in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias


def _triage_amended(
    notification: Notification,
    body: NotificationBody,
    updated: list[Contact],
    opened: list[Contact],
    now: dt.datetime,
) -> list[str]:
    """Triage an amended notification: its people's keys replaced by the new version's, the
    contacts opened for newly named children rated as new ones are (clocks, Encompass), those
    still waiting for a decision rated again under the version that first rated them, a child
    the new version shows to be of school age given the notice it lacked, and a MARAC referral
    proposed for a victim who now meets a criterion and had none. Returns the child refs of the
    contacts rated again."""
    PersonKey.objects.filter(notification=notification).delete()
    keys = triage_keys(notification=notification, body=body)
    context = TriageContext.load(items=[(body, keys)], received_at=now)
    triage = triage_assess(
        body=body, notification_id=notification.pk, keys=keys, received_at=now, context=context
    )
    rows = triage_apply(
        notification=notification, body=body, contacts=opened, triage=triage, now=now
    )
    Contact.objects.bulk_update(
        opened, ["rag", "rag_reasons", "policy_version", "due_at", "next_due_at"]
    )
    referred = set(notification.marac_referrals.values_list("victim_ref", flat=True))
    rows.marac = [m for m in rows.marac if m.victim_ref not in referred]
    _save_triage([rows], deliver_now=True)

    # Each contact is rated again under its own policy version: the same history, other rules.
    by_version = {triage.policy.version: triage}
    rerated = []
    for contact in updated:
        version = contact.policy_version or triage.policy.version
        if version not in by_version:
            by_version[version] = triage_assess(
                body=body,
                notification_id=notification.pk,
                keys=keys,
                received_at=now,
                context=replace(context, policy=policy_get(version=version)),
            )
        again = by_version[version]
        assessed = again.children[contact.child_ref]
        if triage_rerate(contact=contact, assessed=assessed, policy=again.policy):
            rerated.append(contact.child_ref)
        if encompass_open_for_contact(
            contact=contact, body=body, child=assessed.child, recorded_at=body.recorded_at
        ):
            _encompass_clock_start(contact)
    return rerated


def _encompass_clock_start(contact: Contact) -> None:
    """The Encompass clock of a notice made on an amendment (a no-op if one exists)."""
    notice = EncompassNotice.objects.filter(contact=contact).first()
    if notice is None or Clock.objects.filter(contact=contact, kind=ClockKind.ENCOMPASS).exists():
        return
    clock_start(
        contact=contact,
        kind=ClockKind.ENCOMPASS,
        started_at=notice.recorded_at,
        due_at=notice.due_at,
        rule=ENCOMPASS_RULE,
    )


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
        if notification.erased_at is not None:
            # An amendment would bring back the details the retention policy removed.
            raise Conflict(
                f"Notification {force_code} {incident_reference} was removed under the "
                "retention policy and cannot be amended.",
                code="erased",
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
        rerated = _triage_amended(notification, body, updated, opened, now)
        notification_people_reindex(notification=notification, body=body, now=now)
        notification.current_version = number
        notification.occurred_at = body.occurred_at
        notification.recorded_at = body.recorded_at
        notification.officer_grade = body.risk.officer_grade
        notification.child_count = sum(1 for p in body.people if p.role == "child")
        notification.flags = _flags(
            body,
            list(notification.contacts.filter(withdrawn_in_version__isnull=True)),
            force_known=notification.force_id is not None,
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
                "contacts_rerated": rerated,
            },
        )
    return Receipt(notification=notification, created=True, contacts=updated + opened)

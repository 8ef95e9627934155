"""What each retention rule finds (`due`: a queryset of the records whose time has come) and
does to them (`apply`: inside the batch's transaction)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, Model, OuterRef, Q, QuerySet, Value, When
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from safehub.accounts.models import SignInFailure
from safehub.core import clock
from safehub.core.models import OutboxMessage, OutboxStatus
from safehub.core.postcodes import postcode_district, postcode_normalise
from safehub.core.retention.rules import SHORT_OUTCOMES, Rule, years_before
from safehub.encompass.models import EncompassNotice
from safehub.intake.models import IdempotencyKey, Notification, NotificationVersion, PersonKey
from safehub.meetings.models import (
    DiscussionAction,
    DiscussionChild,
    InformationRequest,
    Participant,
    StrategyDiscussion,
)
from safehub.people.index import row_keys, values_row
from safehub.people.models import LinkReview, ReviewStatus, SourceKind, SourceRecord
from safehub.referrals.models import Contact, ContactStatus, ContactStatusChange, Decision, SignOff
from safehub.risk.models import MaracReferral, MaracStatus

REMOVED = "Removed"
ERASED_BODY = b"{}"  # what a notification version's body becomes: still JSON, naming no one


def _age_on(born: dt.date, day: dt.date) -> int:
    return max(0, day.year - born.year - ((day.month, day.day) < (born.month, born.day)))


def _removed(text: str) -> str:
    return REMOVED if text else ""


def _removed_sql(name: str) -> Case:
    """A text column as `_removed` would make it, for `.update()`."""
    return Case(When(**{name: ""}, then=Value("")), default=Value(REMOVED))


# --- What each rule finds and does ------------------------------------------------------------


def _contacts_closed_by(cutoff: dt.datetime) -> QuerySet[Contact]:
    """Contacts not yet anonymised and closed at or before `cutoff`. A contact is received before
    it is closed, so `received_at` narrows the search through the partial index first."""
    closed = ContactStatusChange.objects.filter(
        contact=OuterRef("pk"), to_status=ContactStatus.CLOSED, at__lte=cutoff
    )
    return Contact.objects.filter(
        erased_at__isnull=True, status=ContactStatus.CLOSED, received_at__lte=cutoff
    ).filter(Exists(closed))


def _signed_off() -> QuerySet[Decision]:
    return Decision.objects.filter(contact=OuterRef("pk"), sign_off=SignOff.SIGNED_OFF)


def _contacts_no_referral(rule: Rule, now: dt.datetime) -> QuerySet[Contact]:
    signed = _signed_off()
    return _contacts_closed_by(rule.cutoff(now)).filter(
        Exists(signed), ~Exists(signed.exclude(outcome__in=SHORT_OUTCOMES))
    )


def _contacts_referral(rule: Rule, now: dt.datetime) -> QuerySet[Contact]:
    signed = _signed_off()
    due = _contacts_closed_by(rule.cutoff(now)).filter(
        ~Exists(signed) | Exists(signed.exclude(outcome__in=SHORT_OUTCOMES))
    )
    if rule.until_age is None:
        return due
    # Born on or before this day: the birthday of that age has come. With no date of birth, the
    # expected one; with neither, the day of the contact (the latest the child can have been
    # born, so the record is kept at least as long as a real date would keep it).
    born_by = years_before(now.astimezone(clock.LONDON).date(), rule.until_age)
    return due.filter(
        Q(date_of_birth__lte=born_by)
        | Q(date_of_birth__isnull=True, expected_date_of_birth__lte=born_by)
        | Q(
            date_of_birth__isnull=True,
            expected_date_of_birth__isnull=True,
            received_at__lte=years_before(now, rule.until_age),
        )
    )


CONTACT_ERASED_FIELDS = [
    "given_names",
    "family_name",
    "date_of_birth",
    "child_key",
    "expected_date_of_birth",
    "age_estimate",
    "address",
    "postcode",
    "referrer_name",
    "referrer_contact",
    "reason",
    "erased_at",
]


def _contacts_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    contacts = list(Contact.objects.filter(pk__in=ids).defer("address"))
    for c in contacts:
        if c.date_of_birth is not None:
            # The age at the contact, which the statistics count, outlives the date of birth.
            c.age_estimate = _age_on(c.date_of_birth, c.received_at.astimezone(clock.LONDON).date())
        normalised = postcode_normalise(c.postcode)
        c.postcode = postcode_district(normalised) if normalised else ""
        c.given_names, c.family_name = REMOVED, ""
        c.date_of_birth = c.expected_date_of_birth = None
        c.child_key = ""
        c.address = {}
        c.referrer_name = _removed(c.referrer_name)
        c.referrer_contact = _removed(c.referrer_contact)
        c.reason = _removed(c.reason)
        c.erased_at = now
    Contact.objects.bulk_update(contacts, CONTACT_ERASED_FIELDS)
    decisions = Decision.objects.filter(contact_id__in=ids).update(
        rationale=_removed_sql("rationale"), sign_off_note=_removed_sql("sign_off_note")
    )
    changes = ContactStatusChange.objects.filter(contact_id__in=ids).update(
        note=_removed_sql("note")
    )
    return {"decisions": decisions, "status_changes": changes}


def _notifications_due(rule: Rule, now: dt.datetime) -> QuerySet[Notification]:
    kept = Contact.objects.filter(notification=OuterRef("pk"), erased_at__isnull=True)
    return Notification.objects.filter(
        erased_at__isnull=True, received_at__lte=rule.cutoff(now)
    ).filter(~Exists(kept))


def _notifications_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    versions = NotificationVersion.objects.filter(notification_id__in=ids).update(
        body=ERASED_BODY, erased_at=now
    )
    keys, _ = PersonKey.objects.filter(notification_id__in=ids).delete()
    Notification.objects.filter(pk__in=ids).update(erased_at=now)
    return {"versions": versions, "person_keys_deleted": keys}


def _records_due(rule: Rule, now: dt.datetime) -> QuerySet[SourceRecord]:
    """Index records whose notification (or, for a manual contact's child, whose contact) is
    anonymised, and partner files' records said at or before the cutoff. Asked with EXISTS, not
    joins: the run locks the rows it takes, and PostgreSQL locks no row on the nullable side of
    an outer join."""
    notification_erased = Notification.objects.filter(
        pk=OuterRef("notification_id"), erased_at__isnull=False
    )
    contact_erased = Contact.objects.filter(pk=OuterRef("contact_id"), erased_at__isnull=False)
    return SourceRecord.objects.filter(erased_at__isnull=True).filter(
        Exists(notification_erased)
        | (Q(notification__isnull=True) & Exists(contact_erased))
        | Q(source_kind=SourceKind.PARTNER_FILE, seen_at__lte=rule.cutoff(now))
    )


def _records_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    # Encrypted columns are written through the model (one value each), the rest in bulk.
    records = list(SourceRecord.objects.filter(pk__in=ids).only("pk", "values", "features"))
    for record in records:
        record.values, record.features = {}, {}
    SourceRecord.objects.bulk_update(records, ["values", "features"])
    empty = row_keys(values_row({}, record_id="", source=""))
    SourceRecord.objects.filter(pk__in=ids).update(**empty, erased_at=now)
    reviews = LinkReview.objects.filter(record_id__in=ids, status=ReviewStatus.OPEN).update(
        status=ReviewStatus.SUPERSEDED,
        decided_at=now,
        reason="The record's details were removed under the retention policy.",
    )
    return {"reviews_closed": reviews}


def _discussions_due(rule: Rule, now: dt.datetime) -> QuerySet[StrategyDiscussion]:
    kept = DiscussionChild.objects.filter(
        discussion=OuterRef("pk"), contact__erased_at__isnull=True
    )
    return StrategyDiscussion.objects.filter(
        erased_at__isnull=True, called_at__lte=rule.cutoff(now)
    ).filter(~Exists(kept))


def _discussions_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    # Encrypted columns are written through the model (one value each), the rest in bulk.
    children = list(DiscussionChild.objects.filter(discussion_id__in=ids))
    for child in children:
        child.risks = _removed(child.risks)
    DiscussionChild.objects.bulk_update(children, ["risks"])
    requests = list(InformationRequest.objects.filter(participant__discussion_id__in=ids))
    for request in requests:
        request.subjects = []
        request.question = _removed(request.question)
        request.answer = _removed(request.answer)
    InformationRequest.objects.bulk_update(requests, ["subjects", "question", "answer"])
    Participant.objects.filter(discussion_id__in=ids).update(
        invitee_name=_removed_sql("invitee_name"),
        delegate_name=_removed_sql("delegate_name"),
        response_note=_removed_sql("response_note"),
        attended_name=_removed_sql("attended_name"),
    )
    actions = DiscussionAction.objects.filter(discussion_id__in=ids).update(
        description=_removed_sql("description"),
        owner_name=_removed_sql("owner_name"),
        done_note=_removed_sql("done_note"),
    )
    StrategyDiscussion.objects.filter(pk__in=ids).update(
        reason=_removed_sql("reason"),
        outcome_rationale=_removed_sql("outcome_rationale"),
        missing_reason=_removed_sql("missing_reason"),
        cancel_reason=_removed_sql("cancel_reason"),
        erased_at=now,
    )
    return {"children": len(children), "requests": len(requests), "actions": actions}


def _notices_due(rule: Rule, now: dt.datetime) -> QuerySet[EncompassNotice]:
    cutoff = rule.cutoff(now)
    return EncompassNotice.objects.filter(erased_at__isnull=True).filter(
        Q(acknowledged_at__lte=cutoff) | Q(acknowledged_at__isnull=True, due_at__lte=cutoff)
    )


def _notices_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    notices = list(EncompassNotice.objects.filter(pk__in=ids))
    for notice in notices:
        notice.content = {"police_reference": notice.police_reference}
        notice.erased_at = now
    EncompassNotice.objects.bulk_update(notices, ["content", "erased_at"])
    return {}


def _marac_due(rule: Rule, now: dt.datetime) -> QuerySet[MaracReferral]:
    return MaracReferral.objects.filter(
        erased_at__isnull=True,
        status__in=[MaracStatus.CONFIRMED, MaracStatus.DECLINED],
        decided_at__lte=rule.cutoff(now),
    )


def _marac_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    referrals = list(MaracReferral.objects.filter(pk__in=ids))
    for r in referrals:
        r.victim_name = REMOVED
        r.victim_date_of_birth = None
        r.victim_key = ""
        r.suspect_keys = []
        # The codes stay for the statistics; the evidence quotes the officer's rationale.
        r.criteria = [{"code": c["code"], "evidence": ""} for c in r.criteria]
        r.note = _removed(r.note)
        r.erased_at = now
    MaracReferral.objects.bulk_update(
        referrals,
        [
            "victim_name",
            "victim_date_of_birth",
            "victim_key",
            "suspect_keys",
            "criteria",
            "note",
            "erased_at",
        ],
    )
    return {}


def _outbox_sent_due(rule: Rule, now: dt.datetime) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        erased_at__isnull=True, status=OutboxStatus.SENT, sent_at__lte=rule.cutoff(now)
    )


def _outbox_dead_due(rule: Rule, now: dt.datetime) -> QuerySet[OutboxMessage]:
    return OutboxMessage.objects.filter(
        erased_at__isnull=True, status=OutboxStatus.DEAD, created_at__lte=rule.cutoff(now)
    )


def _outbox_anonymise(ids: list[Any], now: dt.datetime) -> dict[str, int]:
    OutboxMessage.objects.filter(pk__in=ids).update(body="", attachments=[], erased_at=now)
    return {}


def _deleter(model: type[Model]) -> Callable[[list[Any], dt.datetime], dict[str, int]]:
    def delete(ids: list[Any], now: dt.datetime) -> dict[str, int]:
        model._default_manager.filter(pk__in=ids).delete()
        return {}

    return delete


@dataclass(frozen=True)
class Job:
    model: type[Model]
    due: Callable[[Rule, dt.datetime], QuerySet[Any]]
    apply: Callable[[list[Any], dt.datetime], dict[str, int]]


JOBS: dict[str, Job] = {
    "contact_no_referral": Job(Contact, _contacts_no_referral, _contacts_anonymise),
    "contact_referral": Job(Contact, _contacts_referral, _contacts_anonymise),
    # After the contacts: a notification whose last contacts this run anonymises goes too.
    "notification": Job(Notification, _notifications_due, _notifications_anonymise),
    # After the notifications and contacts: their records in the person index go with them.
    "person_record": Job(SourceRecord, _records_due, _records_anonymise),
    # After the contacts too: a discussion whose last children this run anonymises goes too.
    "strategy_discussion": Job(StrategyDiscussion, _discussions_due, _discussions_anonymise),
    "encompass_notice": Job(EncompassNotice, _notices_due, _notices_anonymise),
    "marac_referral": Job(MaracReferral, _marac_due, _marac_anonymise),
    "outbox_sent": Job(OutboxMessage, _outbox_sent_due, _outbox_anonymise),
    "outbox_dead": Job(OutboxMessage, _outbox_dead_due, _outbox_anonymise),
    "signin_failure": Job(
        SignInFailure,
        lambda rule, now: SignInFailure.objects.filter(at__lte=rule.cutoff(now)),
        _deleter(SignInFailure),
    ),
    "idempotency_key": Job(
        IdempotencyKey,
        lambda rule, now: IdempotencyKey.objects.filter(created_at__lte=rule.cutoff(now)),
        _deleter(IdempotencyKey),
    ),
    "task_result": Job(
        DBTaskResult,
        lambda rule, now: DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED],
            finished_at__lte=rule.cutoff(now),
        ),
        _deleter(DBTaskResult),
    ),
}

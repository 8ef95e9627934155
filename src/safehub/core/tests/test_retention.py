"""Retention: each rule acts on the day after its time has come and not the day before; a dry run
changes nothing; a second run does nothing; every batch is audited; what the statistics count
survives; nothing that another row points at is deleted; the job runs at most once a day.

Most records are made directly, dated where each rule looks; one test takes a whole police
notification through intake, closes its contacts and lets thirty years pass.
"""

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.urls import reverse
from django.utils.module_loading import import_string
from django_tasks_db.models import DBTaskResult

from safehub.accounts.models import SignInFailure, User
from safehub.audit.models import AuditEvent
from safehub.core import clock
from safehub.core.errors import Conflict
from safehub.core.models import OutboxMessage, OutboxStatus
from safehub.core.retention import (
    AUDIT_OBJECT_TYPE,
    DEFAULT_RULES,
    ERASED_BODY,
    REMOVED,
    RUN,
    retention_check,
    retention_rules,
    retention_run,
    retention_table,
    years_before,
)
from safehub.core.testing import example_bytes
from safehub.encompass.models import EncompassNotice
from safehub.intake.models import (
    Channel,
    IdempotencyKey,
    Notification,
    NotificationVersion,
    PersonKey,
)
from safehub.intake.services import notification_amend, notification_receive
from safehub.referrals.models import (
    Contact,
    ContactStatus,
    ContactStatusChange,
    Decision,
    Outcome,
    ReferralSource,
    Routing,
    SignOff,
)
from safehub.risk.models import MaracReferral, MaracStatus
from safehub.timescales.models import Clock

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2034, 3, 15, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
TODAY = NOW.date()


@pytest.fixture
def now():
    with clock.frozen(NOW):
        yield NOW


@pytest.fixture
def worker(db):
    return User.objects.create(username="worker", first_name="Wendy")


# --- Records, dated where each rule looks -------------------------------------------------------

_refs = iter(range(1, 10**6))


def notification(received_at: dt.datetime, *, contacts: int = 0) -> Notification:
    n = Notification.objects.create(
        force_code="MSP",
        incident_reference=f"MSP-RT-{next(_refs):06d}",
        occurred_at=received_at - DAY,
        recorded_at=received_at - DAY,
        received_at=received_at,
        officer_grade="medium",
        child_count=contacts,
    )
    NotificationVersion.objects.create(
        notification=n,
        number=1,
        body=b'{"people": [{"given_names": "Amy"}]}',
        body_sha256="0" * 64,
        received_at=received_at,
        channel=Channel.API,
    )
    PersonKey.objects.create(
        notification=n, role="child", person_ref="C1", key="k" * 32, occurred_at=received_at
    )
    return n


def closed_contact(
    worker: User,
    closed_at: dt.datetime,
    *,
    outcome: str = Outcome.NO_FURTHER_ACTION,
    born: dt.date | None = dt.date(2015, 5, 1),
    received_at: dt.datetime | None = None,
    notification: Notification | None = None,
    **fields: Any,
) -> Contact:
    """A contact decided with `outcome`, signed off and closed at `closed_at`."""
    received_at = received_at or closed_at - 2 * DAY
    contact = Contact.objects.create(
        notification=notification,
        child_ref=f"C{next(_refs)}",
        routing=Routing.ROUTED,
        status=ContactStatus.CLOSED,
        received_at=received_at,
        referral_source=ReferralSource.SCHOOLS,
        referrer_name="Ms Teacher",
        referrer_organisation="Birkenhead Primary",
        referrer_contact="0151 000 0000",
        reason="Amy said her dad hit her mum.",
        given_names="Amy",
        family_name="Example",
        date_of_birth=born,
        sex="F",
        address={"line1": "1 Example Street", "postcode": "CH41 6AB"},
        postcode="CH41 6AB",
        rag="amber",
        rag_reasons=["Officer graded the risk medium"],
        **fields,
    )
    Decision.objects.create(
        contact=contact,
        outcome=outcome,
        rationale="Spoke to Amy's mother, Jane.",
        referral_source=contact.referral_source,
        became_referral=outcome
        in (Outcome.ASSESSMENT_S17, Outcome.STRATEGY_DISCUSSION_S47, Outcome.ALREADY_OPEN),
        decided_by=worker,
        decided_at=closed_at - DAY,
        sign_off=SignOff.SIGNED_OFF,
        signed_off_by=worker,
        signed_off_at=closed_at,
        sign_off_note="Agreed; Jane is safe now.",
    )
    ContactStatusChange.objects.create(
        contact=contact,
        from_status=ContactStatus.DECIDED,
        to_status=ContactStatus.CLOSED,
        by=worker,
        at=closed_at,
        note="Closed after Jane's call.",
    )
    return contact


def notice(worker: User, *, due_at: dt.datetime, acknowledged_at=None) -> EncompassNotice:
    contact = closed_contact(worker, NOW)  # kept: closed today
    return EncompassNotice.objects.create(
        contact=contact,
        recipient_email="dsl@school.example",
        reason_for_recipient="school_dsl",
        recorded_at=due_at - DAY,
        due_at=due_at,
        status="acknowledged" if acknowledged_at else "queued",
        content={
            "police_reference": "MSP-26-004821",
            "child": {"given_names": "Amy", "family_name": "Example"},
            "voice_of_child": "I hid upstairs.",
        },
        created_at=due_at - DAY,
        acknowledged_at=acknowledged_at,
    )


def marac(decided_at: dt.datetime, *, status: str = MaracStatus.CONFIRMED) -> MaracReferral:
    return MaracReferral.objects.create(
        notification=notification(NOW),
        victim_ref="V1",
        victim_name="Jane Example",
        victim_date_of_birth=dt.date(1992, 4, 2),
        victim_key="v" * 32,
        suspect_keys=["s" * 32],
        criteria=[
            {"code": "professional_judgement", "evidence": "Officer's rationale: Jane is scared"}
        ],
        policy_version=1,
        status=status,
        created_at=decided_at - DAY,
        decided_at=decided_at,
        note="Jane agreed to the IDVA.",
    )


def message(*, status: str, sent_at=None, created_at=None) -> OutboxMessage:
    at = created_at or sent_at
    return OutboxMessage.objects.create(
        recipients=["dsl@school.example"],
        subject="Operation Encompass notice for your school: police reference MSP-26-004821",
        body="Child: Amy Example",
        attachments=[{"filename": "a.txt", "content_type": "text/plain", "content_base64": "QQ=="}],
        reason="encompass_notice",
        status=status,
        next_attempt_at=at,
        created_at=at,
        sent_at=sent_at,
    )


def task_result(finished_at: dt.datetime, *, status: str = "SUCCESSFUL") -> DBTaskResult:
    return DBTaskResult.objects.create(
        status=status,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="safehub.core.outbox.sweep",
        backend_name="default",
        run_after=finished_at,
        finished_at=finished_at,
    )


def gone(obj: Any) -> bool:
    return not type(obj)._default_manager.filter(pk=obj.pk).exists()


def erased(obj: Any) -> bool:
    obj.refresh_from_db()
    return obj.erased_at is not None


# Each rule: make a record whose date the rule counts from is `at`, and whether it was acted on.
# The age comes from the rule in force, so the boundaries follow DEFAULT_RULES.
def _marac_made(worker, at):
    return marac(at)


def _contact_referral(worker, at):
    return closed_contact(worker, at, outcome=Outcome.ASSESSMENT_S17, born=dt.date(2000, 1, 1))


def _notification(worker, at):
    n = notification(at)
    closed_contact(worker, at, notification=n, erased_at=at)  # its only contact: anonymised
    return n


def _discussion(worker, at):
    """A discussion called at `at` about one child whose contact is anonymised already, with a
    partner's request (the people asked about) and answer, the risks and an action."""
    from safehub.accounts.models import Agency, AgencyKind
    from safehub.meetings.models import (
        DiscussionAction,
        DiscussionChild,
        InformationRequest,
        Participant,
        StrategyDiscussion,
    )

    council, _ = Agency.objects.get_or_create(
        code="LA344",
        defaults={"kind": AgencyKind.CHILDREN_SERVICES, "la_code": "344", "name": "Wirral"},
    )
    contact = closed_contact(worker, at, erased_at=at)
    d = StrategyDiscussion.objects.create(
        local_authority=council, contact=contact, called_by=worker, called_at=at, chair=worker,
        reason="Amy said her dad hit her mum.", due_at=at + DAY, format="meeting",
        mode="remote", starts_at=at + DAY, ends_at=at + DAY + dt.timedelta(hours=1),
        location="Video", consent="not_required", outcome_rationale="Risk to Amy.",
    )  # fmt: skip
    DiscussionChild.objects.create(discussion=d, contact=contact, risks="Amy is frightened.")
    p = Participant.objects.create(
        discussion=d, role="police", agency=council, invitee_name="DS Lee",
        invitee_email="lee@police.example", statutory=True, invited_at=at,
        attended_name="DS Lee",
    )  # fmt: skip
    InformationRequest.objects.create(
        participant=p, question="What do you know about Amy?", subjects=[{"given_names": "Amy"}],
        deadline=at, sent_at=at, answer="Amy was seen at A&E.",
    )  # fmt: skip
    DiscussionAction.objects.create(
        discussion=d, description="Visit Amy.", owner_name="Wendy", agency=council,
        due_on=at.date(), created_by=worker, created_at=at,
    )  # fmt: skip
    return d


def _discussion_erased(d) -> bool:
    from safehub.meetings.models import InformationRequest

    if not erased(d):
        return False
    request = InformationRequest.objects.get(participant__discussion=d)
    child = d.children.get()
    action = d.actions.get()
    participant = d.participants.get()
    assert (request.subjects, request.question, request.answer) == ([], "Removed", "Removed")
    assert (child.risks, action.description, action.owner_name) == ("Removed",) * 3
    assert (d.reason, d.outcome_rationale, participant.attended_name) == ("Removed",) * 3
    return True


def _partner_record(worker, at):
    from safehub.people.tests.review_factory import make_record

    return make_record(seen_at=at, nhs_number="943 476 5919")


def _record_erased(record) -> bool:
    """Emptied: no value, feature, key or hash left that names or finds the person."""
    if not erased(record):
        return False
    assert (record.values, record.features) == ({}, {})
    assert (record.given_name, record.family_name, record.name_pair, record.postcode) == ("",) * 4
    assert (record.dob, record.dob_y, record.dob_md) == (None,) * 3
    assert (record.address_key, record.nhs_key, record.upn_key) == ("",) * 3
    return True


def _idempotency_key(worker, at):
    return IdempotencyKey.objects.create(
        force_code="MSP", key=f"k{next(_refs)}", body_sha256="0" * 64,
        notification=notification(NOW), created_at=at,
    )  # fmt: skip


BOUNDARIES: dict[str, tuple[Callable[[User, dt.datetime], Any], Callable[[Any], bool]]] = {
    "contact_no_referral": (lambda w, at: closed_contact(w, at), erased),
    "contact_referral": (_contact_referral, erased),
    "notification": (_notification, erased),
    "encompass_notice": (
        lambda w, at: notice(w, due_at=at - 3 * DAY, acknowledged_at=at),
        erased,
    ),
    "marac_referral": (_marac_made, erased),
    "strategy_discussion": (_discussion, _discussion_erased),
    "person_record": (_partner_record, _record_erased),
    "outbox_sent": (lambda w, at: message(status=OutboxStatus.SENT, sent_at=at), erased),
    "outbox_dead": (lambda w, at: message(status=OutboxStatus.DEAD, created_at=at), erased),
    "signin_failure": (
        lambda w, at: SignInFailure.objects.create(username="amy", address="10.0.0.1", at=at),
        gone,
    ),
    "idempotency_key": (_idempotency_key, gone),
    "task_result": (lambda w, at: task_result(at), gone),
}


def test_every_rule_has_a_boundary_test():
    assert set(BOUNDARIES) == {r.name for r in DEFAULT_RULES}


@pytest.mark.parametrize("rule", [r.name for r in DEFAULT_RULES])
def test_a_record_is_kept_the_day_before_its_time_and_acted_on_the_day_after(rule, now, worker):
    make, acted_on = BOUNDARIES[rule]
    age = next(r for r in DEFAULT_RULES if r.name == rule)
    time_comes = age.cutoff(NOW)
    early, late = make(worker, time_comes + DAY), make(worker, time_comes - DAY)
    report = retention_run(force=True)
    assert not acted_on(early)
    assert acted_on(late)
    assert report.count(rule) == 1


def test_an_unacknowledged_notice_counts_from_its_due_time(now, worker):
    cutoff = years_before(NOW, 1)
    early = notice(worker, due_at=cutoff + DAY)
    late = notice(worker, due_at=cutoff - DAY)
    retention_run(force=True)
    assert not erased(early) and erased(late)


def test_an_undecided_marac_referral_is_kept(now):
    waiting = marac(years_before(NOW, 10), status=MaracStatus.TO_CONFIRM)
    waiting.decided_at = None
    waiting.save()
    retention_run(force=True)
    assert not erased(waiting)


def test_waiting_and_running_tasks_are_never_deleted(now):
    long_ago = NOW - dt.timedelta(days=400)
    ready, running = task_result(long_ago, status="READY"), task_result(long_ago, status="RUNNING")
    failed = task_result(long_ago, status="FAILED")
    retention_run(force=True)
    assert not gone(ready) and not gone(running) and gone(failed)


def test_an_open_contact_is_never_anonymised(now, worker):
    contact = closed_contact(worker, years_before(NOW, 20))
    Contact.objects.filter(pk=contact.pk).update(status=ContactStatus.DECIDED)
    retention_run(force=True)
    assert not erased(contact)


# --- A referral is kept to the child's 25th birthday, or 6 years after closure if later ---------


def test_a_referral_is_kept_until_the_25th_birthday_when_that_is_later(now, worker):
    closed = years_before(NOW, 10)
    twenty_five_tomorrow = closed_contact(
        worker, closed, outcome=Outcome.STRATEGY_DISCUSSION_S47, born=years_before(TODAY, 25) + DAY
    )
    twenty_five_today = closed_contact(
        worker, closed, outcome=Outcome.ASSESSMENT_S17, born=years_before(TODAY, 25)
    )
    retention_run(force=True)
    assert not erased(twenty_five_tomorrow)
    assert erased(twenty_five_today)


def test_early_help_follows_the_longer_rule(now, worker):
    young = closed_contact(worker, years_before(NOW, 7), outcome=Outcome.EARLY_HELP)
    retention_run(force=True)
    assert not erased(young)  # born 2015: 25 in 2040


def test_a_leap_day_child_is_25_on_1_march(worker):
    with clock.frozen(dt.datetime(2029, 2, 28, 12, 0, tzinfo=dt.UTC)):
        contact = closed_contact(
            worker,
            dt.datetime(2015, 1, 1, tzinfo=dt.UTC),
            outcome=Outcome.ASSESSMENT_S17,
            born=dt.date(2004, 2, 29),
        )
        retention_run(force=True)
        assert not erased(contact)
    with clock.frozen(dt.datetime(2029, 3, 1, 12, 0, tzinfo=dt.UTC)):
        retention_run(force=True)
        assert erased(contact)


def test_a_referral_without_a_date_of_birth_counts_25_years_from_the_contact(now, worker):
    closed = years_before(NOW, 10)
    kept = closed_contact(worker, closed, outcome=Outcome.ASSESSMENT_S17, born=None)
    unborn = closed_contact(
        worker,
        closed,
        outcome=Outcome.ASSESSMENT_S17,
        born=None,
        unborn=True,
        expected_date_of_birth=years_before(TODAY, 25) - DAY,
    )
    old = closed_contact(
        worker,
        years_before(NOW, 24),
        outcome=Outcome.ASSESSMENT_S17,
        born=None,
        received_at=years_before(NOW, 25) - DAY,
    )
    retention_run(force=True)
    assert not erased(kept)
    assert erased(unborn) and erased(old)


# --- What anonymising keeps and removes -------------------------------------------------------


def test_anonymising_a_contact_keeps_what_the_statistics_count(now, worker):
    closed = years_before(NOW, 6) - DAY
    contact = closed_contact(worker, closed, born=dt.date(2015, 5, 1))
    received, decision = contact.received_at, contact.decisions.get()
    assert contact.child_key
    retention_run(force=True)
    contact.refresh_from_db()
    assert contact.erased_at == NOW
    # Who: gone, the exact-match key of the names and date of birth with them.
    assert (contact.given_names, contact.family_name) == (REMOVED, "")
    assert contact.date_of_birth is None and contact.address == {}
    assert contact.child_key == ""
    assert contact.referrer_name == REMOVED and contact.referrer_contact == REMOVED
    assert contact.reason == REMOVED
    decision.refresh_from_db()
    assert decision.rationale == REMOVED and decision.sign_off_note == REMOVED
    assert contact.status_changes.get().note == REMOVED
    # What the statistics and the census count: kept.
    assert contact.postcode == "CH41"
    assert contact.age_estimate == 12  # on the day of the contact in 2027
    assert (contact.rag, contact.rag_reasons) == ("amber", ["Officer graded the risk medium"])
    assert contact.received_at == received and contact.status == ContactStatus.CLOSED
    assert contact.referral_source == ReferralSource.SCHOOLS and contact.sex == "F"
    assert contact.referrer_organisation == "Birkenhead Primary"
    assert (decision.outcome, decision.sign_off) == (Outcome.NO_FURTHER_ACTION, SignOff.SIGNED_OFF)
    assert decision.decided_at == closed - DAY and decision.became_referral is False
    assert contact.status_changes.get().at == closed


def test_a_notification_waits_for_every_contact_then_loses_its_bodies_and_keys(now, worker):
    long_ago = years_before(NOW, 30)
    n = notification(long_ago)
    first = closed_contact(worker, long_ago + DAY, notification=n)
    second = closed_contact(
        worker, long_ago + DAY, notification=n, outcome=Outcome.STRATEGY_DISCUSSION_S47, born=TODAY
    )  # a baby's referral: kept until 2059
    retention_run(force=True)
    assert erased(first) and not erased(second) and not erased(n)
    assert PersonKey.objects.filter(notification=n).exists()

    second.date_of_birth = dt.date(1990, 1, 1)
    second.save()
    retention_run(force=True)
    assert erased(second) and erased(n)
    version = n.versions.get()
    assert bytes(version.body) == ERASED_BODY and version.erased_at == NOW
    assert json.loads(bytes(version.body)) == {}
    assert not PersonKey.objects.filter(notification=n).exists()
    assert (n.force_code, n.received_at, n.child_count) == ("MSP", long_ago, 0)


def test_index_records_follow_their_notification_and_contact_and_leave_the_index(now, worker):
    """A notification's and a manual contact's records are emptied in the run that anonymises
    them, not before; an open review of one no longer applies; the person, the relationship and
    how each was linked stay; `linkage run`'s export and matching no longer see them."""
    from safehub.people.index import row_keys, values_row
    from safehub.people.matching import candidates_fetch
    from safehub.people.models import LinkReview, Relationship, ReviewStatus, SourceKind
    from safehub.people.services import index_export
    from safehub.people.tests.review_factory import (
        make_person,
        make_record,
        make_relationship,
        make_review,
    )

    long_ago = years_before(NOW, 30)
    n = notification(long_ago)
    kept_contact = closed_contact(worker, NOW)  # closed today: kept
    open_contact = closed_contact(worker, long_ago, notification=n)
    amy = make_person()
    told = make_record(
        amy, source_kind=SourceKind.NOTIFICATION, notification=n, contact=open_contact,
        seen_at=long_ago,
    )  # fmt: skip
    mum = make_record(
        given_names="Jane", dob="1990-01-01", source_kind=SourceKind.NOTIFICATION,
        notification=n, role="victim", seen_at=long_ago,
    )  # fmt: skip
    relationship = make_relationship(mum.person, amy, "parent", mum)
    manual = make_record(
        amy, source_kind=SourceKind.CONTACT, contact=kept_contact, seen_at=long_ago
    )
    review = make_review(make_record(source_ref="ROLL-1"), amy, probability=0.9)
    review_of_told = make_review(told, make_person(), probability=0.9)
    assert len(index_export(batch_size=100).ids) == 4
    keys = row_keys(values_row(mum.values, record_id="new", source="MSP"))

    def found_mum() -> bool:
        [found] = candidates_fetch([keys], groups=[None])
        return mum.pk in {c.record_id for c in found}

    assert found_mum()

    report = retention_run(force=True)
    assert erased(open_contact) and erased(n)
    assert _record_erased(told) and _record_erased(mum)
    assert not erased(manual) and not erased(review.record)
    assert report.count("person_record") == 2
    assert told.person_id == amy.pk and told.source_ref and told.link_method
    assert Relationship.objects.filter(pk=relationship.pk).exists()
    review_of_told.refresh_from_db()
    assert review_of_told.status == ReviewStatus.SUPERSEDED
    assert "retention" in review_of_told.reason
    assert LinkReview.objects.get(pk=review.pk).status == ReviewStatus.OPEN

    exported = index_export(batch_size=100)
    assert set(exported.ids) == {manual.pk, review.record.pk}
    assert not found_mum()


def test_a_notification_that_opened_no_contact_goes_6_years_after_receipt(now):
    early, late = notification(years_before(NOW, 6) + DAY), notification(years_before(NOW, 6) - DAY)
    retention_run(force=True)
    assert not erased(early) and erased(late)


def test_anonymising_a_notice_keeps_the_police_reference(now, worker):
    n = notice(worker, due_at=NOW - 400 * DAY)
    retention_run(force=True)
    n.refresh_from_db()
    assert n.content == {"police_reference": "MSP-26-004821"}
    assert n.child_name == REMOVED and n.police_reference == "MSP-26-004821"
    assert n.recipient_email == "dsl@school.example"


def test_anonymising_a_marac_referral_keeps_its_criteria_codes(now):
    referral = marac(years_before(NOW, 7))
    retention_run(force=True)
    referral.refresh_from_db()
    assert (referral.victim_name, referral.victim_date_of_birth) == (REMOVED, None)
    assert referral.victim_key == "" and referral.suspect_keys == []
    assert referral.criteria == [{"code": "professional_judgement", "evidence": ""}]
    assert referral.note == REMOVED and referral.status == MaracStatus.CONFIRMED


def test_anonymising_a_message_keeps_who_when_and_why(now):
    sent = message(status=OutboxStatus.SENT, sent_at=NOW - 91 * DAY)
    retention_run(force=True)
    sent.refresh_from_db()
    assert (sent.body, sent.attachments) == ("", [])
    assert sent.recipients == ["dsl@school.example"] and sent.reason == "encompass_notice"
    assert sent.sent_at == NOW - 91 * DAY and sent.status == OutboxStatus.SENT


# --- The job ---------------------------------------------------------------------------------


def one_of_each_due(worker: User) -> None:
    for make, _ in BOUNDARIES.values():
        make(worker, years_before(NOW, 40))


def snapshot() -> dict[str, Any]:
    return {
        "audit": AuditEvent.objects.count(),
        "erased": [
            m.objects.filter(erased_at__isnull=False).count()
            for m in (Contact, Notification, EncompassNotice, MaracReferral, OutboxMessage)
        ],
        "rows": [
            m.objects.count()
            for m in (SignInFailure, IdempotencyKey, DBTaskResult, PersonKey, Contact)
        ],
        "names": sorted(Contact.objects.values_list("given_names", flat=True)),
    }


def test_a_dry_run_counts_what_a_run_would_do_and_changes_nothing(now, worker):
    one_of_each_due(worker)
    before = snapshot()
    dry = retention_run(dry_run=True)
    assert snapshot() == before
    assert dry.dry_run and all(r.count >= 1 for r in dry.results)
    real = retention_run()
    assert [(r.rule, r.count) for r in dry.results] == [(r.rule, r.count) for r in real.results]


def test_a_second_run_does_nothing(now, worker):
    one_of_each_due(worker)
    retention_run(force=True)
    after = snapshot()
    again = retention_run(force=True)
    assert all(r.count == 0 for r in again.results)
    assert str(again) == "nothing due"
    assert snapshot() == {**after, "audit": after["audit"] + 1}  # the run's own event only


def test_each_batch_is_one_audit_event_with_its_count_and_ids(now):
    failures = [
        SignInFailure.objects.create(username="amy", address="10.0.0.1", at=NOW - 40 * DAY)
        for _ in range(5)
    ]
    report = retention_run(batch_size=2)
    events = list(
        AuditEvent.objects.filter(object_type=AUDIT_OBJECT_TYPE, object_id="signin_failure")
        .order_by("id")
        .values_list("actor", "action", "detail")
    )
    assert [e[2]["count"] for e in events] == [2, 2, 1]
    assert {e[0] for e in events} == {"safehub: retention"} and {e[1] for e in events} == {"update"}
    assert events[0][2]["retention"] == "signin_failure" and events[0][2]["action"] == "delete"
    assert [int(i) for e in events for i in e[2]["ids"]] == [f.pk for f in failures]
    assert report.count("signin_failure") == 5
    run = AuditEvent.objects.get(object_type=AUDIT_OBJECT_TYPE, object_id=RUN)
    assert run.detail["counts"]["signin_failure"] == 5


def test_a_limit_leaves_the_rest_for_the_next_run(now):
    for _ in range(3):
        SignInFailure.objects.create(username="amy", address="10.0.0.1", at=NOW - 40 * DAY)
    assert retention_run(force=True, limit=2).count("signin_failure") == 2
    assert retention_run(force=True, limit=2).count("signin_failure") == 1


def test_the_job_runs_at_most_once_a_day(now):
    assert retention_run().skipped_since is None
    SignInFailure.objects.create(username="amy", address="10.0.0.1", at=NOW - 40 * DAY)
    with clock.frozen(NOW + dt.timedelta(hours=23)):
        skipped = retention_run()
        assert skipped.skipped_since == NOW and str(skipped).startswith("skipped")
        assert SignInFailure.objects.exists()
        assert retention_run(dry_run=True).count("signin_failure") == 1  # a dry run always runs
    with clock.frozen(NOW + dt.timedelta(hours=24)):
        assert retention_run().count("signin_failure") == 1


def test_a_dry_run_does_not_count_as_the_days_run(now):
    retention_run(dry_run=True)
    assert retention_run().skipped_since is None


def test_the_worker_sweep_can_call_it(now):
    sweep = import_string("safehub.core.retention.retention_run")
    assert str(sweep()) == "nothing due"
    assert str(sweep()).startswith("skipped")


def test_the_command_says_how_many_per_rule(now, worker):
    from io import StringIO

    one_of_each_due(worker)
    out = StringIO()
    call_command("retention", "run", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "signin_failure" in text and "1 would be deleted" in text
    assert "would be anonymised" in text and "nothing was" in text
    out = StringIO()
    call_command("retention", "run", stdout=out)
    assert "1 deleted" in out.getvalue()


# --- Configuration ---------------------------------------------------------------------------


def test_settings_change_a_rules_age(settings):
    settings.SAFEHUB_RETENTION = {"contact_no_referral": {"years": 7}, "outbox_sent": {"days": 30}}
    rules = {r.name: r for r in retention_rules()}
    assert (rules["contact_no_referral"].years, rules["contact_no_referral"].days) == (7, 0)
    assert (rules["outbox_sent"].years, rules["outbox_sent"].days) == (0, 30)
    assert rules["contact_referral"].until_age == 25


@pytest.mark.parametrize(
    "value",
    [
        {"no_such_rule": {"years": 1}},
        {"contact_no_referral": {"months": 3}},
        {"contact_no_referral": {"years": "6"}},
        {"contact_no_referral": {"years": -1}},
        {"contact_no_referral": {"years": 0, "days": 0}},
        {"outbox_sent": {"until_age": 25}},
        {"signin_failure": {"days": 0, "years": 0}},
        ["contact_no_referral"],
    ],
)
def test_a_bad_setting_is_refused(settings, value):
    settings.SAFEHUB_RETENTION = value
    with pytest.raises(ImproperlyConfigured):
        retention_rules()


def test_sign_in_failures_outlive_the_lockout_window(settings):
    settings.SAFEHUB_SIGNIN_FAILURE_WINDOW_MINUTES = 3 * 24 * 60
    settings.SAFEHUB_RETENTION = {"signin_failure": {"days": 1}}
    with pytest.raises(ImproperlyConfigured):
        retention_rules()


def test_a_bad_setting_fails_the_system_check(settings):
    settings.SAFEHUB_RETENTION = {"contact_no_referal": {"years": 7}}
    errors = retention_check()
    assert [e.id for e in errors] == ["safehub.E001"]
    assert "contact_no_referal" in errors[0].msg


def test_docs_show_the_default_rules():
    doc = (Path(__file__).resolve().parents[4] / "docs" / "retention.md").read_text()
    assert retention_table() in doc


# --- A whole notification, thirty years on ------------------------------------------------------


def test_a_received_notification_is_anonymised_whole_and_nothing_protected_is_deleted(
    client, alice, mary, msp_token, frozen_now
):
    receipt = notification_receive(
        raw=example_bytes("notification-high-risk.json"),
        channel=Channel.API,
        idempotency_key="first-try",
    )
    n = receipt.notification
    closed = clock.now() + DAY
    for contact in n.contacts.all():
        Decision.objects.create(
            contact=contact,
            outcome=Outcome.NO_FURTHER_ACTION,
            rationale="No role for us.",
            referral_source=contact.referral_source,
            became_referral=False,
            decided_by=alice,
            decided_at=closed,
            sign_off=SignOff.SIGNED_OFF,
            signed_off_by=mary,
            signed_off_at=closed,
        )
        ContactStatusChange.objects.create(
            contact=contact, from_status="decided", to_status="closed", by=mary, at=closed
        )
    Contact.objects.filter(notification=n).update(status=ContactStatus.CLOSED)
    OutboxMessage.objects.update(status=OutboxStatus.SENT, sent_at=closed)
    MaracReferral.objects.update(status=MaracStatus.CONFIRMED, decided_by=mary, decided_at=closed)
    models = (
        Notification, NotificationVersion, Contact, Decision, ContactStatusChange, Clock,
        EncompassNotice, OutboxMessage, MaracReferral,
    )  # fmt: skip
    from safehub.people.models import SourceRecord
    from safehub.people.services import people_index_sweep

    assert people_index_sweep().indexed == 1  # everyone it names is in the person index
    models = (*models, SourceRecord)
    rows = {m: m.objects.count() for m in models}
    assert rows[EncompassNotice] and rows[OutboxMessage] and rows[MaracReferral]
    assert rows[SourceRecord] >= 3
    assert PersonKey.objects.exists() and IdempotencyKey.objects.exists()

    with clock.frozen(years_before(clock.now(), -30)):
        report = retention_run()
        assert {m: m.objects.count() for m in models} == rows  # nothing PROTECTed was deleted
        for m in (
            Notification, NotificationVersion, Contact, EncompassNotice, MaracReferral,
            SourceRecord,
        ):  # fmt: skip
            assert not m.objects.filter(erased_at__isnull=True).exists(), m
        assert not OutboxMessage.objects.filter(erased_at__isnull=True).exists()
        assert not PersonKey.objects.exists() and not IdempotencyKey.objects.exists()
        assert report.count("notification") == 1

        # The pages and the API read still work, and say what happened.
        contact = n.contacts.get(child_ref="C1")
        client.force_login(alice)
        page = client.get(reverse("referrals:contact_detail", args=[contact.pk]))
        assert page.status_code == 200
        text = page.content.decode()
        assert "removed under the retention policy" in text
        assert "Amy" not in text and "Jane" not in text and "CH41 6AB" not in text
        amy = SourceRecord.objects.get(contact=contact).person
        text = client.get(reverse("people:person_detail", args=[amy.pk])).content.decode()
        assert "Details removed under the retention policy" in text
        assert "Amy" not in text and "Jane" not in text and "CH41 6AB" not in text
        response = client.get(
            f"/api/v1/notifications/MSP/{n.incident_reference}",
            headers={"Authorization": f"Bearer {msp_token}"},
        )
        assert response.status_code == 200
        assert response.json()["body"] == {}

        # An amendment cannot bring the details back.
        with pytest.raises(Conflict):
            notification_amend(
                force_code="MSP",
                incident_reference=n.incident_reference,
                raw=example_bytes("notification-high-risk.json").replace(b"Amy", b"Amie"),
                channel=Channel.API,
            )

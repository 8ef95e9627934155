"""Operation Encompass end to end from intake: a notification posted through the API makes a
notice for each child of school age; the worker's first delivery fails (the SMTP server is down)
and is recorded for another attempt; once the server is up and the retry time has come, exactly
one e-mail per notice reaches a real SMTP server started by the test. Each holds the child's name
and the police reference, and none of the adults' details, the summary, the offences or the risk
assessment, all taken from the example bodies themselves."""

import datetime as dt
import re

import pytest
from django.core.management import call_command

from safehub.core import clock
from safehub.core.models import OutboxMessage, OutboxStatus
from safehub.core.testing import example, example_bytes
from safehub.encompass.models import EncompassNotice, NoticeStatus
from safehub.encompass.services import encompass_sweep
from safehub.timescales.models import Clock, ClockKind, ClockState

UTC = dt.UTC
EXAMPLES = ["notification-high-risk.json", "notification-two-authorities.json"]
# Sunday 22 Nov 2026, 21:00 GMT: after both examples were recorded; every notice is due at the
# start of Monday's school day (08:30).
SUNDAY_NIGHT = dt.datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
MONDAY_0830 = dt.datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
# The children of school age (4 to 17) on the day of the incident: Amy (9); Ravi (11) and Maya
# (about 14). Leo (2) and the unborn child get no notice.
SCHOOL_AGE = {
    ("MSP-26-004821", "C1"): ("Amy Example", "dsl.900001@school.example"),
    ("MSP-26-004830", "C1"): ("Ravi Demo", None),
    ("MSP-26-004830", "C2"): ("Maya Demo", None),
}


def _long_date(iso: str) -> str:
    day = dt.date.fromisoformat(iso)
    return f"{day.day} {day:%B %Y}"


def _phrases(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[.,;]", text) if p.strip()]


def never_shared(body: dict) -> list[str]:
    """What the notification says beyond the Encompass subset, as it could appear in an e-mail."""
    words: list[str] = []
    for person in body["people"]:
        if person["role"] == "child":
            continue
        words += [person["given_names"], f"{person['given_names']} {person['family_name']}"]
        if person.get("date_of_birth"):
            words += [person["date_of_birth"], _long_date(person["date_of_birth"])]
        if person.get("safe_contact", {}).get("phone"):
            words.append(person["safe_contact"]["phone"])
    if body.get("summary"):
        words.append(body["summary"])
        words += _phrases(body["summary"])
    words += body.get("offences", [])
    risk = body["risk"]
    words += [risk["instrument"], "DASH", "DARA", "officer_grade"]
    if risk.get("officer_rationale"):
        words.append(risk["officer_rationale"])
        words += _phrases(risk["officer_rationale"])
    officer = body["officer"]
    words += [officer["name"], officer["collar_number"]]
    if officer.get("email"):
        words.append(officer["email"])
    return words


def _post(client, raw: bytes, token: str):
    return client.post(
        "/api/v1/notifications",
        data=raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


def _worker() -> None:
    call_command("worker", "--batch", "--interval", "0")


@pytest.fixture
def posted(client, msp_token, smtp):
    """Both examples posted on Sunday night, the SMTP server down."""
    smtp.stop()
    with clock.frozen(SUNDAY_NIGHT):
        for name in EXAMPLES:
            response = _post(client, example_bytes(name), msp_token)
            assert response.status_code == 201, response.content
            answer = response.json()
            notices = EncompassNotice.objects.filter(contact__notification_id=answer["id"])
            assert sorted(e["child_ref"] for e in answer["encompass"]) == sorted(
                n.contact.child_ref for n in notices
            )
    return smtp


def _notices() -> dict[tuple[str, str], EncompassNotice]:
    return {
        (n.contact.notification.incident_reference, n.contact.child_ref): n
        for n in EncompassNotice.objects.select_related(
            "contact__notification", "outbox_message", "recipient"
        )
    }


def test_intake_makes_a_notice_for_each_child_of_school_age(posted):
    notices = _notices()
    assert set(notices) == set(SCHOOL_AGE)
    for key, notice in notices.items():
        name, email = SCHOOL_AGE[key]
        assert notice.child_name == name
        assert notice.status == NoticeStatus.QUEUED
        assert notice.due_at == MONDAY_0830
        assert notice.outbox_message is not None
        assert notice.outbox_message.recipients == [notice.recipient_email]
        if email:
            assert notice.recipient_email == email
    # Maya has no school: Liverpool's education safeguarding inbox is told.
    assert notices[("MSP-26-004830", "C2")].recipient.code == "EDU341"


# The worker's task runner closes its database connection: the test commits for real.
@pytest.mark.django_db(transaction=True)
def test_a_failed_delivery_is_recorded_and_retried_until_one_email_per_notice_arrives(posted):
    smtp = posted
    first_try = SUNDAY_NIGHT + dt.timedelta(minutes=1)
    with clock.frozen(first_try):
        _worker()
    assert smtp.messages == []
    messages = list(OutboxMessage.objects.filter(reason="encompass_notice"))
    assert len(messages) == len(SCHOOL_AGE)
    for message in messages:
        assert message.status == OutboxStatus.PENDING
        assert message.attempts == 1
        assert message.last_error  # what went wrong, for a person to read
        assert message.sent_at is None
        assert message.next_attempt_at > first_try
    with clock.frozen(first_try):
        assert encompass_sweep().delivered == 0
    assert {n.status for n in _notices().values()} == {NoticeStatus.QUEUED}

    smtp.start()
    retry = max(m.next_attempt_at for m in messages) + dt.timedelta(seconds=1)
    with clock.frozen(retry):
        _worker()
        _worker()  # nothing is sent twice
        assert encompass_sweep().delivered == len(SCHOOL_AGE)
    assert len(smtp.messages) == len(SCHOOL_AGE)

    bodies = {example(name)["incident_reference"]: example(name) for name in EXAMPLES}
    for (reference_no, _), notice in _notices().items():
        [email] = [m for m in smtp.messages if m["To"] == notice.recipient_email]
        text = email.get_content()
        subject = email["Subject"]
        assert f"Child: {notice.child_name}" in text
        assert reference_no in text
        assert reference_no in re.sub(r"\s+", " ", subject)
        assert notice.child_name.split()[0] not in subject  # the subject names no child
        for word in never_shared(bodies[reference_no]):
            pattern = rf"(?<!\w){re.escape(word)}(?!\w)"
            assert not re.search(pattern, text), word
            assert not re.search(pattern, subject), word
        notice.outbox_message.refresh_from_db()
        assert (notice.outbox_message.status, notice.outbox_message.attempts) == (
            OutboxStatus.SENT,
            2,
        )
        assert notice.status == NoticeStatus.SENT
        assert notice.sent_at == notice.outbox_message.sent_at == retry
        encompass = Clock.objects.get(contact=notice.contact, kind=ClockKind.ENCOMPASS)
        assert (encompass.state, encompass.met_at) == (ClockState.MET, retry)
    # Each notice to its own recipient: three different inboxes, one e-mail each.
    assert len({m["To"] for m in smtp.messages}) == len(SCHOOL_AGE)


def test_the_never_shared_list_is_taken_from_the_bodies():
    """The check above is real: the words it looks for are in the bodies it posts."""
    words = never_shared(example("notification-high-risk.json"))
    for expected in (
        "Jane Example",
        "John",
        "1992-04-02",
        "30 September 1989",
        "07700 900123",
        "Victim had facial injuries",
        "Assault occasioning actual bodily harm",
        "Strangulation",
        "DASH_2009_27",
    ):
        assert expected in words
    assert "Amy" not in words
    demo = never_shared(example("notification-two-authorities.json"))
    assert {"Priya Demo", "Mark", "Criminal damage", "Controlling behaviour reported"} <= set(demo)


def test_a_child_an_amendment_shows_to_be_of_school_age_gets_a_notice(client, msp_token):
    import copy
    import json

    doc = example("notification-two-authorities.json")
    maya = next(p for p in doc["people"] if p["ref"] == "C2")
    maya["age_estimate"] = 3  # version 1: thought to be 3, not of school age
    with clock.frozen(SUNDAY_NIGHT):
        assert _post(client, json.dumps(doc).encode(), msp_token).status_code == 201
    assert not EncompassNotice.objects.filter(contact__child_ref="C2").exists()

    amended = copy.deepcopy(doc)
    maya = next(p for p in amended["people"] if p["ref"] == "C2")
    maya["age_estimate"], maya["date_of_birth"] = None, "2012-05-05"  # 14 after all
    with clock.frozen(SUNDAY_NIGHT + dt.timedelta(hours=1)):
        response = client.put(
            f"/api/v1/notifications/MSP/{doc['incident_reference']}",
            data=json.dumps(amended).encode(),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {msp_token}",
        )
    assert response.status_code == 201, response.content
    assert EncompassNotice.objects.filter(contact__child_ref="C2").exists()

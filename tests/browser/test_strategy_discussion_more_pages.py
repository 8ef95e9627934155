"""Strategy discussions in the browser, the pages the main story does not reach: real Chromium,
the live server, axe on every page state.

The discussion about Amy and Leo (the spec's high-risk example) is called through the services:
Mary, Wirral's hub manager (LA344), chairs it and invites Merseyside Police, Wirral's community
health trust (RY7) and Amy's school. Then, clicking as a person would:

- Mary sees it from Amy's contact (no second "Call a strategy discussion"), chases health, invites
  the domestic abuse service, records a decision not to share, changes the time (refused without a
  reason; then every invitee gets the updated calendar entry) and cancels it (every invitee gets
  the cancellation); the contact then offers to call one again;
- Percy, a police hub officer of MSP, replies that a colleague attends instead (refused without
  the colleague's e-mail); the colleague gets the invitation;
- after the outcome, Mary marks an action done, downloads the minutes and sends them;
- Audrey, Wirral's auditor, filters the sharing decisions by date and downloads them as CSV.

The clock is not frozen: the discussion starts a few hours from now.
"""

import csv
import datetime as dt
import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.browser.test_hub_pages import enter_code, error_summary, sign_in, success_banner
from tests.browser.test_strategy_discussion_pages import (
    COUNCIL,
    DISCUSSION_URL,
    HEALTH,
    LONDON,
    NEVER_IN_AN_EMAIL,
    POLICE,
    SCHOOL,
    as_input,
    calendars_in,
    london_minute,
    long_date,
    message_text,
    open_from_the_list,
    partner_sign_in,
    summary_value,
)

DOMESTIC_ABUSE = "Wirral domestic abuse family service (demo)"
INBOXES = {
    "MSP": "ppn.msp@police.example",
    "RY7": "safeguarding.ry7@nhs.example",
    "URN900001": "dsl.900001@school.example",
    "DAS-WIR": "referrals.das-wir@da.example",
}
MARY_EMAIL = "mary@hub.example"
CSV_HEADER = ["at", "made_by", "from_agency", "shared", "kind"]


@pytest.fixture
def household(reference):
    """The spec's high-risk example, received: Amy's and Leo's contacts, by their child ref."""
    from safehub.core.testing import example_bytes
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.referrals.models import Contact

    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.IMPORT)
    return {
        c.child_ref: c
        for c in Contact.objects.filter(notification__incident_reference="MSP-26-004821")
    }


@pytest.fixture
def called(household, mary):
    """A discussion about Amy and Leo, called by Mary three hours from now, with the police,
    health and Amy's school invited (each asked what it knows)."""
    from safehub.accounts.models import Agency
    from safehub.meetings.models import ParticipantRole as R
    from safehub.meetings.services import Invitation, discussion_call

    starts = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    return discussion_call(
        contact=household["C1"],
        called_by=mary,
        children=[household["C1"], household["C2"]],
        reason="Serious assault with both children in the house.",
        format="meeting",
        mode="remote",
        starts_at=starts,
        ends_at=starts + dt.timedelta(hours=1),
        location="Video call: meeting 123 456 789",
        invitations=[
            Invitation(R.CHILDREN_SOCIAL_CARE, mary.agency, name="Mary", email=mary.email),
            Invitation(R.POLICE, Agency.objects.get(code="MSP")),
            Invitation(R.HEALTH, Agency.objects.get(code="RY7")),
            Invitation(R.SCHOOL, Agency.objects.get(code="URN900001")),
        ],
    )


def submit(page, button, url=DISCUSSION_URL) -> None:
    """Click a form's button and wait for the page it leads to (a redirect back to the
    discussion, by default; url=None for a refusal shown at the form's own address)."""
    with page.expect_navigation(url=url) if url else page.expect_navigation():
        button.click()


def participant_rows(page) -> dict[str, str]:
    return {
        row.locator("th").inner_text().split("\n")[0]: row.inner_text()
        for row in page.locator("#participants tbody tr").all()
    }


def sharing_rows(page) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("#sharing-decisions tbody tr").all()
    ]


def received(smtp, subject_start: str) -> dict[str, object]:
    """The messages the SMTP server got whose subject starts so, by recipient. (A long subject
    is folded from its first character: parsed back, it starts with a space.)"""
    found: dict[str, object] = {}
    for message in smtp.messages:
        if str(message["Subject"]).strip().startswith(subject_start):
            to = str(message["To"])
            assert to not in found, f"two messages {subject_start!r} to {to}"
            found[to] = message
    return found


def assert_labelled(page) -> None:
    """What axe lets pass: a <label for> that reaches an earlier element with the same id (axe
    finds the label by its `for`; the browser gives it to the first element with that id, so the
    other field has no name), and "(optional)" said twice (the page adds it to an optional
    field's label). Every id on the page is unique; every field has a label, said once."""
    found = page.evaluate(
        """() => {
            const seen = new Set(), twice = [];
            for (const e of document.querySelectorAll("[id]")) {
                if (seen.has(e.id)) twice.push(e.id);
                seen.add(e.id);
            }
            const fields = "main input:not([type=hidden]), main select, main textarea";
            const unlabelled = [...document.querySelectorAll(fields)]
                .filter((e) => e.labels.length === 0)
                .map((e) => e.name);
            const labels = [...document.querySelectorAll("main label, main legend")]
                .map((e) => e.textContent.replace(/\\s+/g, " ").trim());
            const doubled = labels.filter((t) => /optional.*optional/.test(t));
            return { twice, unlabelled, doubled };
        }"""
    )
    assert found == {"twice": [], "unlabelled": [], "doubled": []}, (page.url, found)


def only_event(message):
    [calendar] = calendars_in(message)
    [event] = calendar.walk("VEVENT")
    return calendar, event


def sign_in_to(page, assert_accessible, username: str, path: str) -> None:
    """Sign in on the way to `path` (people whose landing page is not the triage queue)."""
    from safehub.core.testing import PASSWORD

    page.goto(path)
    page.wait_for_url(re.compile(rf"/sign-in/\?next={re.escape(path)}$"))
    assert_accessible(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, username)
    page.wait_for_url(lambda url: urlsplit(url).path == path and not urlsplit(url).query)


@pytest.mark.django_db(transaction=True)
def test_chair_chases_invites_refuses_to_share_changes_the_time_and_cancels(
    page, assert_accessible, smtp, mary, household, called
):
    from safehub.core.outbox import outbox_deliver_due
    from safehub.meetings.models import DiscussionStatus, InformationRequest, StrategyDiscussion

    discussion = called
    reference = discussion.reference
    uid = f"{discussion.pk}@safehub"
    amy = household["C1"]
    outbox_deliver_due()
    assert set(received(smtp, f"Strategy discussion {reference}")) == {
        MARY_EMAIL,
        INBOXES["MSP"],
        INBOXES["RY7"],
        INBOXES["URN900001"],
    }

    # --- Amy's contact: the discussion, its sharing decisions, no second call -------------------
    sign_in(page, assert_accessible, "mary")
    page.goto(f"/contacts/{amy.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"
    listed = page.locator("h2#strategy-discussions + ul")
    assert listed.inner_text().startswith(f"{reference}: called, ")
    assert page.locator("#call-discussion").count() == 0
    assert page.get_by_role("link", name="Call a strategy discussion").count() == 0
    decisions = sharing_rows(page)
    for recipient in (POLICE, HEALTH, SCHOOL):
        for kind in ("Strategy discussion invitation", "Information request"):
            assert any(
                d[1].startswith(kind) and d[2] == f"{COUNCIL} → {recipient}" for d in decisions
            ), (kind, recipient, decisions)
    assert_accessible(page)
    assert_labelled(page)

    listed.get_by_role("link", name=reference).click()
    page.wait_for_url(DISCUSSION_URL)
    assert page.get_by_role("heading", level=1).inner_text() == f"Strategy discussion {reference}"
    assert summary_value(page, "#summary", "Status") == "Called"
    assert_accessible(page)
    assert_labelled(page)

    # --- Mary chases health, which has not answered -----------------------------------------------
    health_row = page.locator("#participants tbody tr", has_text=HEALTH)
    assert "Waiting" in health_row.inner_text()
    assert "chased" not in health_row.inner_text()
    submit(page, health_row.get_by_role("button", name=f"Chase {HEALTH}"))
    assert "Reminder sent" in success_banner(page)
    assert "chased 1 time," in health_row.inner_text()
    assert "chased" not in page.locator("#participants tbody tr", has_text=POLICE).inner_text()
    assert_accessible(page)
    assert_labelled(page)
    outbox_deliver_due()
    reminders = received(smtp, f"Reminder: information for strategy discussion {reference}")
    assert list(reminders) == [INBOXES["RY7"]]
    reminder = message_text(reminders[INBOXES["RY7"]])
    assert f"/strategy-discussions/{discussion.pk}/" in reminder
    for word in NEVER_IN_AN_EMAIL:
        assert word not in reminder, word

    # --- ... invites the domestic abuse service, with a question ------------------------------
    invite = page.locator("details", has_text="Invite another agency")
    assert not invite.get_by_label("What to ask them").is_visible()
    invite.get_by_text("Invite another agency").click()
    question = "Whether Jane is known to the service, and any safety plan in place."
    invite.get_by_label("Its part").select_option(label="Domestic abuse service")
    invite.get_by_label("Agency", exact=True).select_option(label=DOMESTIC_ABUSE)
    invite.get_by_label("What to ask them").fill(question)
    assert_accessible(page)  # the details open, the form in it
    assert_labelled(page)
    submit(page, invite.get_by_role("button", name="Invite and ask"))
    assert f"{DOMESTIC_ABUSE} invited and asked for information" in success_banner(page)
    rows = participant_rows(page)
    assert list(rows) == [COUNCIL, POLICE, HEALTH, SCHOOL, DOMESTIC_ABUSE]
    assert "Domestic abuse service; " + INBOXES["DAS-WIR"] in rows[DOMESTIC_ABUSE]
    assert "Waiting" in rows[DOMESTIC_ABUSE]
    assert_accessible(page)
    assert_labelled(page)
    asked = InformationRequest.objects.get(
        participant__discussion=discussion, participant__agency__code="DAS-WIR"
    )
    assert asked.question == question

    # --- ... and records a decision not to share ------------------------------------------------
    refusal = page.locator("details", has_text="Record a decision not to share")
    refusal.get_by_text("Record a decision not to share").click()
    refusal.get_by_label("Not shared with").select_option(label=DOMESTIC_ABUSE)
    refusal.get_by_label("What would have been shared").select_option(
        label="Strategy discussion minutes"
    )
    refusal.get_by_label("What was withheld").fill("The police's account of the incident")
    refusal.get_by_label("Why it is not shared").fill(
        "The service supports Jane; the police's account is not needed for its safety plan."
    )
    assert_accessible(page)
    assert_labelled(page)
    submit(page, refusal.get_by_role("button", name="Record the decision"))
    assert "The decision not to share is recorded" in success_banner(page)
    not_shared = page.locator("#sharing-decisions tbody tr").filter(
        has=page.locator(".govuk-tag", has_text="Not shared")
    )
    assert not_shared.count() == 1
    cells = [c.strip() for c in not_shared.locator("td").all_inner_texts()]
    assert cells[1].startswith("Not shared")
    assert "Strategy discussion minutes" in cells[1]
    assert "The police's account of the incident" in cells[1]
    assert cells[2] == f"{COUNCIL} → {DOMESTIC_ABUSE}"
    assert cells[3].startswith("None: not shared")
    assert cells[4].startswith("The service supports Jane")
    assert_accessible(page)
    assert_labelled(page)

    # --- ... changes the time: refused without a reason, then sent to every invitee -------------
    page.get_by_role("link", name="Change the time or place").click()
    page.wait_for_url(re.compile(rf"/strategy-discussions/{discussion.pk}/reschedule/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Change the time or place"
    assert page.get_by_label("Where, or how to join").input_value() == discussion.location
    assert_accessible(page)
    assert_labelled(page)

    new_start = london_minute(dt.datetime.now(dt.UTC) + dt.timedelta(days=1, hours=2))
    new_start_utc = new_start.replace(tzinfo=LONDON).astimezone(dt.UTC)
    page.get_by_label("New start").fill(as_input(new_start))
    submit(page, page.get_by_role("button", name="Send the change"), url=None)
    summary = error_summary(page)
    assert page.title().startswith(f"Error: Change strategy discussion {reference}")
    [link] = summary.get_by_role("link").all()
    assert link.get_attribute("href") == "#id_reason"
    assert link.inner_text() == "Enter why it changes"
    assert_accessible(page)
    assert_labelled(page)
    assert StrategyDiscussion.objects.get(pk=discussion.pk).sequence == 0

    assert page.get_by_label("New start").input_value() == as_input(new_start)
    page.get_by_label("Why it changes").fill("The officer in the case is in court that morning.")
    submit(page, page.get_by_role("button", name="Send the change"))
    assert "The discussion is changed: every invitee has the update" in success_banner(page)
    assert summary_value(page, "#summary", "Starts") == (
        f"{long_date(new_start.date())} {new_start:%H:%M}"
    )
    assert_accessible(page)
    assert_labelled(page)

    outbox_deliver_due()
    updates = received(smtp, f"Updated: Strategy discussion {reference}")
    assert set(updates) == {MARY_EMAIL, *INBOXES.values()}
    for inbox, message in updates.items():
        calendar, event = only_event(message)
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(event["UID"]) == uid
        assert int(event["SEQUENCE"]) == 1
        assert event["DTSTART"].dt == new_start_utc
        assert str(event["ATTENDEE"]) == f"mailto:{inbox}"
        for word in NEVER_IN_AN_EMAIL:
            assert word not in message_text(message), (inbox, word)

    # --- ... and cancels it ----------------------------------------------------------------------
    page.get_by_role("link", name="Cancel the discussion").click()
    page.wait_for_url(re.compile(rf"/strategy-discussions/{discussion.pk}/cancel/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Cancel the discussion"
    assert_accessible(page)
    assert_labelled(page)
    page.get_by_role("group", name="Is a strategy discussion still needed?").get_by_label(
        "No", exact=True
    ).check()
    page.get_by_label("Why it is cancelled").fill(
        "The police have charged John and he is remanded; the family moved to a refuge."
    )
    submit(page, page.get_by_role("button", name="Cancel the discussion"))
    assert "The discussion is cancelled: every invitee is told" in success_banner(page)
    assert summary_value(page, "#summary", "Status") == "Cancelled"
    assert page.get_by_role("link", name="Change the time or place").count() == 0
    assert page.get_by_role("button", name=re.compile("^Chase")).count() == 0
    for agency, row in participant_rows(page).items():
        if agency != COUNCIL:
            assert "Withdrawn" in row, agency
    assert_accessible(page)
    assert_labelled(page)
    assert StrategyDiscussion.objects.get(pk=discussion.pk).status == DiscussionStatus.CANCELLED

    outbox_deliver_due()
    cancellations = received(smtp, f"Cancelled: strategy discussion {reference}")
    assert set(cancellations) == {MARY_EMAIL, *INBOXES.values()}
    for inbox, message in cancellations.items():
        calendar, event = only_event(message)
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(event["UID"]) == uid
        assert int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["ATTENDEE"]) == f"mailto:{inbox}"

    # --- Amy's contact again: cancelled, and a discussion may be called again ------------------
    page.locator("#children").get_by_role("link", name="Amy Example").click()
    page.wait_for_url(re.compile(rf"/contacts/{amy.pk}/$"))
    assert (
        page.locator("h2#strategy-discussions + ul")
        .inner_text()
        .startswith(f"{reference}: cancelled, ")
    )
    assert page.locator("#call-discussion").is_visible()
    assert_accessible(page)
    assert_labelled(page)


@pytest.mark.django_db(transaction=True)
def test_police_officer_replies_that_a_colleague_attends_instead(
    page, assert_accessible, smtp, percy, called
):
    from safehub.core.outbox import outbox_deliver_due
    from safehub.meetings.models import Participant, Response

    discussion = called
    reference = discussion.reference
    outbox_deliver_due()
    smtp.messages.clear()

    partner_sign_in(page, assert_accessible, "percy")
    assert_accessible(page)
    assert_labelled(page)
    open_from_the_list(page, reference)
    assert summary_value(page, "main", "Invited as") == "Police"
    assert summary_value(page, "main", "Your reply") == "Not answered yet"
    assert_accessible(page)
    assert_labelled(page)

    # A colleague with no e-mail: refused, nothing saved.
    reply = page.locator("#respond-form")
    reply.get_by_label("Declined: a colleague attends instead").check()
    reply.get_by_label("Colleague attending instead").fill("DS Rachel Hughes")
    submit(page, reply.get_by_role("button", name="Send the reply"), url=None)
    summary = error_summary(page)
    assert page.title().startswith(f"Error: Strategy discussion {reference}")
    [link] = summary.get_by_role("link").all()
    assert link.get_attribute("href") == "#id_delegate_name"
    assert link.inner_text() == "Name the colleague who attends, and their e-mail"
    assert_accessible(page)
    assert_labelled(page)
    police = Participant.objects.get(discussion=discussion, agency__code="MSP")
    assert police.response == Response.PENDING

    reply = page.locator("#respond-form")
    assert reply.get_by_label("Declined: a colleague attends instead").is_checked()
    assert reply.get_by_label("Colleague attending instead").input_value() == "DS Rachel Hughes"
    reply.get_by_label("Their e-mail").fill("rachel.hughes@police.example")
    reply.get_by_label("Note for the chair").fill("Percy is on leave that day.")
    submit(page, reply.get_by_role("button", name="Send the reply"))
    assert "Reply sent: Declined: a colleague attends instead" in success_banner(page)
    assert summary_value(page, "main", "Your reply") == "Declined: a colleague attends instead"
    assert summary_value(page, "main", "Attending instead") == "DS Rachel Hughes"
    assert_accessible(page)
    assert_labelled(page)
    police.refresh_from_db()
    assert (police.response, police.delegate_email) == (
        Response.DELEGATED,
        "rachel.hughes@police.example",
    )

    outbox_deliver_due()
    [message] = smtp.messages
    assert str(message["To"]) == "rachel.hughes@police.example"
    assert str(message["Subject"]).startswith(f"Strategy discussion {reference}, ")
    calendar, event = only_event(message)
    assert str(calendar["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == f"{discussion.pk}@safehub"
    assert str(event["ATTENDEE"]) == "mailto:rachel.hughes@police.example"
    assert str(event["ATTENDEE"].params["CN"]) == "DS Rachel Hughes"
    assert event["DTSTART"].dt == discussion.starts_at
    for word in NEVER_IN_AN_EMAIL:
        assert word not in message_text(message), word


@pytest.fixture
def held(called, mary):
    """The discussion held: everyone took part, a joint section 47 enquiry, two actions."""
    from safehub.accounts.models import Agency
    from safehub.meetings.services import (
        AttendanceEntry,
        action_add,
        attendance_record,
        outcome_record,
    )

    participants = {p.agency.code: p for p in called.participants.select_related("agency")}
    attendance_record(
        discussion=called,
        by=mary,
        entries=[
            AttendanceEntry(participants["LA344"].pk, "attended", "Mary", "Chair"),
            AttendanceEntry(participants["MSP"].pk, "attended", "DS Rachel Hughes", "PPU"),
            AttendanceEntry(participants["RY7"].pk, "attended", "Hana", "Named nurse"),
            AttendanceEntry(participants["URN900001"].pk, "apologies_with_information"),
        ],
    )
    children = {
        c.contact.child_ref: c.contact_id for c in called.children.select_related("contact")
    }
    outcome_record(
        discussion=called,
        by=mary,
        held_at=dt.datetime.now(dt.UTC).replace(second=0, microsecond=0),
        enquiry="joint",
        immediate_protection=False,
        rationale="Reasonable cause to suspect significant harm.",
        risks={children["C1"]: "Witnessed the assault.", children["C2"]: "Aged two, present."},
    )
    today = dt.datetime.now(dt.UTC).astimezone(LONDON).date()
    for description, who, code, days in (
        ("Visit the family and see both children alone", "Mary", "LA344", 1),
        ("Share the call-out history at the address", "DS Rachel Hughes", "MSP", 2),
    ):
        action_add(
            discussion=called,
            by=mary,
            description=description,
            owner_name=who,
            agency=Agency.objects.get(code=code),
            due_on=today + dt.timedelta(days=days),
        )
    return called


@pytest.mark.django_db(transaction=True)
def test_chair_marks_an_action_done_downloads_and_sends_the_minutes(
    page, assert_accessible, smtp, mary, held
):
    from safehub.core.outbox import outbox_deliver_due
    from safehub.meetings.models import StrategyDiscussion

    discussion = held
    reference = discussion.reference
    sign_in(page, assert_accessible, "mary")
    open_from_the_list(page, reference)
    assert summary_value(page, "#summary", "Status") == "Held"
    assert page.get_by_text("Minutes sent").count() == 0
    assert_accessible(page)
    assert_labelled(page)

    # --- Mark done ------------------------------------------------------------------------------
    visit = page.locator("#actions tbody tr", has_text="Visit the family")
    submit(page, visit.get_by_role("button", name=re.compile(r"^Mark done\W+Visit the family")))
    assert "Action recorded as done" in success_banner(page)
    assert visit.locator(".govuk-tag").inner_text().strip().lower() == "done"
    assert visit.get_by_role("button").count() == 0
    other = page.locator("#actions tbody tr", has_text="Share the call-out history")
    assert other.get_by_role("button", name=re.compile(r"^Mark done")).is_visible()
    assert_accessible(page)
    assert_labelled(page)

    # --- Download the minutes -------------------------------------------------------------------
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download the minutes (PDF)").click()
    download = downloading.value
    assert download.suggested_filename == f"strategy-discussion-{reference}.pdf"
    assert Path(download.path()).read_bytes().startswith(b"%PDF")

    # --- Send them to every agency --------------------------------------------------------------
    submit(page, page.get_by_role("button", name="Send the minutes to every agency"))
    assert "Minutes sent to every invited agency" in success_banner(page)
    sent_at = StrategyDiscussion.objects.get(pk=discussion.pk).minutes_sent_at
    assert sent_at is not None
    shown = page.get_by_text(re.compile(r"^Minutes sent \d")).inner_text()
    assert shown == f"Minutes sent {sent_at.astimezone(LONDON):%-d %B %Y %H:%M}."
    assert page.get_by_role("button", name="Send the minutes again").is_visible()
    assert_accessible(page)
    assert_labelled(page)

    outbox_deliver_due()
    minutes = received(smtp, f"Minutes: strategy discussion {reference}")
    assert set(minutes) == {INBOXES["MSP"], INBOXES["RY7"], INBOXES["URN900001"]}
    for inbox, message in minutes.items():
        pdfs = [p for p in message.walk() if p.get_content_type() == "application/pdf"]
        assert len(pdfs) == 1, inbox
        assert pdfs[0].get_filename() == f"strategy-discussion-{reference}.pdf"
        assert pdfs[0].get_content().startswith(b"%PDF")


@pytest.mark.django_db(transaction=True)
def test_auditor_filters_the_sharing_decisions_and_downloads_them(
    page, assert_accessible, make_user, household, called
):
    from django.db import transaction

    from safehub.accounts.models import Agency
    from safehub.core import clock
    from safehub.sharing.models import SharingDecision, SharingKind
    from safehub.sharing.services import sharing_record

    make_user("audrey", "LA344", "auditor")
    # The discussion's three invitations to partners (the council's own is no disclosure) and
    # three requests, and the school's Encompass notice about Amy, sent at intake: this month's.
    assert SharingDecision.objects.filter(discussion=called).count() == 6
    recent = SharingDecision.objects.count()
    today = dt.datetime.now(dt.UTC).astimezone(LONDON).date()
    # An older decision, six weeks ago: out of the page's default thirty days.
    earlier = dt.datetime.combine(today - dt.timedelta(days=42), dt.time(11), tzinfo=LONDON)
    with clock.frozen(earlier), transaction.atomic():
        sharing_record(
            by=None,
            by_name="Mary",
            from_agency=Agency.objects.get(code="LA344"),
            shared=False,
            kind=SharingKind.ENCOMPASS,
            recipient_agency=Agency.objects.get(code="URN900001"),
            recipient=SCHOOL,
            fields=["incident.summary"],
            purpose="Operation Encompass",
            lawful_basis="none",
            consent="not_known",
            reason="The child is not at school this term.",
            contact=household["C1"],
        )

    sign_in_to(page, assert_accessible, "audrey", "/sharing/")
    assert page.get_by_role("heading", level=1).inner_text() == "Sharing decisions"
    assert len(sharing_rows(page)) == recent
    assert not any("not at school this term" in row[4] for row in sharing_rows(page))
    assert_accessible(page)
    assert_labelled(page)

    # The six weeks' old one, by its dates.
    page.get_by_label("From").fill((earlier.date() - dt.timedelta(days=1)).isoformat())
    page.get_by_label("Up to (not including)").fill((earlier.date() + dt.timedelta(1)).isoformat())
    submit(page, page.get_by_role("button", name="Show"), url=re.compile(r"/sharing/\?"))
    [row] = sharing_rows(page)
    assert row[1].startswith("Not shared")
    assert "Operation Encompass notice" in row[1]
    assert row[2] == f"{COUNCIL} → {SCHOOL}"
    assert row[4] == "The child is not at school this term."
    assert_accessible(page)
    assert_labelled(page)

    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download as CSV").click()
    download = downloading.value
    start, end = earlier.date() - dt.timedelta(days=1), earlier.date() + dt.timedelta(days=1)
    assert download.suggested_filename == f"sharing-decisions-{start}-{end}.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:5] == CSV_HEADER
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["from_agency"] == "LA344"
    assert (record["shared"], record["kind"]) == ("not_shared", "encompass")
    assert record["recipient_agency"] == "URN900001"
    assert record["reason"] == "The child is not at school this term."
    assert dt.datetime.fromisoformat(record["at"]) == earlier

    # Everything from then until tomorrow.
    page.get_by_label("Up to (not including)").fill((today + dt.timedelta(days=1)).isoformat())
    submit(page, page.get_by_role("button", name="Show"), url=re.compile(r"/sharing/\?"))
    assert len(sharing_rows(page)) == recent + 1
    assert_accessible(page)
    assert_labelled(page)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download as CSV").click()
    text = Path(downloading.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:5] == CSV_HEADER
    assert len(rows) == recent + 2
    references = {r[rows[0].index("discussion")] for r in rows[1:]}
    assert references == {called.reference, ""}

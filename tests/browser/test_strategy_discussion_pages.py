"""Strategy discussions in the browser: real Chromium, the live server, axe on every page.

Mary, Wirral's hub manager (LA344), opens Amy's red contact (the spec's high-risk example: Amy is
C1, a pupil of Birkenhead St Mary's, URN 900001; Leo is her brother) and calls a strategy
discussion about both children, inviting Merseyside Police, Wirral's community health trust (RY7)
and Amy's school. The invitations reach a real SMTP server, each with its calendar entry and no
one's name. Hana, a health practitioner of RY7, answers her trust's information request; Morgan,
the school's safeguarding lead, sees only what is asked of the school. Mary records who took
part, the outcome (a joint section 47 enquiry: the conference is due 15 working days later) and
two actions, and the sharing decisions page lists every disclosure with its lawful basis.

A second test: health neither attended nor answered, so the outcome is refused until the chair
says why it is recorded without them and whether the discussion meets again.

The clock is not frozen: the discussion starts a few hours from now, and the dates the pages show
are worked out here from the times entered.
"""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from safehub.core.testing import PASSWORD, example_bytes
from tests.browser.test_hub_pages import enter_code, error_summary, sign_in, success_banner

LONDON = ZoneInfo("Europe/London")
HEALTH = "Wirral Community Health and Care NHS Foundation Trust"
SCHOOL = "Birkenhead St Mary's Primary School"
POLICE = "Merseyside Police"
COUNCIL = "Wirral children's services"
DISCUSSION_URL = re.compile(r"/strategy-discussions/[0-9a-f-]+/$")
LIST_URL = re.compile(r"/strategy-discussions/$")
CALL_BUTTON = "Call the discussion and send the invitations"

# What no invitation e-mail, nor its calendar entry, may hold: the children's and the adults'
# names, their dates of birth, the address.
NEVER_IN_AN_EMAIL = [
    "Amy",
    "Leo",
    "Jane",
    "John",
    "Example",
    "2017-06-11",
    "2024-01-20",
    "1992-04-02",
    "1989-09-30",
    "CH41 6AB",
]


@pytest.fixture
def household(reference):
    """The spec's high-risk example, received: Amy's and Leo's contacts, by their child ref."""
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.referrals.models import Contact

    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.IMPORT)
    contacts = {
        c.child_ref: c
        for c in Contact.objects.filter(notification__incident_reference="MSP-26-004821")
    }
    assert set(contacts) == {"C1", "C2"}
    return contacts


@pytest.fixture
def hana(make_user):
    return make_user("hana", "RY7", "health_practitioner")


@pytest.fixture
def morgan(make_user):
    return make_user("morgan", "URN900001", "education_safeguarding_lead")


def london_minute(at: dt.datetime, *, away: dt.timedelta = dt.timedelta(hours=1)) -> dt.datetime:
    """`at` in London, to the minute, without its zone: what a datetime-local input holds. A
    wall time the clocks change through (one that happens twice in October, or never in March)
    is refused by the form: then the time `away` from it."""
    naive = at.astimezone(LONDON).replace(second=0, microsecond=0, tzinfo=None)
    if (
        naive.replace(tzinfo=LONDON, fold=0).utcoffset()
        != naive.replace(tzinfo=LONDON, fold=1).utcoffset()
    ):
        naive += away
    return naive


def as_input(naive: dt.datetime) -> str:
    return naive.strftime("%Y-%m-%dT%H:%M")


def long_date(day: dt.date) -> str:
    """Django's "l j F Y": Tuesday 15 December 2026."""
    return f"{day:%A} {day.day} {day:%B %Y}"


def summary_value(page, list_selector: str, key: str) -> str:
    row = page.locator(f"{list_selector} .govuk-summary-list__row").filter(
        has=page.locator("dt", has_text=re.compile(rf"^{re.escape(key)}$"))
    )
    return row.locator("dd").first.inner_text().strip()


def partner_sign_in(page, assert_accessible, username: str) -> None:
    """A partner practitioner starts from the strategy discussions (their landing page is not the
    triage queue, which is the hub's)."""
    page.goto("/strategy-discussions/")
    page.wait_for_url(re.compile(r"/sign-in/\?next=/strategy-discussions/$"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    enter_code(page, assert_accessible, username)
    page.wait_for_url(LIST_URL)
    assert page.get_by_role("heading", level=1).inner_text() == "Strategy discussions"


def open_from_the_list(page, reference: str) -> None:
    page.locator("header").get_by_role("link", name="Strategy discussions").click()
    page.wait_for_url(LIST_URL)
    page.locator("#discussions").get_by_role("link", name=reference).click()
    page.wait_for_url(DISCUSSION_URL)
    assert page.get_by_role("heading", level=1).inner_text() == f"Strategy discussion {reference}"


def message_text(message) -> str:
    """The subject and every text part of an e-mail (the body and the .ics), decoded."""
    parts = [str(message["Subject"])]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            content = part.get_content()
            parts.append(content.decode() if isinstance(content, bytes) else content)
    return "\n".join(parts)


def calendars_in(message) -> list[Calendar]:
    found = []
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            found.append(Calendar.from_ical(content))
    return found


def participant_label(discussion, agency_code: str) -> str:
    participant = discussion.participants.select_related("agency").get(agency__code=agency_code)
    return f"How {participant.agency.name} took part (optional)"


@pytest.mark.django_db(transaction=True)
def test_manager_calls_a_discussion_partners_answer_and_the_outcome_is_recorded(
    page, make_page, live_server, assert_accessible, smtp, mary, hana, morgan, household
):
    from safehub.accounts.models import Agency
    from safehub.core.outbox import outbox_deliver_due
    from safehub.meetings.models import DiscussionStatus, StrategyDiscussion
    from safehub.timescales.calendar import add_working_days

    amy = household["C1"]
    assert amy.rag == "red"
    assert (amy.given_names, amy.school.code) == ("Amy", "URN900001")

    # --- Mary calls the discussion from Amy's contact ------------------------------------------
    sign_in(page, assert_accessible, "mary")
    page.goto(f"/contacts/{amy.pk}/")
    assert page.get_by_role("heading", level=1).inner_text() == "Amy Example"
    assert page.locator("h2#strategy-discussions + p").inner_text() == "None called."
    page.locator("#call-discussion").click()
    page.wait_for_url(re.compile(rf"/strategy-discussions/call/{amy.pk}/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Call a strategy discussion"
    assert_accessible(page)

    # Sent with the reason, the start and the place missing: refused, each error linked.
    page.get_by_role("button", name=CALL_BUTTON).click()
    page.wait_for_load_state()
    summary = error_summary(page)
    assert page.title().startswith("Error: Call a strategy discussion")
    links = summary.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert {"#id_reason", "#id_starts_at", "#id_location"} <= set(hrefs)
    assert_accessible(page)
    assert StrategyDiscussion.objects.count() == 0

    starts = london_minute(dt.datetime.now(dt.UTC) + dt.timedelta(hours=3))
    starts_utc = starts.replace(tzinfo=LONDON).astimezone(dt.UTC)
    page.get_by_label("Amy Example").check()
    page.get_by_label("Leo Example").check()
    page.get_by_label("Why is there cause to suspect significant harm?").fill(
        "Amy and Leo were in the house during a serious assault; strangulation reported."
    )
    page.get_by_label("A meeting").check()
    page.get_by_label("Remote (video or telephone)").check()
    page.get_by_label("When does it start?").fill(as_input(starts))
    page.get_by_label("How long, in minutes?").fill("60")
    page.get_by_label("Where, or how to join").fill("Video call: meeting 123 456 789")
    page.get_by_label("Police", exact=True).select_option(label=POLICE)
    page.get_by_label("Health", exact=True).select_option(label=HEALTH)
    page.get_by_label("Invite the children's school or nursery").check()
    page.get_by_label("Not required: a child at risk of significant harm").check()
    page.get_by_role("button", name=CALL_BUTTON).click()
    page.wait_for_url(DISCUSSION_URL)

    discussion = StrategyDiscussion.objects.get()
    reference = discussion.reference
    assert page.url.endswith(f"/strategy-discussions/{discussion.pk}/")
    assert f"Strategy discussion {reference} called" in success_banner(page)
    assert discussion.starts_at == starts_utc
    assert summary_value(page, "#summary", "Starts") == (
        f"{long_date(starts.date())} {starts:%H:%M}"
    )
    assert summary_value(page, "#summary", "Status") == "Called"
    agencies = page.locator("#participants tbody th").all_inner_texts()
    assert [a.split("\n")[0] for a in agencies] == [COUNCIL, POLICE, HEALTH, SCHOOL]
    assert set(page.locator("#children a").all_inner_texts()) == {"Amy Example", "Leo Example"}
    assert_accessible(page)

    # --- The invitations reach the agencies, with their calendar entries ----------------------
    outbox_deliver_due()
    received = {str(m["To"]): m for m in smtp.messages if reference in str(m["Subject"])}
    police_inbox = Agency.objects.get(code="MSP").email
    assert police_inbox == "ppn.msp@police.example"
    for inbox in (police_inbox, "safeguarding.ry7@nhs.example", "dsl.900001@school.example"):
        assert inbox in received, (inbox, sorted(received))
        message = received[inbox]
        [calendar] = calendars_in(message)
        assert str(calendar["METHOD"]) == "REQUEST"
        events = calendar.walk("VEVENT")
        assert len(events) == 1
        event = events[0]
        assert str(event["UID"]) == f"{discussion.pk}@safehub"
        assert event["DTSTART"].dt == starts_utc
        assert str(event["ATTENDEE"]) == f"mailto:{inbox}"
        text = message_text(message)
        assert reference in text
        for word in NEVER_IN_AN_EMAIL:
            assert word not in text, (inbox, word)

    # --- Hana answers for the health trust, in her own browser ---------------------------------
    health_page = make_page(base_url=live_server.url)
    partner_sign_in(health_page, assert_accessible, "hana")
    assert_accessible(health_page)
    open_from_the_list(health_page, reference)
    main = health_page.locator("main").inner_text()
    assert "Health involvement with the children" in health_page.locator("#question").inner_text()
    people = health_page.locator("#subjects tbody tr td:nth-child(2)").all_inner_texts()
    assert people == ["Amy Example", "Leo Example", "Jane Example", "John Example"]
    for never in ("Officers attended", POLICE, SCHOOL):
        assert never not in main, never
    assert_accessible(health_page)

    health_page.get_by_label("Yes, share it").check()
    health_page.get_by_label("What your agency knows").fill(
        "Leo missed his two-year health review; Jane attended A&E in October with a facial injury."
    )
    health_page.get_by_role("button", name="Send your agency's answer").click()
    health_page.wait_for_url(DISCUSSION_URL)
    assert "Your agency's answer is recorded" in success_banner(health_page)
    answered = health_page.locator("#answered").inner_text()
    assert answered.startswith("Answered on ")
    assert "Leo missed his two-year health review" in answered
    assert health_page.get_by_role("button", name="Send your agency's answer").count() == 0
    assert_accessible(health_page)

    # --- Morgan, the school's lead, sees only the school's part --------------------------------
    school_page = make_page(base_url=live_server.url)
    partner_sign_in(school_page, assert_accessible, "morgan")
    open_from_the_list(school_page, reference)
    main = school_page.locator("main").inner_text()
    assert "Amy Example" in main
    for never in ("Officers attended", "Jane", "John", "Leo", "neighbour"):
        assert never not in main, never
    assert_accessible(school_page)

    # --- Mary records who took part --------------------------------------------------------------
    page.reload()
    health_row = page.locator("#participants tbody tr", has_text=HEALTH)
    assert "Answered" in health_row.inner_text()
    assert "Leo missed his two-year health review" in health_row.inner_text()
    attendance = page.locator("#attendance-form")
    # "Attended" needs the name of who attended: refused, in one error summary, nothing saved.
    attendance.get_by_label(participant_label(discussion, "MSP"), exact=True).select_option(
        label="Attended"
    )
    attendance.get_by_role("button", name="Save attendance").click()
    page.wait_for_load_state()
    summary = error_summary(page)
    assert page.locator(".govuk-error-summary").count() == 1
    assert f"Name who attended for {POLICE}" in summary.inner_text()
    assert page.title().startswith(f"Error: Strategy discussion {reference} ")  # no "Error: Error:"
    assert_accessible(page)
    assert not discussion.participants.exclude(attendance="").exists()

    attendance.get_by_label(participant_label(discussion, "LA344"), exact=True).select_option(
        label="Attended"
    )
    attendance.get_by_label(f"Who attended for {COUNCIL}").fill("Mary")
    attendance.get_by_label(f"Their role at {COUNCIL}").fill("Hub manager, chair")
    attendance.get_by_label(participant_label(discussion, "MSP"), exact=True).select_option(
        label="Attended"
    )
    attendance.get_by_label(f"Who attended for {POLICE}").fill("DS Rachel Hughes")
    attendance.get_by_label(f"Their role at {POLICE}").fill("Public protection unit")
    attendance.get_by_label(participant_label(discussion, "URN900001"), exact=True).select_option(
        label="Apologies, information sent"
    )
    attendance.get_by_role("button", name="Save attendance").click()
    page.wait_for_url(DISCUSSION_URL)
    assert "Attendance recorded" in success_banner(page)
    rows = {
        row.locator("th").inner_text().split("\n")[0]: row.locator("td").last.inner_text()
        for row in page.locator("#participants tbody tr").all()
    }
    assert rows == {
        COUNCIL: "Attended: Mary, Hub manager, chair",
        POLICE: "Attended: DS Rachel Hughes, Public protection unit",
        HEALTH: "Not recorded",  # but answered: it counts as having sent information
        SCHOOL: "Apologies, information sent",
    }
    assert page.locator("#missing").count() == 0

    # --- ... and the outcome ---------------------------------------------------------------------
    held = london_minute(dt.datetime.now(dt.UTC), away=-dt.timedelta(hours=1))
    outcome = page.locator("#outcome-form")
    outcome.get_by_label("When was it held?").fill(as_input(held))
    outcome.get_by_label("Risks identified for Amy Example").fill(
        "Witnessed the assault; frightened of John."
    )
    outcome.get_by_label("Risks identified for Leo Example").fill(
        "Aged two, present; missed health review."
    )
    outcome.get_by_label("Section 47 enquiry joint with the police").check()
    outcome.get_by_label("No", exact=True).check()
    outcome.get_by_label("Reasons for the decision").fill(
        "Reasonable cause to suspect significant harm: serious assault with the children present."
    )
    outcome.get_by_role("button", name="Record the outcome").click()
    page.wait_for_url(DISCUSSION_URL)
    assert "Outcome recorded" in success_banner(page)
    due = add_working_days(held.date(), 15)
    assert summary_value(page, "#outcome", "Conference due by") == long_date(due)
    assert summary_value(page, "#outcome", "Section 47") == (
        "Section 47 enquiry joint with the police"
    )
    assert summary_value(page, "#outcome", "Immediate protection") == "Not needed"
    assert summary_value(page, "#summary", "Status") == "Held"
    assert page.locator("#outcome-form").count() == 0
    assert page.locator("#attendance-form").count() == 0
    assert "Witnessed the assault" in page.locator("#children").inner_text()
    assert_accessible(page)
    discussion.refresh_from_db()
    assert (discussion.status, discussion.icpc_target) == (DiscussionStatus.HELD, due)

    # --- Two actions -----------------------------------------------------------------------------
    today = dt.datetime.now(dt.UTC).astimezone(LONDON).date()
    actions = [
        ("Visit the family and see both children alone", "Mary", COUNCIL, today + dt.timedelta(1)),
        ("Share the call-out history at the address", "DS Rachel Hughes", POLICE, today),
    ]
    for description, who, agency, by in actions:
        form = page.locator("#action-form")
        form.get_by_label("What is to be done").fill(description)
        form.get_by_label("Who does it").fill(who)
        form.get_by_label("Their agency").select_option(label=agency)
        form.get_by_label("By when").fill(by.isoformat())
        form.get_by_role("button", name="Add the action").click()
        page.wait_for_url(DISCUSSION_URL)
        assert "Action added" in success_banner(page)
    shown = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()[:3]]
        for row in page.locator("#actions tbody tr").all()
    ]
    assert shown == [  # by due date
        [actions[1][0], f"DS Rachel Hughes ({POLICE})", f"{today.day} {today:%b %Y}"],
        [actions[0][0], f"Mary ({COUNCIL})", f"{(today + dt.timedelta(1)):%-d %b %Y}"],
    ]
    assert_accessible(page)

    # --- The list and the sharing decisions ------------------------------------------------------
    page.locator("header").get_by_role("link", name="Strategy discussions").click()
    page.wait_for_url(LIST_URL)
    row = page.locator("#discussions tbody tr", has_text=reference)
    assert "Held" in row.inner_text()
    assert_accessible(page)

    page.locator("header").get_by_role("link", name="Sharing decisions").click()
    page.wait_for_url(re.compile(r"/sharing/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Sharing decisions"
    decisions = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in page.locator("#sharing-decisions tbody tr").all()
    ]

    def decisions_of(kind: str, recipient: str) -> list[list[str]]:
        return [d for d in decisions if d[1].startswith(kind) and d[2].endswith(f"→ {recipient}")]

    public_task = "UK GDPR art. 6(1)(e) public task"
    for recipient in (POLICE, HEALTH, SCHOOL):
        [invitation] = decisions_of("Strategy discussion invitation", recipient)
        assert invitation[2] == f"{COUNCIL} → {recipient}"
        assert invitation[3].startswith(public_task)
        assert "Consent: not required" in invitation[3]
        [request] = decisions_of("Information request", recipient)
        assert request[3].startswith(public_task)
        assert "request.question" in request[1]
    [answer] = decisions_of("Answer to an information request", COUNCIL)
    assert answer[2] == f"{HEALTH} → {COUNCIL}"
    assert answer[3].startswith(public_task)
    assert_accessible(page)


@pytest.fixture
def health_missing(household, mary):
    """A discussion about Amy and Leo, called by Mary, at which the council and the police took
    part and health neither attended nor answered its request."""
    from safehub.accounts.models import Agency
    from safehub.meetings.models import ParticipantRole as R
    from safehub.meetings.services import (
        AttendanceEntry,
        Invitation,
        attendance_record,
        discussion_call,
    )

    starts = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0) + dt.timedelta(hours=3)
    discussion = discussion_call(
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
        ],
    )
    participants = {p.agency.code: p for p in discussion.participants.select_related("agency")}
    attendance_record(
        discussion=discussion,
        by=mary,
        entries=[
            AttendanceEntry(participants["LA344"].pk, "attended", "Mary", "Hub manager"),
            AttendanceEntry(participants["MSP"].pk, "attended", "DS Rachel Hughes", "PPU"),
        ],
    )
    return discussion


@pytest.mark.django_db(transaction=True)
def test_outcome_without_health_needs_a_reason_and_whether_to_meet_again(
    page, assert_accessible, mary, health_missing
):
    from safehub.meetings.models import DiscussionStatus, StrategyDiscussion

    discussion = health_missing
    reference = discussion.reference
    sign_in(page, assert_accessible, "mary")
    open_from_the_list(page, reference)
    warning = page.locator("#missing").inner_text()
    assert f"health ({HEALTH})" in warning
    assert POLICE not in warning
    assert_accessible(page)

    held = london_minute(dt.datetime.now(dt.UTC), away=-dt.timedelta(hours=1))
    outcome = page.locator("#outcome-form")
    outcome.get_by_label("When was it held?").fill(as_input(held))
    outcome.get_by_label("Risks identified for Amy Example").fill("Witnessed the assault.")
    outcome.get_by_label("Risks identified for Leo Example").fill("Aged two, present.")
    outcome.get_by_label("Section 47 enquiry by children's social care (single agency)").check()
    outcome.get_by_label("No", exact=True).check()
    outcome.get_by_label("Reasons for the decision").fill("Cause to suspect significant harm.")
    outcome.get_by_role("button", name="Record the outcome").click()
    page.wait_for_load_state()

    summary = error_summary(page)
    assert page.title().startswith(f"Error: Strategy discussion {reference} ")  # no "Error: Error:"
    [link] = summary.get_by_role("link").all()
    assert link.get_attribute("href") == "#id_missing_reason"
    # The service's message ("health (…) has neither…"), capitalised as an error message is.
    assert re.match(
        rf"^health \({re.escape(HEALTH)}\) has neither attended nor sent information",
        link.inner_text(),
        flags=re.IGNORECASE,
    ), link.inner_text()
    assert page.locator("#id_missing_reason-error").is_visible()
    assert_accessible(page)
    # Nothing is recorded, and what was entered is still there.
    refused = StrategyDiscussion.objects.get(pk=discussion.pk)
    assert (refused.status, refused.held_at, refused.outcome_rationale) == (
        DiscussionStatus.CALLED,
        None,
        "",
    )
    assert [c.risks for c in refused.children.all()] == ["", ""]
    assert outcome.get_by_label("Reasons for the decision").input_value() == (
        "Cause to suspect significant harm."
    )

    link.click()
    assert page.evaluate("document.activeElement.id") == "id_missing_reason"
    outcome.get_by_label("why record the outcome without them?").fill(
        "Health could not join at short notice; the children could not wait."
    )
    outcome.get_by_label("will the discussion meet again?").select_option(label="Yes")
    outcome.get_by_role("button", name="Record the outcome").click()
    page.wait_for_url(DISCUSSION_URL)
    assert "Outcome recorded" in success_banner(page)
    assert summary_value(page, "#outcome", "Held without") == f"health ({HEALTH})"
    assert summary_value(page, "#outcome", "Meets again") == "Yes"
    assert summary_value(page, "#outcome", "Why") == (
        "Health could not join at short notice; the children could not wait."
    )
    assert_accessible(page)

    recorded = StrategyDiscussion.objects.get(pk=discussion.pk)
    assert recorded.status == DiscussionStatus.HELD
    assert recorded.missing_agencies == [f"health ({HEALTH})"]
    assert recorded.reconvene is True

"""What a strategy discussion sends: the iCalendar invitation (RFC 5545, with RFC 5546's REQUEST
and CANCEL), the e-mails, and the minutes as a PDF fit to share.

Neither an invitation nor its e-mail names a child or an adult: calendars are copied, synced and
shown on lock screens. They carry the discussion's reference, when and where, and the link to
safehub, where the invited agency's practitioner signs in to see what is asked of them.
"""

import base64
import datetime as dt
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.urls import reverse
from fpdf import FPDF
from icalendar import Calendar, Event, vCalAddress, vText

from safehub.core import clock

if TYPE_CHECKING:
    from safehub.meetings.models import InformationRequest, Participant, StrategyDiscussion

PRODID = "-//safehub//Strategy discussions//EN"


def discussion_link(discussion: "StrategyDiscussion") -> str:
    return settings.SAFEHUB_BASE_URL + reverse("meetings:discussion_detail", args=[discussion.pk])


def discussion_ics(
    discussion: "StrategyDiscussion",
    *,
    attendee_email: str,
    attendee_name: str = "",
    required: bool = True,
    method: str = "REQUEST",
) -> bytes:
    """The invitation (METHOD:REQUEST) or its cancellation (METHOD:CANCEL) for one invitee. The
    UID is the discussion's; SEQUENCE goes up at each change, so calendars replace the old one."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", f"{discussion.pk}@safehub")
    event.add("sequence", discussion.sequence)
    event.add("dtstamp", clock.now())
    event.add("dtstart", discussion.starts_at)
    event.add("dtend", discussion.ends_at)
    event.add("summary", f"Strategy discussion {discussion.reference}")
    event.add("location", discussion.location)
    event.add(
        "description",
        f"Strategy discussion {discussion.reference} called by "
        f"{discussion.local_authority.name} ({discussion.get_format_display().lower()}, "
        f"{discussion.get_mode_display().lower()}). What is asked of your agency, and the "
        f"answer form, are in safehub: {discussion_link(discussion)}",
    )
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(
        f"mailto:{discussion.local_authority.email or settings.DEFAULT_FROM_EMAIL}"
    )
    organizer.params["cn"] = vText(discussion.chair.display_name)
    event["organizer"] = organizer
    attendee = vCalAddress(f"mailto:{attendee_email}")
    if attendee_name:
        attendee.params["cn"] = vText(attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT" if required else "OPT-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("TRUE")
    event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return cal.to_ical()


def ics_attachment(ics: bytes, *, method: str = "REQUEST") -> dict[str, str]:
    return {
        "filename": "cancel.ics" if method == "CANCEL" else "invitation.ics",
        "content_base64": base64.b64encode(ics).decode(),
        "content_type": "text/calendar",
    }


def _when(at: dt.datetime) -> str:
    return at.astimezone(clock.LONDON).strftime("%A %-d %B %Y at %H:%M")


def invitation_email(
    participant: "Participant", request: "InformationRequest | None", *, update: bool = False
) -> tuple[str, str]:
    discussion = participant.discussion
    subject = (
        f"{'Updated: ' if update else ''}Strategy discussion {discussion.reference}, "
        f"{_when(discussion.starts_at)}"
    )
    lines = [
        f"{discussion.local_authority.name} has {'changed' if update else 'called'} a "
        f"strategy discussion and invites {participant.agency.name} as "
        f"{participant.get_role_display().lower()}.",
        "",
        f"Reference: {discussion.reference}",
        f"When: {_when(discussion.starts_at)} to "
        f"{discussion.ends_at.astimezone(clock.LONDON):%H:%M}",
        f"How: {discussion.get_format_display()}, {discussion.get_mode_display().lower()}",
        f"Where: {discussion.location}",
        f"Chair: {discussion.chair.display_name}",
        "",
    ]
    if request is not None:
        lines += [
            "Your agency is asked for what it knows about the people named in the request, "
            f"by {_when(request.deadline)}, so that it is in the room when the discussion "
            "starts. If you cannot attend, send the information instead, or a colleague.",
            "",
        ]
    lines += [
        "Sign in to safehub to see the request, to answer it and to reply to this invitation:",
        discussion_link(discussion),
        "",
        "This e-mail names no one on purpose. Do not forward it outside your agency.",
    ]
    return subject, "\n".join(lines)


def cancellation_email(participant: "Participant") -> tuple[str, str]:
    discussion = participant.discussion
    subject = f"Cancelled: strategy discussion {discussion.reference}"
    body = (
        f"{discussion.local_authority.name} has cancelled strategy discussion "
        f"{discussion.reference}, which was to be held {_when(discussion.starts_at)}.\n\n"
        f"Reason: {discussion.cancel_reason}\n\n"
        "Any request for information about it is withdrawn.\n"
    )
    return subject, body


def chase_email(request: "InformationRequest") -> tuple[str, str]:
    discussion = request.participant.discussion
    subject = f"Reminder: information for strategy discussion {discussion.reference}"
    body = (
        f"{discussion.local_authority.name} has not yet had {request.participant.agency.name}'s "
        f"answer to its request for information for strategy discussion {discussion.reference}, "
        f"which starts {_when(discussion.starts_at)}. The answer is due by "
        f"{_when(request.deadline)}.\n\n"
        f"Sign in to safehub to answer:\n{discussion_link(discussion)}\n"
    )
    return subject, body


# --- The minutes ---------------------------------------------------------------------------------

MARKING = "OFFICIAL-SENSITIVE: personal data about children. Share only with those who need it."


def _font_dir() -> Path | None:
    folder = Path(getattr(settings, "SAFEHUB_PDF_FONT_DIR", ""))
    return folder if (folder / "DejaVuSans.ttf").exists() else None


class _Minutes(FPDF):
    title_text = ""

    def header(self) -> None:
        self.set_font(self.body_font, "B", 9)
        self.cell(0, 6, self.fold(MARKING), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font(self.body_font, "", 8)
        self.cell(
            0, 10, self.fold(f"{self.title_text}, page {self.page_no()} of {{nb}}"), align="C"
        )

    body_font = "helvetica"
    unicode = False

    def fold(self, text: str) -> str:
        """Core fonts hold Latin-1 only: without a Unicode font, other letters lose accents."""
        if self.unicode:
            return text
        decomposed = unicodedata.normalize("NFKD", text)
        return decomposed.encode("latin-1", "ignore").decode("latin-1")


def minutes_pdf(discussion: "StrategyDiscussion") -> bytes:
    """The minutes of a held discussion: who took part, what each agency knew, the risks for each
    child, the decision, the conference, the actions. Marked, paginated, nothing internal (no
    audit trail, no incident summary from the police notification beyond what agencies said)."""
    pdf = _Minutes(format="A4")
    fonts = _font_dir()
    if fonts is not None:
        pdf.add_font("dejavu", "", str(fonts / "DejaVuSans.ttf"))
        pdf.add_font("dejavu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
        pdf.body_font, pdf.unicode = "dejavu", True
    pdf.title_text = f"Strategy discussion {discussion.reference}"
    pdf.set_title(pdf.title_text)
    pdf.set_author(discussion.local_authority.name)
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.add_page()
    f = pdf.fold
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: int = 13) -> None:
        pdf.ln(2)
        pdf.set_font(pdf.body_font, "B", size)
        pdf.multi_cell(width, 7, f(text), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.body_font, "", 10)

    def line(label: str, value: Any) -> None:
        pdf.set_font(pdf.body_font, "B", 10)
        pdf.multi_cell(width, 5, f(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(pdf.body_font, "", 10)
        pdf.multi_cell(width, 5, f(str(value) if value not in (None, "") else "—"))
        pdf.ln(1)

    heading(f"Strategy discussion {discussion.reference}: minutes", 16)
    line("Council", discussion.local_authority.name)
    line("Chair", discussion.chair.display_name)
    held = discussion.held_at or discussion.starts_at
    line("Held", _when(held))
    line("How", f"{discussion.get_format_display()}, {discussion.get_mode_display().lower()}")
    line("Why it was called", discussion.reason)

    heading("The children")
    for child in discussion.children.select_related("contact").order_by("contact__given_names"):
        c = child.contact
        born = c.date_of_birth.strftime("%-d %B %Y") if c.date_of_birth else c.age_display
        line(f"{c.given_names} {c.family_name} (born {born})", child.risks or "No risk recorded.")

    heading("Who took part")
    for p in discussion.participants.select_related("agency").order_by("id"):
        who = f" — {p.attended_name}" if p.attended_name else ""
        role = f", {p.attended_role}" if p.attended_role else ""
        line(f"{p.get_role_display()}: {p.agency.name}", f"{p.get_attendance_display()}{who}{role}")

    heading("What each agency knew")
    for p in discussion.participants.select_related("agency").order_by("id"):
        request = getattr(p, "request", None)
        if request is None:
            continue
        if request.status == "answered":
            answer = request.answer
        elif request.status == "not_shared":
            answer = "The agency decided not to share (its reason is recorded)."
        else:
            answer = "No answer."
        line(p.agency.name, answer)

    heading("Decision")
    line("Section 47", discussion.get_enquiry_display())
    protection = discussion.immediate_protection
    line("Immediate protection needed", "" if protection is None else "Yes" if protection else "No")
    line("Reasons", discussion.outcome_rationale)
    if discussion.icpc_target:
        line(
            "Initial child protection conference due by",
            discussion.icpc_target.strftime("%A %-d %B %Y"),
        )
        line(
            "Conference date and who arranges it",
            (discussion.icpc_date.strftime("%A %-d %B %Y") if discussion.icpc_date else "To be set")
            + (
                f", arranged by {discussion.icpc_arranged_by}"
                if discussion.icpc_arranged_by
                else ""
            ),
        )
    if discussion.missing_agencies:
        line(
            "Held without",
            ", ".join(discussion.missing_agencies)
            + f". Why: {discussion.missing_reason}. Meet again: "
            + ("yes" if discussion.reconvene else "no"),
        )

    heading("Actions")
    actions = list(discussion.actions.select_related("agency").order_by("due_on", "id"))
    if not actions:
        line("None", "")
    for action in actions:
        line(
            f"{action.owner_name} ({action.agency.name}), by {action.due_on:%-d %B %Y}",
            action.description,
        )
    pdf.ln(4)
    pdf.set_font(pdf.body_font, "", 8)
    pdf.multi_cell(
        width, 4, f(f"Made by safehub on {_when(clock.now())}. {MARKING}"), new_x="LMARGIN"
    )
    return bytes(pdf.output())

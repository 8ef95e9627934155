"""A notice holds the Encompass subset only (statutory.md §3, §7.2): the child's name and date of
birth, the police reference, when and where, whether present, the child's voice. Never the
summary, the offences, the risk answers or rationale, or any adult's name or details."""

import json

from safehub.encompass.services import encompass_email

# What the spec's high-risk example says beyond the subset, and must never leave in a notice.
NEVER = [
    "Jane",  # the victim
    "John",  # the suspect
    "1992-04-02",  # the victim's date of birth
    "1989-09-30",  # the suspect's
    "07700 900123",  # the victim's safe number
    "neighbour called",  # the summary
    "facial injuries",
    "Assault occasioning",  # the offences
    "Strangulation",  # the officer's rationale
    "PC A Officer",  # the officer
    "a.officer@police.example",
    "DASH",
]


def test_content_is_exactly_the_encompass_subset(receive):
    notice = receive()["C1"]
    assert notice.content == {
        "child": {
            "given_names": "Amy",
            "family_name": "Example",
            "date_of_birth": "2017-06-11",
            "age_estimate": None,
        },
        "police_reference": "MSP-26-004821",
        "occurred_at": "2026-11-20T22:15:00+00:00",
        "incident_address": {
            "line1": "14 Example Road",
            "town": "Birkenhead",
            "postcode": "CH41 6AB",
        },
        "present_at_incident": True,
        "voice_of_child": "Said she hid in her room with her brother.",
    }


def test_content_never_holds_the_summary_offences_or_adults(receive):
    text = json.dumps(receive()["C1"].content)
    for word in NEVER:
        assert word not in text, word


def test_email_holds_the_subset_and_the_link_and_nothing_else(receive, settings):
    settings.SAFEHUB_BASE_URL = "https://safehub.example/"
    notice = receive()["C1"]
    subject, body = encompass_email(notice)
    assert subject == "Operation Encompass notice for your school: police reference MSP-26-004821"
    assert "Amy" not in subject
    for line in [
        "Child: Amy Example",
        "Date of birth: 11 June 2017",
        "Police reference: MSP-26-004821",
        "When: Friday 20 November 2026 at 22:15",
        "Where: 14 Example Road, Birkenhead, CH41 6AB",
        "Was the child present: Yes",
        "The child's voice: Said she hid in her room with her brother.",
        f"https://safehub.example/encompass/{notice.pk}/",
    ]:
        assert line in body
    for word in NEVER:
        assert word not in body and word not in subject, word


def test_the_queued_email_is_the_one_the_notice_describes(receive):
    notice = receive()["C1"]
    subject, body = encompass_email(notice)
    message = notice.outbox_message
    assert (message.subject, message.body, message.reason) == (subject, body, "encompass_notice")
    assert (message.object_type, message.object_id) == ("encompass.encompassnotice", str(notice.pk))


def test_council_inbox_email_says_no_school_is_known(receive):
    from safehub.encompass.tests.bodies import high_risk

    notice = receive(high_risk(school_urn=None, age_estimate=9, date_of_birth=None))["C1"]
    subject, body = encompass_email(notice)
    assert subject.startswith("Operation Encompass notice, no known school: police reference")
    assert "Date of birth: Not known (about 9)" in body
    assert "educated at home" in body

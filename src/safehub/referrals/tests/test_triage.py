"""`triage explain`: what a notification would become, pinned for the spec's examples, and proof
that explaining stores nothing."""

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from safehub.audit.models import AuditEvent
from safehub.core.models import OutboxMessage
from safehub.core.testing import EXAMPLES_DIR, example, example_bytes
from safehub.intake.models import Channel, Notification, NotificationVersion
from safehub.intake.services import notification_receive
from safehub.intake.validation import validate_notification
from safehub.referrals.models import Contact
from safehub.referrals.triage import triage_explain

UTC = dt.UTC
HIGH_RISK_RECEIVED = dt.datetime(2026, 11, 20, 23, 40, tzinfo=UTC)  # a Friday night
MONDAY_MORNING = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

DEMO_ESCALATION = (
    "Police notified us about this child or the same victim 1 time in the last 12 months"
)


def explain(name: str, at: dt.datetime) -> dict:
    return triage_explain(raw=example_bytes(name), received_at=at)


def by_ref(items: list[dict]) -> dict[str, dict]:
    return {item["child_ref"]: item for item in items}


# --- The spec's examples ---------------------------------------------------------------------


def test_high_risk_example(reference):
    out = explain("notification-high-risk.json", HIGH_RISK_RECEIVED)
    assert "errors" not in out
    dash = out["dash"]
    assert (dash["instrument"], dash["yes"], dash["not_known"], dash["band"]) == (
        "DASH_2009_27",
        16,
        0,
        "high",
    )
    assert out["marac"]["criteria"] == ["visible_high_risk", "professional_judgement"]
    assert out["marac"]["evidence"] == {
        "visible_high_risk": "DASH: 16 yes answers (14 or more is visible high risk)",
        "professional_judgement": "Officer graded the risk high. Officer's rationale: "
        "Strangulation, escalating frequency, threats to kill.",
    }
    assert [c["child_ref"] for c in out["contacts"]] == ["C1", "C2"]
    for contact in out["contacts"]:
        assert contact["local_authority"] == "344"
        assert contact["rag"] == "red"
        assert contact["reasons"] == [
            "Officer graded the risk high",
            "DASH: 16 yes answers (14 or more is high risk)",
        ]
        assert contact["policy_version"] == "1"
        # Red: four hours after receipt.
        assert contact["clocks"] == {"screening": "2026-11-21T03:40:00+00:00"}
    # Amy (9) at a known school: Friday night → Monday's start. Leo is 2: no notice.
    assert [{k: e[k] for k in ("child_ref", "school_urn", "due_at")} for e in out["encompass"]] == [
        {"child_ref": "C1", "school_urn": "900001", "due_at": "2026-11-23T08:30:00+00:00"}
    ]


def test_high_risk_example_exact_shape(reference):
    """The required keys of issue 3 item 8, exactly as its sample shows them."""
    out = explain("notification-high-risk.json", HIGH_RISK_RECEIVED)
    required = {
        "dash": {k: out["dash"][k] for k in ("instrument", "yes", "not_known", "band")},
        "marac": {"criteria": out["marac"]["criteria"]},
        "contacts": [
            {k: c[k] for k in ("child_ref", "local_authority", "rag", "policy_version", "clocks")}
            for c in out["contacts"][:1]
        ],
        "encompass": [
            {k: e[k] for k in ("child_ref", "school_urn", "due_at")} for e in out["encompass"]
        ],
    }
    assert required == {
        "dash": {"instrument": "DASH_2009_27", "yes": 16, "not_known": 0, "band": "high"},
        "marac": {"criteria": ["visible_high_risk", "professional_judgement"]},
        "contacts": [
            {
                "child_ref": "C1",
                "local_authority": "344",
                "rag": "red",
                "policy_version": "1",
                "clocks": {"screening": "2026-11-21T03:40:00+00:00"},
            }
        ],
        "encompass": [
            {"child_ref": "C1", "school_urn": "900001", "due_at": "2026-11-23T08:30:00+00:00"}
        ],
    }
    assert "Officer graded the risk high" in out["contacts"][0]["reasons"]
    json.dumps(out)  # plain JSON data throughout


def test_two_authorities_example(reference):
    out = explain("notification-two-authorities.json", MONDAY_MORNING)
    assert out["dash"] is None  # DARA: the officer's grade is the assessment
    assert out["marac"] == {
        "criteria": [],
        "evidence": {},
        "notifications_same_victim": 1,
        "earlier_notifications_same_victim": 0,
        "victims": [{"person_ref": "V1", "criteria": [], "notifications_same_victim": 1}],
    }
    contacts = by_ref(out["contacts"])
    assert {ref: c["local_authority"] for ref, c in contacts.items()} == {
        "C1": "344",
        "C2": "341",
        "U1": "344",
    }
    assert {ref: c["rag"] for ref, c in contacts.items()} == {
        "C1": "amber",
        "C2": "amber",
        "U1": "red",
    }
    assert contacts["U1"]["reasons"] == [
        "The child is under one year old (or unborn) and the officer graded the risk medium"
    ]
    assert contacts["C1"]["reasons"] == [
        "Officer graded the risk medium",
        "The child was present at or witnessed the incident",
    ]
    assert contacts["C2"]["reasons"] == ["Officer graded the risk medium"]
    assert all(c["policy_version"] == "1" for c in contacts.values())
    # Received Monday 23 Nov 09:00: red +4 h; amber by the end of Tuesday (GMT, so 23:59:59Z).
    assert contacts["U1"]["clocks"] == {"screening": "2026-11-23T13:00:00+00:00"}
    assert contacts["C1"]["clocks"] == {"screening": "2026-11-24T23:59:59+00:00"}
    assert contacts["C2"]["clocks"] == {"screening": "2026-11-24T23:59:59+00:00"}
    # Recorded Sunday evening. Ravi's school, and Maya (14, no school) via Liverpool's inbox with
    # the default school day; the unborn child has no notice.
    assert out["encompass"] == [
        {
            "child_ref": "C1",
            "school_urn": "900002",
            "due_at": "2026-11-23T08:30:00+00:00",
            "recipient": "URN900002",
            "recipient_reason": "school_dsl",
        },
        {
            "child_ref": "C2",
            "school_urn": None,
            "due_at": "2026-11-23T08:30:00+00:00",
            "recipient": "EDU341",
            "recipient_reason": "no_known_school",
        },
    ]


def test_amber_due_is_end_of_next_working_day_in_london_summer_time(reference):
    """End of day is 23:59:59 Europe/London: 22:59:59Z in summer; Friday's receipt → Monday."""
    doc = example("notification-two-authorities.json")
    doc["occurred_at"], doc["recorded_at"] = (
        "2026-07-03T18:40:00+00:00",
        "2026-07-03T20:10:00+00:00",
    )
    out = triage_explain(
        raw=json.dumps(doc).encode(), received_at=dt.datetime(2026, 7, 3, 21, 0, tzinfo=UTC)
    )
    assert by_ref(out["contacts"])["C2"]["clocks"] == {"screening": "2026-07-06T22:59:59+00:00"}


def test_no_children_example(reference):
    out = explain("notification-no-children.json", MONDAY_MORNING)
    dash = out["dash"]
    assert (dash["instrument"], dash["yes"], dash["not_known"], dash["band"]) == (
        "SAFELIVES_RIC_24",
        3,
        0,
        "standard",
    )
    assert out["contacts"] == []
    assert out["encompass"] == []
    assert out["marac"]["criteria"] == []


def test_not_known_kept_apart_from_no(reference):
    doc = example("notification-high-risk.json")
    doc["risk"]["answers"]["4"] = "not_known"
    doc["risk"]["answers"]["7"] = "not_known"
    out = triage_explain(raw=json.dumps(doc).encode(), received_at=HIGH_RISK_RECEIVED)
    assert (out["dash"]["yes"], out["dash"]["no"], out["dash"]["not_known"]) == (16, 9, 2)


def test_unrouted_child_has_no_local_authority(reference):
    doc = example("notification-high-risk.json")
    doc["people"][2]["lives_at_incident_address"] = False
    out = triage_explain(raw=json.dumps(doc).encode(), received_at=HIGH_RISK_RECEIVED)
    amy = by_ref(out["contacts"])["C1"]
    assert (amy["local_authority"], amy["routing"]) == (None, "no_address")


# --- Invalid bodies ----------------------------------------------------------------------------


def test_invalid_body_gives_the_apis_errors(reference):
    raw = example_bytes("invalid-several-errors.json")
    out = triage_explain(raw=raw, received_at=MONDAY_MORNING)
    assert out == {"errors": validate_notification(raw, now=MONDAY_MORNING)[1]}
    assert {"loc": ["people"], "msg": "no person with role victim"} in out["errors"]


def test_body_recorded_after_receipt_is_invalid(reference):
    out = explain("notification-two-authorities.json", HIGH_RISK_RECEIVED)
    assert {"loc": ["recorded_at"], "msg": "in the future"} in out["errors"]


def test_naive_received_at_refused(reference):
    with pytest.raises(ValueError, match="aware"):
        triage_explain(raw=b"{}", received_at=dt.datetime(2026, 11, 23, 9))


# --- Storing nothing ---------------------------------------------------------------------------


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Notification, NotificationVersion, Contact, AuditEvent, OutboxMessage)
    }


def test_explain_stores_nothing(reference):
    before = _counts()
    statements: list[str] = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        explain("notification-high-risk.json", HIGH_RISK_RECEIVED)
        explain("notification-two-authorities.json", MONDAY_MORNING)
        explain("notification-no-children.json", MONDAY_MORNING)
        explain("invalid-several-errors.json", MONDAY_MORNING)
    assert _counts() == before
    assert statements  # it did read
    assert all(sql.lstrip().upper().startswith("SELECT") for sql in statements), statements


# --- History about the same victim -------------------------------------------------------------


def _store(doc: dict, *, reference_no: str, occurred: str) -> None:
    doc = json.loads(json.dumps(doc))
    doc["incident_reference"] = reference_no
    doc["occurred_at"] = occurred
    doc["recorded_at"] = occurred
    at = dt.datetime.fromisoformat(occurred) + dt.timedelta(hours=1)
    notification_receive(raw=json.dumps(doc).encode(), channel=Channel.IMPORT, now=at)


def test_earlier_notification_about_the_victim_raises_to_amber_and_escalates(reference):
    doc = example("notification-two-authorities.json")
    earlier = json.loads(json.dumps(doc))
    earlier["people"][0]["given_names"] = "  PRIYA "  # normalised: still the same victim
    _store(earlier, reference_no="MSP-26-000101", occurred="2026-06-01T10:00:00+00:00")

    # A standard grade so that the earlier notification is what makes Maya amber.
    doc["risk"]["officer_grade"] = "standard"
    out = triage_explain(raw=json.dumps(doc).encode(), received_at=MONDAY_MORNING)
    maya = by_ref(out["contacts"])["C2"]
    assert maya["rag"] == "amber"
    assert maya["reasons"] == [DEMO_ESCALATION]
    assert out["marac"]["notifications_same_victim"] == 2
    assert "potential_escalation" not in out["marac"]["criteria"]

    _store(earlier, reference_no="MSP-26-000102", occurred="2026-09-01T10:00:00+00:00")
    out = triage_explain(raw=json.dumps(doc).encode(), received_at=MONDAY_MORNING)
    assert out["marac"]["criteria"] == ["potential_escalation"]
    assert out["marac"]["evidence"]["potential_escalation"].startswith(
        "3 police notifications for the same victim in the last 12 months"
    )


def test_victim_history_ignores_other_victims_old_notifications_and_the_incident_itself(
    reference, settings
):
    # Linked at intake, so that what is counted is the person index's view (with the exact key
    # beside it): the other victims are other people to the index as well.
    settings.SAFEHUB_LINKAGE_AT_INTAKE = "inline"
    doc = example("notification-two-authorities.json")
    # Other women at the same address: another name and another date of birth.
    other_dob = json.loads(json.dumps(doc))
    other_dob["people"][0].update(given_names="Sarah", date_of_birth="1988-03-09")
    _store(other_dob, reference_no="MSP-26-000201", occurred="2026-06-01T10:00:00+00:00")
    other_name = json.loads(json.dumps(doc))
    other_name["people"][0].update(given_names="Grace", family_name="Okafor")
    _store(other_name, reference_no="MSP-26-000202", occurred="2026-06-01T10:00:00+00:00")
    # Same victim, but as the suspect: not the victim.
    swapped = json.loads(json.dumps(doc))
    swapped["people"][0]["role"], swapped["people"][1]["role"] = "suspect", "victim"
    _store(swapped, reference_no="MSP-26-000203", occurred="2026-06-01T10:00:00+00:00")
    # Same victim, more than 12 months before the incident (22 Nov 2026).
    _store(doc, reference_no="MSP-25-000204", occurred="2025-11-20T10:00:00+00:00")
    # This very incident, already stored (received after it occurred).
    notification_receive(
        raw=example_bytes("notification-two-authorities.json"),
        channel=Channel.IMPORT,
        now=MONDAY_MORNING,
    )
    out = triage_explain(
        raw=example_bytes("notification-two-authorities.json"), received_at=MONDAY_MORNING
    )
    assert out["marac"]["notifications_same_victim"] == 1  # this one only
    # The children are the same in the three recent notifications: each is an earlier
    # notification about the same child (the one of 2025 is out of the window, this one is its
    # own).
    # Maya (C2, no date of birth) and the unborn child (U1) have no exact key, but the index
    # links them across the three (the same name, address and expected date, the same mother):
    # the same children, so three earlier notifications each too.
    assert {c["child_ref"]: c["earlier_notifications"] for c in out["contacts"]} == {
        "C1": 3,
        "C2": 3,
        "U1": 3,
    }


def test_an_earlier_notification_about_the_same_child_with_another_victim_counts(reference):
    doc = example("notification-two-authorities.json")
    other = json.loads(json.dumps(doc))
    other["people"][0]["family_name"] = "Otherperson"  # another victim
    kept = ("V1", "S1", "C1")
    other["people"] = [p for p in other["people"] if p.get("ref") in kept]
    other["relationships"] = [
        r for r in other["relationships"] if r["from"] in kept and r["to"] in kept
    ]
    _store(other, reference_no="MSP-26-000301", occurred="2026-08-01T10:00:00+00:00")
    doc["risk"]["officer_grade"] = "standard"
    ravi = next(p for p in doc["people"] if p.get("ref") == "C1")
    ravi["present_at_incident"] = False
    out = triage_explain(raw=json.dumps(doc).encode(), received_at=MONDAY_MORNING)
    contacts = {c["child_ref"]: c for c in out["contacts"]}
    assert contacts["C1"]["earlier_notifications"] == 1  # Ravi, the same child
    assert contacts["C1"]["rag"] == "amber"
    assert contacts["C1"]["reasons"] == [
        "Police notified us about this child or the same victim 1 time in the last 12 months"
    ]
    assert contacts["C2"]["earlier_notifications"] == 0  # Maya: no date of birth, no key
    assert out["marac"]["notifications_same_victim"] == 1


# --- The command -------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("triage", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_command_prints_the_explanation(reference):
    path = str(EXAMPLES_DIR / "notification-high-risk.json")
    printed = run("explain", path, "--received-at", "2026-11-20T23:40:00+00:00")
    assert printed.startswith("{\n  ")  # indent 2
    out = json.loads(printed)
    assert out == explain("notification-high-risk.json", HIGH_RISK_RECEIVED)
    assert out["contacts"][0]["clocks"] == {"screening": "2026-11-21T03:40:00+00:00"}


def test_command_received_at_with_another_offset(reference):
    path = str(EXAMPLES_DIR / "notification-high-risk.json")
    out = json.loads(run("explain", path, "--received-at", "2026-11-21T00:40:00+01:00"))
    assert out["received_at"] == "2026-11-20T23:40:00+00:00"
    assert out["contacts"][0]["clocks"] == {"screening": "2026-11-21T03:40:00+00:00"}


def test_command_invalid_body_prints_errors_and_fails(reference):
    path = str(EXAMPLES_DIR / "invalid-several-errors.json")
    out = StringIO()
    with pytest.raises(CommandError, match="does not meet the contract"):
        call_command(
            "triage", "explain", path, "--received-at", "2026-11-23T09:00:00+00:00", stdout=out
        )
    printed = json.loads(out.getvalue())
    raw = example_bytes("invalid-several-errors.json")
    assert printed == {"errors": validate_notification(raw, now=MONDAY_MORNING)[1]}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2026-11-20T23:40:00", "no UTC offset"),
        ("20/11/2026 23:40", "not an ISO 8601 date-time"),
        ("yesterday", "not an ISO 8601 date-time"),
    ],
)
def test_command_refuses_naive_or_malformed_time(reference, value, message):
    path = str(EXAMPLES_DIR / "notification-high-risk.json")
    with pytest.raises(CommandError, match=message):
        run("explain", path, "--received-at", value)


def test_command_missing_file(reference, tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        run("explain", str(tmp_path / "absent.json"))


def test_command_defaults_to_now(reference):
    from safehub.core import clock

    path = str(EXAMPLES_DIR / "notification-two-authorities.json")
    with clock.frozen(MONDAY_MORNING):
        out = json.loads(run("explain", path))
    assert out["received_at"] == "2026-11-23T09:00:00+00:00"
    assert by_ref(out["contacts"])["C1"]["clocks"] == {"screening": "2026-11-24T23:59:59+00:00"}

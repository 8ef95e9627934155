"""What a police notification would become, explained without storing anything (issue 3, item 8).

`triage_explain` runs the same steps intake runs on a received notification (validation, DASH
score, MARAC criteria, one routed and RAG-rated contact per child with its screening clock, and
Operation Encompass for each child of school age) and returns the result as plain JSON data. It
only reads: the reference data, the active triage policy, the working-day calendar and earlier
notifications. It never writes a row, queues a message or records an audit event.
"""

import datetime as dt
import json
import unicodedata
from typing import Any

from django.db.models import F

from safehub.accounts.selectors import school_by_urn
from safehub.core.clock import LONDON
from safehub.encompass.services import encompass_is_school_age, encompass_recipient_for
from safehub.intake.models import NotificationVersion
from safehub.intake.validation import NotificationBody, Person, validate_notification
from safehub.referrals.models import Contact
from safehub.referrals.services import _child_address, contact_route_for
from safehub.risk.marac import marac_criteria
from safehub.risk.rag import (
    child_facts_from_notification,
    earlier_notification_months,
    rag_rate,
    rag_screening_due,
)
from safehub.risk.scoring import DashScore, dash_score
from safehub.risk.selectors import policy_active
from safehub.timescales.calendar import add_calendar_months, encompass_due

HISTORY_MONTHS = 12


def _iso(at: dt.datetime) -> str:
    """ISO 8601 in UTC, with its offset (+00:00)."""
    return at.astimezone(dt.UTC).isoformat()


def _normalise_name(name: str) -> str:
    """Case, accents and spacing do not make a different person: "  Jane  Émilie" and
    "jane emilie" compare equal."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def _stored_date(value: Any) -> dt.date | None:
    """A date of birth as a stored body holds it ("YYYY-MM-DD"; pydantic also accepts a date-time
    at midnight), or None."""
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value).date()
    except ValueError:
        return None


VictimKey = tuple[str, str, dt.date]


def _victim_keys(people: list[Any]) -> set[VictimKey]:
    """(given names, family name, date of birth), normalised, of each victim with a date of birth.
    Works on parsed people and on the raw dicts of a stored body alike."""
    keys: set[VictimKey] = set()
    role: Any
    given: Any
    family: Any
    born: dt.date | None
    for person in people:
        if isinstance(person, Person):
            role, given, family, born = (
                person.role,
                person.given_names,
                person.family_name,
                person.date_of_birth,
            )
        elif isinstance(person, dict):
            role, given, family = (
                person.get("role"),
                person.get("given_names"),
                person.get("family_name"),
            )
            born = _stored_date(person.get("date_of_birth"))
        else:
            continue
        if role != "victim" or born is None:
            continue
        if not isinstance(given, str) or not isinstance(family, str):
            continue
        keys.add((_normalise_name(given), _normalise_name(family), born))
    return keys


def _months_before(at: dt.datetime, months: int) -> dt.datetime:
    """The same London wall time `months` calendar months earlier (29 Feb → 28 Feb)."""
    local = at.astimezone(LONDON)
    day = add_calendar_months(local.date(), -months)
    return dt.datetime.combine(day, local.time(), tzinfo=LONDON)


def victim_history(*, body: NotificationBody, months: int = HISTORY_MONTHS) -> int:
    """How many stored notifications, other than this incident's own, concern the same victim and
    were received in the `months` calendar months (12 by default) before the incident.

    Until person linkage lands, "the same victim" is an exact match on the normalised given
    names, family name and date of birth of a person with role victim, in the current version of
    each stored body; a victim without a date of birth matches nobody. This reads and parses
    every body received in the window (a bytes search for the date of birth skips most of them
    unparsed): fine for one notification at a time, but it must move to indexed person keys once
    linkage exists, and then also count notifications about the same child.
    """
    wanted = _victim_keys(list(body.people))
    if not wanted:
        return 0
    incident = body.occurred_at
    dobs = {key[2].isoformat().encode() for key in wanted}
    rows = (
        NotificationVersion.objects.filter(
            notification__received_at__gte=_months_before(incident, months),
            notification__received_at__lt=incident,
            number=F("notification__current_version"),
        )
        .exclude(
            notification__force_code=body.force_code,
            notification__incident_reference=body.incident_reference,
        )
        .values_list("notification_id", "body")
    )
    found: set[Any] = set()
    for notification_id, raw in rows.iterator():
        raw = bytes(raw)
        # A date written with \u escapes would not be found as bytes: parse those bodies anyway.
        if b"\\u" not in raw and not any(dob in raw for dob in dobs):
            continue
        try:
            doc = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            continue
        people = doc.get("people") if isinstance(doc, dict) else None
        if isinstance(people, list) and _victim_keys(people) & wanted:
            found.add(notification_id)
    return len(found)


def _dash_out(score: DashScore | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "instrument": score.instrument,
        "yes": score.yes,
        "no": score.no,
        "not_known": score.not_known,
        "asked": score.asked,
        "questions": score.questions,
        "band": score.band,
    }


def triage_explain(*, raw: bytes, received_at: dt.datetime) -> dict[str, Any]:
    """What the notification `raw` would become if received at `received_at` (aware): its DASH
    score (None for DARA), the MARAC criteria met with their evidence, one contact per child with
    its council, RAG rating, reasons, policy version and screening deadline, and the Operation
    Encompass notices with their due times. An invalid body gives `{"errors": [...]}`, the
    problems the API would answer with. Stores nothing."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be aware")
    body, errors = validate_notification(raw, now=received_at)
    if body is None:
        return {"errors": errors}

    policy = policy_active()
    risk = body.risk
    score = dash_score(instrument=risk.instrument, answers=risk.answers, policy=policy)
    incident_day = body.occurred_at.astimezone(LONDON).date()

    # History about the same victim, over each window the policy asks for (both 12 months by
    # default, so one count).
    history: dict[int, int] = {}

    def earlier(months: int) -> int:
        if months not in history:
            history[months] = victim_history(body=body, months=months)
        return history[months]

    rag_months = earlier_notification_months(policy)
    earlier_for_rag = earlier(rag_months) if rag_months is not None else 0

    same_victim = earlier(policy.rules["marac"]["escalation_months"]) + 1  # this one included
    marac = marac_criteria(
        dash=score,
        officer_grade=risk.officer_grade,
        professional_judgement=risk.professional_judgement,
        notifications_same_victim_12m=same_victim,
        # No MARAC referral record exists yet, so no pair was ever referred: `repeat` cannot be
        # met until MARAC referrals are stored.
        same_pair_since_last_marac=None,
        last_marac_referral=None,
        policy=policy,
        officer_rationale=risk.officer_rationale,
        notified_on=received_at.astimezone(LONDON).date(),
    )

    contacts: list[dict[str, Any]] = []
    encompass: list[dict[str, Any]] = []
    for child in body.people:
        if child.role != "child":
            continue
        address = _child_address(child, body.incident_address)
        council, routing = contact_route_for(postcode=address.postcode if address else None)
        facts = child_facts_from_notification(
            notification=body,
            child=child,
            policy=policy,
            earlier_notifications_12m=earlier_for_rag,
            # No model holds open children's social care cases or child protection plans yet:
            # both are taken as absent until one does.
            open_case=False,
            child_protection_plan=False,
        )
        rating = rag_rate(facts=facts, policy=policy)
        screening = rag_screening_due(rag=rating.rag, received_at=received_at, policy=policy)
        contacts.append(
            {
                "child_ref": child.ref,
                "local_authority": council.la_code if council is not None else None,
                "routing": str(routing),
                "rag": rating.rag,
                "reasons": rating.reasons,
                "policy_version": str(rating.policy_version),
                "clocks": {"screening": _iso(screening)},
            }
        )

        if not encompass_is_school_age(
            date_of_birth=child.date_of_birth,
            age_estimate=child.age_estimate,
            unborn=child.unborn,
            on=incident_day,
        ):
            continue
        school = school_by_urn(urn=child.school_urn) if child.school_urn else None
        # The contact intake would open, unsaved: only to ask who would receive the notice.
        recipient = encompass_recipient_for(contact=Contact(school=school, local_authority=council))
        to_school = recipient.agency is not None and recipient.agency == school
        encompass.append(
            {
                "child_ref": child.ref,
                "school_urn": school.urn if to_school and school is not None else None,
                "due_at": _iso(encompass_due(body.recorded_at, school if to_school else None)),
                "recipient": recipient.agency.code if recipient.agency is not None else None,
                "recipient_reason": str(recipient.reason),
            }
        )

    return {
        "received_at": _iso(received_at),
        "policy_version": str(policy.version),
        "dash": _dash_out(score),
        "marac": {
            "criteria": [c.code for c in marac],
            "evidence": {c.code: c.evidence for c in marac},
            "notifications_same_victim": same_victim,
            "earlier_notifications_same_victim": earlier_for_rag,
        },
        "contacts": contacts,
        "encompass": encompass,
    }

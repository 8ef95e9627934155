"""The access matrix, walked: every URL of the URL configuration and every operation of the
OpenAPI document must be declared in `safehub.core.access`, and, asked as every role, an
integration client and nobody, must give the answer declared there; every allowed read of personal
data must leave an audit event, another council's record must be "not found", an allowed action
on a record in the wrong state must be a conflict (409), and every URL of the admin must send
anyone who is not staff to the admin's sign-in page.

The people: one of each role, each in an agency that fits it, all in Wirral's reach: Wirral's hub
social worker, manager and head of service (LA344), a Merseyside Police hub officer (MSP), a Wirral
health practitioner (RY7), the safeguarding lead of Birkenhead St Mary's (URN900001, Amy's school),
a Wirral domestic-abuse adviser (DAS-WIR), and a Wirral analyst, auditor and administrator (LA344:
the same council; they read aggregates, the logs, nothing else). The records: the spec's high-risk
example (Jane Example, Birkenhead; Amy and Leo; a MARAC referral; Amy's Encompass notice to her
school) and the two-authorities example (Ravi in Wirral, unallocated). Another world, which none of
them may see: the same incident sent by Cheshire for a family in Liverpool (Bob's council, a
Liverpool school).

Every request runs in a savepoint that is rolled back, so each role meets the same records in the
same state, and the audit events a request wrote are counted before they go.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import resolve, reverse
from django.urls.resolvers import RegexPattern

from safehub.accounts.models import Role
from safehub.accounts.permissions import PERMISSIONS
from safehub.audit.models import AuditEvent
from safehub.core import access, clock
from safehub.core.access import (
    ADMIN_LOGIN,
    LOGIN,
    OK,
    Access,
    Route,
    api_operations,
    is_operation,
    url_routes,
)

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)

# Each role in an agency that fits it (see the module's docstring).
AGENCIES: dict[str, str] = {
    Role.HUB_SOCIAL_WORKER: "LA344",
    Role.HUB_MANAGER: "LA344",
    Role.HEAD_OF_SERVICE: "LA344",
    Role.POLICE_HUB_OFFICER: "MSP",
    Role.HEALTH_PRACTITIONER: "RY7",
    Role.EDUCATION_SAFEGUARDING_LEAD: "URN900001",
    Role.DOMESTIC_ABUSE_ADVISER: "DAS-WIR",
    Role.ANALYST: "LA344",
    Role.AUDITOR: "LA344",
    Role.ADMINISTRATOR: "LA344",
}
ANONYMOUS = "not signed in"
CLIENT = "integration client"
STAFF = "staff administrator"  # the administrator role with is_staff: the admin's own rules

# A form each POST-only page accepts, so that the request reaches the permission check (an empty
# form would be refused for itself first). Values that name a record are filled in by the world.
FORMS: dict[str, dict[str, Any]] = {
    "referrals:contact_decide": {
        "outcome": "early_help",
        "rationale": "Parents engaging; first call-out.",
    },
    "referrals:decision_sign_off": {"note": ""},
    "referrals:decision_return": {"note": "Say more about the school's view."},
    "referrals:contact_route": {"council": "344", "reason": "The family lives in Wirral."},
    "risk:referral_decide": {"decision": "confirm", "note": ""},
    "meetings:discussion_call": lambda r: {
        "children": [str(r.values["contact_id"])],
        "reason": "A second incident with the children present.",
        "format": "meeting",
        "mode": "remote",
        "starts_at": "2026-11-24T15:00",
        "duration_minutes": "60",
        "location": "Video call",
        "police": r.objects["agencies"]["MSP"].pk,
        "police_question": "Previous incidents?",
        "health": r.objects["agencies"]["RY7"].pk,
        "health_question": "Health involvement?",
        "consent": "not_required",
    },
    "meetings:participant_add": lambda r: {
        "role": "other",
        "agency": r.objects["agencies"]["RBS"].pk,
        "question": "Anything known?",
    },
    "meetings:reschedule": {
        "starts_at": "2026-11-24T16:00",
        "duration_minutes": "60",
        "mode": "remote",
        "location": "Video call",
        "reason": "The police officer is in court until three.",
    },
    "meetings:cancel": {"reason": "Held as part of another discussion.", "still_needed": "yes"},
    "meetings:attendance": {},
    "meetings:outcome": lambda r: {
        "held_at": "2026-11-24T09:30",
        "enquiry": "joint",
        "immediate_protection": "no",
        "rationale": "Risk of significant harm.",
        f"risks_{r.objects['amy'].pk}": "Exposure to domestic abuse.",
        "missing_reason": "Health could not be reached in time.",
        "reconvene": "yes",
    },
    "meetings:action_add": lambda r: {
        "description": "Visit the children at school.",
        "owner_name": "Alice",
        "agency": r.objects["agencies"]["LA344"].pk,
        "due_on": "2026-11-26",
    },
    "meetings:action_done": {"note": "Visited."},
    "meetings:refusal": lambda r: {
        "recipient_agency": r.objects["agencies"]["DAS-WIR"].pk,
        "kind": "minutes",
        "withheld": "The minutes",
        "reason": "The service does not work with the family.",
    },
    "meetings:respond": {"response": "accepted"},
    "meetings:answer": {"share": "yes", "answer": "Known to us.", "consent": "not_required"},
    "casework:child_details": {
        "upn": "",
        "upn_unknown": "UN1",
        "ethnicity": "WBRI",
        "primary_need": "N1",
    },
    "casework:assessment_start": {"started_on": "2026-11-24"},
    "casework:assessment_authorise": {
        "authorised_on": "2026-11-24",
        "factors": ["3A", "3B"],
        "needs_support": "yes",
        "primary_need": "N1",
    },
    "casework:conference": {"held": "yes", "icpc_on": "2026-11-24", "led_to_plan": "yes"},
    "casework:plan_start": {"category": "EMO", "previous_plans": "0"},
    "casework:cin_plan_start": {"started_on": "2026-11-24"},
    "casework:close": {"closed_on": "2026-11-24", "reason": "RC8"},
    "casework:plan_review": {"reviewed_on": "2026-11-24", "latest_category": "NEG"},
    "casework:plan_end": {"ended_on": "2026-11-24"},
    "casework:cin_plan_end": {"ended_on": "2026-11-24"},
    "people:review_detail": {"decision": "link", "reason": "The same child."},
    "people:person_merge": lambda r: {
        "reference": r.objects["other_person"].reference,
        "reason": "The same child.",
        "confirm": "yes",
    },
    "people:merge_undo": {"reason": "Two children."},
}

# Where the matrix and the code disagree today: each is asserted as it should be, expected to
# fail (strict: once the code is fixed the case passes and this entry must go).
# (check, endpoint, principal) → why.
GAPS: dict[tuple[str, str, str], str] = {}

# Where the published contract asks for another answer than the matrix's rule: (check, endpoint,
# principal) → the answer. The notification contract: a token "may only send that force's
# force_code (else 403)", so amending another force's notification is 403, before any look-up
# (which therefore tells nothing about whether the record exists).
CONTRACT_ANSWERS: dict[tuple[str, str, str], str] = {
    ("scope", "safehub_intake_api_notification_update", CLIENT): "403",
}


def _signed_off(records: Records) -> None:
    from safehub.referrals.decisions import decision_sign_off

    o = records.objects
    decision_sign_off(decision=o["decision"], signed_off_by=o["manager"], note="")


def _returned(records: Records) -> None:
    from safehub.referrals.decisions import decision_return

    o = records.objects
    decision_return(decision=o["decision"], returned_by=o["manager"], note="Look again.")


def _referred(records: Records) -> None:
    from safehub.risk.services import marac_referral_confirm

    o = records.objects
    marac_referral_confirm(referral=o["referral"], confirmed_by=o["manager"], note="")


@dataclass(frozen=True)
class WrongState:
    """A role that may act, a record put in a state the action refuses, and the action's form."""

    who: str
    before: Callable[[Records], object] | None = None
    record: str = "amy"  # the contact the URL names: a key of Records.objects
    data: Callable[[Records], dict[str, Any]] | None = None
    method: str = "POST"


# Every action on a record, in a state where it must answer 409 (and nothing changes).
WRONG_STATE: dict[str, WrongState] = {
    # Leo's contact is decided, no longer being screened.
    "referrals:contact_decide": WrongState(Role.HUB_SOCIAL_WORKER, record="leo"),
    "referrals:decision_sign_off": WrongState(Role.HUB_MANAGER, _returned, record="leo"),
    "referrals:decision_return": WrongState(Role.HUB_MANAGER, _signed_off, record="leo"),
    # Signing the decision off closes Leo's contact.
    "referrals:contact_reassign": WrongState(
        Role.HUB_MANAGER,
        _signed_off,
        record="leo",
        data=lambda r: {"worker": r.objects["manager"].pk, "reason": "The manager takes it."},
    ),
    # Amy is allocated: she must be returned before she is routed elsewhere.
    "referrals:contact_route": WrongState(
        Role.HUB_MANAGER, data=lambda r: {"council": "341", "reason": "Moved to Liverpool."}
    ),
    "risk:referral_decide": WrongState(
        Role.POLICE_HUB_OFFICER,
        _referred,
        data=lambda r: {"decision": "decline", "note": "Not needed after all."},
    ),
}


def _cancelled(records: Records) -> None:
    from safehub.meetings.services import discussion_cancel

    o = records.objects
    discussion_cancel(
        discussion=o["discussion"], by=o["manager"], reason="Not needed.", still_needed=True
    )


def _action_done(records: Records) -> None:
    from safehub.meetings.services import action_done

    o = records.objects
    action_done(action=o["action"], by=o["manager"], note="Done.")


def _police_answered(records: Records) -> None:
    from safehub.meetings.services import request_answer

    o = records.objects
    request_answer(discussion=o["discussion"], by=o["police"], answer="Two earlier call-outs.")


for _key in (
    "meetings:participant_add",
    "meetings:attendance",
    "meetings:outcome",
    "meetings:action_add",
):
    WRONG_STATE[_key] = WrongState(Role.HUB_MANAGER, _cancelled)
for _key, _who in (
    ("meetings:respond", Role.HEALTH_PRACTITIONER),
    ("meetings:answer", Role.HEALTH_PRACTITIONER),
):
    WRONG_STATE[_key] = WrongState(_who, _cancelled)
WRONG_STATE["meetings:reschedule"] = WrongState(
    Role.HUB_MANAGER,
    _cancelled,
    data=lambda r: FORMS["meetings:reschedule"],  # type: ignore[return-value]
)
WRONG_STATE["meetings:cancel"] = WrongState(
    Role.HUB_MANAGER,
    _cancelled,
    data=lambda r: FORMS["meetings:cancel"],  # type: ignore[return-value]
)
WRONG_STATE["meetings:action_done"] = WrongState(Role.HUB_MANAGER, _action_done)
WRONG_STATE["meetings:request_chase"] = WrongState(Role.HUB_MANAGER, _police_answered)
# The world's first discussion is still called: minutes are sent once the outcome is recorded.
WRONG_STATE["meetings:minutes_send"] = WrongState(Role.HUB_MANAGER)
# Amy already has a discussion called: another one for her is refused.
WRONG_STATE["meetings:discussion_call"] = WrongState(
    Role.HUB_MANAGER,
    data=lambda r: FORMS["meetings:discussion_call"](r),  # type: ignore[operator]
)


def _authorised(records: Records) -> None:
    from safehub.casework.services import assessment_authorise

    o = records.objects
    assessment_authorise(
        assessment=o["assessment"],
        by=o["manager"],
        authorised_on=dt.date(2026, 11, 24),
        child_seen_on=None,
        factors=["3B"],
        needs_support=False,
    )


def _no_conference_needed(records: Records) -> None:
    from safehub.casework.services import icpc_record

    o = records.objects
    icpc_record(enquiry=o["enquiry"], by=o["manager"], icpc_on=None, not_required=True,
                led_to_plan=None)  # fmt: skip


def _cin_plan_started(records: Records) -> None:
    from safehub.casework.services import cin_plan_start

    o = records.objects
    cin_plan_start(episode=o["episode"], by=o["manager"], started_on=dt.date(2026, 11, 24))


# Leo's referral: an assessment open (another cannot start, nor can the referral close), and a
# section 47 enquiry with no conference yet (so no plan can start).
WRONG_STATE["casework:assessment_authorise"] = WrongState(Role.HUB_MANAGER, _authorised)
WRONG_STATE["casework:assessment_start"] = WrongState(Role.HUB_MANAGER)
WRONG_STATE["casework:conference"] = WrongState(Role.HUB_MANAGER, _no_conference_needed)
WRONG_STATE["casework:plan_start"] = WrongState(Role.HUB_MANAGER)
WRONG_STATE["casework:cin_plan_start"] = WrongState(Role.HUB_MANAGER, _cin_plan_started)
WRONG_STATE["casework:close"] = WrongState(Role.HUB_MANAGER)
# Leo's plans (see _ended_plans) have ended: no review, and no second end.
WRONG_STATE["casework:plan_review"] = WrongState(Role.HUB_MANAGER)
WRONG_STATE["casework:plan_end"] = WrongState(Role.HUB_MANAGER)
WRONG_STATE["casework:cin_plan_end"] = WrongState(Role.HUB_MANAGER)


def _ended_plans(episode: Any) -> tuple[Any, Any]:
    """A protection plan and a children in need plan on Leo's referral, both started and ended
    on Tuesday (rows made directly: their pages need a plan, and ended ones leave every other
    casework action as it was)."""
    from safehub.casework.models import ChildProtectionPlan, CINPlan

    day = dt.date(2026, 11, 24)
    plan = ChildProtectionPlan.objects.create(
        episode=episode, started_on=day, ended_on=day, initial_category="EMO",
        latest_category="EMO",
    )  # fmt: skip
    return plan, CINPlan.objects.create(episode=episode, started_on=day, ended_on=day)


def _review_kept_apart(records: Records) -> None:
    from safehub.people.review import review_keep_apart

    o = records.objects
    review_keep_apart(review=o["link_review"], by=o["worker"], reason="Different children.")


def _other_merged(records: Records) -> None:
    from safehub.people.review import person_merge

    o = records.objects
    person_merge(kept=o["person"], merged=o["other_person"], by=o["manager"], reason="One child.")


def _merge_undone(records: Records) -> None:
    from safehub.people.review import person_unmerge

    o = records.objects
    person_unmerge(merge=o["merge"], by=o["manager"], reason="Two children.")


# A review already kept apart is not linked; a person already merged is not merged again; a
# merge already undone is not undone again.
WRONG_STATE["people:review_detail"] = WrongState(Role.HUB_SOCIAL_WORKER, _review_kept_apart)
WRONG_STATE["people:person_merge"] = WrongState(Role.HUB_MANAGER, _other_merged)
WRONG_STATE["people:merge_undo"] = WrongState(Role.HUB_MANAGER, _merge_undone)

# Actions on a record that no state refuses, and why.
NO_WRONG_STATE: dict[str, str] = {
    "casework:child_details": (
        "the child's details for the returns may be corrected whatever the referral's state"
    ),
    "meetings:refusal": "a decision not to share is recorded whatever the discussion's state",
    "encompass:notice_acknowledge": (
        "acknowledging again is a no-op; a notice still waiting for a recipient is seen by no "
        "lead (404)"
    ),
    "safehub_intake_api_notification_update": "an amendment is a new version; a repeat is 200",
}

# --- Finding every endpoint ---------------------------------------------------------------------


# Any value of each converter, for URLs whose gate does not look at the record (the admin's).
ANY_VALUE = {"int": "1", "uuid": "00000000-0000-0000-0000-000000000001"}


def build_url(route: Route, values: dict[str, Any], *, any_value: bool = False) -> str:
    """A URL that the route matches, its parameters taken from `values` (a regex group with
    alternatives takes the first; with `any_value`, a parameter not in `values` takes any value
    its converter accepts)."""

    def value(name: str, converter: str = "str") -> str:
        if name in values:
            return str(values[name])
        if any_value:
            return ANY_VALUE.get(converter, "1")
        raise KeyError(name)

    url = ""
    for part in route.parts:
        text = str(part.pattern)
        if isinstance(part.pattern, RegexPattern):

            def group(match: re.Match[str]) -> str:
                name, body = match.group(1), match.group(2)
                if name not in values and "|" in body:
                    return body.split("|")[0]
                return value(name)

            text = re.sub(r"\(\?P<(\w+)>([^)]*)\)", group, text).lstrip("^").rstrip("$")
        else:
            text = re.sub(
                r"<(?:(\w+):)?(\w+)>", lambda m: value(m.group(2), m.group(1) or "str"), text
            )
        url += text
    return "/" + url


# --- The people and the records -----------------------------------------------------------------


def _body(name: str) -> bytes:
    from safehub.core.testing import example_bytes

    return example_bytes(name)


def _liverpool_by_cheshire() -> bytes:
    """The high-risk incident, sent by Cheshire for a family in Liverpool at a Liverpool school."""
    body = json.loads(_body("notification-high-risk.json"))
    body["force_code"] = "CHS"
    body["incident_reference"] = "CHS-26-000101"
    body["incident_address"].update(town="Liverpool", postcode="L15 2AA")
    body["people"][0]["address"].update(town="Liverpool", postcode="L15 2AA")
    body["people"][2]["school_urn"] = "900017"
    return json.dumps(body).encode()


@dataclass
class Records:
    """The records a URL's parameters name: one set in Wirral's scope, one in Liverpool's.

    Amy (C1) is being screened by the council's social worker; Leo (C2) has her decision awaiting
    a manager's sign-off; Amy has an Encompass notice to her school; Jane has a MARAC referral to
    confirm."""

    values: dict[str, Any]  # by URL parameter name
    by_endpoint: dict[str, dict[str, Any]]  # where an endpoint needs another record
    objects: dict[str, Any]  # the model instances, by name

    def for_endpoint(self, key: str) -> dict[str, Any]:
        return {**self.values, **self.by_endpoint.get(key, {})}


def _people(records: Records) -> None:
    """The person index in the records' council, from Amy's notice: Amy as a person, another
    record of her waiting for review against her, a duplicate of her merged into her (the merge
    to undo), and another person to merge into her."""
    from safehub.people.models import LinkReview, Person, SourceRecord
    from safehub.people.review import person_merge

    o = records.objects
    contact = o["amy"]
    notification = contact.notification
    now = clock.now()

    def person(n: int) -> Any:
        someone = Person.objects.create(created_at=now)
        SourceRecord.objects.create(
            person=someone,
            source_kind="notification",
            source=notification.force_code,
            source_ref=f"{notification.incident_reference}/matrix-{n}",
            notification=notification,
            contact=contact,
            role="child",
            values={"given_names": "Amy", "family_name": "Example", "date_of_birth": "2017-06-11"},
            seen_at=now,
            link_method="new",
            linked_at=now,
        )
        return someone

    amy, to_review, duplicate, other = (person(n) for n in range(4))
    review = LinkReview.objects.create(
        record=to_review.records.get(),
        candidate=amy,
        match_probability=0.81,
        match_evidence={},
        origin="intake",
        created_at=now,
    )
    merge = person_merge(kept=amy, merged=duplicate, by=o["manager"], reason="One child.")
    records.values.update(review_id=review.pk, person_id=amy.pk, merge_id=merge.pk)
    o.update(person=amy, other_person=other, link_review=review, merge=merge)


@dataclass
class World:
    principals: dict[str, Any]  # name → User, the client's token, or None
    clients: dict[str, Client]
    wirral: Records
    liverpool: Records
    api_client: Any


def build_world(make_user: Any, msp_token: str) -> World:
    from safehub.accounts.models import Agency, ApiClient, hash_token
    from safehub.casework.models import CaseEpisode
    from safehub.encompass.models import EncompassNotice
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.referrals.decisions import contact_decide, contact_reassign
    from safehub.referrals.models import Contact, Outcome
    from safehub.risk.models import MaracReferral

    users = {role: make_user(role.replace("_", ""), AGENCIES[role], role) for role in Role}
    staff = make_user("staffadmin", "LA344", Role.ADMINISTRATOR, is_staff=True, is_superuser=True)
    bob = make_user("bob", "LA341", Role.HUB_SOCIAL_WORKER)
    lena = make_user("lena", "LA341", Role.HUB_MANAGER)

    def receive(raw: bytes) -> Any:
        return notification_receive(raw=raw, channel=Channel.API).notification

    agencies = {a.code: a for a in Agency.objects.all()}

    def _discussions(
        amy: Any, leo: Any, worker: Any, manager: Any, *codes: str
    ) -> tuple[Any, Any, Any]:
        """Amy's discussion, called by the manager and still open, with every partner role of
        the world invited; Leo's, called from his section 47 decision and held."""
        from safehub.meetings.services import Invitation, action_add, discussion_call
        from safehub.meetings.services import outcome_record as record_outcome

        force, health, school, da = (agencies[c] for c in codes)
        roles = ["police", "health", "school", "domestic_abuse"]
        invitations = [
            Invitation("children_social_care", agencies[amy.local_authority.code]),
            *(Invitation(r, a) for r, a in zip(roles, (force, health, school, da), strict=True)),
        ]
        starts = T0 + dt.timedelta(hours=6)
        common = {
            "reason": "Children present at a high-risk incident.",
            "format": "meeting",
            "mode": "remote",
            "starts_at": starts,
            "ends_at": starts + dt.timedelta(hours=1),
            "location": "Video call",
            "invitations": invitations,
        }
        discussion = discussion_call(contact=amy, called_by=manager, children=[amy], **common)
        held = discussion_call(contact=leo, called_by=worker, children=[leo], **common)
        record_outcome(
            discussion=held,
            by=worker,
            held_at=T0,
            enquiry="joint",
            immediate_protection=False,
            rationale="Risk of significant harm.",
            risks={leo.pk: "Exposure to domestic abuse."},
            missing_reason="Called at short notice.",
            reconvene=True,
        )
        action = action_add(
            discussion=discussion,
            by=manager,
            description="Visit the children.",
            owner_name="Alice",
            agency=agencies[amy.local_authority.code],
            due_on=dt.date(2026, 11, 26),
        )
        return discussion, held, action

    def records(
        notification: Any, worker: Any, manager: Any, routable: Any, police: Any, *codes: str
    ) -> Records:
        amy = Contact.objects.get(notification=notification, child_ref="C1")
        leo = Contact.objects.get(notification=notification, child_ref="C2")
        for contact in (amy, leo):
            contact_reassign(contact=contact, to_user=worker, by=manager, reason="Hers to screen.")
        leo.refresh_from_db()
        decision = contact_decide(
            contact=leo,
            decided_by=worker,
            outcome=Outcome.STRATEGY_DISCUSSION_S47,
            rationale="Second call-out this month; the child was present.",
        )
        amy.refresh_from_db()
        leo.refresh_from_db()
        discussion, held, action = _discussions(amy, leo, worker, manager, *codes)
        referral = MaracReferral.objects.get(notification=notification)
        # Leo's referral, opened by his discussion's section 47 enquiry.
        episode = CaseEpisode.objects.get(contact=leo)
        assessment, enquiry = episode.assessments.get(), episode.enquiries.get()
        plan, cin_plan = _ended_plans(episode)
        values = {
            "contact_id": amy.pk,
            "decision_id": decision.pk,
            "notice_id": EncompassNotice.objects.get(contact=amy).pk,
            "referral_id": referral.pk,
            "discussion_id": discussion.pk,
            "action_id": action.pk,
            "request_id": discussion.participants.get(role="police").request.pk,
            "force_code": notification.force_code,
            "incident_reference": notification.incident_reference,
            "episode_id": episode.pk,
            "assessment_id": assessment.pk,
            "enquiry_id": enquiry.pk,
            "plan_id": plan.pk,
        }
        on_leo = {"contact_id": leo.pk}
        by_endpoint = {
            "referrals:decision_sign_off": on_leo,
            "referrals:decision_return": on_leo,
            # Leo's section 47 decision calls his; Amy already has one.
            "meetings:discussion_call": on_leo,
            "meetings:minutes_send": {"discussion_id": held.pk},
            "casework:cin_plan_end": {"plan_id": cin_plan.pk},
        }
        if routable is not None:
            by_endpoint["referrals:contact_route"] = {"contact_id": routable.pk}
        objects = {
            "amy": amy,
            "leo": leo,
            "decision": decision,
            "referral": referral,
            "worker": worker,
            "manager": manager,
            "discussion": discussion,
            "action": action,
            "police": police,
            "agencies": agencies,
            "episode": episode,
            "assessment": assessment,
            "enquiry": enquiry,
        }
        return Records(values, by_endpoint, objects)

    with clock.frozen(T0):
        high_risk = receive(_body("notification-high-risk.json"))
        # Ravi (Wallasey) waits, unallocated, for a manager to route him.
        ravi = Contact.objects.get(
            notification=receive(_body("notification-two-authorities.json")), child_ref="C1"
        )
        assert ravi.local_authority.code == "LA344"
        wirral = records(
            high_risk,
            users[Role.HUB_SOCIAL_WORKER],
            users[Role.HUB_MANAGER],
            ravi,
            users[Role.POLICE_HUB_OFFICER],
            "MSP",
            "RY7",
            "URN900001",
            "DAS-WIR",
        )
        liverpool = records(
            receive(_liverpool_by_cheshire()),
            bob,
            lena,
            None,
            None,
            "CHS",
            "REM",
            "URN900017",
            "DAS-MSY",
        )
        _people(wirral)
        _people(liverpool)

    principals: dict[str, Any] = {ANONYMOUS: None, CLIENT: msp_token, **users, STAFF: staff}
    clients: dict[str, Client] = {}
    for name, who in principals.items():
        if name == CLIENT:
            clients[name] = Client(HTTP_AUTHORIZATION=f"Bearer {who}")
        else:
            clients[name] = Client()
            if who is not None:
                clients[name].force_login(who)
    api_client = ApiClient.objects.get(token_hash=hash_token(msp_token))
    return World(principals, clients, wirral, liverpool, api_client)


@pytest.fixture
def world(make_user, msp_token) -> Iterator[World]:
    world = build_world(make_user, msp_token)
    with clock.frozen(T0 + dt.timedelta(hours=1)):
        yield world


# --- Asking -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    key: str  # URL name (or route), or operationId
    access: Access
    method: str
    route: Route | None = None  # a page
    path: str = ""  # an operation
    api: bool = False

    @property
    def label(self) -> str:
        return f"{self.method} {self.key}"


def endpoints() -> list[Endpoint]:
    """Every page (the admin's apart) and every API operation, as declared."""
    operations = api_operations()
    paths = {path for _, path, _ in operations}
    found = []
    for route in url_routes():
        if is_operation(route, paths) or route.namespace.split(":")[0] in access.NAMESPACES:
            continue
        declared = route.access
        assert declared is not None, f"{route.key} is not in the access matrix"
        method = "GET" if "GET" in declared.methods else declared.methods[0]
        found.append(
            Endpoint(route.key, declared, method, route=route, api=route.namespace == "api")
        )
    for method, path, operation_id in operations:
        declared = access.OPERATIONS[operation_id]
        found.append(Endpoint(operation_id, declared, method, path=path, api=True))
    return found


def admin_routes() -> list[Route]:
    return [r for r in url_routes() if r.namespace.split(":")[0] == "admin"]


ADMIN_SAMPLES = {"url": "no-such-page/"}  # the catch-all; any value for the rest


@dataclass
class Answer:
    status: int
    answer: str  # what the matrix calls it
    audited: int  # audit events the request wrote for its actor
    location: str = ""


def _classify(response: Any, expected: str) -> str:
    status = response.status_code
    if 300 <= status < 400:
        location = urlsplit(response["Location"])
        if location.path == reverse("login") and "next=" in location.query:
            return LOGIN
        if location.path == reverse("admin:login"):
            return ADMIN_LOGIN
        if expected.startswith("→ ") and location.path == reverse(expected[2:]):
            return expected
        return OK
    if 200 <= status < 300:
        return OK
    return str(status)


def ask(
    world: World,
    who: str,
    endpoint: Endpoint,
    records: Records,
    expected: str,
    *,
    data: dict[str, Any] | None = None,
    before: Callable[[], object] | None = None,
) -> Answer:
    """Ask `endpoint` as `who` about `records` (after `before`, if given), in a savepoint rolled
    back afterwards."""
    client = world.clients[who]
    values = records.for_endpoint(endpoint.key)
    kwargs: dict[str, Any] = {}
    try:
        url = (
            build_url(endpoint.route, values) if endpoint.route else endpoint.path.format(**values)
        )
    except KeyError as exc:
        raise AssertionError(
            f"{endpoint.key}: no record for its URL parameter {exc}: add one in build_world"
        ) from None
    if endpoint.route is None:
        if endpoint.method in ("POST", "PUT"):
            body = _body("notification-high-risk.json")
            kwargs = {"data": body, "content_type": "application/json"}
    elif endpoint.method == "POST":
        form = FORMS.get(endpoint.key, {})
        if callable(form):
            form = form(records)
        kwargs = {"data": form if data is None else data}
    principal = world.principals[who]
    if who == CLIENT:
        mine = AuditEvent.objects.filter(api_client=world.api_client)
    elif principal is None:
        mine = AuditEvent.objects.none()
    else:
        mine = AuditEvent.objects.filter(user=principal)
    session = client.cookies.get(settings.SESSION_COOKIE_NAME)
    with transaction.atomic():
        if before is not None:
            before()
        count = mine.count()
        response = getattr(client, endpoint.method.lower())(url, **kwargs)
        audited = mine.count() - count
        transaction.set_rollback(True)
    if session is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = session.value  # signing out is undone
    return Answer(
        response.status_code,
        _classify(response, expected),
        audited,
        response.get("Location", ""),
    )


def expected_for(endpoint: Endpoint, who: str) -> str:
    """The matrix's answer, from the role alone."""
    if who == CLIENT:
        return access.expected_client_answer(
            endpoint.access, operation=endpoint.route is None, api=endpoint.api
        )
    return access.expected_answer(endpoint.access, persona(who), api=endpoint.api)


def persona(who: str) -> access.Persona | None:
    if who == ANONYMOUS:
        return None
    if who == STAFF:
        return access.Persona(Role.ADMINISTRATOR, is_staff=True)
    return access.Persona(who)


def check_answer(world: World, endpoint: Endpoint, who: str) -> str | None:
    """The answer the matrix gives, for a record in the person's scope."""
    expected = expected_for(endpoint, who)
    got = ask(world, who, endpoint, world.wirral, expected)
    if got.answer != expected:
        surprise = "UNEXPECTED SUCCESS: " if got.answer == OK else ""
        return (
            f"{surprise}{endpoint.label} as {who}: expected {expected}, got {got.status} "
            f"{got.location}".rstrip()
        )
    return None


def check_audit(world: World, endpoint: Endpoint, who: str) -> str | None:
    """An allowed read of personal data leaves an audit event naming who read."""
    expected = expected_for(endpoint, who)
    got = ask(world, who, endpoint, world.wirral, expected)
    if got.answer == OK and got.audited < 1:
        return f"{endpoint.label} as {who}: allowed read wrote no audit event"
    return None


def check_out_of_scope(world: World, endpoint: Endpoint, who: str) -> str | None:
    """A record of another council (and another force and school) is not found."""
    wanted = CONTRACT_ANSWERS.get(("scope", endpoint.key, who), "404")
    got = ask(world, who, endpoint, world.liverpool, wanted)
    if got.answer != wanted:
        surprise = "UNEXPECTED SUCCESS: " if got.answer == OK else ""
        return f"{surprise}{endpoint.label} as {who} on Liverpool's record: got {got.status}"
    if got.audited:
        return f"{endpoint.label} as {who} on Liverpool's record: audited a read it refused"
    return None


def check_wrong_state(world: World, endpoint: Endpoint, who: str) -> str | None:
    """An allowed action on a record in a state it refuses: 409."""
    case = WRONG_STATE[endpoint.key]
    endpoint = replace(endpoint, method=case.method)
    wirral = world.wirral
    contact = wirral.objects[case.record]
    # A record of another kind the endpoint names (the children in need plan, not the
    # protection plan: their ids differ once PostgreSQL's sequences have moved on).
    other = {
        name: value
        for name, value in wirral.by_endpoint.get(endpoint.key, {}).items()
        if name == "plan_id"
    }
    records = Records({**wirral.values, "contact_id": contact.pk, **other}, {}, wirral.objects)
    got = ask(
        world,
        who,
        endpoint,
        records,
        "409",
        data=case.data(records) if case.data else None,
        before=(lambda: case.before(records)) if case.before else None,
    )
    if got.status != 409:
        return f"{endpoint.label} as {who} in the wrong state: got {got.status} {got.location}"
    return None


CHECKS = {
    "answer": check_answer,
    "audit": check_audit,
    "scope": check_out_of_scope,
    "state": check_wrong_state,
}


def cases(check: str) -> Iterator[tuple[Endpoint, str]]:
    people = [*(r.value for r in Role)]
    for endpoint in endpoints():
        if check == "answer":
            yield from ((endpoint, who) for who in [ANONYMOUS, *people, CLIENT])
        elif check == "audit":
            if endpoint.access.audited and endpoint.method == "GET":
                yield from ((endpoint, who) for who in [*people, CLIENT])
        elif check == "scope" and endpoint.access.scope:
            # Whoever gets past signing in (the API's client on its operations).
            signed_in = [*people, CLIENT] if endpoint.route is None else people
            for who in signed_in:
                if expected_for(endpoint, who) in (OK, "403", "404"):
                    yield endpoint, who
        elif check == "state" and endpoint.key in WRONG_STATE:
            yield endpoint, WRONG_STATE[endpoint.key].who


def run(world: World, check: str) -> tuple[list[str], int]:
    problems, asked = [], 0
    for endpoint, who in cases(check):
        if (check, endpoint.key, who) in GAPS:
            continue
        asked += 1
        problem = CHECKS[check](world, endpoint, who)
        if problem:
            problems.append(problem)
    return problems, asked


# --- The matrix is complete ---------------------------------------------------------------------


def test_every_url_is_declared_in_the_matrix():
    paths = {path for _, path, _ in api_operations()}
    undeclared = [r.key for r in url_routes() if not is_operation(r, paths) and r.access is None]
    assert not undeclared, f"URLs with no entry in safehub.core.access (fail closed): {undeclared}"


def test_every_api_operation_is_declared_in_the_matrix():
    operations = api_operations()
    undeclared = [op for _, _, op in operations if op not in access.OPERATIONS]
    assert not undeclared, (
        f"operations with no entry in safehub.core.access.OPERATIONS: {undeclared}"
    )
    wrong = [
        (op, method)
        for method, _, op in operations
        if op in access.OPERATIONS and access.OPERATIONS[op].methods != (method,)
    ]
    assert not wrong, f"declared methods differ from the OpenAPI document: {wrong}"


def test_the_matrix_names_nothing_that_is_not_served():
    keys = {r.key for r in url_routes()}
    assert not [k for k in access.PAGES if k not in keys]
    operations = {op for _, _, op in api_operations()}
    assert not [k for k in access.OPERATIONS if k not in operations]
    assert {r.namespace.split(":")[0] for r in url_routes()} >= set(access.NAMESPACES)


def test_every_need_is_a_permission_or_a_named_rule():
    declared = [*access.PAGES.values(), *access.NAMESPACES.values(), *access.OPERATIONS.values()]
    for entry in declared:
        assert entry.need in PERMISSIONS or entry.need in access.NEEDS, entry
        assert all(kind in access.SCOPES for kind in entry.scope), entry
        if entry.otherwise is not None:
            assert entry.otherwise[0] in PERMISSIONS, entry
    assert all(permission in PERMISSIONS for permission, _ in access.SCOPES.values())
    undescribed = set(PERMISSIONS) - set(access.DESCRIPTIONS)
    assert not undescribed, (
        f"say what each allows in safehub.core.access.DESCRIPTIONS: {undescribed}"
    )
    assert not set(access.DESCRIPTIONS) - set(PERMISSIONS), "a description of no permission"


def test_every_role_is_asked():
    assert set(AGENCIES) == set(Role)


def test_the_access_doc_is_up_to_date():
    written = access.DOC_PATH.read_text(encoding="utf-8") if access.DOC_PATH.exists() else ""
    assert written == access.access_doc(), (
        "docs/access.md is out of date: run `safehub shell -c 'from safehub.core.access import "
        "access_doc_write; access_doc_write()'`"
    )


# --- The matrix is what the code does -----------------------------------------------------------


def test_every_endpoint_answers_every_role_as_the_matrix_says(world):
    problems, asked = run(world, "answer")
    assert asked >= 11 * len(endpoints()) - len(GAPS)
    assert not problems, f"{len(problems)} of {asked} answers differ:\n" + "\n".join(problems)


def test_every_allowed_read_of_personal_data_is_audited(world):
    problems, asked = run(world, "audit")
    assert asked
    assert not problems, "\n".join(problems)


def test_another_councils_records_are_not_found(world):
    problems, asked = run(world, "scope")
    assert asked
    assert not problems, "\n".join(problems)


def test_break_glass_opens_another_councils_contact_to_read_and_nothing_more(world):
    """Liverpool's records stay "not found" to Wirral's hub staff unless one of them opens
    Liverpool's Amy on the break-glass page, by her exact reference, with a purpose and a reason.
    Then her contact page opens to them (audited), and nothing else does: every other endpoint on
    Liverpool's records (acting on Amy, her decision, her notice, her MARAC referral, the
    notification) is still 404. Without a reason nothing opens."""
    amy = world.liverpool.objects["amy"]
    page = reverse("referrals:break_glass")
    form = {"contact_reference": str(amy.pk), "purpose": "moved_in", "reason": ""}
    problems, asked = [], 0
    for who in (Role.HUB_SOCIAL_WORKER, Role.HUB_MANAGER):
        client = world.clients[who]
        with transaction.atomic():
            refused = client.post(page, form)
            after = client.get(reverse("referrals:contact_detail", args=[amy.pk]))
            transaction.set_rollback(True)
        if (refused.status_code, after.status_code) != (422, 404):
            problems.append(
                f"break-glass with no reason as {who}: {refused.status_code}, then Liverpool's "
                f"contact {after.status_code}"
            )

        def open_amy(client: Client = client) -> None:
            response = client.post(page, {**form, "reason": "The family moved to Wirral."})
            assert response.status_code == 302, response.status_code

        for endpoint in endpoints():
            if not endpoint.access.scope or expected_for(endpoint, who) not in (OK, "403", "404"):
                continue
            wanted = OK if endpoint.key == "referrals:contact_detail" else "404"
            got = ask(world, who, endpoint, world.liverpool, wanted, before=open_amy)
            asked += 1
            if got.answer != wanted:
                problems.append(
                    f"{endpoint.label} as {who} on Liverpool's record under break-glass: "
                    f"expected {wanted}, got {got.status}"
                )
            elif wanted == OK and got.audited < 1:
                problems.append(f"{endpoint.label} as {who} under break-glass: not audited")
    assert asked > 10
    assert not problems, "\n".join(problems)


def test_every_action_on_a_record_is_in_the_wrong_state_table():
    acting = {
        e.key for e in endpoints() if e.access.scope and set(e.access.methods) - {"GET", "HEAD"}
    }
    assert acting == set(WRONG_STATE) | set(NO_WRONG_STATE)
    assert not set(WRONG_STATE) & set(NO_WRONG_STATE)


def test_an_allowed_action_in_the_wrong_state_is_a_conflict(world):
    problems, asked = run(world, "state")
    assert asked
    assert not problems, "\n".join(problems)


def test_post_only_pages_refuse_get(world):
    """A page that only acts answers 405 to a GET, even from a role that may act."""
    problems = []
    for endpoint in endpoints():
        if endpoint.route is None or "GET" in endpoint.access.methods:
            continue
        response = world.clients[Role.HUB_MANAGER].get(
            build_url(endpoint.route, world.wirral.for_endpoint(endpoint.key))
        )
        if response.status_code != 405:
            problems.append(f"GET {endpoint.key}: {response.status_code}")
    assert not problems, "\n".join(problems)


def _landing(client: Client, response: Any) -> Any:
    """Follow redirects until a sign-in page or an answer that is not a redirect (the admin sends
    a person without rights from its sign-out to its index, and from there to sign in)."""
    for _ in range(3):
        if not 300 <= response.status_code < 400:
            break
        if urlsplit(response["Location"]).path in (reverse("login"), reverse("admin:login")):
            break
        response = client.get(response["Location"])
    return response


def test_the_admin_is_for_staff_only(world):
    """Every URL of the admin sends a person who is not staff (whatever their role) to the
    admin's sign-in page; a staff member gets past it (then the admin's own permissions)."""
    problems, asked = [], 0
    for route in admin_routes():
        declared = route.access
        assert declared is not None
        url = build_url(route, ADMIN_SAMPLES, any_value=True)
        if resolve(url).func != route.pattern.callback:
            # Shadowed by an earlier pattern (admin/login/ by the sign-in page): never reached
            # here, and walked as that pattern.
            continue
        for who in [ANONYMOUS, *(r.value for r in Role), STAFF]:
            expected = access.expected_answer(declared, persona(who))
            client = world.clients[who]
            response = client.get(url)
            asked += 1
            if who == STAFF:
                got = _classify(response, expected)
                ok = got not in (ADMIN_LOGIN, LOGIN) and response.status_code < 500
            else:
                response = _landing(client, response)
                got = _classify(response, expected)
                ok = got == expected
            if not ok:
                surprise = "UNEXPECTED SUCCESS: " if got == OK and who != STAFF else ""
                problems.append(
                    f"{surprise}GET {route.key} ({url}) as {who}: expected {expected}, "
                    f"got {response.status_code}"
                )
    assert asked > 50
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("check", "key", "who"),
    [
        pytest.param(
            *gap, marks=pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason)
        )
        for gap, reason in GAPS.items()
    ],
)
def test_known_gap(world, check, key, who):
    endpoint = next(e for e in endpoints() if e.key == key)
    assert CHECKS[check](world, endpoint, who) is None


def test_every_known_gap_names_a_case_of_the_matrix():
    for check, key, who in GAPS:
        assert any(e.key == key and w == who for e, w in cases(check)), (check, key, who)


# --- Need to know: what a school sees --------------------------------------------------------

# What a school must never read about the high-risk incident (statutory.md §7.2): the summary,
# the offences, the adults, and the other child, who is not its pupil.
NEVER_TO_A_SCHOOL = [
    "Officers attended after a neighbour called",
    "Victim had facial injuries",
    "Assault occasioning",
    "Jane",
    "John",
    "Leo",
]


def without_tokens(text: str) -> str:
    """The page without its random tokens: a CSRF token is 64 letters and digits, which hold
    "Leo" about once in four thousand pages."""
    return re.sub(r'(name="csrfmiddlewaretoken" value=)"[^"]*"', r'\1""', text)


def test_a_school_never_sees_the_incident_or_the_adults(world):
    """Every page and API operation the school's safeguarding lead can reach, asked about the
    world's records (Amy's notice, her strategy discussion with the school invited): none of the
    answers holds the summary, the offences, the adults or Leo. And what it can reach includes
    the discussion and what it is asked, with Amy in it."""
    who = Role.EDUCATION_SAFEGUARDING_LEAD
    reached, problems = [], []
    for endpoint in endpoints():
        if "GET" not in endpoint.access.methods or endpoint.key.startswith("api:openapi"):
            continue
        values = world.wirral.for_endpoint(endpoint.key)
        url = (
            build_url(endpoint.route, values) if endpoint.route else endpoint.path.format(**values)
        )
        response = world.clients[who].get(url)
        if response.status_code != 200:
            continue
        reached.append(endpoint.key)
        text = without_tokens(response.content.decode("utf-8", errors="replace"))
        problems += [
            f"{endpoint.key}: {bad!r}"
            for bad in NEVER_TO_A_SCHOOL
            if re.search(rf"\b{re.escape(bad)}\b", text)
        ]
    assert {
        "meetings:discussion_detail",
        "safehub_meetings_api_discussion_read_api",
        "encompass:notice_detail",
    } <= set(reached), reached
    detail = world.clients[who].get(
        reverse("meetings:discussion_detail", args=[world.wirral.values["discussion_id"]])
    )
    assert "Amy" in detail.content.decode() and "Previous incidents" not in detail.content.decode()
    assert not problems, "\n".join(problems)


def test_a_health_practitioner_sees_only_their_agencys_part(world):
    """Health sees the discussion it is invited to, with its own request and the adults it is
    asked about, never the other agencies' answers; another health trust's practitioner gets
    404 on it, on the page and over the API."""
    from safehub.meetings.services import request_answer

    o = world.wirral.objects
    request_answer(discussion=o["discussion"], by=o["police"], answer="Two earlier call-outs.")
    discussion_id = world.wirral.values["discussion_id"]
    page = reverse("meetings:discussion_detail", args=[discussion_id])
    api = f"/api/v1/strategy-discussions/{discussion_id}"
    health = world.clients[Role.HEALTH_PRACTITIONER]
    text = health.get(page).content.decode()
    assert "Jane" in text and "Health involvement" in text
    assert "Two earlier call-outs" not in text
    assert "Two earlier call-outs" not in health.get(api).content.decode()
    assert "Two earlier call-outs" in world.clients[Role.HUB_MANAGER].get(page).content.decode()
    from django.test import Client

    other = Client()
    from safehub.accounts.models import Agency, User

    stranger = User.objects.create_user(
        username="nurse-alder-hey",
        agency=Agency.objects.get(code="RBS"),
        roles=[Role.HEALTH_PRACTITIONER],
    )
    other.force_login(stranger)
    assert other.get(page).status_code == 404
    assert other.get(api).status_code == 404

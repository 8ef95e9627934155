"""Triage: what a police notification becomes (issue 3). One assessment serves the intake, for
the API and the bulk import alike, and `safehub triage explain`, so the three cannot disagree.

For each notification: the DASH score (none for DARA), the MARAC criteria met for each victim with
their evidence, and for each child a RAG rating with its reasons, the policy version and the
screening deadline. What it reads from the database (the active policy, the history of the people
the notification names, the confirmed MARAC referrals of its victims) a `TriageContext` reads once
for a whole batch.

"The same person" is the person index's (safehub.people.history.IndexHistory): every spelling the
index linked to a person counts, and a child's open case and child protection plan are read from
casework across the person's contacts. A person the index does not hold is counted by the
exact-match key (name and date of birth) as before. The index is consulted after intake too: with
SAFEHUB_LINKAGE_AT_INTAKE = "worker" intake's triage (and `triage_explain`) sees what the index
held already, and when the worker's sweep links the notification's people `triage_rerate_indexed`
rates its waiting contacts again, upward only (docs/linkage.md, "At intake").

`triage_explain` runs the same steps without storing anything and returns plain JSON data.
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from safehub.accounts.selectors import school_by_urn
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core.clock import LONDON
from safehub.core.clock import now as clock_now
from safehub.encompass.services import (
    NoticeDraft,
    encompass_is_school_age,
    encompass_notice_draft,
    encompass_recipient_for,
)
from safehub.intake.keys import History, person_key, person_keys_build
from safehub.intake.models import Notification, PersonKey
from safehub.intake.validation import NotificationBody, Person, validate_notification
from safehub.people.history import IndexHistory, Matched
from safehub.referrals.models import Contact, ContactStatus
from safehub.referrals.services import _child_address, contact_route_for
from safehub.risk.marac import CRITERIA, MaracCriterion, marac_criteria
from safehub.risk.models import MaracReferral, MaracStatus, TriagePolicy
from safehub.risk.rag import (
    RagResult,
    child_facts_from_notification,
    earlier_notification_months,
    rag_rate,
    rag_screening_due,
)
from safehub.risk.scoring import DashScore, dash_score
from safehub.risk.selectors import policy_active, policy_get
from safehub.timescales.calendar import add_calendar_months, encompass_due
from safehub.timescales.clocks import OPEN_Q, clock_build, clocks_next_due
from safehub.timescales.models import Clock, ClockKind, ClockState


def _iso(at: dt.datetime) -> str:
    """ISO 8601 in UTC, with its offset (+00:00)."""
    return at.astimezone(dt.UTC).isoformat()


def _months_before(at: dt.datetime, months: int) -> dt.datetime:
    """The same London wall time `months` calendar months earlier (29 Feb → 28 Feb)."""
    local = at.astimezone(LONDON)
    day = add_calendar_months(local.date(), -months)
    return dt.datetime.combine(day, local.time(), tzinfo=LONDON)


@dataclass(frozen=True)
class ChildTriage:
    child: Person
    rating: RagResult
    screening_due: dt.datetime
    earlier: int  # earlier notifications about this child or the same victim, in the window


@dataclass(frozen=True)
class VictimMarac:
    victim: Person
    key: str  # "" without a date of birth
    suspect_keys: list[str]
    criteria: list[MaracCriterion]
    same_victim: int  # notifications for this victim in the escalation window, this one included


@dataclass(frozen=True)
class Triage:
    policy: TriagePolicy
    dash: DashScore | None
    children: dict[str, ChildTriage]  # by child ref
    victims: list[VictimMarac]
    keys: list[PersonKey]

    @property
    def marac_codes(self) -> list[str]:
        met = {c.code for v in self.victims for c in v.criteria}
        return [code for code in CRITERIA if code in met]


@dataclass
class TriageContext:
    """What triage reads from the database, read once for one notification or a batch."""

    policy: TriagePolicy
    history: History = field(default_factory=History)
    # Confirmed MARAC referrals by victim key: (when confirmed, the suspects' keys).
    referrals: dict[str, list[tuple[dt.datetime, set[str]]]] = field(default_factory=dict)
    # The person index's side: whom it holds for each person, their namings, cases and plans.
    index: IndexHistory = field(default_factory=IndexHistory)

    @classmethod
    def load(
        cls,
        *,
        items: Iterable[tuple[NotificationBody, list[PersonKey]]],
        received_at: dt.datetime,
        policy: TriagePolicy | None = None,
        matched: Iterable[Matched] = (),
    ) -> "TriageContext":
        """Read the history of the people these notifications name (`items`: each body with its
        people's keys, not yet saved). `matched`: whom the person index found for them, from the
        intake hook, which must run before this (people/history.py `matched_from_body`); without
        it, the index is still read for the people it can find by their stored records or their
        exact-match key."""
        policy = policy or policy_active()
        items = list(items)
        marac = policy.rules["marac"]
        months = max(
            earlier_notification_months(policy) or 0,
            marac["escalation_months"],
        )
        since_repeat = _months_before(received_at, marac["repeat_months"])
        since = min(
            [since_repeat] + [_months_before(body.occurred_at, months) for body, _ in items]
        )
        all_keys = {k.key for _, keys in items for k in keys}
        victim_keys = {k.key for _, keys in items for k in keys if k.role == "victim"}
        referrals: dict[str, list[tuple[dt.datetime, set[str]]]] = {}
        if victim_keys:
            rows = MaracReferral.objects.filter(
                victim_key__in=sorted(victim_keys),
                status=MaracStatus.CONFIRMED,
                decided_at__gte=since_repeat,
            ).values_list("victim_key", "decided_at", "suspect_keys")
            for victim_key, decided_at, suspect_keys in rows:
                if decided_at is None:
                    continue
                referrals.setdefault(victim_key, []).append((decided_at, set(suspect_keys)))
            since = min([since] + [at for found in referrals.values() for at, _ in found])
        index = IndexHistory.load(
            keys=[k for _, keys in items for k in keys],
            since=since,
            repeat_since=since_repeat,
            on=received_at.astimezone(LONDON).date(),
            matched=matched,
        )
        return cls(
            policy=policy,
            history=History.load(keys=all_keys, since=since),
            referrals=referrals,
            index=index,
        )


def triage_keys(*, notification: Notification, body: NotificationBody) -> list[PersonKey]:
    return person_keys_build(notification=notification, body=body)


def _key_of(person: Person) -> str:
    if person.date_of_birth is None:
        return ""
    return person_key(
        given_names=person.given_names,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
    )


def triage_assess(
    *,
    body: NotificationBody,
    notification_id: Any,
    keys: list[PersonKey],
    received_at: dt.datetime,
    context: TriageContext,
) -> Triage:
    """Score, rate and check one notification against the context's history (which must not yet
    hold this notification's own keys)."""
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be aware")
    policy = context.policy
    history = context.history
    index = context.index
    risk = body.risk
    score = dash_score(instrument=risk.instrument, answers=risk.answers, policy=policy)
    incident = body.occurred_at
    notified_on = received_at.astimezone(LONDON).date()

    victims = [p for p in body.people if p.role == "victim"]
    suspect_keys = sorted({k.key for k in keys if k.role == "suspect"})
    suspect_persons = frozenset(
        p
        for s in body.people
        if s.role == "suspect"
        for p in index.persons_of(notification_id, s.ref)
    )

    def earlier_about(role: str, person: Person, since: dt.datetime) -> set[Any]:
        """The earlier notifications naming this person in this role: those naming the index's
        person (every spelling linked to them), and those naming the same exact-match key (the
        fallback for a person the index does not hold, and a notification stored before the
        index held it; both give notification ids, so none is counted twice)."""
        found = index.notifications(
            persons=[(role, p) for p in index.persons_of(notification_id, person.ref)],
            since=since,
            before=incident,
            exclude=notification_id,
        )
        key = _key_of(person)
        if key:
            found |= history.notifications(
                keys=[(role, key)], since=since, before=incident, exclude=notification_id
            )
        return found

    marac = policy.rules["marac"]
    escalation_since = _months_before(incident, marac["escalation_months"])
    victim_results = []
    for victim in victims:
        key = _key_of(victim)
        same_victim = 1 + len(earlier_about("victim", victim, escalation_since))
        last_referral: dt.datetime | None = None
        pair_since: int | None = None
        victim_persons = index.persons_of(notification_id, victim.ref)
        # Their last MARAC referral together: by the index's persons, or by the exact keys.
        shared = [
            at
            for at, suspects in (context.referrals.get(key, []) if key else [])
            if suspects & set(suspect_keys) and at <= received_at
        ]
        indexed = index.last_marac(
            victims=victim_persons, suspects=suspect_persons, until=received_at
        )
        if indexed is not None:
            shared.append(indexed)
        if shared:
            last_referral = max(shared)
            pair = index.pair_notifications(
                victims=victim_persons,
                suspects=suspect_persons,
                since=last_referral,
                before=incident,
                exclude=notification_id,
            )
            if key:
                pair |= history.pair_notifications(
                    victim=key,
                    suspects=suspect_keys,
                    since=last_referral,
                    before=incident,
                    exclude=notification_id,
                )
            pair_since = 1 + len(pair)
        criteria = marac_criteria(
            dash=score,
            officer_grade=risk.officer_grade,
            professional_judgement=risk.professional_judgement,
            notifications_same_victim_12m=same_victim,
            same_pair_since_last_marac=pair_since,
            last_marac_referral=(
                last_referral.astimezone(LONDON).date() if last_referral is not None else None
            ),
            policy=policy,
            officer_rationale=risk.officer_rationale,
            notified_on=notified_on,
        )
        victim_results.append(
            VictimMarac(
                victim=victim,
                key=key,
                suspect_keys=suspect_keys,
                criteria=criteria,
                same_victim=same_victim,
            )
        )

    rag_months = earlier_notification_months(policy)
    children: dict[str, ChildTriage] = {}
    for child in body.people:
        if child.role != "child":
            continue
        earlier = 0
        if rag_months is not None:
            since = _months_before(incident, rag_months)
            found = earlier_about("child", child, since)
            for victim in victims:
                found |= earlier_about("victim", victim, since)
            earlier = len(found)
        # A case or a plan on any of the child's contacts, in any council (the index's person,
        # or the exact-match key when the index does not hold the child).
        child_persons = index.persons_of(notification_id, child.ref)
        child_key = _key_of(child)
        facts = child_facts_from_notification(
            notification=body,
            child=child,
            policy=policy,
            earlier_notifications_12m=earlier,
            open_case=index.open_case(persons=child_persons, key=child_key),
            child_protection_plan=index.open_plan(persons=child_persons, key=child_key),
        )
        rating = rag_rate(facts=facts, policy=policy)
        children[child.ref] = ChildTriage(
            child=child,
            rating=rating,
            screening_due=rag_screening_due(rag=rating.rag, received_at=received_at, policy=policy),
            earlier=earlier,
        )
    return Triage(policy=policy, dash=score, children=children, victims=victim_results, keys=keys)


ENCOMPASS_RULE = "Before the start of the next school day after the police recorded it"


def screening_rule(*, rag: str, policy: TriagePolicy) -> str:
    """How a screening deadline was set, in words."""
    screening = policy.rules["screening"]
    if rag == "red":
        return f"Red: within {screening['red_hours']} hours of receipt"
    n = screening[f"{rag}_working_days"]
    days = "working day" if n == 1 else "working days"
    return f"{rag.capitalize()}: by the end of {n} {days} after the day of receipt"


@dataclass
class TriageRows:
    """What triage adds to a new notification's rows, built but not saved: the people's keys, a
    screening clock per contact (and an Encompass clock per notice), the Encompass notices, and
    a MARAC referral to confirm for each victim who meets a criterion."""

    keys: list[PersonKey]
    clocks: list[Any]
    notices: list[NoticeDraft]
    marac: list[MaracReferral]


def triage_apply(
    *,
    notification: Notification,
    body: NotificationBody,
    contacts: list[Contact],
    triage: Triage,
    now: dt.datetime,
) -> TriageRows:
    """Rate the new `contacts` of a notification as `triage` says (setting their rating, reasons,
    policy version and deadlines) and build the rows that go with them."""
    clocks: list[Any] = []
    notices: list[NoticeDraft] = []
    for contact in contacts:
        assessed = triage.children[contact.child_ref]
        rating = assessed.rating
        contact.rag = rating.rag
        contact.rag_reasons = rating.reasons
        contact.policy_version = rating.policy_version
        contact.due_at = assessed.screening_due
        contact.next_due_at = assessed.screening_due
        clocks.append(
            clock_build(
                contact=contact,
                kind=ClockKind.SCREENING,
                started_at=contact.received_at,
                due_at=assessed.screening_due,
                rule=screening_rule(rag=rating.rag, policy=triage.policy),
            )
        )
        draft = encompass_notice_draft(
            contact=contact,
            body=body,
            child=assessed.child,
            recorded_at=body.recorded_at,
            now=now,
        )
        if draft is not None:
            notices.append(draft)
            clocks.append(
                clock_build(
                    contact=contact,
                    kind=ClockKind.ENCOMPASS,
                    started_at=body.recorded_at,
                    due_at=draft.notice.due_at,
                    rule=ENCOMPASS_RULE,
                )
            )
    marac = [
        MaracReferral(
            notification=notification,
            victim_ref=v.victim.ref,
            victim_name=f"{v.victim.given_names} {v.victim.family_name}"[:400],
            victim_date_of_birth=v.victim.date_of_birth,
            victim_key=v.key,
            suspect_keys=v.suspect_keys,
            criteria=[{"code": c.code, "evidence": c.evidence} for c in v.criteria],
            policy_version=triage.policy.version,
            created_at=now,
        )
        for v in triage.victims
        if v.criteria
    ]
    return TriageRows(keys=triage.keys, clocks=clocks, notices=notices, marac=marac)


def triage_rerate(*, contact: Contact, assessed: ChildTriage, policy: TriagePolicy) -> bool:
    """An amended notification: rate a contact still waiting for its decision again, from the
    new facts under `policy` (the version that rated it: a policy published since changes new
    contacts only), its screening deadline counted from when it was first received, and move its
    open screening clock to match. A decided or closed contact keeps the rating it was decided on.
    Returns whether the rating or the deadline changed."""
    if contact.status not in (ContactStatus.RECEIVED, ContactStatus.SCREENING):
        return False
    rating = assessed.rating
    due = rag_screening_due(rag=rating.rag, received_at=contact.received_at, policy=policy)
    if (contact.rag, contact.rag_reasons, contact.policy_version, contact.due_at) == (
        rating.rag,
        rating.reasons,
        rating.policy_version,
        due,
    ):
        return False
    contact.rag = rating.rag
    contact.rag_reasons = rating.reasons
    contact.policy_version = rating.policy_version
    contact.due_at = due
    now = clock_now()
    for screening in Clock.objects.select_for_update().filter(
        OPEN_Q, contact=contact, kind=ClockKind.SCREENING
    ):
        screening.due_at = due
        screening.rule = screening_rule(rag=rating.rag, policy=policy)
        # The sweep may have recorded the old time as breached: the new time decides.
        screening.state = ClockState.RUNNING if now <= due else ClockState.BREACHED
        screening.save(update_fields=["due_at", "rule", "state"])
    contact.next_due_at = clocks_next_due(contact_id=contact.pk)
    contact.save(update_fields=["rag", "rag_reasons", "policy_version", "due_at", "next_due_at"])
    return True


RAG_RANK = {"green": 0, "amber": 1, "red": 2}
INDEX_ACTOR = "person index"


def _raises(contact: Contact, rating: RagResult) -> bool:
    """Whether a rating says more than the contact's: a higher RAG, or the same RAG with every
    reason it had and more (an open plan found beside an earlier notification). Never lower."""
    old, new = RAG_RANK.get(contact.rag or "", -1), RAG_RANK.get(rating.rag, -1)
    if new != old:
        return new > old
    had, has = set(contact.rag_reasons or []), set(rating.reasons)
    return has > had


def triage_rerate_indexed(
    *, items: list[tuple[Notification, NotificationBody]], now: dt.datetime
) -> dict[Any, list[str]]:
    """After the person index linked the people of stored notifications (the worker's sweep, or
    intake itself with SAFEHUB_LINKAGE_AT_INTAKE = "inline"): triage them again now that the
    index says who their people are (a child named for the first time in a new spelling, her
    open case or child protection plan, more earlier notifications about the same victim), and
    re-rate each contact still waiting for its decision as an amendment does (`triage_rerate`:
    under the policy version that rated it, its deadline counted from its receipt, its screening
    clock moved), but only upward: a rating is never lowered automatically (the index may also
    split what the exact-match key joined, and a person decides that). A victim who now meets a
    MARAC criterion and had no referral from the notification gets one to confirm. Audited per
    notification. Returns the child refs re-rated, by notification."""
    if not items:
        return {}
    keys = {n.pk: triage_keys(notification=n, body=body) for n, body in items}
    # Each notification is triaged as at its own receipt (a backlog indexed late must not count
    # what happened after it), with the history as it stood then.
    contexts = {
        n.pk: TriageContext.load(items=[(body, keys[n.pk])], received_at=n.received_at)
        for n, body in items
    }
    ids = [n.pk for n, _ in items]
    waiting: dict[Any, list[Contact]] = {}
    for contact in (
        Contact.objects.select_for_update()
        .filter(
            notification_id__in=ids,
            status__in=[ContactStatus.RECEIVED, ContactStatus.SCREENING],
            withdrawn_in_version__isnull=True,
        )
        .order_by("child_ref")
    ):
        waiting.setdefault(contact.notification_id, []).append(contact)
    referred = set(
        MaracReferral.objects.filter(notification_id__in=ids).values_list(
            "notification_id", "victim_ref"
        )
    )
    out: dict[Any, list[str]] = {}
    for notification, body in items:
        triage = triage_assess(
            body=body,
            notification_id=notification.pk,
            keys=keys[notification.pk],
            received_at=notification.received_at,
            context=contexts[notification.pk],
        )
        by_version = {triage.policy.version: triage}
        rerated = []
        for contact in waiting.get(notification.pk, []):
            version = contact.policy_version or triage.policy.version
            if version not in by_version:
                by_version[version] = triage_assess(
                    body=body,
                    notification_id=notification.pk,
                    keys=keys[notification.pk],
                    received_at=notification.received_at,
                    context=replace(contexts[notification.pk], policy=policy_get(version=version)),
                )
            again = by_version[version]
            assessed = again.children.get(contact.child_ref)
            if assessed is None or not _raises(contact, assessed.rating):
                continue
            before = contact.rag
            if triage_rerate(contact=contact, assessed=assessed, policy=again.policy):
                rerated.append((contact.child_ref, before, contact.rag))
        marac = [
            m
            for m in triage_apply(
                notification=notification, body=body, contacts=[], triage=triage, now=now
            ).marac
            if (notification.pk, m.victim_ref) not in referred
        ]
        if marac:
            MaracReferral.objects.bulk_create(marac)
        if rerated or marac:
            audit_record(
                actor=INDEX_ACTOR,
                action=Action.UPDATE,
                obj=notification,
                detail={
                    "reason": "the person index linked the notification's people",
                    "contacts_rerated": [
                        {"child_ref": ref, "from": old, "to": new} for ref, old, new in rerated
                    ],
                    "marac_referrals_to_confirm": [
                        {"victim": m.victim_ref, "criteria": m.criteria_codes} for m in marac
                    ],
                },
            )
        if rerated:
            out[notification.pk] = [ref for ref, _, _ in rerated]
    return out


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

    # A stored notification with this key is this incident's own: its history is not "earlier".
    own = (
        Notification.objects.filter(
            force_code=body.force_code, incident_reference=body.incident_reference
        )
        .values_list("pk", flat=True)
        .first()
    )
    unsaved = Notification(pk=own) if own is not None else Notification()
    keys = triage_keys(notification=unsaved, body=body)
    context = TriageContext.load(items=[(body, keys)], received_at=received_at)
    triage = triage_assess(
        body=body, notification_id=unsaved.pk, keys=keys, received_at=received_at, context=context
    )
    incident_day = body.occurred_at.astimezone(LONDON).date()

    contacts: list[dict[str, Any]] = []
    encompass: list[dict[str, Any]] = []
    for ref, assessed in triage.children.items():
        child = assessed.child
        address = _child_address(child, body.incident_address)
        council, routing = contact_route_for(postcode=address.postcode if address else None)
        contacts.append(
            {
                "child_ref": ref,
                "local_authority": council.la_code if council is not None else None,
                "routing": str(routing),
                "rag": assessed.rating.rag,
                "reasons": assessed.rating.reasons,
                "policy_version": str(assessed.rating.policy_version),
                "clocks": {"screening": _iso(assessed.screening_due)},
                "earlier_notifications": assessed.earlier,
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
                "child_ref": ref,
                "school_urn": school.urn if to_school and school is not None else None,
                "due_at": _iso(encompass_due(body.recorded_at, school if to_school else None)),
                "recipient": recipient.agency.code if recipient.agency is not None else None,
                "recipient_reason": str(recipient.reason),
            }
        )

    first = triage.victims[0] if triage.victims else None
    return {
        "received_at": _iso(received_at),
        "policy_version": str(triage.policy.version),
        "dash": _dash_out(triage.dash),
        "marac": {
            "criteria": triage.marac_codes,
            "evidence": {c.code: c.evidence for v in triage.victims for c in v.criteria},
            "notifications_same_victim": first.same_victim if first else 1,
            "earlier_notifications_same_victim": first.same_victim - 1 if first else 0,
            "victims": [
                {
                    "person_ref": v.victim.ref,
                    "criteria": [c.code for c in v.criteria],
                    "notifications_same_victim": v.same_victim,
                }
                for v in triage.victims
            ],
        },
        "contacts": contacts,
        "encompass": encompass,
    }

"""What the person index knows about a contact's child and their household, read two ways:

- `contact_history`: the chronology on the contact page (newest first, each entry naming the
  agency that holds it), the household, and the counts triage uses. Scoped to who asks: an entry
  held by the asker's own agency is shown in full; one held by another council or agency says
  only that it exists, what kind of record it is, its dates and who holds it (see "Scope" below).
- `IndexHistory`: what triage reads from the index for a notification or a batch of them (earlier
  notifications about the same person whatever the spelling, the same victim and suspect since
  their last MARAC referral, a child's open case and child protection plan), read once, with the
  exact-match `PersonKey` path as the fallback for a person the index does not hold.

How a notification's people are found in the index: a person named in a notification is a
`SourceRecord(source_kind="notification", notification=..., role=...)` whose person ref (the `ref`
of the body's `people[]`) is `record_ref()` — the one place that knows how a record names it. A
contact's child is the record with `contact=` that contact (a manual contact), or the notification
record of the contact's `child_ref` (a police notification's child).

Scope (statutory.md §7; the CP-IS precedent of NHS England's Child Protection Information Sharing,
which tells another agency that a plan exists, its dates and whom to call, and nothing else):

- a police notification is held by its force and by each council that received a contact from it;
- a contact, its decisions, its referral (episode), assessments, section 47 enquiries and child
  protection plans by the contact's council; a strategy discussion by its council;
- a MARAC referral by the force whose notification proposed it and the councils of its contacts
  (as `marac_referrals_in_scope`), and only for people who may see MARAC referrals;
- a partner file's record by the agency that sent it.

Held by the asker's agency: the entry in full (outcome, rating, roles, categories, a link where
the asker may open it). Held elsewhere: "Known to <holder>: <kind of record> from <date>
(open/ended) — contact them", never an outcome, a rationale, a category, a rating, names of
workers or a link. Protecting a child comes first (2024 rule 1), so the existence, the dates and
whether a case or plan is open are shown: they are what the worker needs to ask the holder; the
holder decides what more to share and records that decision (rule 7, `SharingDecision`).
"""

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import Q
from django.urls import reverse

from safehub.core.clock import LONDON
from safehub.people.models import Person, RelationshipKind, SourceKind, SourceRecord

if TYPE_CHECKING:
    from safehub.accounts.models import User
    from safehub.intake.models import PersonKey
    from safehub.intake.validation import NotificationBody
    from safehub.referrals.models import Contact

# People comes before referrals, casework, meetings and risk in the flow (STYLE.md): their models
# are imported inside the functions that read them, never at import time.

PersonId = uuid.UUID
# (notification id, person ref) → the index's persons for that person of that notification.
Persons = dict[tuple[Any, str], frozenset[PersonId]]


def record_ref(*, source_ref: str, values: Any = None) -> str:
    """The person ref (`people[].ref` of the body) of a notification's source record: the `ref`
    of the values as sent when they have one, otherwise what follows the last "/" of the record's
    `source_ref` ("MSP-26-004821/C1" → "C1"; a bare "C1" stays "C1")."""
    if isinstance(values, dict) and isinstance(values.get("ref"), str) and values["ref"]:
        return values["ref"]
    return source_ref.rsplit("/", 1)[-1]


def _live(person_ids: Iterable[PersonId]) -> dict[PersonId, PersonId]:
    """Each person as they stand: one merged into another is that other (merges can chain)."""
    wanted = set(person_ids)
    live = {pk: pk for pk in wanted}
    pending = wanted
    for _ in range(10):  # a chain of merges is short; ten hops is a safe bound
        rows = dict(
            Person.objects.filter(pk__in=pending, merged_into__isnull=False).values_list(
                "pk", "merged_into_id"
            )
        )
        if not rows:
            break
        for start, now in live.items():
            if now in rows:
                live[start] = rows[now]
        pending = set(rows.values())
    return live


def _stored_people(
    notification_ids: Iterable[Any],
) -> dict[tuple[Any, str], tuple[str, set[PersonId]]]:
    """The records of these stored notifications: (notification, ref) → (role, persons)."""
    ids = sorted({n for n in notification_ids if n is not None}, key=str)
    found: dict[tuple[Any, str], tuple[str, set[PersonId]]] = {}
    if not ids:
        return found
    rows = SourceRecord.objects.filter(
        source_kind=SourceKind.NOTIFICATION, notification_id__in=ids
    ).values_list("notification_id", "source_ref", "values", "role", "person_id")
    for notification_id, source_ref, values, role, person_id in rows:
        key = (notification_id, record_ref(source_ref=source_ref, values=values))
        found.setdefault(key, (role, set()))[1].add(person_id)
    return found


def persons_of_notifications(notification_ids: Iterable[Any]) -> Persons:
    """The index's persons for the people of these stored notifications, by (notification, ref)."""
    return {k: frozenset(v) for k, (_, v) in _stored_people(notification_ids).items()}


def contact_person_ids(contact: "Contact") -> frozenset[PersonId]:
    """The index's person(s) for a contact's child: its own record (a manual contact), or the
    record of its notification's child `child_ref`. Usually one; empty when the index holds none."""
    direct = set(SourceRecord.objects.filter(contact=contact).values_list("person_id", flat=True))
    if contact.notification_id is not None and contact.child_ref:
        persons = persons_of_notifications([contact.notification_id])
        direct |= persons.get((contact.notification_id, contact.child_ref), frozenset())
    return frozenset(_live(direct).values())


def contacts_of_persons(person_ids: Iterable[PersonId]) -> dict[Any, set[PersonId]]:
    """The contacts (by id) whose child is one of these persons, with which of them."""
    from safehub.referrals.models import Contact

    wanted = set(person_ids)
    found: dict[Any, set[PersonId]] = defaultdict(set)
    if not wanted:
        return found
    children: dict[tuple[Any, str], set[PersonId]] = defaultdict(set)
    rows = SourceRecord.objects.filter(person_id__in=wanted).values_list(
        "contact_id", "notification_id", "source_kind", "role", "source_ref", "values", "person_id"
    )
    for contact_id, notification_id, kind, role, source_ref, values, person_id in rows:
        if contact_id is not None:
            found[contact_id].add(person_id)
        if kind == SourceKind.NOTIFICATION and notification_id is not None and role == "child":
            children[(notification_id, record_ref(source_ref=source_ref, values=values))].add(
                person_id
            )
    if children:
        nids = sorted({n for n, _ in children}, key=str)
        for pk, nid, child_ref in Contact.objects.filter(notification_id__in=nids).values_list(
            "pk", "notification_id", "child_ref"
        ):
            for person_id in children.get((nid, child_ref), ()):
                found[pk].add(person_id)
    return found


# --- What triage reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Naming:
    """A notification naming one of the index's persons, in a role, at its incident's time."""

    notification_id: Any
    ref: str
    role: str
    person_id: PersonId
    occurred_at: dt.datetime


@dataclass(frozen=True)
class Matched:
    """Whom the index holds for the people one notification names: what the intake hook found
    (or made) before triage runs. `people`: person ref → person id."""

    notification_id: Any
    occurred_at: dt.datetime
    roles: Mapping[str, str]  # person ref → role
    people: Mapping[str, PersonId]


def matched_from_body(
    *, notification_id: Any, body: "NotificationBody", people: Mapping[str, PersonId]
) -> Matched:
    """What the intake hook gives triage for one notification it has matched: `people` maps the
    body's person refs to the index's persons (any ref it leaves out falls back to the keys)."""
    return Matched(
        notification_id=notification_id,
        occurred_at=body.occurred_at,
        roles={p.ref: p.role for p in body.people},
        people=dict(people),
    )


@dataclass
class IndexHistory:
    """The index's side of triage's history, read once for a notification or a batch.

    `persons`: whom the index holds for each (notification, ref) being triaged. Taken, for each
    person, from the first of: the intake hook's match (`Matched`); the notification's stored
    records (an amendment, or `triage explain` of a stored notification); an earlier notification
    that named them with the same exact-match key (the same name and date of birth), whose record
    says who they are in the index — so even before the hook runs, a child named exactly as once
    before is found with every other spelling the index linked to her. A person found none of these
    ways has no persons here: triage counts them by their exact-match key as before, and counts
    the key's notifications beside the index's for everyone (a notification stored before the
    index held it still counts; both give notification ids, so nothing counts twice)."""

    persons: Persons = field(default_factory=dict)
    namings: dict[PersonId, list[Naming]] = field(default_factory=dict)
    open_cases: set[PersonId] = field(default_factory=set)
    open_plans: set[PersonId] = field(default_factory=set)
    # Confirmed MARAC referrals by victim person: (when confirmed, the suspects' persons).
    marac: dict[PersonId, list[tuple[dt.datetime, frozenset[PersonId]]]] = field(
        default_factory=dict
    )
    # By exact-match child key (no person in the index): whether a contact of a notification
    # that named that key has an open case, an open plan.
    open_case_keys: set[str] = field(default_factory=set)
    open_plan_keys: set[str] = field(default_factory=set)

    @classmethod
    def load(
        cls,
        *,
        keys: Iterable["PersonKey"],
        since: dt.datetime,
        repeat_since: dt.datetime,
        on: dt.date,
        matched: Iterable[Matched] = (),
    ) -> "IndexHistory":
        """Read what triage needs for notifications whose people have these exact-match `keys`
        (not yet saved) and, where the hook matched them, `matched`: their earlier namings
        since `since`, the confirmed MARAC referrals of their victims since `repeat_since`, and
        whether each child has a case or a plan open on the day `on`."""
        from safehub.intake.models import PersonKey

        keys = list(keys)
        matched = list(matched)
        persons: dict[tuple[Any, str], frozenset[PersonId]] = {}
        roles: dict[tuple[Any, str], str] = {
            (k.notification_id, k.person_ref): k.role for k in keys
        }
        own: list[Naming] = []
        for m in matched:
            for ref, role in m.roles.items():
                roles[(m.notification_id, ref)] = role
            for ref, person_id in m.people.items():
                persons[(m.notification_id, ref)] = frozenset({person_id})
                own.append(
                    Naming(m.notification_id, ref, m.roles.get(ref, ""), person_id, m.occurred_at)
                )
        nids = {k.notification_id for k in keys} | {m.notification_id for m in matched}
        for at, (role, stored_persons) in _stored_people(nids).items():
            roles.setdefault(at, role)
            persons.setdefault(at, frozenset(stored_persons))
        # The bridge: the same exact key named before, and that record's person.
        wanted = {(k.key, k.role) for k in keys if (k.notification_id, k.person_ref) not in persons}
        if wanted:
            by_key: dict[tuple[str, str], set[PersonId]] = defaultdict(set)
            earlier = [
                row
                for row in PersonKey.objects.filter(
                    key__in=sorted({k for k, _ in wanted})
                ).values_list("notification_id", "person_ref", "role", "key")
                if (row[3], row[2]) in wanted
            ]
            stored = persons_of_notifications(row[0] for row in earlier)
            for nid, ref, role, exact in earlier:
                by_key[(exact, role)] |= stored.get((nid, ref), frozenset())
            for k in keys:
                hit = by_key.get((k.key, k.role))
                if hit and (k.notification_id, k.person_ref) not in persons:
                    persons[(k.notification_id, k.person_ref)] = frozenset(hit)

        index = cls(persons=persons)
        everyone = {p for found in persons.values() for p in found}
        if everyone:
            rows = SourceRecord.objects.filter(
                person_id__in=everyone,
                source_kind=SourceKind.NOTIFICATION,
                notification__occurred_at__gte=since,
            ).values_list(
                "notification_id",
                "source_ref",
                "values",
                "role",
                "person_id",
                "notification__occurred_at",
            )
            for nid, source_ref, values, role, person_id, occurred_at in rows:
                ref = record_ref(source_ref=source_ref, values=values)
                index._add(Naming(nid, ref, role, person_id, occurred_at))
        # The batch's own notifications are history for one another (each counts only earlier
        # incidents; a notification never counts itself: triage excludes it).
        for naming in own:
            index._add(naming)

        def in_role(role: str) -> set[PersonId]:
            return {p for key, found in persons.items() if roles.get(key) == role for p in found}

        index._load_casework(in_role("child"), on)
        index._load_casework_by_keys({k.key for k in keys if k.role == "child"}, on)
        index._load_marac(in_role("victim"), repeat_since)
        return index

    def _add(self, naming: Naming) -> None:
        found = self.namings.setdefault(naming.person_id, [])
        if naming not in found:
            found.append(naming)

    def _load_casework(self, children: set[PersonId], on: dt.date) -> None:
        from safehub.casework.models import CaseEpisode, ChildProtectionPlan

        contacts = contacts_of_persons(children)
        if not contacts:
            return
        ids = sorted(contacts, key=str)
        open_q = Q(closed_on__isnull=True) | Q(closed_on__gt=on)
        for contact_id in CaseEpisode.objects.filter(open_q, contact_id__in=ids).values_list(
            "contact_id", flat=True
        ):
            self.open_cases |= contacts[contact_id] & children
        plans = ChildProtectionPlan.objects.filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=on),
            started_on__lte=on,
            episode__contact_id__in=ids,
        ).values_list("episode__contact_id", flat=True)
        for contact_id in plans:
            self.open_plans |= contacts[contact_id] & children

    def _load_casework_by_keys(self, child_keys: set[str], on: dt.date) -> None:
        """The fallback for a child the index does not hold: the contacts of the notifications
        that named the same exact key as a child."""
        from safehub.casework.models import CaseEpisode, ChildProtectionPlan
        from safehub.intake.models import PersonKey
        from safehub.referrals.models import Contact

        if not child_keys:
            return
        named = defaultdict(set)
        for nid, ref, key in PersonKey.objects.filter(
            key__in=sorted(child_keys), role="child"
        ).values_list("notification_id", "person_ref", "key"):
            named[(nid, ref)].add(key)
        if not named:
            return
        contacts: dict[Any, set[str]] = {}
        nids = sorted({n for n, _ in named}, key=str)
        for pk, nid, child_ref in Contact.objects.filter(notification_id__in=nids).values_list(
            "pk", "notification_id", "child_ref"
        ):
            if (nid, child_ref) in named:
                contacts[pk] = named[(nid, child_ref)]
        if not contacts:
            return
        ids = sorted(contacts, key=str)
        for contact_id in CaseEpisode.objects.filter(
            Q(closed_on__isnull=True) | Q(closed_on__gt=on), contact_id__in=ids
        ).values_list("contact_id", flat=True):
            self.open_case_keys |= contacts[contact_id]
        for contact_id in ChildProtectionPlan.objects.filter(
            Q(ended_on__isnull=True) | Q(ended_on__gt=on),
            started_on__lte=on,
            episode__contact_id__in=ids,
        ).values_list("episode__contact_id", flat=True):
            self.open_plan_keys |= contacts[contact_id]

    def _load_marac(self, victims: set[PersonId], since: dt.datetime) -> None:
        from safehub.risk.models import MaracReferral, MaracStatus

        named = {
            (n.notification_id, n.ref): n.person_id
            for p in victims
            for n in self.namings.get(p, ())
            if n.role == "victim"
        }
        if not named:
            return
        referrals = MaracReferral.objects.filter(
            notification_id__in=sorted({nid for nid, _ in named}, key=str),
            status=MaracStatus.CONFIRMED,
            decided_at__gte=since,
        ).values_list("notification_id", "victim_ref", "decided_at")
        found = [
            (named[(nid, ref)], nid, at)
            for nid, ref, at in referrals
            if at is not None and (nid, ref) in named
        ]
        if not found:
            return
        suspects: dict[Any, set[PersonId]] = defaultdict(set)
        for nid, person_id in SourceRecord.objects.filter(
            source_kind=SourceKind.NOTIFICATION,
            notification_id__in=sorted({nid for _, nid, _ in found}, key=str),
            role="suspect",
        ).values_list("notification_id", "person_id"):
            suspects[nid].add(person_id)
        for victim, nid, at in found:
            self.marac.setdefault(victim, []).append((at, frozenset(suspects.get(nid, ()))))

    # The questions triage asks.

    def persons_of(self, notification_id: Any, ref: str) -> frozenset[PersonId]:
        return self.persons.get((notification_id, ref), frozenset())

    def notifications(
        self,
        *,
        persons: Iterable[tuple[str, PersonId]],
        since: dt.datetime,
        before: dt.datetime,
        exclude: Any = None,
    ) -> set[Any]:
        """The notifications (other than `exclude`) naming any of these (role, person) with an
        incident in [since, before)."""
        found: set[Any] = set()
        for role, person_id in persons:
            for n in self.namings.get(person_id, ()):
                if (
                    n.role == role
                    and since <= n.occurred_at < before
                    and n.notification_id != exclude
                ):
                    found.add(n.notification_id)
        return found

    def pair_notifications(
        self,
        *,
        victims: Iterable[PersonId],
        suspects: Iterable[PersonId],
        since: dt.datetime,
        before: dt.datetime,
        exclude: Any = None,
    ) -> set[Any]:
        """The notifications (other than `exclude`) with an incident in [since, before) naming
        one of these victims as victim and one of these suspects as suspect."""
        with_victim = self.notifications(
            persons=[("victim", p) for p in victims], since=since, before=before, exclude=exclude
        )
        with_suspect = self.notifications(
            persons=[("suspect", p) for p in suspects], since=since, before=before, exclude=exclude
        )
        return with_victim & with_suspect

    def last_marac(
        self, *, victims: Iterable[PersonId], suspects: Iterable[PersonId], until: dt.datetime
    ) -> dt.datetime | None:
        """When these victims and any of these suspects were last referred to MARAC (confirmed,
        no later than `until`), or None."""
        wanted = frozenset(suspects)
        shared = [
            at
            for victim in victims
            for at, referred in self.marac.get(victim, ())
            if referred & wanted and at <= until
        ]
        return max(shared) if shared else None

    def open_case(self, *, persons: Iterable[PersonId], key: str = "") -> bool:
        """Whether the child (the index's persons, or their exact-match key) has a referral to
        children's social care not closed, in any council."""
        return bool(set(persons) & self.open_cases) or (bool(key) and key in self.open_case_keys)

    def open_plan(self, *, persons: Iterable[PersonId], key: str = "") -> bool:
        """Whether the child (the index's persons, or their exact-match key) has a child
        protection plan not ended, in any council."""
        return bool(set(persons) & self.open_plans) or (bool(key) and key in self.open_plan_keys)


# --- The contact page: the household and the chronology ------------------------------------

# How a relationship reads from the child's side: `from_person` is the `kind` of the child.
_TO_CHILD: dict[str, str] = {
    RelationshipKind.PARENT: "Parent",
    RelationshipKind.STEP_PARENT: "Step-parent",
    RelationshipKind.PARTNER: "Partner",
    RelationshipKind.EX_PARTNER: "Former partner",
    RelationshipKind.SIBLING: "Sibling",
    RelationshipKind.OTHER: "Household member",
}
# The child is the `kind` of `to_person`: how `to_person` reads from the child's side.
_FROM_CHILD: dict[str, str] = {
    RelationshipKind.PARENT: "Child",
    RelationshipKind.STEP_PARENT: "Step-child",
    RelationshipKind.PARTNER: "Partner",
    RelationshipKind.EX_PARTNER: "Former partner",
    RelationshipKind.SIBLING: "Sibling",
    RelationshipKind.OTHER: "Household member",
}
_CARERS = {RelationshipKind.PARENT, RelationshipKind.STEP_PARENT}
_COUPLES = {RelationshipKind.PARTNER, RelationshipKind.EX_PARTNER}
_ROLES = {
    "child": "as a child",
    "victim": "as the victim",
    "suspect": "as the suspect",
    "adult_other": "as another adult",
}
THIS_CHILD = "This child"


def household_of(person_ids: Iterable[PersonId]) -> dict[PersonId, str]:
    """The child's household as the index's relationships say it: the child, their parents and
    step-parents, siblings (named so, or another child of one of their parents), partners and
    former partners of a parent, and anyone else a source put with them. Person → how they stand
    to the child ("Parent", "Sibling", "Parent's partner"...), the closest tie first."""
    from safehub.people.models import Relationship

    child = set(person_ids)
    members: dict[PersonId, str] = dict.fromkeys(child, THIS_CHILD)
    if not child:
        return members

    def put(person_id: PersonId, relation: str) -> None:
        members.setdefault(person_id, relation)

    carers: set[PersonId] = set()
    rows = Relationship.objects.filter(Q(to_person_id__in=child) | Q(from_person_id__in=child))
    for from_id, to_id, kind in rows.values_list("from_person_id", "to_person_id", "kind"):
        if to_id in child and from_id not in child:
            put(from_id, _TO_CHILD.get(kind, "Household member"))
            if kind in _CARERS:
                carers.add(from_id)
        elif from_id in child and to_id not in child:
            put(to_id, _FROM_CHILD.get(kind, "Household member"))
    if carers:
        rows = Relationship.objects.filter(
            Q(from_person_id__in=carers) | Q(to_person_id__in=carers),
            kind__in=[*_CARERS, *_COUPLES],
        )
        for from_id, to_id, kind in rows.values_list("from_person_id", "to_person_id", "kind"):
            if kind in _CARERS and from_id in carers:
                put(to_id, "Sibling")  # another child of the same parent
            elif kind in _COUPLES:
                other = to_id if from_id in carers else from_id
                put(other, "Parent's partner" if kind == "partner" else "Parent's former partner")
    return members


@dataclass(frozen=True)
class Member:
    """One person of the household, as the asker may see them."""

    person_id: PersonId
    reference: str
    relation: str
    name: str  # "" when only another agency's records name them
    date_of_birth: str  # as a source gave it, "" if none the asker may see
    known_to: tuple[str, ...]  # who holds records of them (the asker's agency included)


@dataclass(frozen=True)
class Entry:
    """One line of the chronology. `full`: held by the asker's agency, shown in full; otherwise
    only that it exists, its dates and who holds it."""

    on: dt.date
    kind: str
    about: str
    holder: str
    full: bool
    summary: str
    details: tuple[str, ...] = ()
    status: str = ""
    url: str = ""
    record: str = ""  # "app.model:id", for the audit of what the page showed in full


@dataclass(frozen=True)
class Count:
    label: str
    value: str


@dataclass
class History:
    """What the index knows about a contact's child and their household, scoped to the asker."""

    person_ids: frozenset[PersonId]
    members: list[Member]
    entries: list[Entry]  # newest first
    counts: list[Count]

    @property
    def in_index(self) -> bool:
        return bool(self.person_ids)

    @property
    def withheld(self) -> int:
        return sum(1 for e in self.entries if not e.full)

    def audit_detail(self) -> dict[str, Any]:
        """For the contact page's audit event: whom the history was about and what it showed."""
        return {
            "persons": sorted(Person(pk=p).reference for p in self.person_ids),
            "household": len(self.members),
            "shown": [e.record for e in self.entries if e.full and e.record],
            "existence_only": [e.record for e in self.entries if not e.full and e.record],
        }


def _day(at: dt.datetime | dt.date) -> dt.date:
    if isinstance(at, dt.datetime):
        return at.astimezone(LONDON).date()
    return at


def _long(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def _name(values: Any) -> tuple[str, str]:
    if not isinstance(values, dict):
        return "", ""
    name = " ".join(
        str(values.get(k) or "").strip() for k in ("given_names", "family_name")
    ).strip()
    return name, str(values.get("date_of_birth") or "")


def _holders_text(names: Iterable[str]) -> str:
    names = [n for n in dict.fromkeys(names) if n]
    if len(names) <= 1:
        return names[0] if names else "another agency"
    return ", ".join(names[:-1]) + " and " + names[-1]


def _known(holder: str, what: str) -> str:
    return f"Known to {holder}: {what}. Contact them to ask what they can share."


def _contact_counts(
    contact: "Contact", child_persons: frozenset[PersonId], names: dict[str, str]
) -> list[Count]:
    """The counts triage uses, as they stand for this contact: police notifications about the
    child and about the same victim in the policy's windows, the same victim and suspect since
    their last MARAC referral (the index's persons, and the exact-match keys beside them)."""
    from safehub.intake.keys import History as KeyHistory
    from safehub.intake.models import PersonKey
    from safehub.risk.models import MaracReferral, MaracStatus
    from safehub.risk.rag import earlier_notification_months
    from safehub.risk.selectors import policy_active
    from safehub.timescales.calendar import add_calendar_months

    policy = policy_active()
    months = earlier_notification_months(policy) or 12
    marac = policy.rules["marac"]
    notification = contact.notification
    at = notification.occurred_at if notification is not None else contact.received_at

    def months_before(n: int) -> dt.datetime:
        local = at.astimezone(LONDON)
        day = add_calendar_months(local.date(), -n)
        return dt.datetime.combine(day, local.time(), tzinfo=LONDON)

    since = min(months_before(months), months_before(marac["escalation_months"]))
    since_repeat = months_before(marac["repeat_months"])
    own = notification.pk if notification is not None else None
    keys = list(PersonKey.objects.filter(notification=notification)) if own else []
    index = IndexHistory.load(
        keys=keys, since=min(since, since_repeat), repeat_since=since_repeat, on=_day(at)
    )
    key_history = KeyHistory.load(keys={k.key for k in keys}, since=min(since, since_repeat))
    key_of = {(k.role, k.person_ref): k.key for k in keys}

    def about(role: str, ref: str, persons: Iterable[PersonId], window: dt.datetime) -> set[Any]:
        found = index.notifications(
            persons=[(role, p) for p in persons], since=window, before=at, exclude=own
        )
        key = key_of.get((role, ref))
        if key:
            found |= key_history.notifications(
                keys=[(role, key)], since=window, before=at, exclude=own
            )
        return found

    counts = [
        Count(
            f"Earlier police notifications about this child in the {months} months before "
            + ("this incident" if own else "this contact"),
            str(len(about("child", contact.child_ref, child_persons, months_before(months)))),
        )
    ]
    if notification is None:
        return counts
    victims = [(ref, names.get(ref, ref)) for (role, ref) in _refs(keys, index, own, "victim")]
    suspects = [ref for _, ref in _refs(keys, index, own, "suspect")]
    suspect_persons = frozenset(p for ref in suspects for p in index.persons_of(own, ref))
    suspect_keys = sorted(key_of[("suspect", r)] for r in suspects if ("suspect", r) in key_of)
    window = months_before(marac["escalation_months"])
    for ref, name in victims:
        persons = index.persons_of(own, ref)
        n = 1 + len(about("victim", ref, persons, window))
        counts.append(
            Count(
                f"Police notifications about {name} as victim in the last "
                f"{marac['escalation_months']} months, this one included",
                str(n),
            )
        )
        last = index.last_marac(victims=persons, suspects=suspect_persons, until=at)
        key = key_of.get(("victim", ref))
        if key:
            for decided, suspect_json in MaracReferral.objects.filter(
                victim_key=key, status=MaracStatus.CONFIRMED, decided_at__gte=since_repeat
            ).values_list("decided_at", "suspect_keys"):
                if decided is not None and decided <= at and set(suspect_json) & set(suspect_keys):
                    last = decided if last is None else max(last, decided)
        if last is None:
            counts.append(
                Count(f"{name} and the suspect since their last MARAC referral", "Never referred")
            )
            continue
        pair = index.pair_notifications(
            victims=persons, suspects=suspect_persons, since=last, before=at, exclude=own
        )
        if key:
            pair |= key_history.pair_notifications(
                victim=key, suspects=suspect_keys, since=last, before=at, exclude=own
            )
        counts.append(
            Count(
                f"Police notifications about {name} and the suspect since their MARAC referral "
                f"on {_long(_day(last))}, this one included",
                str(1 + len(pair)),
            )
        )
    return counts


def _refs(
    keys: list["PersonKey"], index: IndexHistory, notification_id: Any, role: str
) -> list[tuple[str, str]]:
    """The (role, ref) of this notification's people in `role`, from its keys and its records."""
    refs = {k.person_ref for k in keys if k.role == role}
    refs |= {
        n.ref
        for namings in index.namings.values()
        for n in namings
        if n.notification_id == notification_id and n.role == role
    }
    return [(role, ref) for ref in sorted(refs)]


def contact_history(*, contact: "Contact", fetched_by: "User") -> History:
    """The history of a contact's child for the contact page: the household, the counts triage
    uses, and the chronology of the child's and the household's earlier notifications,
    contacts and decisions, referrals, assessments, section 47 enquiries, child protection
    plans, MARAC referrals and strategy discussions, newest first, each naming the agency that
    holds it, shown in full only where the asker's agency holds it (module docstring: Scope).

    This contact and its own notification are not in the chronology: the page shows them."""
    return _Chronology(contact=contact, user=fetched_by).build()


class _Chronology:
    """Builds one `History`: reads the household's records once, then each kind of entry."""

    def __init__(self, *, contact: "Contact", user: "User") -> None:
        from safehub.referrals.models import Contact

        self.contact = contact
        self.user = user
        self.agency_id = user.agency_id
        self.agency_code = user.agency.code if user.agency is not None else None
        self.child = contact_person_ids(contact)
        self.relation = household_of(self.child)
        self.records = list(
            SourceRecord.objects.filter(person_id__in=set(self.relation)).select_related(
                "notification__force", "contact__local_authority"
            )
        )
        nids = {r.notification_id for r in self.records if r.notification_id is not None}
        # Who holds each notification: its force and the councils that had a contact from it.
        self.note_contacts: dict[Any, list[Contact]] = defaultdict(list)
        for c in Contact.objects.filter(notification_id__in=sorted(nids, key=str)).select_related(
            "local_authority"
        ):
            self.note_contacts[c.notification_id].append(c)
        self.shown_name: dict[PersonId, tuple[str, str]] = {}
        self.known_to: dict[PersonId, list[str]] = defaultdict(list)
        for r in sorted(self.records, key=lambda r: r.seen_at, reverse=True):
            visible, holders = self._record_holders(r)
            self.known_to[r.person_id].extend(holders)
            if visible and r.person_id not in self.shown_name:
                self.shown_name[r.person_id] = _name(r.values)
        self.child_of = contacts_of_persons(set(self.relation))
        self.entries: list[Entry] = []

    def build(self) -> History:
        self._notifications()
        self._contacts()
        self._casework()
        self._discussions()
        self._marac()
        self.entries.sort(key=lambda e: (e.on, e.kind), reverse=True)
        members = [
            Member(
                person_id=pid,
                reference=Person(pk=pid).reference,
                relation=rel,
                name=self.shown_name.get(pid, ("", ""))[0],
                date_of_birth=self.shown_name.get(pid, ("", ""))[1],
                known_to=tuple(dict.fromkeys(self.known_to.get(pid, []))),
            )
            for pid, rel in self.relation.items()
            if rel != THIS_CHILD
        ]
        members.sort(key=lambda m: (_RANK.get(m.relation, 9), m.name))
        # The contact's own notification is on the page: its people's names are no secret here.
        names = _own_people(self.contact) if self.contact.notification_id is not None else {}
        return History(
            person_ids=self.child,
            members=members,
            entries=self.entries,
            counts=_contact_counts(self.contact, self.child, names),
        )

    # Who holds what.

    def _notification_holders(self, n: Any) -> tuple[set[Any], list[str]]:
        ids = {n.force_id} if n.force_id else set()
        names = [n.force.name if n.force else f"police force {n.force_code}"]
        for c in self.note_contacts.get(n.pk, []):
            if c.local_authority is not None:
                ids.add(c.local_authority.pk)
                names.append(c.local_authority.name)
        return ids, names

    def _record_holders(self, r: SourceRecord) -> tuple[bool, list[str]]:
        """Whether the asker's agency holds this record, and who does."""
        if r.source_kind == SourceKind.NOTIFICATION and r.notification is not None:
            ids, names = self._notification_holders(r.notification)
            return self.agency_id in ids, names
        if r.source_kind == SourceKind.CONTACT and r.contact is not None:
            holder = r.contact.local_authority
            if holder is None:
                return False, [UNROUTED]
            return holder.pk == self.agency_id, [holder.name]
        return r.source == self.agency_code, [r.source]

    def about(self, pid: PersonId) -> str:
        rel = self.relation.get(pid, "Household member")
        if rel == THIS_CHILD:
            return THIS_CHILD
        name = self.shown_name.get(pid, ("", ""))[0]
        return f"{name} ({rel.lower()})" if name else f"A {rel.lower()}"

    def _rank(self, pid: PersonId) -> tuple[int, str]:
        """The child first, then parents, partners, siblings; then by name."""
        rel = self.relation.get(pid, "")
        return (-1 if rel == THIS_CHILD else _RANK.get(rel, 9), self.about(pid))

    def who(self, contact_id: Any) -> str:
        pids = self.child_of.get(contact_id, set())
        return ", ".join(dict.fromkeys(self.about(p) for p in pids)) or "A child of the household"

    def _own_contacts(self) -> set[Any]:
        """This contact and the others of its notification: the page shows them already."""
        own = {self.contact.pk}
        if self.contact.notification_id is not None:
            own |= {c.pk for c in self.note_contacts.get(self.contact.notification_id, [])}
        return own

    # The entries, kind by kind.

    def _notifications(self) -> None:
        named: dict[Any, list[tuple[PersonId, str]]] = defaultdict(list)
        note_of: dict[Any, Any] = {}
        for r in self.records:
            if (
                r.source_kind == SourceKind.NOTIFICATION
                and r.notification is not None
                and r.notification_id != self.contact.notification_id
            ):
                named[r.notification_id].append((r.person_id, r.role))
                note_of[r.notification_id] = r.notification
        for nid, people in named.items():
            n = note_of[nid]
            ids, names = self._notification_holders(n)
            on = _day(n.occurred_at)
            ordered = sorted({pid for pid, _ in people}, key=self._rank)
            about = ", ".join(dict.fromkeys(self.about(pid) for pid in ordered))
            record = f"intake.notification:{nid}"
            if self.agency_id not in ids:
                holders = _holders_text(names)
                what = f"a police notification of an incident on {_long(on)}"
                self.entries.append(
                    Entry(
                        on,
                        "Police notification",
                        about,
                        holders,
                        False,
                        _known(holders, what),
                        record=record,
                    )
                )
                continue
            roles = "; ".join(
                f"{self.about(pid)} {_ROLES.get(role, 'named')}"
                for pid, role in sorted(set(people), key=lambda x: (self._rank(x[0]), x[1]))
            )
            rated = [
                f"Rated {c.rag or 'not rated'} for {c.given_names} {c.family_name}"
                for c in self.note_contacts.get(nid, [])
                if self.agency_id in (c.local_authority_id, n.force_id)
            ]
            summary = f"Incident {n.incident_reference} on {_long(on)}, notified by {names[0]}"
            self.entries.append(
                Entry(
                    on,
                    "Police notification",
                    about,
                    names[0],
                    True,
                    summary,
                    (f"Named: {roles}", *rated),
                    record=record,
                )
            )

    def _contacts(self) -> None:
        from safehub.referrals.models import Contact, Decision
        from safehub.referrals.selectors import contacts_in_scope

        own = self._own_contacts()
        others = {
            c.pk: c
            for c in Contact.objects.filter(
                pk__in=[pk for pk in self.child_of if pk not in own]
            ).select_related("local_authority", "notification")
        }
        readable = set(
            contacts_in_scope(fetched_by=self.user)
            .filter(pk__in=list(others))
            .values_list("pk", flat=True)
        )
        latest: dict[Any, Decision] = {}
        for d in Decision.objects.filter(contact_id__in=list(others)).order_by("decided_at", "id"):
            latest[d.contact_id] = d
        for pk, c in others.items():
            on = _day(c.received_at)
            council = c.local_authority.name if c.local_authority else UNROUTED
            record = f"referrals.contact:{pk}"
            if pk not in readable:
                what = f"a contact received on {_long(on)}"
                self.entries.append(
                    Entry(
                        on,
                        "Contact",
                        self.who(pk),
                        council,
                        False,
                        _known(council, what),
                        record=record,
                    )
                )
                continue
            source = (
                f"police notification {c.notification.incident_reference}"
                if c.notification is not None
                else c.get_referral_source_display().lower()
            )
            details = [f"From {source}", f"Status: {c.get_status_display().lower()}"]
            if c.rag:
                details.append(f"Rated {c.rag}")
            decision = latest.get(pk)
            if decision is not None:
                signed = decision.get_sign_off_display().lower()
                details.append(
                    f"Decision: {decision.get_outcome_display()} ({signed}, "
                    f"{_long(_day(decision.decided_at))})"
                )
            self.entries.append(
                Entry(
                    on,
                    "Contact",
                    self.who(pk),
                    council,
                    True,
                    f"Contact received by {council} on {_long(on)}",
                    tuple(details),
                    decision.get_outcome_display() if decision else c.get_status_display(),
                    reverse("referrals:contact_detail", args=[pk]),
                    record,
                )
            )

    def _casework(self) -> None:
        from safehub.casework.models import (
            Assessment,
            CaseEpisode,
            ChildProtectionPlan,
            Section47,
        )
        from safehub.casework.selectors import episodes_in_scope

        episodes = {
            e.pk: e
            for e in CaseEpisode.objects.filter(contact_id__in=list(self.child_of)).select_related(
                "local_authority"
            )
        }
        mine = set(
            episodes_in_scope(user=self.user)
            .filter(pk__in=list(episodes))
            .values_list("pk", flat=True)
        )

        def add(e: CaseEpisode, on: dt.date, kind: str, full: str, what: str, **more: Any) -> None:
            holder = e.local_authority.name
            status = more.get("status", "")
            if e.pk in mine:
                self.entries.append(
                    Entry(
                        on,
                        kind,
                        self.who(e.contact_id),
                        holder,
                        True,
                        full,
                        more.get("details", ()),
                        status,
                        more.get("url", ""),
                        more["record"],
                    )
                )
            else:
                self.entries.append(
                    Entry(
                        on,
                        kind,
                        self.who(e.contact_id),
                        holder,
                        False,
                        _known(holder, what),
                        (),
                        status,
                        "",
                        more["record"],
                    )
                )

        for e in episodes.values():
            state = f"closed on {_long(e.closed_on)}" if e.closed_on else "open"
            day = _long(e.referral_date)
            add(
                e,
                e.referral_date,
                "Referral to children's social care",
                f"Referral of {day}, {state}",
                f"a referral to children's social care from {day}, {state}",
                details=(f"Closure: {e.get_closure_reason_display()}",) if e.closed_on else (),
                status="Closed" if e.closed_on else "Open",
                url=reverse("casework:episode_detail", args=[e.pk]),
                record=f"casework.caseepisode:{e.pk}",
            )
        for a in Assessment.objects.filter(episode_id__in=list(episodes)):
            done = f"authorised on {_long(a.authorised_on)}" if a.authorised_on else "in progress"
            add(
                episodes[a.episode_id],
                a.started_on,
                "Child and family assessment",
                f"Assessment started on {_long(a.started_on)}, {done}",
                f"a child and family assessment from {_long(a.started_on)}",
                details=tuple(f"Factor: {label}" for _, label in a.factor_labels),
                record=f"casework.assessment:{a.pk}",
            )
        for s in Section47.objects.filter(episode_id__in=list(episodes)):
            if s.icpc_on:
                icpc = f"conference held on {_long(s.icpc_on)}"
                if s.icpc_led_to_plan is not None:
                    icpc += ", which made a plan" if s.icpc_led_to_plan else ", no plan made"
            elif s.icpc_not_required:
                icpc = "no conference needed"
            else:
                icpc = f"conference due by {_long(s.icpc_target)}"
            add(
                episodes[s.episode_id],
                s.started_on,
                "Section 47 enquiry",
                f"Section 47 enquiry started on {_long(s.started_on)}; {icpc}",
                f"a section 47 enquiry from {_long(s.started_on)}",
                record=f"casework.section47:{s.pk}",
            )
        for p in ChildProtectionPlan.objects.filter(episode_id__in=list(episodes)):
            state = f"ended on {_long(p.ended_on)}" if p.ended_on else "open"
            add(
                episodes[p.episode_id],
                p.started_on,
                "Child protection plan",
                f"Child protection plan from {_long(p.started_on)}, {state}",
                f"a child protection plan from {_long(p.started_on)}, {state}",
                details=(f"Category: {p.get_latest_category_display()}",),
                status="Ended" if p.ended_on else "Open",
                record=f"casework.childprotectionplan:{p.pk}",
            )

    def _discussions(self) -> None:
        from safehub.meetings.models import DiscussionChild
        from safehub.meetings.selectors import discussions_in_scope

        own = self._own_contacts()
        rows = list(
            DiscussionChild.objects.filter(
                contact_id__in=[pk for pk in self.child_of if pk not in own]
            ).select_related("discussion__local_authority")
        )
        # In full for the council that holds it (the chair's side); a partner agency invited to
        # it reads it on its own page, where only what is shared with it is shown.
        mine = set(
            discussions_in_scope(fetched_by=self.user)
            .filter(local_authority_id=self.agency_id, pk__in=[r.discussion_id for r in rows])
            .values_list("pk", flat=True)
        )
        seen: set[Any] = set()
        for row in rows:
            d = row.discussion
            if d.pk in seen:
                continue
            seen.add(d.pk)
            on = _day(d.held_at or d.starts_at)
            holder = d.local_authority.name
            record = f"meetings.strategydiscussion:{d.pk}"
            about = self.who(row.contact_id)
            if d.pk not in mine:
                what = f"a strategy discussion on {_long(on)}"
                self.entries.append(
                    Entry(
                        on,
                        "Strategy discussion",
                        about,
                        holder,
                        False,
                        _known(holder, what),
                        record=record,
                    )
                )
                continue
            details = [f"Status: {d.get_status_display().lower()}"]
            if d.enquiry:
                details.append(f"Outcome: {d.get_enquiry_display()}")
            self.entries.append(
                Entry(
                    on,
                    "Strategy discussion",
                    about,
                    holder,
                    True,
                    f"Strategy discussion {d.reference} on {_long(on)}",
                    tuple(details),
                    d.get_status_display(),
                    reverse("meetings:discussion_detail", args=[d.pk]),
                    record,
                )
            )

    def _marac(self) -> None:
        from safehub.risk.models import MaracReferral, MaracStatus
        from safehub.risk.selectors import marac_referrals_in_scope

        victims = {
            (r.notification_id, record_ref(source_ref=r.source_ref, values=r.values)): r.person_id
            for r in self.records
            if r.source_kind == SourceKind.NOTIFICATION and r.role == "victim"
        }
        if not victims:
            return
        referrals = [
            m
            for m in MaracReferral.objects.filter(
                notification_id__in=sorted({n for n, _ in victims}, key=str),
                status__in=[MaracStatus.CONFIRMED, MaracStatus.TO_CONFIRM],
            ).select_related("notification__force")
            if (m.notification_id, m.victim_ref) in victims
        ]
        mine = set(
            marac_referrals_in_scope(fetched_by=self.user)
            .filter(pk__in=[m.pk for m in referrals])
            .values_list("pk", flat=True)
        )
        for m in referrals:
            about = self.about(victims[(m.notification_id, m.victim_ref)])
            on = _day(m.decided_at or m.created_at)
            n = m.notification
            force = n.force.name if n.force else f"police force {n.force_code}"
            record = f"risk.maracreferral:{m.pk}"
            confirmed = m.status == MaracStatus.CONFIRMED
            if m.pk in mine:
                summary = (
                    f"Referred to MARAC on {_long(on)}"
                    if confirmed
                    else f"MARAC referral proposed on {_long(on)}, to confirm"
                )
                self.entries.append(
                    Entry(
                        on,
                        "MARAC referral",
                        about,
                        force,
                        True,
                        summary,
                        tuple(c["evidence"] for c in m.criteria),
                        m.get_status_display(),
                        reverse("risk:referral_detail", args=[m.pk]),
                        record,
                    )
                )
            elif confirmed:
                what = f"a MARAC referral on {_long(on)}"
                self.entries.append(
                    Entry(
                        on,
                        "MARAC referral",
                        about,
                        force,
                        False,
                        _known(force, what),
                        record=record,
                    )
                )


UNROUTED = "the hub (not yet routed to a council)"


_RANK = {
    "Parent": 0,
    "Step-parent": 1,
    "Parent's partner": 2,
    "Parent's former partner": 3,
    "Partner": 2,
    "Former partner": 3,
    "Sibling": 4,
    "Child": 5,
    "Step-child": 5,
}


def _own_people(contact: "Contact") -> dict[str, str]:
    """The (ref, name) of the people the contact's own notification names (its current body)."""
    import json

    notification = contact.notification
    if notification is None or notification.erased_at is not None:
        return {}
    version = notification.versions.filter(number=notification.current_version).first()
    if version is None:
        return {}
    try:
        body = json.loads(bytes(version.body))
    except ValueError:
        return {}
    return {
        str(p.get("ref", "")): f"{p.get('given_names', '')} {p.get('family_name', '')}".strip()
        for p in body.get("people", [])
        if isinstance(p, dict)
    }

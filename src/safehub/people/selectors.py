"""Reads of the person index, scoped to the asker, for the clerical review pages and for the
matching code.

Who sees what (docs/person-index.md, "Who may do what"): only a council's hub staff who hold
`person.review`, and of the index only what their council has heard of:

- a record from a police notification, when a child of that notification has a contact routed to
  the council (every person the notification names: the children, the victim, the suspect);
- a record from a manual contact, when the contact is the council's;
- a record from a partner's file, by the file's source agency: the council's own files, and
  those of the agencies in its area (its schools, its education safeguarding team);
- a record from the file of an agency that serves no single council (a health trust, a file
  named by no agency code) has no council of its own: its review is shown to the council that
  knows the candidate person.

A person is in scope when one of their records is, or when they are merged into a person who is.
A review is in scope when its record is (or, for a file with no council, its candidate is). A
merge is in scope when one of its two people is. Anything else is "not found", never "forbidden".

`kept_apart` is for the matching code: a pair a person kept apart is not proposed again.
"""

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q, QuerySet

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.core import clock
from safehub.core.errors import NotFound
from safehub.people.models import (
    LinkReview,
    Merge,
    Person,
    Relationship,
    ReviewStatus,
    SourceKind,
    SourceRecord,
)

# --- Scope ---------------------------------------------------------------------------------------


def _council(user: User) -> Agency | None:
    """The council whose part of the index the asker may see, or None."""
    agency = getattr(user, "agency", None)
    if (
        agency is None
        or agency.kind != AgencyKind.CHILDREN_SERVICES
        or not user_can(user, "person.review")
    ):
        return None
    return agency


def _council_sources(council: Agency) -> list[str]:
    """The source names of the partner files that belong to the council: its own agency code and
    the codes of the agencies in its area."""
    return [council.code, *Agency.objects.filter(council=council).values_list("code", flat=True)]


def _sources_with_a_council() -> QuerySet[Agency, str]:
    return Agency.objects.filter(
        Q(kind=AgencyKind.CHILDREN_SERVICES) | Q(council__isnull=False)
    ).values_list("code", flat=True)


def _records_q(council: Agency) -> Q:
    from safehub.intake.models import Notification  # intake is before people in the flow

    routed = Notification.objects.filter(contacts__local_authority=council).values("pk")
    return (
        Q(contact__local_authority=council)
        | Q(notification__in=routed)
        | Q(source_kind=SourceKind.PARTNER_FILE, source__in=_council_sources(council))
    )


def records_in_scope(*, user: User) -> QuerySet[SourceRecord]:
    """The records the asker's council has heard of (see the module's docstring)."""
    council = _council(user)
    if council is None:
        return SourceRecord.objects.none()
    return SourceRecord.objects.filter(_records_q(council))


def persons_in_scope(*, user: User) -> QuerySet[Person]:
    """People with a record in scope, and those merged into one."""
    council = _council(user)
    if council is None:
        return Person.objects.none()
    holders = SourceRecord.objects.filter(_records_q(council)).values("person_id")
    return Person.objects.filter(Q(pk__in=holders) | Q(merged_into__in=holders))


def reviews_in_scope(*, user: User) -> QuerySet[LinkReview]:
    council = _council(user)
    if council is None:
        return LinkReview.objects.none()
    records = SourceRecord.objects.filter(_records_q(council)).values("pk")
    people = persons_in_scope(user=user).values("pk")
    no_council = Q(record__source_kind=SourceKind.PARTNER_FILE) & ~Q(
        record__source__in=_sources_with_a_council()
    )
    return LinkReview.objects.filter(Q(record__in=records) | (no_council & Q(candidate__in=people)))


def merges_in_scope(*, user: User) -> QuerySet[Merge]:
    people = persons_in_scope(user=user).values("pk")
    return Merge.objects.filter(Q(kept__in=people) | Q(merged__in=people))


def _uuid(value: Any, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise NotFound(f"No such {what}.") from None


def review_get(*, user: User, review_id: Any) -> LinkReview:
    review = (
        reviews_in_scope(user=user)
        .select_related("record", "candidate", "decided_by")
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        raise NotFound("No such review.")
    return review


def person_get(*, user: User, person_id: Any) -> Person:
    person = (
        persons_in_scope(user=user)
        .select_related("merged_into")
        .filter(pk=_uuid(person_id, "person"))
        .first()
    )
    if person is None:
        raise NotFound("No such person.")
    return person


def person_find(*, user: User, reference: str) -> Person:
    """A person in scope by their reference (P- and the first 8 hex digits of the id). Absent,
    out of scope and ambiguous are all "not found"."""
    text = reference.strip().upper().removeprefix("P-").removeprefix("P")
    if len(text) != 8 or any(c not in "0123456789ABCDEF" for c in text):
        raise NotFound("No such person.")
    found = list(persons_in_scope(user=user).filter(id__istartswith=text.lower())[:2])
    if len(found) != 1:
        raise NotFound("No such person.")
    return found[0]


def merge_get(*, user: User, merge_id: Any) -> Merge:
    merge = (
        merges_in_scope(user=user)
        .select_related("kept", "merged", "by", "undone_by")
        .filter(pk=merge_id)
        .first()
    )
    if merge is None:
        raise NotFound("No such merge.")
    return merge


# --- For the matching code ---------------------------------------------------------------------


def kept_apart(record_id: Any, person_id: Any) -> bool:
    """Whether a person decided that this record is not this person: a review of the pair was
    kept apart, or of the record and a person now merged into this one (what is not M is not the
    person M is part of). The matching code asks before proposing a pair, and proposes neither a
    link nor a review for a pair kept apart."""
    return LinkReview.objects.filter(
        Q(candidate_id=person_id) | Q(candidate__merged_into_id=person_id),
        record_id=record_id,
        status=ReviewStatus.KEPT_APART,
    ).exists()


def kept_apart_people(record_id: Any) -> set[uuid.UUID]:
    """The people a record was kept apart from (and the people those are merged into): for the
    matching code to drop from a record's candidates in one query."""
    rows = LinkReview.objects.filter(
        record_id=record_id, status=ReviewStatus.KEPT_APART
    ).values_list("candidate_id", "candidate__merged_into_id")
    return {p for pair in rows for p in pair if p is not None}


# --- What the pages show ------------------------------------------------------------------------

COMPARISONS = {
    "given_name": "Given name",
    "family_name": "Family name",
    "dob": "Date of birth",
    "address": "Address",
    "town": "Town",
    "sex": "Sex",
    "nhs_number": "NHS number",
    "upn": "Unique pupil number",
    "household": "Household",
}
SEX = {"M": "Male", "F": "Female", "U": "Unknown"}


def mask(value: str, shown: int = 4) -> str:
    """An identifier with only its last characters shown: enough to compare, not to copy."""
    text = "".join(str(value).split())
    if not text:
        return ""
    if len(text) <= shown:
        return "ending " + text
    return f"ending {text[-shown:]}"


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not value:
        return None
    text = str(value).strip()
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


@dataclass
class RecordView:
    """One record as the pages show it: what the source said, identifiers masked."""

    record: SourceRecord
    given_names: str
    family_name: str
    date_of_birth: dt.date | None
    date_of_birth_text: str
    sex: str
    address: str
    postcode: str
    identifiers: list[tuple[str, str]]
    source: str

    @property
    def name(self) -> str:
        return " ".join(p for p in (self.given_names, self.family_name) if p) or "No name given"


def _part(values: dict[str, Any], key: str) -> dict[str, Any]:
    part = values.get(key)
    return part if isinstance(part, dict) else {}


def record_view(record: SourceRecord) -> RecordView:
    """Reads the values as either shape a source sends: a notification's person (an `address`
    and `identifiers` object) or a person-records row (`address_line1`, `nhs_number`...)."""
    values: dict[str, Any] = record.values if isinstance(record.values, dict) else {}
    address: dict[str, Any] = _part(values, "address")
    ids: dict[str, Any] = _part(values, "identifiers")
    line1 = address.get("line1") or values.get("address_line1") or ""
    line2 = address.get("line2") or values.get("address_line2") or ""
    town = address.get("town") or values.get("town") or ""
    postcode = address.get("postcode") or values.get("postcode") or ""
    raw_dob = values.get("date_of_birth") or ""
    dob = _date(raw_dob) or record.dob
    identifiers = []
    for key, label in (
        ("nhs_number", "NHS number"),
        ("upn", "Unique pupil number"),
        ("pnc_id", "Police national computer id"),
    ):
        value = ids.get(key) or values.get(key)
        if value:
            identifiers.append((label, mask(str(value), 3 if key == "upn" else 4)))
    return RecordView(
        record=record,
        given_names=str(values.get("given_names") or ""),
        family_name=str(values.get("family_name") or ""),
        date_of_birth=dob,
        date_of_birth_text="" if dob or not raw_dob else f"{raw_dob} (not a date)",
        sex=SEX.get(str(values.get("sex") or "").upper(), "Not given"),
        address=", ".join(str(p) for p in (line1, line2, town) if p),
        postcode=str(postcode),
        identifiers=identifiers,
        source=source_text(record),
    )


def source_text(record: SourceRecord) -> str:
    """Where the record came from, in words: "Police notification MSP-26-000101 (child)"."""
    role = f" ({record.role.replace('_', ' ')})" if record.role else ""
    if record.source_kind == SourceKind.NOTIFICATION:
        reference = record.notification.incident_reference if record.notification else ""
        return f"Police notification {reference or record.source_ref} from {record.source}{role}"
    if record.source_kind == SourceKind.CONTACT:
        return f"Manual contact{role}"
    return f"Partner file {record.source}, record {record.source_ref}{role}"


@dataclass(frozen=True)
class Evidence:
    comparison: str
    found: str
    weight: float | None

    @property
    def direction(self) -> str:
        if self.weight is None:
            return ""
        if self.weight > 0.5:
            return "for"
        if self.weight < -0.5:
            return "against"
        return "neutral"


def _found(label: str) -> str:
    """A comparison level's label as the review page says it."""
    if label.startswith("Exact match"):
        return "The same"
    if label == "All other comparisons":
        return "Different"
    if label.endswith(" missing"):
        return "Missing from one or both: says nothing"
    return label[:1].upper() + label[1:]


def evidence_rows(evidence: Any) -> list[Evidence]:
    """The per-comparison evidence of a link or review, strongest first (by the size of its
    weight). Reads what the matching code stores: `{"comparisons": {name: {"level": label,
    "weight": match weight}}, "match_weight": ..., ...}`; a bare `{name: {...}}` is read too."""
    rows: list[Evidence] = []
    if not isinstance(evidence, dict):
        return rows
    comparisons = evidence.get("comparisons", evidence)
    if not isinstance(comparisons, dict):
        return rows
    for key, item in comparisons.items():
        if not isinstance(item, dict):
            continue
        found = str(item.get("level") or item.get("label") or "")
        weight = item.get("weight", item.get("match_weight"))
        try:
            weight = None if weight is None else float(weight)
        except (TypeError, ValueError):
            weight = None
        name = COMPARISONS.get(key, key.replace("_", " ").capitalize())
        rows.append(Evidence(name, _found(found) if found else "", weight))
    rows.sort(key=lambda e: -abs(e.weight) if e.weight is not None else 1.0)
    return rows


def evidence_sentence(evidence: Any) -> str:
    """The evidence in words, as the matching code says it everywhere ("same first name, similar
    surname, same date of birth, different address and postcode")."""
    from safehub.people.matching import evidence_words  # loads the model's libraries: lazily

    words = evidence_words(evidence) if isinstance(evidence, dict) else ""
    return words[:1].upper() + words[1:] if words else "No evidence was recorded"


def age_text(since: dt.datetime, now: dt.datetime | None = None) -> str:
    seconds = max(0, int(((now or clock.now()) - since).total_seconds()))
    if seconds < 3600:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if seconds < 86400 * 2:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''}"
    days = seconds // 86400
    return f"{days} days"


@dataclass
class QueueRow:
    review: LinkReview
    record: RecordView
    age: str


def review_queue(*, user: User) -> list[QueueRow]:
    """The open reviews in scope, the most probable match first (then the oldest)."""
    reviews = (
        reviews_in_scope(user=user)
        .filter(status=ReviewStatus.OPEN)
        .select_related("record__notification", "candidate")
        .order_by("-match_probability", "created_at", "id")
    )
    now = clock.now()
    return [QueueRow(r, record_view(r.record), age_text(r.created_at, now)) for r in reviews]


def person_records(person: Person, *, user: User | None) -> list[RecordView]:
    """The person's records, newest first: with `user`, only those in the user's scope (a person
    in scope may hold records of other councils and agencies, which stay theirs); without, all of
    them (the review page only, to decide a link: docs/person-index.md)."""
    records = (
        SourceRecord.objects.filter(person=person)
        if user is None
        else (records_in_scope(user=user).filter(person=person))
    )
    records = records.select_related("notification", "linked_by").order_by("-seen_at", "id")
    return [record_view(r) for r in records]


def person_names(people: Iterable[Any], *, user: User) -> dict[Any, str]:
    """What the newest record in the user's scope with a name calls each of these people (by
    id), in one query."""
    wanted = set(people)
    names: dict[Any, str] = {}
    if wanted:
        rows = (
            records_in_scope(user=user)
            .filter(person_id__in=wanted)
            .only("id", "person_id", "values", "seen_at")
            .order_by("-seen_at", "id")
        )
        for record in rows:
            values = record.values if isinstance(record.values, dict) else {}
            name = " ".join(
                str(values.get(key) or "") for key in ("given_names", "family_name")
            ).strip()
            if name and record.person_id not in names:
                names[record.person_id] = " ".join(name.split())
    return {person: names.get(person, "No name recorded") for person in wanted}


@dataclass
class RelationshipRow:
    relationship: Relationship
    text: str  # "Parent of", "Child of"...
    other: Person
    other_name: str
    other_in_scope: bool
    source: str


_INVERSE = {
    "parent": "Child of",
    "step_parent": "Step-child of",
    "partner": "Partner of",
    "ex_partner": "Former partner of",
    "sibling": "Sibling of",
    "other": "Household member with",
}


def person_relationships(person: Person, *, user: User) -> list[RelationshipRow]:
    """The person's relationships, newest first, each with the other person's name where the
    user's scope holds them (a fixed number of queries, however many relationships)."""
    found = list(
        Relationship.objects.filter(Q(from_person=person) | Q(to_person=person))
        .select_related("from_person", "to_person", "record__notification")
        .order_by("-seen_at", "id")
    )
    others = {r.to_person_id if r.from_person_id == person.pk else r.from_person_id for r in found}
    visible = set(persons_in_scope(user=user).filter(pk__in=others).values_list("pk", flat=True))
    names = person_names(visible, user=user)
    rows: list[RelationshipRow] = []
    for rel in found:
        if rel.from_person_id == person.pk:
            text, other = f"{rel.get_kind_display()} of", rel.to_person
        else:
            text, other = _INVERSE.get(rel.kind, "Related to"), rel.from_person
        shown = other.pk in visible
        rows.append(
            RelationshipRow(
                rel, text, other, names[other.pk] if shown else "", shown, source_text(rel.record)
            )
        )
    return rows


@dataclass
class AddressRow:
    """One address the person's records give, with when it was first and last said and by
    which sources."""

    address: str
    postcode: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    sources: list[str]


@dataclass
class IdentifierRow:
    label: str  # "NHS number"...
    masked: str
    sources: list[str]


def source_names(records: list[RecordView]) -> dict[str, str]:
    """Each record's source by name where it is an agency's code ("MSP": "Merseyside Police"),
    else as it is (a partner file's name), in one query."""
    codes = {v.record.source for v in records}
    names = dict(Agency.objects.filter(code__in=codes).values_list("code", "name"))
    return {code: names.get(code, code) for code in codes}


def person_addresses(records: list[RecordView], names: dict[str, str]) -> list[AddressRow]:
    """The addresses the records give over time, the most recently given first: records giving
    the same address (letter case, spacing and the postcode's space aside) are one row, its
    sources in alphabetical order."""
    rows: dict[tuple[str, str], AddressRow] = {}
    for view in sorted(records, key=lambda v: v.record.seen_at):
        if not (view.address or view.postcode):
            continue
        key = (" ".join(view.address.lower().split()), view.postcode.replace(" ", "").upper())
        seen, source = view.record.seen_at, names[view.record.source]
        row = rows.get(key)
        if row is None:
            rows[key] = AddressRow(view.address, view.postcode, seen, seen, [source])
            continue
        row.last_seen = seen
        if source not in row.sources:
            row.sources.append(source)
    for row in rows.values():
        row.sources.sort()
    return sorted(rows.values(), key=lambda r: r.last_seen, reverse=True)


def person_identifiers(records: list[RecordView], names: dict[str, str]) -> list[IdentifierRow]:
    """Each identifier the records give (masked), once, with the sources that gave it."""
    rows: dict[tuple[str, str], IdentifierRow] = {}
    for view in records:
        for label, masked in view.identifiers:
            row = rows.setdefault((label, masked), IdentifierRow(label, masked, []))
            if names[view.record.source] not in row.sources:
                row.sources.append(names[view.record.source])
    for row in rows.values():
        row.sources.sort()
    return list(rows.values())


@dataclass
class PersonPage:
    person: Person
    name: str
    records: list[RecordView]
    relationships: list[RelationshipRow]
    merges: list[Merge]
    reviews: list[LinkReview] = field(default_factory=list)
    addresses: list[AddressRow] = field(default_factory=list)
    identifiers: list[IdentifierRow] = field(default_factory=list)


def person_page(*, user: User, person: Person) -> PersonPage:
    records = person_records(person, user=user)
    merges = list(
        Merge.objects.filter(Q(kept=person) | Q(merged=person))
        .select_related("kept", "merged", "by", "undone_by")
        .order_by("-at", "-id")
    )
    reviews = list(
        reviews_in_scope(user=user)
        .filter(Q(record__person=person) | Q(candidate=person), status=ReviewStatus.OPEN)
        .select_related("record", "candidate")
        .order_by("-match_probability", "created_at", "id")
    )
    name = next((v.name for v in records if v.given_names or v.family_name), "No name recorded")
    names = source_names(records)
    return PersonPage(
        person,
        name,
        records,
        person_relationships(person, user=user),
        merges,
        reviews,
        person_addresses(records, names),
        person_identifiers(records, names),
    )


def review_target(review: LinkReview) -> Person:
    """The person a link would join: the candidate, or the person the candidate was merged into
    since the review was opened (merges never chain)."""
    candidate = review.candidate
    if candidate.merged_into_id is not None:
        return Person.objects.get(pk=candidate.merged_into_id)
    return candidate

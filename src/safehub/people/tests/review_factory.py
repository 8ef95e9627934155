"""People, records, relationships and reviews for the clerical review's tests, built directly (not
through intake's matching), and a snapshot of the whole index to compare before and after.

    person = make_person()
    record = make_record(person, given_names="Amy", family_name="Example", dob="2017-06-11")
    review = make_review(record, candidate, probability=0.83)
"""

import datetime as dt
import itertools
from typing import Any

from safehub.core import clock
from safehub.people.models import (
    LinkMethod,
    LinkReview,
    Merge,
    Person,
    Relationship,
    ReviewStatus,
    SourceKind,
    SourceRecord,
)

_refs = itertools.count(1)

EVIDENCE = {
    "model_version": 0,
    "match_weight": 2.1,
    "prior_weight": -9.5,
    "comparisons": {
        "given_name": {"level": "Exact match on given_name", "weight": 4.2},
        "family_name": {"level": "family name similar", "weight": 2.5},
        "dob": {"level": "Exact match on dob", "weight": 7.9},
        "address": {"level": "All other comparisons", "weight": -3.0},
    },
}


def make_person(*, at: dt.datetime | None = None) -> Person:
    return Person.objects.create(created_at=at or clock.now())


def make_record(
    person: Person | None = None,
    *,
    given_names: str = "Amy",
    family_name: str = "Example",
    dob: str = "2017-06-11",
    sex: str = "F",
    line1: str = "1 Example Street",
    town: str = "Birkenhead",
    postcode: str = "CH41 1AA",
    nhs_number: str = "",
    source_kind: str = SourceKind.PARTNER_FILE,
    source: str = "LA344",
    source_ref: str = "",
    notification: Any = None,
    contact: Any = None,
    role: str = "child",
    seen_at: dt.datetime | None = None,
    link_method: str = LinkMethod.NEW,
    probability: float | None = None,
    evidence: dict[str, Any] | None = None,
) -> SourceRecord:
    """A record as its source sent it: a person-records row for a partner file, a notification's
    person otherwise. Its person is made for it (link method "new") unless given."""
    now = clock.now()
    if source_kind == SourceKind.PARTNER_FILE:
        values: dict[str, Any] = {
            "given_names": given_names,
            "family_name": family_name,
            "date_of_birth": dob,
            "sex": sex,
            "address_line1": line1,
            "town": town,
            "postcode": postcode,
            "nhs_number": nhs_number,
        }
    else:
        values = {
            "role": role,
            "given_names": given_names,
            "family_name": family_name,
            "date_of_birth": dob,
            "sex": sex,
            "address": {"line1": line1, "town": town, "postcode": postcode},
            "identifiers": {"nhs_number": nhs_number} if nhs_number else {},
        }
    born = dt.date.fromisoformat(dob) if dob else None
    return SourceRecord.objects.create(
        person=person or make_person(),
        source_kind=source_kind,
        source=source,
        source_ref=source_ref or f"R{next(_refs)}",
        notification=notification,
        contact=contact,
        role=role,
        values=values,
        seen_at=seen_at or now,
        given_name=given_names.split()[0].upper() if given_names else "",
        family_name=family_name.upper(),
        dob=born,
        dob_y=born.year if born else None,
        postcode=postcode.replace(" ", "").upper(),
        link_method=link_method,
        match_probability=probability,
        match_evidence=evidence or {},
        linked_at=now,
    )


def make_review(
    record: SourceRecord,
    candidate: Person,
    *,
    probability: float = 0.83,
    evidence: dict[str, Any] | None = None,
    status: str = ReviewStatus.OPEN,
    created_at: dt.datetime | None = None,
) -> LinkReview:
    return LinkReview.objects.create(
        record=record,
        candidate=candidate,
        match_probability=probability,
        match_evidence=EVIDENCE if evidence is None else evidence,
        model_version=3,
        origin="intake",
        status=status,
        created_at=created_at or clock.now(),
    )


def make_relationship(
    from_person: Person, to_person: Person, kind: str, record: SourceRecord
) -> Relationship:
    return Relationship.objects.create(
        from_person=from_person, to_person=to_person, kind=kind, record=record, seen_at=clock.now()
    )


def snapshot() -> dict[str, Any]:
    """Everything a merge or a link may change: each record's person and link fields, each
    relationship, each person's merge, each review's decision."""
    return {
        "records": {
            str(r["id"]): r
            for r in SourceRecord.objects.values(
                "id",
                "person_id",
                "link_method",
                "match_probability",
                "match_evidence",
                "model_version",
                "linked_at",
                "linked_by_id",
            )
        },
        "relationships": {
            r["id"]: r
            for r in Relationship.objects.values(
                "id", "from_person_id", "to_person_id", "kind", "record_id", "seen_at"
            )
        },
        "people": dict(Person.objects.values_list("id", "merged_into_id")),
        "reviews": {
            r["id"]: r for r in LinkReview.objects.values("id", "status", "decided_by_id", "reason")
        },
        "merges": Merge.objects.count(),
    }

"""What goes into the person index: a source record for everyone a source names.

A notification names children, a victim, a suspect and other adults: each becomes a record, and
the relationships the notification gives (parent, step-parent, partner, former partner, sibling)
join their people. A manual contact's child is a record; so is each row of a partner's file.

A record keeps the values as the source gave them (encrypted), in the person-records shape
(`spec/person-records.md`: given_names, family_name, date_of_birth, sex, address_line1, town,
postcode, nhs_number, upn) with the source's other identity fields beside them. Its blocking keys
are the normalised columns of `features.model_row`; an address line, an NHS number and a UPN are
held only as keyed hashes (HMAC-SHA256 under SAFEHUB_LINKAGE_KEY), so the index's plain columns
never show them.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings

from safehub.people.features import model_row
from safehub.people.matching import record_group
from safehub.people.records import PersonRecord, parse_date_of_birth

if TYPE_CHECKING:
    from safehub.intake.models import Notification
    from safehub.intake.validation import NotificationBody
    from safehub.intake.validation import Person as BodyPerson
    from safehub.referrals.models import Contact

# The values of a record that say who the person is: a change in any of them is a new identity
# for matching (an amendment compares these).
IDENTITY_FIELDS = (
    "given_names",
    "family_name",
    "date_of_birth",
    "sex",
    "address_line1",
    "town",
    "postcode",
    "nhs_number",
    "upn",
)

# Notification relationship types -> the index's kinds (people/models.py RelationshipKind).
RELATIONSHIP_KINDS = {
    "parent": "parent",
    "step_parent": "step_parent",
    "partner": "partner",
    "ex_partner": "ex_partner",
    "sibling": "sibling",
    "other_family": "other",
    "other": "other",
}
SYMMETRIC = {"partner", "ex_partner", "sibling"}

_KEY_INFO = b"safehub linkage keys v1"


@functools.lru_cache(maxsize=4)
def _derived_key(secret: str) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KEY_INFO).derive(
        secret.encode()
    )


def linkage_key() -> bytes:
    """SAFEHUB_LINKAGE_KEY, or (unset: the demo, the tests) a key derived from the first field
    key. Either way a key of its own: a keyed hash cannot be reversed by anyone without it."""
    configured = getattr(settings, "SAFEHUB_LINKAGE_KEY", "")
    if configured:
        return _derived_key("configured:" + configured)
    from safehub.core.crypto import field_keys

    return _derived_key("field key:" + field_keys()[0])


def keyed_hash(kind: str, value: str | None) -> str:
    """HMAC-SHA256 of a normalised value, by kind (an address and an NHS number never share a
    hash); empty for no value."""
    if not value:
        return ""
    return hmac.new(linkage_key(), f"{kind}\x1f{value}".encode(), hashlib.sha256).hexdigest()


@dataclass
class RecordDraft:
    """A source record before it is linked: what the source said and its keys."""

    source_kind: str
    source: str
    source_ref: str
    role: str
    values: dict[str, Any]
    seen_at: dt.datetime
    notification: Notification | None = None
    contact: Contact | None = None
    ref: str = ""
    # The refs of this person's parents and step-parents among the people of the same
    # notification (matching counts a candidate who is their child in the index as evidence).
    parent_refs: tuple[str, ...] = ()
    row: dict[str, Any] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.row:
            self.row = values_row(self.values, record_id=self.source_ref, source=self.source)
        if not self.keys:
            self.keys = row_keys(self.row)

    @property
    def group(self) -> str | None:
        return record_group(
            self.notification.pk if self.notification is not None else None,
            self.contact.pk if self.contact is not None else None,
        )


def person_record(values: dict[str, Any], *, record_id: str, source: str) -> PersonRecord:
    def text(name: str) -> str:
        value = values.get(name)
        return "" if value is None else str(value).strip()

    sex = text("sex").upper()
    return PersonRecord(
        record_id=record_id,
        source=source,
        given_names=text("given_names"),
        family_name=text("family_name"),
        date_of_birth=parse_date_of_birth(text("date_of_birth")) if text("date_of_birth") else None,
        sex=sex if sex in ("M", "F", "U") else "",
        address_line1=text("address_line1"),
        town=text("town"),
        postcode=text("postcode"),
        nhs_number=text("nhs_number"),
        upn=text("upn"),
    )


def values_row(values: dict[str, Any], *, record_id: str, source: str) -> dict[str, Any]:
    """The model row (features.model_row) of a record's values: what the model compares."""
    return model_row(person_record(values, record_id=record_id, source=source))


def stored_row(
    features: dict[str, Any], *, record_id: str, source: str, values: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """The model row of a stored record: its stored features (computed from `values` where none
    are stored yet; None when neither is at hand)."""
    if features:
        return {**features, "unique_id": record_id, "source": source}
    if values is None:
        return None
    return values_row(values, record_id=record_id, source=source)


def _cut(value: Any, length: int) -> str:
    return value[:length] if isinstance(value, str) else ""


def row_keys(row: dict[str, Any]) -> dict[str, Any]:
    """The index columns of a model row: the normalised blocking keys, the hashes."""
    dob = dt.date.fromisoformat(row["dob"]) if row.get("dob") else None
    postcode = row.get("postcode") or ""
    return {
        "given_name": _cut(row.get("given_name"), 100),
        "given_initial": _cut(row.get("given_initial"), 1),
        "family_name": _cut(row.get("family_name"), 100),
        "family_sx": _cut(row.get("family_sx"), 8),
        "name_pair": _cut(row.get("name_pair"), 201),
        "dob": dob,
        "dob_y": dob.year if dob else None,
        "dob_md": dob.month * 100 + dob.day if dob else None,
        # A postcode longer than the column is not a UK one: not a blocking key.
        "postcode": postcode if len(postcode) <= 8 else "",
        "address_key": keyed_hash("address_line1", row.get("address_line1")),
        "nhs_key": keyed_hash("nhs_number", row.get("nhs_number")),
        "upn_key": keyed_hash("upn", row.get("upn")),
    }


# --- Notifications ------------------------------------------------------------------------------


def _person_values(person: BodyPerson, body: NotificationBody) -> dict[str, Any]:
    """A notification's person in the person-records shape, as sent. Someone with no address
    of their own who is not said to live elsewhere lives at the incident address (as the
    contacts assume for a child)."""
    address = person.address
    address_from = "person" if address is not None else ""
    if address is None and person.lives_at_incident_address is not False:
        address, address_from = body.incident_address, "incident"
    identifiers = person.identifiers
    return {
        "given_names": person.given_names,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth.isoformat() if person.date_of_birth else "",
        "sex": person.sex or "",
        "address_line1": address.line1 if address else "",
        "address_line2": (address.line2 or "") if address else "",
        "town": (address.town or "") if address else "",
        "postcode": address.postcode if address else "",
        "address_from": address_from,
        "nhs_number": (identifiers.nhs_number or "") if identifiers else "",
        "upn": (identifiers.upn or "") if identifiers else "",
        "pnc_id": (identifiers.pnc_id or "") if identifiers else "",
        "age_estimate": person.age_estimate,
        "unborn": person.unborn,
        "expected_date_of_birth": (
            person.expected_date_of_birth.isoformat() if person.expected_date_of_birth else ""
        ),
        "role": person.role,
        "ref": person.ref,
    }


def notification_source_ref(notification: Notification, ref: str) -> str:
    return f"{notification.incident_reference}/{ref}"


def notification_drafts(
    *, notification: Notification, body: NotificationBody, contacts: list[Contact]
) -> list[RecordDraft]:
    """A record for every person the notification names, in the body's order; a child's record
    is tied to the child's contact."""
    by_ref = {c.child_ref: c for c in contacts if c.child_ref}
    parents: dict[str, list[str]] = {}
    for rel in body.relationships:
        if RELATIONSHIP_KINDS[rel.type] in ("parent", "step_parent"):
            parents.setdefault(rel.to, []).append(rel.from_)
    return [
        RecordDraft(
            source_kind="notification",
            source=notification.force_code,
            source_ref=notification_source_ref(notification, person.ref),
            role=person.role,
            values=_person_values(person, body),
            seen_at=body.occurred_at,
            notification=notification,
            contact=by_ref.get(person.ref) if person.role == "child" else None,
            ref=person.ref,
            parent_refs=tuple(parents.get(person.ref, ())),
        )
        for person in body.people
    ]


def notification_relationships(body: NotificationBody) -> list[tuple[str, str, str]]:
    """(from ref, kind, to ref) for every relationship the body gives, both ways for the
    symmetric kinds; and children who share a parent or step-parent in the body are siblings."""
    out: list[tuple[str, str, str]] = []

    def add(a: str, kind: str, b: str) -> None:
        if a != b and (a, kind, b) not in out:
            out.append((a, kind, b))

    parents: dict[str, set[str]] = {}
    for rel in body.relationships:
        kind = RELATIONSHIP_KINDS[rel.type]
        add(rel.from_, kind, rel.to)
        if kind in SYMMETRIC:
            add(rel.to, kind, rel.from_)
        if kind in ("parent", "step_parent"):
            parents.setdefault(rel.from_, set()).add(rel.to)
    roles = {p.ref: p.role for p in body.people}
    for children in parents.values():
        kids = sorted(c for c in children if roles.get(c) == "child")
        for a in kids:
            for b in kids:
                add(a, "sibling", b)
    return out


# --- Manual contacts and partner files ----------------------------------------------------------


def contact_draft(contact: Contact) -> RecordDraft:
    address = contact.address or {}
    return RecordDraft(
        source_kind="contact",
        source=contact.referral_source,
        source_ref=str(contact.pk),
        role="child",
        values={
            "given_names": contact.given_names,
            "family_name": contact.family_name,
            "date_of_birth": contact.date_of_birth.isoformat() if contact.date_of_birth else "",
            "sex": contact.sex,
            "address_line1": address.get("line1", ""),
            "town": address.get("town", ""),
            "postcode": address.get("postcode", "") or contact.postcode,
            "nhs_number": "",
            "upn": "",
            "age_estimate": contact.age_estimate,
            "school_urn": contact.school_urn,
            "referrer_organisation": contact.referrer_organisation,
        },
        seen_at=contact.received_at,
        contact=contact,
    )


def partner_draft(row: dict[str, str], *, source: str, seen_at: dt.datetime) -> RecordDraft:
    """A row of a partner's file (person-records.md), its values exactly as in the file."""
    return RecordDraft(
        source_kind="partner_file",
        source=source,
        source_ref=row["record_id"],
        role="",
        values=dict(row),
        seen_at=seen_at,
    )

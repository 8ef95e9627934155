"""Exact-match person keys and the history they find: earlier notifications about the same
child, the same victim, the same victim and suspect (see models.PersonKey)."""

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from safehub.intake.models import Notification, PersonKey
from safehub.intake.validation import NotificationBody

KEYED_ROLES = ("child", "victim", "suspect")


def name_normalise(name: str) -> str:
    """Case, accents and spacing do not make a different person: "  Jane  Émilie" and
    "jane emilie" compare equal."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def person_key(*, given_names: str, family_name: str, date_of_birth: dt.date) -> str:
    text = "|".join(
        (name_normalise(given_names), name_normalise(family_name), date_of_birth.isoformat())
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def person_keys_build(*, notification: Notification, body: NotificationBody) -> list[PersonKey]:
    """The keys of the children, victims and suspects a body names who have a date of birth,
    not saved."""
    return [
        PersonKey(
            notification=notification,
            role=person.role,
            person_ref=person.ref,
            key=person_key(
                given_names=person.given_names,
                family_name=person.family_name,
                date_of_birth=person.date_of_birth,
            ),
            occurred_at=body.occurred_at,
        )
        for person in body.people
        if person.role in KEYED_ROLES and person.date_of_birth is not None
    ]


@dataclass(frozen=True)
class Sighting:
    """One earlier naming of a key: in which notification, in which role, at which incident."""

    notification_id: Any
    role: str
    key: str
    occurred_at: dt.datetime


class History:
    """The sightings of a set of keys since a time, read once (one indexed query), then asked
    about notification by notification. The bulk import adds each notification of a batch as it
    goes, so that a batch sees its own earlier records as the single path would."""

    def __init__(self, sightings: Iterable[Sighting] = ()) -> None:
        self._by_key: dict[str, list[Sighting]] = {}
        for sighting in sightings:
            self._by_key.setdefault(sighting.key, []).append(sighting)

    @classmethod
    def load(cls, *, keys: Iterable[str], since: dt.datetime) -> "History":
        wanted = sorted(set(keys))
        if not wanted:
            return cls()
        rows = PersonKey.objects.filter(key__in=wanted, occurred_at__gte=since).values_list(
            "notification_id", "role", "key", "occurred_at"
        )
        return cls(Sighting(*row) for row in rows.iterator())

    def add(self, keys: Iterable[PersonKey]) -> None:
        for k in keys:
            sighting = Sighting(k.notification_id, k.role, k.key, k.occurred_at)
            self._by_key.setdefault(k.key, []).append(sighting)

    def notifications(
        self,
        *,
        keys: Iterable[tuple[str, str]],
        since: dt.datetime,
        before: dt.datetime,
        exclude: Any = None,
    ) -> set[Any]:
        """The notifications (other than `exclude`) that name any of these (role, key) pairs
        with an incident in [since, before)."""
        found: set[Any] = set()
        for role, key in keys:
            for s in self._by_key.get(key, ()):
                if (
                    s.role == role
                    and since <= s.occurred_at < before
                    and s.notification_id != exclude
                ):
                    found.add(s.notification_id)
        return found

    def pair_notifications(
        self,
        *,
        victim: str,
        suspects: Iterable[str],
        since: dt.datetime,
        before: dt.datetime,
        exclude: Any = None,
    ) -> set[Any]:
        """The notifications (other than `exclude`) with an incident in [since, before) that name
        this victim and any of these suspects."""
        with_victim = {
            s.notification_id
            for s in self._by_key.get(victim, ())
            if s.role == "victim"
            and since <= s.occurred_at < before
            and s.notification_id != exclude
        }
        with_suspect = {
            s.notification_id
            for key in suspects
            for s in self._by_key.get(key, ())
            if s.role == "suspect" and since <= s.occurred_at < before
        }
        return with_victim & with_suspect

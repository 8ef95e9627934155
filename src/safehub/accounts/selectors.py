import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from safehub.accounts.models import Agency, AgencyKind, ApiClient, PostcodeRoute, hash_token
from safehub.core import clock

_reference_cache: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar(
    "reference_cache", default=None
)


@contextmanager
def reference_cache() -> Iterator[None]:
    """Within this block, the reference look-ups below (councils by district, schools by URN,
    forces by code) each ask the database once per key and then answer from memory: for work on
    many records at once, such as one batch of a bulk import. Keep the block short: a change to the
    reference data made while it is open is not seen inside it."""
    token = _reference_cache.set({})
    try:
        yield
    finally:
        _reference_cache.reset(token)


@dataclass
class _Snapshot:
    """The whole routing and school reference, read at once. It is small: a national hub has a
    few thousand postcode districts and some 24,000 schools."""

    loaded_at: float
    entries: dict[tuple[str, str], Any]


_snapshot: _Snapshot | None = None


def reference_snapshot_clear() -> None:
    """Forget this process's copy of the reference data (after loading new reference data)."""
    global _snapshot
    _snapshot = None


def _process_snapshot() -> _Snapshot | None:
    """Each web or worker process keeps the reference data for `SAFEHUB_REFERENCE_CACHE_SECONDS`
    (a routing change reaches every process within that time); 0 turns the copy off."""
    global _snapshot
    ttl = settings.SAFEHUB_REFERENCE_CACHE_SECONDS
    if ttl <= 0:
        return None
    now = time.monotonic()
    if _snapshot is None or now - _snapshot.loaded_at > ttl:
        entries: dict[tuple[str, str], Any] = {}
        for route in PostcodeRoute.objects.select_related("council"):
            entries.setdefault(("district", route.district), []).append(route.council)
        for school in Agency.objects.filter(kind=AgencyKind.SCHOOL):
            entries["school", school.urn or ""] = school
        for force in Agency.objects.filter(kind=AgencyKind.POLICE_FORCE):
            entries["force", force.code] = force
        for inbox in _inboxes().order_by("-code"):  # the first by code wins
            entries["inbox", str(inbox.council_id)] = inbox
        _snapshot = _Snapshot(loaded_at=now, entries=entries)
    return _snapshot


_ABSENT: dict[str, Any] = {"district": [], "school": None, "force": None, "inbox": None}


def _cached[T](kind: str, key: str, load: Callable[[], T]) -> T:
    cache = _reference_cache.get()
    if cache is None:
        snapshot = _process_snapshot()
        if snapshot is None:
            return load()
        return snapshot.entries.get((kind, key), _ABSENT[kind])  # type: ignore[return-value]
    if (kind, key) not in cache:
        cache[kind, key] = load()
    return cache[kind, key]


def reference_prefetch(*, districts: Iterable[str] = (), school_urns: Iterable[str] = ()) -> None:
    """Within `reference_cache()`: load the councils of all these districts, and all these
    schools, in one query each, so that `councils_for_district` and `school_by_urn` then answer
    them from memory. Outside the block it does nothing."""
    cache = _reference_cache.get()
    if cache is None:
        return
    wanted = {d for d in districts if ("district", d) not in cache}
    if wanted:
        councils: dict[str, list[Agency]] = {d: [] for d in wanted}
        routes = PostcodeRoute.objects.select_related("council").filter(district__in=wanted)
        for route in routes:
            councils[route.district].append(route.council)
        for district, found in councils.items():
            cache["district", district] = found
    urns = {u for u in school_urns if ("school", u) not in cache}
    if urns:
        schools = {
            school.urn: school
            for school in Agency.objects.filter(kind=AgencyKind.SCHOOL, urn__in=urns)
        }
        for urn in urns:
            cache["school", urn] = schools.get(urn)


def apiclient_by_token(*, token: str) -> ApiClient | None:
    """The active client holding this token (its current one, or the one before it while the
    rotation's overlap lasts), or None."""
    if not token:
        return None
    digest = hash_token(token)
    in_overlap = Q(previous_token_hash=digest, previous_token_until__gt=clock.now())
    return (
        ApiClient.objects.select_related("force")
        .filter(Q(token_hash=digest) | in_overlap, revoked_at__isnull=True)
        .first()
    )


def apiclient_token_refusal(*, token: str) -> tuple[str, str] | None:
    """Why a token that `apiclient_by_token` refuses was once good and is no more, as (code,
    message) for the sender's 401: "token_revoked", or "token_expired" (replaced by a rotation,
    and past its overlap). None for a token never issued. Only the one who holds the token learns
    this."""
    if not token:
        return None
    digest = hash_token(token)
    client = ApiClient.objects.filter(Q(token_hash=digest) | Q(previous_token_hash=digest)).first()
    if client is None:
        return None
    if client.revoked_at is not None:
        return (
            "token_revoked",
            f"This token was revoked at {_utc(client.revoked_at)}: ask the hub for a new one.",
        )
    if client.previous_token_hash == digest and client.previous_token_until is not None:
        return (
            "token_expired",
            "This token was replaced by a new one and stopped working at "
            f"{_utc(client.previous_token_until)}: send the new token.",
        )
    return None


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def councils_for_district(*, district: str) -> list[Agency]:
    return list(
        _cached(
            "district",
            district,
            lambda: [
                route.council
                for route in PostcodeRoute.objects.select_related("council").filter(
                    district=district
                )
            ],
        )
    )


def school_by_urn(*, urn: str) -> Agency | None:
    return _cached(
        "school", urn, lambda: Agency.objects.filter(kind=AgencyKind.SCHOOL, urn=urn).first()
    )


def force_by_code(*, code: str) -> Agency | None:
    return _cached(
        "force",
        code,
        lambda: Agency.objects.filter(kind=AgencyKind.POLICE_FORCE, code=code).first(),
    )


def _inboxes() -> Any:
    return Agency.objects.filter(
        kind=AgencyKind.EDUCATION_SAFEGUARDING, active=True, council__isnull=False
    ).exclude(email="")


def education_inbox_for(*, council: Agency) -> Agency | None:
    """The council's education safeguarding inbox (the first by code if it has several)."""
    return _cached(
        "inbox",
        str(council.pk),
        lambda: _inboxes().filter(council=council).order_by("code").first(),
    )

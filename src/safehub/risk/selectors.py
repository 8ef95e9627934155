"""Reading the triage policy (policy data is not about people, so those reads take no
`fetched_by`) and the MARAC referrals proposed at intake (about people: scoped to who asks)."""

import threading
import time
import uuid

from django.conf import settings
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When

from safehub.accounts.models import AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.core.errors import NotFound
from safehub.intake.models import Notification
from safehub.risk.models import MaracReferral, MaracStatus, TriagePolicy

# The active policy, kept per process. Each call asks the database which version is active (one
# query on the partial unique index) and reloads only when that changed, so a version published
# by another process is used from the next call on. Where the process keeps reference data in
# memory (`SAFEHUB_REFERENCE_CACHE_SECONDS` > 0, as the server does), the question itself is
# asked at most that often: a version published elsewhere then rates new contacts within that
# many seconds (at once in the process that published it).
_lock = threading.Lock()
_cached: TriagePolicy | None = None
_checked_at: float = 0.0


def policy_active() -> TriagePolicy:
    """The active policy version. Treat the result as read-only: it is shared within the
    process."""
    global _cached, _checked_at
    ttl = settings.SAFEHUB_REFERENCE_CACHE_SECONDS
    cached = _cached
    if cached is not None and ttl > 0 and time.monotonic() - _checked_at < ttl:
        return cached
    key = TriagePolicy.objects.filter(is_active=True).values_list("pk", "version").first()
    if key is None:
        raise RuntimeError("No active triage policy: run `manage.py migrate` (risk 0002).")
    if cached is not None and (cached.pk, cached.version) == key:
        _checked_at = time.monotonic()
        return cached
    policy = TriagePolicy.objects.get(pk=key[0])
    with _lock:
        _cached = policy
        _checked_at = time.monotonic()
    return policy


def policy_cache_clear() -> None:
    """Forget the cached policy (publishing calls this; tests may too)."""
    global _cached
    with _lock:
        _cached = None


def policy_get(*, version: int) -> TriagePolicy:
    """A policy version, active or not: the one an old rating was made under."""
    try:
        return TriagePolicy.objects.get(version=version)
    except TriagePolicy.DoesNotExist:
        raise NotFound(f"No triage policy version {version}.") from None


def policy_versions() -> list[TriagePolicy]:
    """Every version, newest first."""
    return list(TriagePolicy.objects.select_related("created_by").order_by("-version"))


def marac_referrals_in_scope(*, fetched_by: User) -> QuerySet[MaracReferral]:
    """The MARAC referrals the asker may see, those to confirm first, then the newest.

    A police hub officer sees those from their own force's notifications; a council's hub staff
    see those from notifications that have a child's contact in their council. Nobody else, and
    nobody without `marac.view`. The same scope serves the list and the single referral."""
    referrals = MaracReferral.objects.select_related(
        "notification", "notification__force", "decided_by"
    ).order_by(
        Case(
            When(status=MaracStatus.TO_CONFIRM, then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        ),
        "-created_at",
        "id",
    )
    agency = fetched_by.agency
    if agency is None or not user_can(fetched_by, "marac.view"):
        return referrals.none()
    if agency.kind == AgencyKind.POLICE_FORCE:
        return referrals.filter(notification__force=agency)
    if agency.kind == AgencyKind.CHILDREN_SERVICES:
        # Through the notification's contacts by relation name: risk comes before referrals in
        # the flow and does not import its models. A subquery, not a join, so that a
        # notification with two children in the council gives its referral once.
        in_council = Q(contacts__local_authority=agency)
        if user_can(fetched_by, "contact.route"):
            # A manager who routes contacts also sees the referrals of notifications whose
            # children no council holds yet, as the contacts themselves (contacts_in_scope).
            in_council |= Q(contacts__local_authority__isnull=True, contacts__isnull=False)
        notifications = Notification.objects.filter(in_council)
        return referrals.filter(notification__in=notifications.values("pk"))
    return referrals.none()


def marac_referral_get(*, fetched_by: User, referral_id: str | uuid.UUID) -> MaracReferral:
    """One MARAC referral in the asker's scope; anything else is 'not found', never
    'forbidden'."""
    try:
        key = uuid.UUID(str(referral_id))
    except ValueError:
        raise NotFound("No such MARAC referral.") from None
    referral = marac_referrals_in_scope(fetched_by=fetched_by).filter(pk=key).first()
    if referral is None:
        raise NotFound("No such MARAC referral.")
    return referral

"""Reading the triage policy. Policy data is not about people, so these take no `fetched_by`."""

import threading

from safehub.core.errors import NotFound
from safehub.risk.models import TriagePolicy

# The active policy, kept per process. Each call asks the database which version is active (one
# query on the partial unique index) and reloads only when that changed, so a version published
# by another process is used from the next call on.
_lock = threading.Lock()
_cached: TriagePolicy | None = None


def policy_active() -> TriagePolicy:
    """The active policy version. Treat the result as read-only: it is shared within the
    process."""
    global _cached
    key = TriagePolicy.objects.filter(is_active=True).values_list("pk", "version").first()
    if key is None:
        raise RuntimeError("No active triage policy: run `manage.py migrate` (risk 0002).")
    cached = _cached
    if cached is not None and (cached.pk, cached.version) == key:
        return cached
    policy = TriagePolicy.objects.get(pk=key[0])
    with _lock:
        _cached = policy
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

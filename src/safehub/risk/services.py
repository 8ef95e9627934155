"""Changing the triage policy (only by publishing a new version), and deciding the MARAC
referrals proposed at intake."""

import copy
from typing import Any

from django.db import transaction
from django.db.models import Max

from safehub.accounts.models import User
from safehub.accounts.permissions import require
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound
from safehub.risk.models import MaracReferral, MaracStatus, TriagePolicy
from safehub.risk.policy import DEFAULT_RULES, policy_rules_validate
from safehub.risk.selectors import marac_referrals_in_scope, policy_cache_clear


class InvalidPolicy(DomainError):
    """Rules that safehub cannot apply. `problems` names each bad key."""

    status = 422

    def __init__(self, problems: list[str]) -> None:
        super().__init__("The policy rules are not valid: " + "; ".join(problems), code="invalid")
        self.problems = problems


@transaction.atomic
def policy_publish(*, rules: Any, note: str, published_by: User | None) -> TriagePolicy:
    """Check `rules`, store them as the next version (highest so far + 1) and make it the one
    active version. Earlier versions stay as they were, readable, for the ratings made under them.
    """
    problems = policy_rules_validate(rules)
    if problems:
        raise InvalidPolicy(problems)
    # Lock the active row so that two publishers queue up: the second then sees the first's
    # version and takes the next number, instead of failing on the unique version.
    list(TriagePolicy.objects.select_for_update().filter(is_active=True).values_list("pk"))
    latest = TriagePolicy.objects.aggregate(latest=Max("version"))["latest"] or 0
    TriagePolicy.objects.filter(is_active=True).update(is_active=False)
    policy = TriagePolicy.objects.create(
        version=latest + 1,
        created_at=clock.now(),
        created_by=published_by,
        note=note,
        is_active=True,
        rules=rules,
    )
    policy_cache_clear()
    return policy


def policy_install_default() -> TriagePolicy | None:
    """Put back the shipped version 1 where no version exists at all (migration risk 0002 does
    this on a new database; a test database emptied between tests needs it again). A database
    that has any version is left alone. Returns the version installed, if one was."""
    with transaction.atomic():
        if TriagePolicy.objects.exists():
            return None
        policy = TriagePolicy.objects.create(
            version=1,
            created_at=clock.now(),
            note="The default shipped with safehub (issue 3).",
            is_active=True,
            rules=copy.deepcopy(DEFAULT_RULES),
        )
    policy_cache_clear()
    return policy


# A MARAC referral is decided once: from "to confirm" to referred or not referred. The same
# decision again is a no-op; changing a decision is refused (a new notification about the same
# victim brings a new referral to decide).
MARAC_ALLOWED_PREVIOUS: dict[str, frozenset[str]] = {
    MaracStatus.CONFIRMED: frozenset({MaracStatus.TO_CONFIRM}),
    MaracStatus.DECLINED: frozenset({MaracStatus.TO_CONFIRM}),
}


def _marac_referral_decide(
    *, referral: MaracReferral, to: str, by: User, note: str
) -> MaracReferral:
    """Move a referral to `to` for `by`: in scope (else NotFound), with `marac.confirm` (else
    PermissionDenied), from a state the table allows (else Conflict). Records who, when and why,
    and the audit event, in one transaction."""
    if not marac_referrals_in_scope(fetched_by=by).filter(pk=referral.pk).exists():
        raise NotFound("No such MARAC referral.")
    require(by, "marac.confirm")
    note = note.strip()
    with transaction.atomic():
        locked = MaracReferral.objects.select_for_update().filter(pk=referral.pk).first()
        if locked is None:
            raise NotFound("No such MARAC referral.")
        previous = locked.status
        if previous != to:
            if previous not in MARAC_ALLOWED_PREVIOUS[to]:
                raise Conflict(
                    f"This referral was already decided ({locked.get_status_display()}): "
                    "a decision cannot be changed.",
                    code="illegal_transition",
                )
            # Checked after the state, so that a repeat or a clash gets its own answer.
            if to == MaracStatus.DECLINED and not note:
                raise DomainError("note: say why the victim is not referred to MARAC")
            locked.status = to
            locked.decided_by = by
            # The triage of later notifications reads this time: a repeat counts from it.
            locked.decided_at = clock.now()
            locked.note = note
            locked.save(update_fields=["status", "decided_by", "decided_at", "note"])
            audit_record(
                actor=by,
                action=Action.UPDATE,
                obj=locked,
                detail={
                    "status_from": previous,
                    "status_to": to,
                    "note": note,
                    "criteria": locked.criteria_codes,
                    "notification": str(locked.notification_id),
                },
            )
    # The caller's copy shows the referral as it stands (decided now, or earlier by someone).
    for name in ("status", "decided_by", "decided_at", "note"):
        setattr(referral, name, getattr(locked, name))
    return locked


def marac_referral_confirm(
    *, referral: MaracReferral, confirmed_by: User, note: str = ""
) -> MaracReferral:
    """Refer the victim to MARAC, as proposed. The note is optional."""
    return _marac_referral_decide(
        referral=referral, to=MaracStatus.CONFIRMED, by=confirmed_by, note=note
    )


def marac_referral_decline(
    *, referral: MaracReferral, declined_by: User, note: str
) -> MaracReferral:
    """Do not refer the victim to MARAC. The note, saying why, is required."""
    return _marac_referral_decide(
        referral=referral, to=MaracStatus.DECLINED, by=declined_by, note=note
    )

"""Changing the triage policy: only by publishing a new version."""

import copy
from typing import Any

from django.db import transaction
from django.db.models import Max

from safehub.accounts.models import User
from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.risk.models import TriagePolicy
from safehub.risk.policy import DEFAULT_RULES, policy_rules_validate
from safehub.risk.selectors import policy_cache_clear


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

"""Reads of strategy discussions, scoped to the asker.

Hub staff see their own council's discussions. A partner practitioner (police, health, a school,
a domestic abuse service) sees only the discussions their agency is invited to, and in them only
what is shared with their agency (`partner_view`). Anything else is "not found"."""

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from safehub.accounts.models import AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.core.errors import NotFound, PermissionDenied
from safehub.meetings.models import InformationRequest, Participant, StrategyDiscussion


def discussions_in_scope(*, fetched_by: User) -> QuerySet[StrategyDiscussion]:
    discussions = StrategyDiscussion.objects.select_related(
        "local_authority", "chair", "contact", "called_by"
    )
    agency = fetched_by.agency
    if agency is None or not user_can(fetched_by, "discussion.view"):
        return discussions.none()
    if agency.kind == AgencyKind.CHILDREN_SERVICES and user_can(fetched_by, "contact.view"):
        return discussions.filter(local_authority=agency)
    if user_can(fetched_by, "discussion.respond"):
        mine = Participant.objects.filter(agency=agency).values("discussion_id")
        return discussions.filter(Q(pk__in=mine))
    return discussions.none()


def discussion_get(*, fetched_by: User, discussion_id: Any) -> StrategyDiscussion:
    discussion = discussions_in_scope(fetched_by=fetched_by).filter(pk=discussion_id).first()
    if discussion is None:
        raise NotFound("No such strategy discussion.")
    return discussion


def is_chair_side(user: User, discussion: StrategyDiscussion) -> bool:
    """The council's own hub staff, who run the discussion (anyone else sees the partner view)."""
    return user.agency_id == discussion.local_authority_id and user_can(user, "contact.view")


def discussion_for_chair(*, user: User, discussion_id: Any) -> StrategyDiscussion:
    """The discussion, for an act of its council's hub: not found outside scope, forbidden
    without the permission to chair."""
    discussion = discussion_get(fetched_by=user, discussion_id=discussion_id)
    if not user_can(user, "discussion.chair"):
        raise PermissionDenied("Your role does not allow discussion.chair.")
    if not is_chair_side(user, discussion):
        raise NotFound("No such strategy discussion.")
    return discussion


def participants_of(discussion: StrategyDiscussion) -> list[Participant]:
    return list(
        discussion.participants.select_related("agency", "responded_by")
        .prefetch_related(Prefetch("request", queryset=InformationRequest.objects.all()))
        .order_by("id")
    )


def partner_view(*, discussion: StrategyDiscussion, user: User) -> dict[str, Any]:
    """What a partner practitioner is shown: the discussion's reference, time and place, who
    chairs it; and, for their own agency only, the invitation and what is asked of them about
    whom (with only the details given to their agency). Never the incident summary, the other
    agencies' answers, the risks, or anyone their agency was not asked about."""
    mine = [p for p in participants_of(discussion) if p.agency_id == user.agency_id]
    requests = [p.request for p in mine if hasattr(p, "request")]
    return {
        "reference": discussion.reference,
        "council": discussion.local_authority.name,
        "chair": discussion.chair.display_name,
        "status": discussion.status,
        "status_text": discussion.get_status_display(),
        "format": discussion.get_format_display(),
        "mode": discussion.get_mode_display(),
        "starts_at": discussion.starts_at,
        "ends_at": discussion.ends_at,
        "location": discussion.location,
        "participants": mine,
        "requests": requests,
    }

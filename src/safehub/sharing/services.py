"""Recording sharing decisions. Every service that discloses information to a partner, or decides
not to, calls `sharing_record` inside the transaction of the act: the disclosure and its record
stand or fall together. Each decision is also an audit event (a disclosure)."""

from typing import Any

from safehub.accounts.models import Agency, User
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.sharing.models import Consent, LawfulBasis, Shared, SharingDecision, SharingKind


def sharing_decision_build(
    *,
    by: User | None,
    by_name: str = "",
    from_agency: Agency | None,
    shared: bool,
    kind: str,
    recipient_agency: Agency | None,
    recipient: str,
    fields: list[str],
    purpose: str,
    lawful_basis: str,
    consent: str,
    reason: str,
    contact: Any = None,
    discussion: Any = None,
    obj: Any = None,
) -> SharingDecision:
    """A sharing decision, checked and not saved (the bulk import saves many at once)."""
    if kind not in SharingKind.values:
        raise DomainError(f"kind: {kind!r} is not a kind of disclosure")
    if consent not in Consent.values:
        raise DomainError(f"consent: {consent!r} is not a consent position")
    if shared:
        if lawful_basis not in LawfulBasis.values or lawful_basis == LawfulBasis.NONE:
            raise DomainError("lawful_basis: name the lawful basis for sharing")
    else:
        lawful_basis = LawfulBasis.NONE
    if not reason.strip():
        raise DomainError("reason: say why" + ("" if shared else " it is not shared"))
    name = by_name or (by.display_name if by is not None else "safehub")
    return SharingDecision(
        at=clock.now(),
        made_by=by,
        made_by_name=name[:200],
        from_agency=from_agency,
        shared=Shared.SHARED if shared else Shared.NOT_SHARED,
        kind=kind,
        recipient_agency=recipient_agency,
        recipient=recipient[:300],
        fields=list(fields),
        purpose=purpose[:300],
        lawful_basis=lawful_basis,
        consent=consent,
        reason=reason,
        contact=contact,
        discussion=discussion,
        object_type=obj._meta.label_lower if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
    )


def sharing_record(**kwargs: Any) -> SharingDecision:
    """Save one sharing decision and its audit event, inside the caller's transaction."""
    decision = sharing_decision_build(**kwargs)
    decision.save(force_insert=True)
    audit_record(
        actor=kwargs.get("by") or decision.made_by_name,
        action=Action.DISCLOSE,
        obj=decision,
        purpose=decision.purpose,
        detail={
            "shared": decision.shared,
            "kind": decision.kind,
            "recipient": decision.recipient,
            "recipient_agency": decision.recipient_agency.code
            if decision.recipient_agency
            else None,
            "fields": decision.fields,
            "lawful_basis": decision.lawful_basis,
            "consent": decision.consent,
            "about": decision.object_type + ":" + decision.object_id,
        },
    )
    return decision

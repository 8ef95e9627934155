"""What each role may do. One table; an action that is not in it is refused (fail closed)."""

from safehub.accounts.models import Role
from safehub.core.errors import PermissionDenied

R = Role

PERMISSIONS: dict[str, frozenset[str]] = {
    # The triage queue and the contacts in it.
    "contact.view": frozenset(
        {R.HUB_SOCIAL_WORKER, R.HUB_MANAGER, R.HEAD_OF_SERVICE, R.POLICE_HUB_OFFICER}
    ),
    "contact.create": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    "contact.route": frozenset({R.HUB_MANAGER}),
    # The front-door decision on a contact, and the manager's sign-off (or return) of it.
    "contact.decide": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    "contact.sign_off": frozenset({R.HUB_MANAGER}),
    "contact.reassign": frozenset({R.HUB_MANAGER}),
    # "Who has seen this child's record": the contact's and its notification's reads.
    "contact.view_access": frozenset({R.HUB_MANAGER, R.AUDITOR}),
    # Break-glass: read another council's contact, found by its exact reference, for a few
    # hours, with a purpose and a reason; the worker's managers and the owning council are told.
    "contact.break_glass": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    # Review the break-glass openings made by the people of one's own agency.
    "contact.break_glass_review": frozenset({R.HUB_MANAGER, R.AUDITOR}),
    # The notification as the force sent it.
    "notification.view": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER, R.POLICE_HUB_OFFICER}),
    # Operation Encompass notices in scope: a school's lead its own, a council's education team
    # its inbox's, the hub's staff those of their council's contacts.
    "encompass.view": frozenset(
        {R.EDUCATION_SAFEGUARDING_LEAD, R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}
    ),
    # Say that a notice was received: the recipient's safeguarding lead only.
    "encompass.acknowledge": frozenset({R.EDUCATION_SAFEGUARDING_LEAD}),
    # MARAC referrals proposed at intake: the hub sees them; the police refer (a manager may).
    "marac.view": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER, R.POLICE_HUB_OFFICER}),
    "marac.confirm": frozenset({R.HUB_MANAGER, R.POLICE_HUB_OFFICER}),
    # Strategy discussions. Hub staff see their council's; a partner practitioner only those
    # their agency is invited to, and in them only what is shared with their agency.
    "discussion.view": frozenset(
        {
            R.HUB_SOCIAL_WORKER,
            R.HUB_MANAGER,
            R.HEAD_OF_SERVICE,
            R.POLICE_HUB_OFFICER,
            R.HEALTH_PRACTITIONER,
            R.EDUCATION_SAFEGUARDING_LEAD,
            R.DOMESTIC_ABUSE_ADVISER,
        }
    ),
    # Call one after a section 47 decision (a manager: from any open contact), and chair it:
    # invite, chase, record attendance, the outcome, the actions; send the minutes.
    "discussion.call": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    "discussion.chair": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    # Reply to an invitation and answer an information request, for one's own agency.
    "discussion.respond": frozenset(
        {
            R.POLICE_HUB_OFFICER,
            R.HEALTH_PRACTITIONER,
            R.EDUCATION_SAFEGUARDING_LEAD,
            R.DOMESTIC_ABUSE_ADVISER,
        }
    ),
    # The audit log of what one's own agency's people did, as the CSV the command writes.
    "audit.export": frozenset({R.AUDITOR}),
    # Escalations of the deadlines: the alerts addressed to oneself (worker, manager, head of
    # service), by e-mail and on the "my alerts" page.
    "alert.view": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER, R.HEAD_OF_SERVICE}),
    # The sharing decisions made by, to or about one's own agency, and their export.
    "sharing.view": frozenset({R.HUB_MANAGER, R.AUDITOR}),
    # The performance dashboard: the council's figures (a force's analyst: the force's, across
    # the councils its notices reached); aggregates, the contacts behind a number only with
    # contact.view.
    "report.view": frozenset({R.HUB_MANAGER, R.HEAD_OF_SERVICE, R.ANALYST}),
    # The council's statutory returns as files: Ofsted's Annex A lists and the DfE CIN census.
    # Child-level (an identifier, date of birth, sex, ethnicity, what happened and when; no
    # name), so only those who answer for them: the hub's managers, the head of service and the
    # performance analysts who prepare them. Every download is audited with its SHA-256.
    "returns.export": frozenset({R.HUB_MANAGER, R.HEAD_OF_SERVICE, R.ANALYST}),
    # The national dashboard: counts by force and council, no child and no drill-down. For the
    # people who compare authorities (GUIDE: analysts, heads of service, force leads).
    "report.national": frozenset({R.HEAD_OF_SERVICE, R.ANALYST}),
    # Casework after the front door: the referral, its assessment, section 47 enquiry, conference
    # and plans, as the statutory returns need them. Managers authorise assessments.
    "casework.view": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER, R.HEAD_OF_SERVICE}),
    "casework.record": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    "casework.authorise": frozenset({R.HUB_MANAGER}),
    # The person index (docs/person-index.md): the clerical review of uncertain links, and the
    # people of the council's records with their records and relationships, for the hub's social
    # workers and managers; merging two people (and undoing a merge) for managers only, since a
    # wrong merge puts one child's history in front of another's worker.
    "person.review": frozenset({R.HUB_SOCIAL_WORKER, R.HUB_MANAGER}),
    "person.merge": frozenset({R.HUB_MANAGER}),
}


def user_can(user: object, permission: str) -> bool:
    allowed = PERMISSIONS.get(permission)
    if allowed is None:
        return False
    roles = getattr(user, "roles", None) or []
    return bool(getattr(user, "is_active", False)) and any(role in allowed for role in roles)


def require(user: object, permission: str) -> None:
    if not user_can(user, permission):
        raise PermissionDenied(f"Your role does not allow {permission}.")

"""Who may reach each page and API operation: the access matrix, in one place.

Every URL the project serves and every operation of its OpenAPI document is declared here with
what it needs: a permission of `safehub.accounts.permissions.PERMISSIONS` (the roles' table), or
one of the needs below. `web/tests/test_access_matrix.py` walks the URL configuration and the
OpenAPI document and fails on any endpoint not declared here (so a new one cannot escape), then
asks every endpoint as every role and checks the answer this module gives. `docs/access.md` is
written from this module by `access_doc()`; the same test fails when the file is out of date.

The answers, in this order of checks:

- not signed in: a page sends to the sign-in page, an API operation answers 401;
- a record named in the URL that is outside the person's scope (another council's contact,
  another school's notice, another force's notification, or any record of a kind the role never
  sees): 404, so that a refusal does not tell that the record exists;
- in scope without the permission: 403;
- allowed, but the record is in the wrong state for the action: 409.
"""

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver

from safehub.accounts.models import Role
from safehub.accounts.permissions import PERMISSIONS, user_can

PUBLIC = "public"  # anyone, signed in or not (the sign-in page, the published API contract)
AUTHENTICATED = "authenticated"  # any signed-in person, whatever their role
STAFF = "staff"  # the Django admin: `is_staff` first, then the admin's own model permissions
CLIENT = "client"  # an integration client's bearer token only; no person
NOTHING = "nothing"  # serves no one: answers 404 to all
# The steps after a right password (the second factor): only for this session's pending sign-in;
# anyone else, signed in or not, is sent to the sign-in page.
SIGNING_IN = "signing in"

NEEDS = frozenset({PUBLIC, AUTHENTICATED, STAFF, CLIENT, NOTHING, SIGNING_IN})

# What each permission lets a person do (the roles holding it are in PERMISSIONS).
DESCRIPTIONS: dict[str, str] = {
    "contact.view": "see the triage queue and the contacts in scope",
    "contact.create": "record a contact from a school, health, a neighbour or a caller",
    "contact.route": "send a contact to a council (and see those waiting to be routed)",
    "contact.decide": "take the next contact and record the front-door decision on it",
    "contact.sign_off": "sign off or return another worker's decision",
    "contact.reassign": "give a contact to another worker of the council",
    "contact.view_access": (
        "see who has read a contact, its notification and the strategy discussions about the "
        "child (on the contact page, and for an auditor on a page of its own)"
    ),
    "contact.break_glass": (
        "open another council's contact by its exact reference, with a purpose and a reason, to "
        "read it for a few hours (break-glass); their managers and that council are told"
    ),
    "contact.break_glass_review": "see the break-glass openings made by their own agency's staff",
    "notification.view": "read a notification as the force sent it",
    "encompass.view": "see the Operation Encompass notices in scope",
    "encompass.acknowledge": "acknowledge a notice sent to their own school or inbox",
    "marac.view": "see the MARAC referrals proposed at intake",
    "marac.confirm": "refer to MARAC, or record why not",
    "discussion.view": (
        "see the strategy discussions in scope: hub staff their council's; a partner those "
        "their agency is invited to, and in them only their agency's part"
    ),
    "discussion.call": (
        "call a strategy discussion from a section 47 decision (a manager: from any open contact)"
    ),
    "discussion.chair": (
        "run their council's discussions: invite, chase, record attendance, the outcome and "
        "actions, send the minutes"
    ),
    "discussion.respond": "reply to an invitation and answer a request, for their own agency",
    "sharing.view": "see and export the sharing decisions made by, to or about their agency",
    "report.view": (
        "read the performance dashboard of their council (a force's staff: of their force, across "
        "the councils its notices reached): counts, no child; with `contact.view`, follow a "
        "number to the contacts behind it"
    ),
    "report.national": "read the national dashboard: counts by force and council, no child",
    "returns.export": (
        "download their council's statutory returns: Ofsted's Annex A lists and the DfE CIN "
        "census (child-level, no name; each download audited with its SHA-256)"
    ),
    "audit.export": "download the audit log of their own agency's people, for a period",
    "alert.view": "see the deadlines escalated to them (worker, manager, head of service)",
    "casework.view": (
        "see their council's referrals to children's social care: assessments, section 47 "
        "enquiries, conferences and plans"
    ),
    "casework.record": (
        "record what the returns need: the child's details, the conference, plans, closure"
    ),
    "casework.authorise": "authorise an assessment, with the factors it found",
    "person.review": (
        "see the person index's people of their council's records, and decide its clerical "
        "reviews: link a record to the person it may be, or keep them apart"
    ),
    "person.merge": "merge two people of their council's records into one, and undo a merge",
}

# The kinds of record a URL names, the permission without which a person sees none of them, and
# whose records a person holding it sees.
SCOPES: dict[str, tuple[str, str]] = {
    "contact": (
        "contact.view",
        "hub staff: their council's contacts (a manager also those waiting to be routed), and, "
        "on the contact page only, to read, another council's contact opened under break-glass "
        "until the grant runs out; a police hub officer: the contacts from their force's "
        "notifications",
    ),
    "decision": (
        "contact.view",
        "a decision on a contact in scope, named with that contact",
    ),
    "notice": (
        "encompass.view",
        "a school's or education team's lead: the notices sent to them; hub staff: the notices "
        "of their council's contacts",
    ),
    "marac_referral": (
        "marac.view",
        "hub staff: those of notifications with a child in their council; a police hub officer: "
        "those of their force's notifications",
    ),
    "contact_access": (
        "contact.view_access",
        "a hub manager or an auditor: their own council's contacts, for who has opened them "
        "(an auditor sees who the child is and the log, not the record)",
    ),
    "discussion": (
        "discussion.view",
        "hub staff: their council's discussions; a police, health, school or domestic abuse "
        "practitioner: those their agency is invited to (another agency's: 404)",
    ),
    "episode": (
        "casework.view",
        "hub staff: their own council's referrals (and the assessments, enquiries and plans "
        "they hold)",
    ),
    "link_review": (
        "person.review",
        "hub staff: reviews of records their council has heard of (a notification with a child "
        "routed to it, its manual contacts, its own and its schools' files); a file of an agency "
        "serving no one council (a health trust): when the candidate person is in scope",
    ),
    "person": (
        "person.review",
        "hub staff: people with a record their council has heard of, and those merged into one",
    ),
    "merge": ("person.review", "hub staff: merges of a person in scope"),
    "notification": (
        "contact.view",
        "through its contacts, as a contact; an integration client: its own force's",
    ),
}


@dataclass(frozen=True)
class Access:
    """What one endpoint needs."""

    need: str  # a key of PERMISSIONS, or one of NEEDS
    methods: tuple[str, ...] = ("GET",)
    scope: tuple[str, ...] = ()  # the kinds of record named in its URL (keys of SCOPES)
    client: bool = False  # an integration client's token may call it too (its own force's)
    audited: bool = False  # an allowed GET shows personal data and writes an audit event
    # The landing page: a person without `need` who holds this permission is sent to this page.
    otherwise: tuple[str, str] | None = None
    note: str = ""


# Pages and the API's own URLs, by URL name (or, for an unnamed pattern, its route).
PAGES: dict[str, Access] = {
    "login": Access(PUBLIC, ("GET", "POST"), note="a signed-in person is sent to the queue"),
    "signin_code": Access(
        SIGNING_IN, ("GET", "POST"), note="the second step: the code from an authenticator app"
    ),
    "signin_recovery_code": Access(
        SIGNING_IN, ("GET", "POST"), note="the second step with a recovery code instead"
    ),
    "signin_set_up": Access(
        SIGNING_IN, ("GET", "POST"), note="setting up an authenticator app, at the first sign-in"
    ),
    "logout": Access(
        PUBLIC, ("POST",), note="anyone may sign out: whoever does is sent to the sign-in page"
    ),
    "referrals:queue": Access(
        "contact.view",
        audited=True,
        otherwise=("encompass.view", "encompass:notice_list"),
        note="the landing page: a school's lead is sent to their Encompass notices",
    ),
    "referrals:take_next": Access("contact.decide", ("POST",)),
    "referrals:alerts": Access(
        "alert.view", audited=True, note="the deadlines escalated to the asker, newest first"
    ),
    "referrals:contact_new": Access("contact.create", ("GET", "POST")),
    "referrals:break_glass": Access(
        "contact.break_glass",
        ("GET", "POST"),
        note=(
            "another council's contact, by its exact reference, with a purpose and a reason; "
            "every lookup is audited, and a new grant e-mails the opener's managers and the "
            "owning council"
        ),
    ),
    "referrals:break_glass_openings": Access(
        "contact.break_glass_review",
        audited=True,
        note="the break-glass openings by the people of the asker's agency, last 30 days",
    ),
    "referrals:contact_detail": Access(
        "contact.view",
        scope=("contact",),
        audited=True,
        note=(
            "another council's contact is 404 unless the person holds a live break-glass grant "
            "for it: then it is shown to read, with no action, and each view is audited with the "
            "grant's purpose"
        ),
    ),
    "referrals:access_lookup": Access(
        "contact.view_access",
        audited=True,
        note="a child of the asker's council by an exact reference (no search by name)",
    ),
    "referrals:contact_access": Access(
        "contact.view_access",
        scope=("contact_access",),
        audited=True,
        note=(
            "who has opened the contact, its notification and the strategy discussions about the "
            "child; each look is itself audited"
        ),
    ),
    "referrals:contact_route": Access("contact.route", ("POST",), scope=("contact",)),
    "referrals:contact_decide": Access("contact.decide", ("POST",), scope=("contact",)),
    "referrals:contact_reassign": Access(
        "contact.reassign", ("GET", "POST"), scope=("contact",), audited=True
    ),
    "referrals:decision_sign_off": Access(
        "contact.sign_off", ("POST",), scope=("contact", "decision")
    ),
    "referrals:decision_return": Access(
        "contact.sign_off", ("POST",), scope=("contact", "decision")
    ),
    "encompass:notice_list": Access("encompass.view", audited=True),
    "encompass:notice_detail": Access("encompass.view", scope=("notice",), audited=True),
    "encompass:notice_acknowledge": Access("encompass.acknowledge", ("POST",), scope=("notice",)),
    "risk:referral_list": Access("marac.view", audited=True),
    "risk:referral_detail": Access("marac.view", scope=("marac_referral",), audited=True),
    "risk:referral_decide": Access("marac.confirm", ("POST",), scope=("marac_referral",)),
    "meetings:discussion_list": Access("discussion.view", audited=True),
    "meetings:discussion_call": Access(
        "discussion.call",
        ("GET", "POST"),
        scope=("contact",),
        audited=True,
        note="a worker from a section 47 decision; a manager from any open contact",
    ),
    "meetings:discussion_detail": Access(
        "discussion.view",
        scope=("discussion",),
        audited=True,
        note=(
            "hub staff see the whole record; a partner only the time and place and their own "
            "agency's invitation and request, never the incident, the adults (for a school) or "
            "the other agencies' answers"
        ),
    ),
    "meetings:minutes_pdf": Access("discussion.chair", scope=("discussion",), audited=True),
    "meetings:participant_add": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:reschedule": Access(
        "discussion.chair", ("GET", "POST"), scope=("discussion",), audited=True
    ),
    "meetings:cancel": Access(
        "discussion.chair", ("GET", "POST"), scope=("discussion",), audited=True
    ),
    "meetings:attendance": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:outcome": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:action_add": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:action_done": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:request_chase": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:minutes_send": Access("discussion.chair", ("POST",), scope=("discussion",)),
    "meetings:refusal": Access(
        "discussion.chair",
        ("POST",),
        scope=("discussion",),
        note="a decision not to share something with an agency, with what and why",
    ),
    "meetings:respond": Access("discussion.respond", ("POST",), scope=("discussion",)),
    "meetings:answer": Access("discussion.respond", ("POST",), scope=("discussion",)),
    "casework:episode_list": Access(
        "casework.view", audited=True, note="the council's open referrals, soonest deadline first"
    ),
    "casework:episode_detail": Access("casework.view", scope=("episode",), audited=True),
    "casework:child_details": Access(
        "casework.record", ("GET", "POST"), scope=("episode",), audited=True
    ),
    "casework:assessment_start": Access(
        "casework.record", ("GET", "POST"), scope=("episode",), audited=True
    ),
    "casework:assessment_authorise": Access(
        "casework.authorise",
        ("GET", "POST"),
        scope=("episode",),
        audited=True,
        note="a manager, with the factors found; meets the assessment deadline",
    ),
    "casework:conference": Access(
        "casework.record",
        ("GET", "POST"),
        scope=("episode",),
        audited=True,
        note="the initial child protection conference (on a working day), or that none is needed",
    ),
    "casework:plan_start": Access(
        "casework.record", ("GET", "POST"), scope=("episode",), audited=True
    ),
    "casework:plan_review": Access(
        "casework.record",
        ("GET", "POST"),
        scope=("episode",),
        audited=True,
        note="a review conference (a working day after the plan started) and the latest category",
    ),
    "casework:plan_end": Access(
        "casework.record", ("GET", "POST"), scope=("episode",), audited=True
    ),
    "casework:cin_plan_start": Access(
        "casework.record", ("GET", "POST"), scope=("episode",), audited=True
    ),
    "casework:cin_plan_end": Access(
        "casework.record", ("GET", "POST"), scope=("episode",), audited=True
    ),
    "casework:close": Access("casework.record", ("GET", "POST"), scope=("episode",), audited=True),
    "people:review_queue": Access(
        "person.review",
        audited=True,
        note="the open clerical reviews of the council's records, the most probable first",
    ),
    "people:review_detail": Access(
        "person.review",
        ("GET", "POST"),
        scope=("link_review",),
        audited=True,
        note=(
            "the record and the candidate person's records side by side, with the evidence; "
            "link or keep apart, with a reason"
        ),
    ),
    "people:person_detail": Access(
        "person.review",
        scope=("person",),
        audited=True,
        note="a person's records, relationships and merges; every view audited",
    ),
    "people:person_merge": Access(
        "person.merge",
        ("GET", "POST"),
        scope=("person",),
        audited=True,
        note="another person of the council's records, by reference, merged into this one",
    ),
    "people:merge_undo": Access(
        "person.merge",
        ("GET", "POST"),
        scope=("merge",),
        audited=True,
        note="moves back exactly what the merge moved, or says what stands in the way",
    ),
    "sharing:decision_list": Access("sharing.view", audited=True),
    "audit:export": Access(
        "audit.export",
        audited=True,
        note="the audit log of what the asker's own agency's people did, as CSV; the export is "
        "itself an audit event with the file's SHA-256",
    ),
    "sharing:decision_export": Access("sharing.view", audited=True),
    "returns:index": Access(
        "returns.export",
        audited=True,
        note=(
            "the asker's own council's Annex A (for a period) and CIN census (for a year); each "
            "download is an audit event with the file's SHA-256, and a census that fails the "
            "schema or a DfE rule is not given, its problems listed with the rule and the child"
        ),
    ),
    "reports:dashboard": Access(
        "report.view",
        audited=True,
        note="the asker's council's figures (a force's: the force's), for a period; counts only",
    ),
    "reports:csv": Access(
        "report.view", audited=True, note="one figure of that dashboard as CSV (counts only)"
    ),
    "reports:national": Access(
        "report.national", audited=True, note="counts by force and council; no drill-down"
    ),
    "reports:national_csv": Access("report.national", audited=True),
    "reports:contacts": Access(
        "contact.view",
        audited=True,
        note=(
            "the contacts behind one number of the dashboard: only those the asker may see in "
            "the triage queue, of their own council (or force)"
        ),
    ),
    "admin/login/": Access(
        PUBLIC, ("GET", "POST"), note="the admin's sign-in: the same page and lockout as sign-in"
    ),
    "admin:login": Access(
        PUBLIC, ("GET", "POST"), note="the admin's own sign-in page, shadowed by `admin/login/`"
    ),
    "api:openapi-json": Access(PUBLIC, note="the published notification contract; no records"),
    "api:openapi-view": Access(PUBLIC, note="the same, as a page"),
    "api:api-root": Access(NOTHING, note="django-ninja's root, used to build paths: always 404"),
}

# Every URL of a namespace not named in PAGES (the admin site makes URLs for each model).
NAMESPACES: dict[str, Access] = {
    "admin": Access(
        STAFF,
        ("GET", "POST"),
        note="the Django admin; a person who is not staff is sent to the admin's sign-in page",
    ),
}

# The API's operations, by their OpenAPI operationId. A signed-in person calls them with the
# session; an integration client with `Authorization: Bearer <token>`.
OPERATIONS: dict[str, Access] = {
    "safehub_intake_api_notification_create": Access(CLIENT, ("POST",)),
    "safehub_intake_api_notification_update": Access(CLIENT, ("PUT",), scope=("notification",)),
    "safehub_intake_api_notification_read": Access(
        "notification.view", scope=("notification",), client=True, audited=True
    ),
    "safehub_meetings_api_discussion_list_api": Access("discussion.view", audited=True),
    "safehub_meetings_api_discussion_read_api": Access(
        "discussion.view", scope=("discussion",), audited=True
    ),
    "safehub_meetings_api_discussion_figures_api": Access(
        "report.view", audited=True, note="aggregates of the asker's council, no child"
    ),
}


def access_for_url(name: str | None, namespace: str, route: str) -> Access | None:
    """The declaration of a URL pattern (by its namespaced name, else its route), or None."""
    key = name or route
    if key in PAGES:
        return PAGES[key]
    head = namespace.split(":", 1)[0]
    return NAMESPACES.get(head)


# --- What the project serves ---------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """One URL pattern of the URL configuration, with the patterns that lead to it."""

    parts: tuple[Any, ...]
    namespace: str
    pattern: URLPattern

    @property
    def name(self) -> str | None:
        if self.pattern.name is None:
            return None
        return f"{self.namespace}:{self.pattern.name}" if self.namespace else self.pattern.name

    @property
    def route(self) -> str:
        return "".join(str(p.pattern) for p in self.parts)

    @property
    def key(self) -> str:
        """What the matrix calls it: the URL name, or the route of an unnamed pattern."""
        return self.name or self.route

    @property
    def openapi_path(self) -> str:
        """The route as the OpenAPI document writes paths: /api/v1/notifications/{force_code}."""
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", self.route)

    @property
    def access(self) -> Access | None:
        return access_for_url(self.name, self.namespace, self.route)


def url_routes() -> list[Route]:
    """Every URL pattern the URL configuration serves, included ones and the admin's too."""
    found: list[Route] = []

    def walk(patterns: list[Any], parts: tuple[Any, ...], namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = namespace
                if p.namespace:
                    inner = f"{namespace}:{p.namespace}" if namespace else p.namespace
                walk(p.url_patterns, (*parts, p), inner)
            else:
                found.append(Route((*parts, p), namespace, p))

    walk(get_resolver().url_patterns, (), "")
    return found


def api_operations() -> list[tuple[str, str, str]]:
    """(method, path, operationId) of every operation in the API's OpenAPI document."""
    from safehub.api import api  # the project's API, after every app in the flow

    schema = api.get_openapi_schema()
    return [
        (method.upper(), path, operation["operationId"])
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
    ]


def is_operation(route: Route, paths: set[str]) -> bool:
    """Whether a URL pattern serves API operations (declared in OPERATIONS, not PAGES)."""
    return route.namespace == "api" and route.openapi_path in paths


# --- The answers the matrix gives ----------------------------------------------------------------

LOGIN = "sign-in"  # a redirect to the sign-in page
ADMIN_LOGIN = "admin sign-in"  # a redirect to the admin's sign-in page
OK = "ok"  # 2xx, or a redirect that is not to a sign-in page


class Persona:
    """A stand-in person with one role (active), to say what that role is answered."""

    is_active = True

    def __init__(self, role: str, *, is_staff: bool = False) -> None:
        self.roles = [role]
        self.is_staff = is_staff


def expected_answer(access: Access, who: object | None, *, api: bool = False) -> str:
    """What a person (`who`; None: nobody signed in) is answered: OK, LOGIN, ADMIN_LOGIN, "401",
    "403", "404", or "→ <url name>". For a scoped record, OK holds for records in the person's
    scope; any other record is "404"."""
    if access.need == NOTHING:
        return "404"
    if access.need == SIGNING_IN:
        return "→ login"  # nobody asked holds a pending sign-in
    if access.need == PUBLIC:
        return OK
    if access.need == STAFF:
        return OK if who is not None and getattr(who, "is_staff", False) else ADMIN_LOGIN
    if who is None:
        return "401" if api else LOGIN
    if access.need == CLIENT:
        return "401"  # a session is not how a client calls
    if access.need == AUTHENTICATED:
        return OK
    for kind in access.scope:
        if not user_can(who, SCOPES[kind][0]):
            return "404"
    if user_can(who, access.need):
        return OK
    if access.otherwise is not None and user_can(who, access.otherwise[0]):
        return f"→ {access.otherwise[1]}"
    return "403"


def expected_client_answer(access: Access, *, operation: bool, api: bool = False) -> str:
    """What an integration client's token is answered. Only API operations take a token: on any
    other URL the client is nobody signed in."""
    if not operation:
        return expected_answer(access, None, api=api)
    return OK if access.need == CLIENT or access.client else "401"


# --- docs/access.md ------------------------------------------------------------------------------

DOC_PATH = Path(__file__).resolve().parents[3] / "docs" / "access.md"


def _short(answer: str) -> str:
    return {OK: "✓", LOGIN: "sign-in", ADMIN_LOGIN: "admin sign-in"}.get(answer, answer)


def _answers_row(access: Access, *, api: bool, operation: bool) -> list[str]:
    cells = [_short(expected_answer(access, Persona(role), api=api)) for role in Role]
    cells.append(_short(expected_client_answer(access, operation=operation, api=api)))
    cells.append(_short(expected_answer(access, None, api=api)))
    return cells


def _needs_text(access: Access) -> str:
    text = f"`{access.need}`" if access.need in PERMISSIONS else access.need
    if access.client and access.need != CLIENT:
        text += " or client"
    return text


def _paragraph(text: str) -> list[str]:
    return [*textwrap.wrap(text, width=100, break_on_hyphens=False), ""]


def access_doc() -> str:
    """docs/access.md, written from PERMISSIONS, this module's tables, the URL configuration and
    the OpenAPI document."""
    roles = list(Role)
    lines = [
        "# Access: roles, permissions and endpoints",
        "",
        "<!-- Written by safehub.core.access.access_doc(); do not edit by hand. Regenerate with",
        "     safehub shell -c 'from safehub.core.access import access_doc_write; "
        "access_doc_write()' -->",
        "",
        *_paragraph(
            "One matrix, kept in code: the roles' permissions in "
            "`safehub/accounts/permissions.py` (`PERMISSIONS`), what each page and API operation "
            "needs in `safehub/core/access.py`. `safehub/web/tests/test_access_matrix.py` finds "
            "every URL in the URL configuration and every operation in the OpenAPI document, "
            "fails on any that is not declared (so a new page or operation cannot be served "
            "until it says what it needs), and asks each of them as every role, an integration "
            "client and nobody, checking the answers below, an audit event for every allowed "
            "read of personal data, 404 for another council's records and 409 for an action on "
            "a record in the wrong state."
        ),
        "## The answers",
        "",
        "In this order:",
        "",
        "1. Not signed in: a page sends to the sign-in page; an API operation answers **401**.",
        "2. A record named in the URL outside the person's scope (another council's contact,",
        "   another school's notice, another force's notification, or a record of a kind the role",
        "   never sees): **404**, never 403, so that a refusal does not say the record exists.",
        "3. In scope without the permission: **403**.",
        "4. Allowed, but the record is in the wrong state for the action (a decision already",
        "   signed off, a referral already decided the other way): **409**.",
        "",
        "## Roles and permissions",
        "",
        "| Permission | What it allows | " + " | ".join(r.label for r in roles) + " |",
        "|---|---|" + "---|" * len(roles),
    ]
    for permission, allowed in PERMISSIONS.items():
        marks = " | ".join("✓" if role in allowed else "" for role in roles)
        lines.append(f"| `{permission}` | {DESCRIPTIONS.get(permission, '')} | {marks} |")
    lines += [
        "",
        *_paragraph(
            "The **integration client** (a police force's records system, with a bearer token) "
            "holds no permission: it sends, amends and reads back its own force's notifications, "
            "as the API table says. Analysts read their council's figures (counts, no child) "
            "and download its statutory returns (child-level, without names); "
            "auditors the sharing decisions and who has seen a child's record (not the record "
            "itself); administrators hold no permission, and none of them sees a child's "
            "record. The Django admin is reached with `is_staff`, whatever the roles (it never "
            "shows an encrypted field); within it the admin's model permissions apply, and "
            "publishing a triage policy also needs the administrator role (or a superuser)."
        ),
        "## Scopes",
        "",
        "| Record | Seen only with | Whose |",
        "|---|---|---|",
    ]
    for kind, (permission, whose) in SCOPES.items():
        lines.append(f"| {kind.replace('_', ' ')} | `{permission}` | {whose} |")

    paths: dict[str, list[str]] = {}
    for route in url_routes():
        head = route.namespace.split(":", 1)[0]
        key = route.key if route.key in PAGES or head not in NAMESPACES else f"{head}:*"
        if key.endswith(":*"):
            paths[key] = [f"/{head}/…"]
        else:
            paths.setdefault(key, []).append("/" + route.route)
    header = (
        "| {first} | {second} | Needs | Record | Audited read | "
        + " | ".join(r.label for r in roles)
        + " | Integration client | Not signed in |"
    )
    rule = "|---|---|---|---|---|" + "---|" * (len(roles) + 2)

    def row(first: str, second: str, access: Access, *, api: bool, operation: bool) -> str:
        cells = [
            first,
            second,
            _needs_text(access),
            ", ".join(k.replace("_", " ") for k in access.scope),
            "yes" if access.audited else "",
            *_answers_row(access, api=api, operation=operation),
        ]
        return "| " + " | ".join(cells) + " |"

    lines += [
        "",
        "## Pages",
        "",
        *_paragraph(
            "✓: allowed (for a record, one in the person's scope; any other record is 404). "
            "sign-in: sent to the sign-in page. → page: sent to that page instead (the sign-in "
            "steps after the password are shown only to this session's pending sign-in, which "
            "none of these has). An integration client's token opens no page: it is nobody "
            "signed in there."
        ),
        header.format(first="URL name", second="Path and methods"),
        rule,
    ]
    entries = [*PAGES.items(), *((f"{n}:*", a) for n, a in NAMESPACES.items())]
    for name, access in entries:
        where = "<br>".join(f"`{p}`" for p in paths.get(name, [])) + " " + ", ".join(access.methods)
        lines.append(
            row(f"`{name}`", where.strip(), access, api=name.startswith("api:"), operation=False)
        )
    lines += ["", "Notes:", ""]
    for name, access in entries:
        if access.note:
            lines.append(f"- `{name}`: {access.note}.")
    lines += [
        "",
        "## API operations",
        "",
        *_paragraph(
            "A person calls them with the session of the pages; an integration client with "
            "`Authorization: Bearer <token>`, for its own force only."
        ),
        header.format(first="Operation", second="Method and path"),
        rule,
    ]
    served = {operation_id: (method, path) for method, path, operation_id in api_operations()}
    for name, access in OPERATIONS.items():
        method, path = served.get(name, ("", ""))
        lines.append(row(f"`{name}`", f"{method} `{path}`", access, api=True, operation=True))
    lines.append("")
    return "\n".join(lines)


def access_doc_write(path: Path = DOC_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(access_doc(), encoding="utf-8")

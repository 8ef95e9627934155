"""Break-glass: a hub worker reads another council's contact, found by its exact reference, for a
few hours, with a purpose and a reason; their managers and the owning council are told once.

The family of the two-authorities example: Ravi and the unborn child live in Wirral (Alice's and
Mary's council), Maya in Liverpool (Bob's and Lena's). Alice must not see Maya's contact unless
she opens it on the break-glass page, and even then may only read it.
"""

import datetime as dt
from contextlib import contextmanager

import pytest
from django.urls import reverse

from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.core.errors import NotFound
from safehub.core.models import OutboxMessage
from safehub.core.testing import example_bytes
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.break_glass import contact_break_glass
from safehub.referrals.decisions import (
    contact_decide,
    contact_reassign,
    contact_take_next,
    decision_sign_off,
)
from safehub.referrals.models import AccessGrant, BreakGlassPurpose, Contact, Outcome
from safehub.referrals.selectors import contact_queue, contacts_in_scope, contacts_readable
from safehub.referrals.services import contact_route

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)  # 09:00 in London too (GMT)
INCIDENT = "MSP-26-004830"
REASON = "The family moved to Wallasey last week; mother called the duty line."
PAGE = reverse("referrals:break_glass")
OPENINGS = reverse("referrals:break_glass_openings")


@pytest.fixture(autouse=True)
def at_t0():
    with clock.frozen(T0):
        yield


@pytest.fixture
def family(reference):
    notification_receive(
        raw=example_bytes("notification-two-authorities.json"), channel=Channel.IMPORT
    )


@pytest.fixture
def maya(family) -> Contact:
    contact = Contact.objects.get(child_ref="C2")
    assert contact.local_authority.code == "LA341"  # Liverpool
    return contact


@pytest.fixture
def ravi(family) -> Contact:
    contact = Contact.objects.get(child_ref="C1")
    assert contact.local_authority.code == "LA344"  # Wirral
    return contact


@pytest.fixture
def lena(make_user):
    return make_user("lena", "LA341", "hub_manager")


def told():
    """The break-glass e-mails (intake queues its own, for the Encompass notices)."""
    return OutboxMessage.objects.filter(reason__startswith="break_glass_")


def detail_url(contact: Contact) -> str:
    return reverse("referrals:contact_detail", args=[contact.pk])


def break_glass(client, **fields):
    data = {"purpose": BreakGlassPurpose.MOVED_IN, "reason": REASON, **fields}
    return client.post(PAGE, data)


# --- Without break-glass, nothing -------------------------------------------------------------


def test_another_councils_contact_is_not_found_without_a_grant(client, alice, maya):
    client.force_login(alice)
    response = client.get(detail_url(maya))
    assert response.status_code == 404
    assert b"Maya" not in response.content
    assert not AuditEvent.objects.filter(user=alice, object_id=str(maya.pk)).exists()


def test_only_hub_staff_may_open_another_councils_record(client, percy, harriet, maya):
    for person in (percy, harriet):
        client.force_login(person)
        assert client.get(PAGE).status_code == 403
        assert break_glass(client, contact_reference=str(maya.pk)).status_code == 403
    assert not AccessGrant.objects.exists()


# --- Opening by an exact reference ------------------------------------------------------------


def test_an_exact_reference_a_purpose_and_a_reason_open_the_contact_to_read(
    client, alice, mary, maya
):
    client.force_login(alice)
    assert client.get(PAGE).status_code == 200
    response = break_glass(client, contact_reference=str(maya.pk))
    assert response.status_code == 302
    assert response["Location"] == detail_url(maya)

    page = client.get(detail_url(maya)).content.decode()
    assert "Maya Demo" in page
    assert (
        "You are viewing another council's record under break-glass (Child moved into our "
        "area, until 13:00). This access is recorded and your manager has been told."
    ) in page
    assert "Liverpool children&#x27;s services holds this record and has been told" in page
    # To read only: no decision, no reassigning, no routing, no access log.
    assert "Record the decision" not in page
    assert "Reassign" not in page
    assert "Send to this council" not in page

    grant = AccessGrant.objects.get()
    assert (grant.user, grant.contact, grant.purpose) == (alice, maya, BreakGlassPurpose.MOVED_IN)
    assert grant.reason == REASON
    assert (grant.granted_at, grant.expires_at) == (T0, T0 + dt.timedelta(hours=4))
    assert grant.agency.code == "LA344" and grant.owner.code == "LA341"


def test_an_incident_reference_opens_the_children_another_council_holds(client, alice, maya):
    client.force_login(alice)
    response = break_glass(
        client, force_code="MSP", incident_reference=INCIDENT.lower(), contact_reference=""
    )
    assert response.status_code == 302
    assert response["Location"] == detail_url(maya)
    # Ravi and the unborn child are Wirral's own: no grant for them.
    assert [g.contact for g in AccessGrant.objects.all()] == [maya]
    assert AccessGrant.objects.get().reference == f"MSP {INCIDENT.lower()}"


def test_my_own_councils_record_just_opens_with_no_grant_and_no_e_mail(client, alice, ravi):
    client.force_login(alice)
    response = break_glass(client, contact_reference=str(ravi.pk))
    assert response.status_code == 302
    assert response["Location"] == detail_url(ravi)
    assert not AccessGrant.objects.exists()
    assert not told().exists()
    page = client.get(response["Location"]).content.decode()
    assert "your own council&#x27;s" in page
    assert "under break-glass" not in page


def test_the_grant_runs_out(client, alice, maya, settings):
    @contextmanager
    def at(later: dt.timedelta):
        with clock.frozen(T0 + later):
            client.force_login(alice)  # afresh: a session idle for 30 minutes has ended
            yield

    client.force_login(alice)
    break_glass(client, contact_reference=str(maya.pk))
    with at(dt.timedelta(hours=3, minutes=59)):
        assert client.get(detail_url(maya)).status_code == 200
    with at(dt.timedelta(hours=4)):
        assert client.get(detail_url(maya)).status_code == 404
        assert not contacts_readable(fetched_by=alice).filter(pk=maya.pk).exists()

    settings.SAFEHUB_BREAK_GLASS_HOURS = 1
    with at(dt.timedelta(hours=5)):
        break_glass(client, contact_reference=str(maya.pk))
        assert client.get(detail_url(maya)).status_code == 200  # a new grant, told anew
    with at(dt.timedelta(hours=6)):
        assert client.get(detail_url(maya)).status_code == 404
    assert AccessGrant.objects.count() == 2
    assert told().filter(reason="break_glass_owner").count() == 2


def test_a_grant_ends_with_the_role_that_asked_for_it(client, alice, maya):
    client.force_login(alice)
    break_glass(client, contact_reference=str(maya.pk))
    alice.roles = ["analyst"]
    alice.save(update_fields=["roles"])
    assert client.get(detail_url(maya)).status_code == 404


# --- The record of it ------------------------------------------------------------------------


def test_the_audit_events_carry_the_purpose_and_the_reason(client, alice, maya):
    client.force_login(alice)
    break_glass(client, contact_reference=str(maya.pk), purpose=BreakGlassPurpose.IMMEDIATE_RISK)
    client.get(detail_url(maya))
    purpose = "Break-glass: Emergency: risk of immediate harm"
    grant = AccessGrant.objects.get()

    made = AuditEvent.objects.get(user=alice, action=Action.CREATE)
    assert (made.object_type, made.object_id, made.purpose) == (
        "referrals.accessgrant",
        str(grant.pk),
        purpose,
    )
    assert made.detail["reason"] == REASON and made.detail["contact"] == str(maya.pk)

    lookup = AuditEvent.objects.get(user=alice, action=Action.SEARCH)
    assert lookup.object_type == "referrals.break_glass" and lookup.object_id == str(maya.pk)
    assert lookup.detail["found"] == "another_council" and lookup.purpose == purpose

    viewed = AuditEvent.objects.get(user=alice, action=Action.VIEW)
    assert (viewed.object_type, viewed.object_id) == ("referrals.contact", str(maya.pk))
    assert viewed.purpose == purpose
    assert viewed.detail["break_glass"] is True and viewed.detail["grant"] == grant.pk


def test_the_manager_and_the_owning_council_get_one_e_mail_each(client, alice, mary, maya):
    client.force_login(alice)
    break_glass(client, contact_reference=str(maya.pk))
    for _ in range(3):
        client.get(detail_url(maya))  # page views tell nobody
    break_glass(client, contact_reference=str(maya.pk))  # the grant still runs: no new one

    assert AccessGrant.objects.count() == 1
    to_manager = told().get(reason="break_glass_manager")
    to_owner = told().get(reason="break_glass_owner")
    assert told().count() == 2
    assert to_manager.recipients == ["mary@hub.example"]
    assert to_owner.recipients == ["mash@liverpool.council.example"]
    for message in (to_manager, to_owner):
        assert str(maya.pk) in message.subject  # the record by its reference...
        assert "Maya" not in message.subject and "Maya" not in message.body  # ...not by name
        assert "Alice" in message.body and "alice" in message.body  # who
        assert "24 November 2026 at 09:00" in message.body  # when
        assert "Child moved into our area" in message.body and REASON in message.body  # why
        assert "until: 24 November 2026 at 13:00" in message.body
    assert "Wirral children's services" in to_owner.subject
    grant = AccessGrant.objects.get()
    assert grant.managers_told == ["mary"]
    assert grant.owner_told == "mash@liverpool.council.example"


def test_a_manager_who_breaks_glass_does_not_tell_themself(client, mary, maya):
    client.force_login(mary)
    break_glass(client, contact_reference=str(maya.pk))
    assert not told().filter(reason="break_glass_manager").exists()
    assert told().filter(reason="break_glass_owner").count() == 1
    page = client.get(detail_url(maya)).content.decode()
    assert "This access is recorded." in page
    assert "your manager has been told" not in page


def test_a_police_officer_opening_a_councils_contact_tells_no_one(client, percy, maya):
    """Reading the contacts of their force's notifications is a police hub officer's job."""
    client.force_login(percy)
    assert client.get(detail_url(maya)).status_code == 200
    assert not told().exists()
    assert not AccessGrant.objects.exists()


def test_the_owning_council_sees_the_opening_and_its_purpose_in_the_access_log(
    client, alice, lena, maya
):
    client.force_login(alice)
    break_glass(client, contact_reference=str(maya.pk))
    client.get(detail_url(maya))
    client.force_login(lena)
    page = client.get(detail_url(maya)).content.decode()
    log = page[page.index('id="access-log"') :]
    assert "Alice" in log and "Wirral children" in log
    assert "This contact: Break-glass: Child moved into our area" in log


# --- Reading, never working ------------------------------------------------------------------


def test_a_grant_does_not_let_anyone_decide_route_or_reassign(client, mary, bob, lena, maya):
    contact_reassign(contact=maya, to_user=bob, by=lena, reason="Bob's to screen.")
    client.force_login(mary)
    break_glass(client, contact_reference=str(maya.pk))
    assert client.get(detail_url(maya)).status_code == 200
    maya.refresh_from_db()

    decide = reverse("referrals:contact_decide", args=[maya.pk])
    data = {"outcome": Outcome.EARLY_HELP, "rationale": "Engaging."}
    assert client.post(decide, data).status_code == 404
    route = reverse("referrals:contact_route", args=[maya.pk])
    assert client.post(route, {"council": "344", "reason": "Moved."}).status_code == 404
    reassign = reverse("referrals:contact_reassign", args=[maya.pk])
    assert client.get(reassign).status_code == 404
    assert client.post(reassign, {"worker": mary.pk, "reason": "Mine."}).status_code == 404
    with pytest.raises(NotFound):
        contact_decide(contact=maya, decided_by=mary, outcome=Outcome.EARLY_HELP, rationale="x")
    with pytest.raises(NotFound):
        contact_reassign(contact=maya, to_user=mary, by=mary, reason="Mine.")
    with pytest.raises(NotFound):
        contact_route(contact=maya, routed_by=mary, council=mary.agency, reason="Moved.")

    decision = contact_decide(
        contact=maya, decided_by=bob, outcome=Outcome.EARLY_HELP, rationale="Engaging."
    )
    sign_off = reverse("referrals:decision_sign_off", args=[maya.pk, decision.pk])
    assert client.post(sign_off, {"note": ""}).status_code == 404
    with pytest.raises(NotFound):
        decision_sign_off(decision=decision, signed_off_by=mary, note="")

    # Nor does it put the contact in any list of the council's.
    assert not contacts_in_scope(fetched_by=mary).filter(pk=maya.pk).exists()
    assert not contact_queue(fetched_by=mary, status="all").filter(pk=maya.pk).exists()
    maya.refresh_from_db()
    assert maya.assigned_to == bob and maya.local_authority.code == "LA341"
    assert not maya.decisions.exclude(pk=decision.pk).exists()


def test_take_next_never_takes_a_contact_read_under_break_glass(alice, maya):
    contact_break_glass(
        opened_by=alice,
        contact_reference=str(maya.pk),
        purpose=BreakGlassPurpose.MOVED_IN,
        reason=REASON,
    )
    taken = [contact_take_next(taken_by=alice) for _ in range(3)]
    assert maya not in taken


# --- Refusals --------------------------------------------------------------------------------


def test_a_reason_and_a_purpose_are_required(client, alice, maya):
    client.force_login(alice)
    response = client.post(PAGE, {"contact_reference": str(maya.pk), "reason": "   "})
    assert response.status_code == 422
    page = response.content.decode()
    assert '<a href="#id_reason">Say why you need this record</a>' in page
    assert '<a href="#id_purpose">Choose why you need this record</a>' in page
    assert not AccessGrant.objects.exists()
    assert not told().exists()
    assert client.get(detail_url(maya)).status_code == 404


def test_a_malformed_contact_reference_is_an_error_on_its_field(client, alice, maya):
    client.force_login(alice)
    response = break_glass(client, contact_reference="maya demo")
    assert response.status_code == 422
    assert '<a href="#id_contact_reference">Enter the contact reference as it was given' in (
        response.content.decode()
    )
    assert not AccessGrant.objects.exists()


def test_no_reference_at_all_is_an_error(client, alice):
    client.force_login(alice)
    response = break_glass(client)
    assert response.status_code == 422
    assert '<a href="#id_contact_reference">Enter the contact reference, or the police force' in (
        response.content.decode()
    )


def test_an_unknown_reference_says_the_same_as_one_no_council_holds(client, mary, alice, family):
    """An unrouted contact exists, but no council holds it: break-glass cannot open it, and the
    answer does not tell that it exists."""
    unknown = "0b9c6f2e-4d1a-4c53-9a57-2f1f0d3c8e41"
    unrouted = Contact.objects.get(child_ref="C1")
    Contact.objects.filter(pk=unrouted.pk).update(local_authority=None)
    client.force_login(alice)

    def error(reference: str) -> str:
        response = break_glass(client, contact_reference=reference)
        assert response.status_code == 422
        page = response.content.decode()
        start = page.index('<p id="id_contact_reference-error"')
        return page[start : page.index("</p>", start)]

    assert error(unknown) == error(str(unrouted.pk))
    assert "No record you can open has this contact reference" in error(unknown)
    assert not AccessGrant.objects.exists()
    assert not told().exists()
    # Each try is on record, with what it found.
    tries = AuditEvent.objects.filter(user=alice, object_type="referrals.break_glass")
    assert [e.detail["found"] for e in tries] == ["nothing"] * 3


def test_an_unknown_incident_reference_is_an_error_on_its_field(client, alice, maya):
    client.force_login(alice)
    response = break_glass(client, force_code="CHS", incident_reference=INCIDENT)
    assert response.status_code == 422
    assert '<a href="#id_incident_reference">No record you can open has this police incident' in (
        response.content.decode()
    )
    response = break_glass(client, incident_reference=INCIDENT)
    assert '<a href="#id_force_code">Choose the police force' in response.content.decode()
    response = break_glass(client, contact_reference=str(maya.pk), force_code="MSP")
    assert "not both" in response.content.decode()
    assert not AccessGrant.objects.exists()


# --- The manager's review ---------------------------------------------------------------------


def test_the_manager_sees_the_teams_openings_of_the_last_30_days(client, alice, mary, lena, maya):
    with clock.frozen(T0 - dt.timedelta(days=31)):
        contact_break_glass(
            opened_by=alice,
            contact_reference=str(maya.pk),
            purpose=BreakGlassPurpose.OTHER,
            reason="An old opening.",
        )
    client.force_login(alice)
    break_glass(client, contact_reference=str(maya.pk))
    assert client.get(OPENINGS).status_code == 403  # a social worker does not review

    client.force_login(mary)
    response = client.get(OPENINGS)
    assert response.status_code == 200
    page = response.content.decode()
    table = page[page.index('id="break-glass-openings"') :]
    assert "Alice" in table and str(maya.pk) in table and REASON in table
    assert "Child moved into our area" in table and "Open until 24 Nov 13:00" in table
    assert "An old opening." not in table
    assert "Maya" not in page  # the manager holds no grant: the record by its reference only
    assert AuditEvent.objects.filter(
        user=mary, action=Action.SEARCH, object_type="referrals.access_grant"
    ).exists()
    assert "Break-glass openings by your team" in client.get("/").content.decode()

    client.force_login(lena)  # Liverpool's manager: not her team
    assert "Alice" not in client.get(OPENINGS).content.decode()

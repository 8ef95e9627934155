"""Sharing decisions (statutory.md §7): every disclosure names its lawful basis; every refusal
says why, and shares nothing, so records no basis ("none"); the database holds to both, whatever
the code above it does. Receiving a police notification records the Operation Encompass notice to
Amy's school as a disclosure of its own."""

import pytest
from django.db import IntegrityError, transaction

from safehub.accounts.models import Agency
from safehub.audit.models import Action, AuditEvent
from safehub.core.errors import DomainError
from safehub.core.testing import example_bytes
from safehub.encompass.models import EncompassNotice
from safehub.intake.models import Channel
from safehub.intake.services import notification_receive
from safehub.referrals.models import Contact
from safehub.sharing.models import Consent, LawfulBasis, Shared, SharingDecision, SharingKind
from safehub.sharing.services import sharing_decision_build, sharing_record


@pytest.fixture
def wirral(reference):
    return Agency.objects.get(code="LA344")


def decision_kwargs(**overrides):
    kwargs = {
        "by": None,
        "by_name": "Test",
        "from_agency": Agency.objects.get(code="LA344"),
        "shared": True,
        "kind": SharingKind.INFORMATION_REQUEST,
        "recipient_agency": Agency.objects.get(code="MSP"),
        "recipient": "ppn.msp@police.example",
        "fields": ["child.given_names"],
        "purpose": "Strategy discussion",
        "lawful_basis": LawfulBasis.PUBLIC_TASK_SAFEGUARDING,
        "consent": Consent.NOT_REQUIRED,
        "reason": "The police hold the household's history.",
    }
    return kwargs | overrides


@pytest.mark.parametrize("basis", ["", LawfulBasis.NONE, "because"])
def test_a_share_without_a_lawful_basis_is_refused(wirral, basis):
    with pytest.raises(DomainError) as refused:
        sharing_decision_build(**decision_kwargs(lawful_basis=basis))
    assert refused.value.message.startswith("lawful_basis:")


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_refusal_without_a_reason_is_refused(wirral, reason):
    with pytest.raises(DomainError) as refused:
        sharing_decision_build(**decision_kwargs(shared=False, reason=reason))
    assert refused.value.message.startswith("reason:")
    assert "not shared" in refused.value.message


def test_a_share_without_a_reason_is_refused_too(wirral):
    with pytest.raises(DomainError, match=r"^reason:"):
        sharing_decision_build(**decision_kwargs(reason=""))


def test_an_unknown_consent_is_refused(wirral):
    with pytest.raises(DomainError) as refused:
        sharing_decision_build(**decision_kwargs(consent="implied"))
    assert refused.value.message.startswith("consent:")


def test_an_unknown_kind_is_refused(wirral):
    with pytest.raises(DomainError, match=r"^kind:"):
        sharing_decision_build(**decision_kwargs(kind="gossip"))


def test_a_refusal_is_stored_with_no_lawful_basis_and_audited(wirral):
    decision = sharing_record(
        **decision_kwargs(
            shared=False,
            kind=SharingKind.ANSWER,
            lawful_basis=LawfulBasis.PUBLIC_TASK_SAFEGUARDING,  # ignored: nothing is shared
            reason="The records are held by another trust.",
        )
    )
    stored = SharingDecision.objects.get(pk=decision.pk)
    assert (stored.shared, stored.lawful_basis) == (Shared.NOT_SHARED, LawfulBasis.NONE)
    assert stored.reason == "The records are held by another trust."
    [event] = AuditEvent.objects.filter(
        object_type="sharing.sharingdecision", object_id=str(stored.pk)
    )
    assert event.action == Action.DISCLOSE
    assert (event.detail["shared"], event.detail["lawful_basis"]) == ("not_shared", "none")


def test_a_share_is_stored_with_its_basis(wirral):
    decision = sharing_record(**decision_kwargs(lawful_basis=LawfulBasis.LAW_ENFORCEMENT))
    stored = SharingDecision.objects.get(pk=decision.pk)
    assert (stored.shared, stored.lawful_basis) == (Shared.SHARED, LawfulBasis.LAW_ENFORCEMENT)
    assert stored.made_by_name == "Test"


@pytest.mark.parametrize(
    ("shared", "basis"),
    [
        (Shared.SHARED, LawfulBasis.NONE),  # a disclosure with no basis
        (Shared.NOT_SHARED, LawfulBasis.PUBLIC_TASK_SAFEGUARDING),  # a refusal claiming one
    ],
)
def test_the_database_refuses_a_basis_that_does_not_fit_the_decision(wirral, shared, basis):
    row = sharing_decision_build(**decision_kwargs())
    row.shared, row.lawful_basis = shared, basis
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save(force_insert=True)
    assert not SharingDecision.objects.exists()


def test_receiving_the_notification_records_the_encompass_notice_to_amys_school(
    reference, frozen_now
):
    receipt = notification_receive(
        raw=example_bytes("notification-high-risk.json"), channel=Channel.API
    )
    amy = Contact.objects.get(notification=receipt.notification, child_ref="C1")
    # Amy (9) goes to school; Leo (2) does not: one notice, one decision.
    [decision] = SharingDecision.objects.all()
    assert (decision.kind, decision.shared, decision.lawful_basis) == (
        SharingKind.ENCOMPASS,
        Shared.SHARED,
        LawfulBasis.ENCOMPASS,
    )
    assert decision.contact == amy
    assert decision.recipient_agency.code == "URN900001"
    assert decision.recipient == "dsl.900001@school.example"
    assert decision.from_agency.code == "LA344"
    assert decision.made_by is None and decision.made_by_name == "safehub: Operation Encompass"
    assert decision.object_type == "encompass.encompassnotice"
    assert decision.object_id == str(EncompassNotice.objects.get(contact=amy).pk)
    # The example says consent was not sought: not required, a child at risk.
    assert decision.consent == Consent.NOT_REQUIRED
    assert decision.fields and decision.reason.strip()


def test_the_csv_export_never_hands_a_spreadsheet_a_formula(wirral, client, make_user):
    import csv
    import io

    from django.db import transaction
    from django.urls import reverse

    from safehub.sharing.services import sharing_record

    with transaction.atomic():
        sharing_record(**decision_kwargs(reason='=HYPERLINK("http://x.example","open me")'))
    client.force_login(make_user("audrey", "LA344", "auditor"))
    response = client.get(reverse("sharing:decision_export"))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["reason"] for r in rows] == ['\'=HYPERLINK("http://x.example","open me")']

"""What the dashboard keeps beside the records so that a council's figures are index ranges
(docs/dashboard.md, "Scale"): each contact's child's exact-match key (re-referrals), and each
assessment's and section 47 enquiry's council (the episode's). Kept right on every write, and
filled in by the migrations for the rows there were."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from safehub.casework.models import Assessment, CaseEpisode, Section47
from safehub.core.testing import example_bytes, migrate_to
from safehub.intake.keys import person_key
from safehub.referrals.models import Contact, contact_child_key

UTC = dt.UTC
AT = dt.datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def _key(given: str, family: str, born: dt.date) -> str:
    return person_key(given_names=given, family_name=family, date_of_birth=born)


@pytest.mark.django_db
def test_a_contacts_child_key_follows_its_names_and_date_of_birth(build):
    amy = build.contact(received=AT, given="Amy", family="Example", dob=dt.date(2017, 6, 11))
    assert amy.child_key == _key("Amy", "Example", dt.date(2017, 6, 11))
    # Case, accents and spaces make no other child (as the notifications' person keys).
    assert amy.child_key == contact_child_key("  AMY ", "Éxample", dt.date(2017, 6, 11))
    amy.family_name = "Smith"
    amy.save(update_fields=["family_name"])
    amy.refresh_from_db()
    assert amy.child_key == _key("Amy", "Smith", dt.date(2017, 6, 11))
    amy.date_of_birth = None
    amy.save()
    amy.refresh_from_db()
    assert amy.child_key == ""


@pytest.mark.django_db
def test_contacts_opened_from_a_notification_carry_their_childs_key():
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive

    notification_receive(raw=example_bytes("notification-high-risk.json"), channel=Channel.API)
    contacts = list(Contact.objects.all())
    assert contacts
    for c in contacts:
        assert c.child_key == contact_child_key(c.given_names, c.family_name, c.date_of_birth)
        assert c.child_key or c.date_of_birth is None


@pytest.mark.django_db
def test_an_assessment_and_an_enquiry_take_their_episodes_council(build, make_user):
    contact = build.contact(received=AT)
    manager = make_user("mary", build.wirral.code)
    episode = CaseEpisode.objects.create(
        contact=contact,
        local_authority=build.wirral,
        referral_date=AT.date(),
        referral_source="6",
        opened_at=AT,
        opened_by=manager,
    )
    assessment = Assessment.objects.create(episode=episode, started_on=AT.date())
    enquiry = Section47.objects.create(
        episode=episode, started_on=AT.date(), icpc_target=AT.date() + dt.timedelta(days=21)
    )
    assert assessment.local_authority == build.wirral
    assert enquiry.local_authority == build.wirral
    assert Assessment.objects.filter(local_authority=build.wirral).count() == 1


# --- The migrations fill in what was there --------------------------------------------------

BEFORE = [("referrals", "0010_dashboard_indexes"), ("casework", "0002_dashboard_indexes")]


@pytest.mark.django_db(transaction=True)
def test_the_migrations_fill_in_the_keys_and_councils_of_existing_rows():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old = migrate_to(BEFORE).loader.project_state(BEFORE).apps
        agency = old.get_model("accounts", "Agency").objects.create(
            kind="children_services", code="LA344", name="Wirral", la_code="344"
        )
        user = old.get_model("accounts", "User").objects.create(username="mary", agency=agency)
        contacts = old.get_model("referrals", "Contact").objects
        common = {
            "local_authority": agency,
            "routing": "routed",
            "received_at": AT,
            "referral_source": "6",
        }
        amy = contacts.create(
            child_ref="C1",
            given_names="Amy",
            family_name="Example",
            date_of_birth=dt.date(2017, 6, 11),
            **common,
        )
        contacts.create(child_ref="C2", given_names="Kai", family_name="Nodob", **common)
        episode = old.get_model("casework", "CaseEpisode").objects.create(
            contact=amy,
            local_authority=agency,
            referral_date=AT.date(),
            referral_source="6",
            opened_at=AT,
            opened_by=user,
        )
        old.get_model("casework", "Assessment").objects.create(
            episode=episode, started_on=AT.date()
        )
        old.get_model("casework", "Section47").objects.create(
            episode=episode, started_on=AT.date(), icpc_target=AT.date()
        )
        migrate_to(leaves)
        keys = dict(Contact.objects.values_list("child_ref", "child_key"))
        assert keys == {"C1": _key("Amy", "Example", dt.date(2017, 6, 11)), "C2": ""}
        assert list(Assessment.objects.values_list("local_authority_id", flat=True)) == [agency.pk]
        assert list(Section47.objects.values_list("local_authority_id", flat=True)) == [agency.pk]
    finally:
        migrate_to(leaves)

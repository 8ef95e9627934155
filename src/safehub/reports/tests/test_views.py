"""Who sees which dashboard: a council's people their council only, a force's analyst the
councils its notices reached, the national view counts with no child and no drill-down, and the
contacts behind a number only for people who may open them. Every page and download audited."""

import csv
import io

import pytest
from django.test import Client

from safehub.audit.models import AuditEvent
from safehub.reports.tests.conftest import at

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def records(build, now):
    """Wirral: Amy (red, from a Merseyside notification); Liverpool: Bob (amber, from a
    Cheshire notification) and Cara (green, Merseyside)."""
    msp = build.notification(occurred=at(20, 0), recorded=at(20, 1), received=at(20, 2))
    chs = build.notification(
        force=build.chs, occurred=at(21, 0), recorded=at(21, 1), received=at(21, 2)
    )
    msp2 = build.notification(occurred=at(22, 0), recorded=at(22, 1), received=at(22, 2))
    amy = build.contact(received=at(20, 2), rag="red", notification=msp, given="Amy")
    bob = build.contact(
        council=build.liverpool, received=at(21, 2), notification=chs, given="Bob", rag="amber"
    )
    cara = build.contact(
        council=build.liverpool, received=at(22, 2), notification=msp2, given="Cara", rag="green"
    )
    return {"amy": amy, "bob": bob, "cara": cara}


def test_a_council_manager_sees_their_council_and_follows_a_number_to_its_contacts(records, build):
    client = client_for(build.manager)
    before = AuditEvent.objects.filter(user=build.manager).count()
    page = client.get("/reports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Performance: Wirral" in text
    assert "Liverpool" not in text
    assert "/reports/contacts/?figure=rag&amp;measure=red" in text
    assert "Amy" not in text  # the dashboard itself names no child
    listed = client.get(
        "/reports/contacts/",
        {"figure": "rag", "measure": "contacts", "period": "30"},
    )
    assert listed.status_code == 200
    body = listed.content.decode()
    assert "Amy Example" in body and "Bob" not in body and "Cara" not in body
    # Asking for Liverpool's contacts from Wirral's dashboard lists none.
    other = client.get(
        "/reports/contacts/", {"figure": "rag", "measure": "contacts", "council": "341"}
    )
    assert "Bob" not in other.content.decode()
    assert "0 contacts" in other.content.decode()
    events = AuditEvent.objects.filter(user=build.manager).order_by("id")[before:]
    assert [e.object_type for e in events] == [
        "reports.dashboard",
        "reports.contacts",
        "reports.contacts",
    ]
    assert events[1].detail["shown"] == [str(records["amy"].pk)]


def test_an_unknown_figure_or_measure_is_not_found(records, build):
    client = client_for(build.manager)
    assert client.get("/reports/contacts/", {"figure": "nope"}).status_code == 404
    assert client.get("/reports/contacts/", {"figure": "rag", "measure": "x"}).status_code == 404
    assert client.get("/reports/contacts/", {"figure": "attendance"}).status_code == 404
    assert client.get("/reports/csv/", {"figure": "nope"}).status_code == 404


def test_an_analyst_reads_the_figures_but_not_the_contacts_behind_them(records, make_user):
    analyst = make_user("ana", "LA344", "analyst")
    client = client_for(analyst)
    text = client.get("/reports/").content.decode()
    assert "Performance: Wirral" in text
    assert "/reports/contacts/" not in text
    assert client.get("/reports/contacts/").status_code == 403


def test_a_social_worker_has_no_dashboard(records, build):
    client = client_for(build.worker)
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/national/").status_code == 403
    assert client.get("/reports/csv/").status_code == 403


def test_a_force_analyst_sees_the_councils_its_notices_reached(records, make_user):
    analyst = make_user("fiona", "MSP", "analyst")
    client = client_for(analyst)
    page = client.get("/reports/")
    text = page.content.decode()
    assert "Performance: Merseyside Police" in text
    assert "Wirral" in text and "Liverpool" in text
    assert "/reports/contacts/" not in text  # an analyst: no contact.view
    rows = list(
        csv.reader(io.StringIO(client.get("/reports/csv/", {"figure": "rag"}).content.decode()))
    )
    by_council = {row[0]: row for row in rows[2:]}
    # Merseyside's children only: Amy in Wirral, Cara in Liverpool; Cheshire's Bob is not.
    assert by_council["Wirral children's services"][1] == "1"
    assert by_council["Liverpool children's services"][1] == "1"
    assert by_council["Total"][1] == "2"


def test_the_national_view_has_counts_only(records, build, make_user):
    head = make_user("hazel", "LA344", "head_of_service")
    client = client_for(head)
    page = client.get("/reports/national/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "National performance" in text
    assert "Wirral" in text and "Liverpool" in text and "Cheshire" in text
    assert "/reports/contacts/" not in text  # no drill-down, though she may open contacts
    for name in ("Amy", "Bob", "Cara", "Example"):
        assert name not in text
    rows = list(
        csv.reader(
            io.StringIO(client.get("/reports/national/csv/", {"figure": "rag"}).content.decode())
        )
    )
    assert rows[-1][:2] == ["Total", "3"]
    assert AuditEvent.objects.filter(user=head, object_type="reports.rag", action="export").exists()
    assert client_for(build.manager).get("/reports/national/").status_code == 403


def test_a_csv_download_is_audited_and_formula_safe(records, build):
    client = client_for(build.manager)
    response = client.get("/reports/csv/", {"figure": "screening", "period": "7"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1][0] == "Council" and rows[-1][0] == "Total"
    event = AuditEvent.objects.filter(user=build.manager, action="export").get()
    assert event.object_type == "reports.screening"
    assert event.detail["rows"] == len(rows) - 2


def test_the_period_can_be_chosen_with_dates(records, build):
    client = client_for(build.manager)
    chosen = {
        "period": "custom",
        "start_day": "21",
        "start_month": "11",
        "start_year": "2026",
        "end_day": "24",
        "end_month": "11",
        "end_year": "2026",
    }
    text = client.get("/reports/", chosen).content.decode()
    assert "From 21 November 2026 to 24 November 2026 (4 days)" in text
    wrong = client.get("/reports/", {**chosen, "end_day": "20"})
    assert wrong.status_code == 200
    body = wrong.content.decode()
    assert "There is a problem" in body
    assert "The end date must be the same as or after the start date" in body
    assert "<title>Error: " in body
    bad = client.get("/reports/", {**chosen, "start_month": "13"}).content.decode()
    assert "The start date must be a real date" in bad

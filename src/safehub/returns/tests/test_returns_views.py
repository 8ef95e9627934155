"""The statutory returns page: who may reach it, whose returns it gives (the asker's own council's,
whatever they ask), and every download recorded with the file's SHA-256.

The records are those of test_annex_a (Wirral, LA344, and a little of Liverpool, LA341); the
clock stands on 1 December 2026."""

import datetime as dt
import hashlib
import io

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from safehub.audit.models import Action, AuditEvent
from safehub.core import clock
from safehub.returns.tests.test_annex_a import AFTER, build_world

URL = "/returns/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def world(make_user):
    world = build_world(make_user)
    with clock.frozen(AFTER):
        yield world


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def annex_a(client, start="2026-06-01", end="2026-11-30"):
    return client.get(URL, {"download": "annex-a", "start": start, "end": end})


def sheets_of(response) -> dict[str, int]:
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return {sheet.title: sheet.max_row - 1 for sheet in book.worksheets}


def exports(user, object_type="returns.annex_a"):
    return AuditEvent.objects.filter(user=user, action=Action.EXPORT, object_type=object_type)


def test_the_page_is_at_returns():
    assert reverse("returns:index") == URL


@pytest.mark.django_db
def test_it_sends_nobody_to_the_sign_in_page(world):
    response = Client().get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "agency"),
    [
        ("hub_social_worker", "LA344"),
        ("auditor", "LA344"),
        ("administrator", "LA344"),
        ("police_hub_officer", "MSP"),
        ("health_practitioner", "RY7"),
        ("education_safeguarding_lead", "URN900001"),
    ],
)
def test_it_refuses_roles_without_the_returns(world, make_user, role, agency):
    user = make_user(f"no{role.replace('_', '')}", agency, role)
    client = client_for(user)
    assert client.get(URL).status_code == 403
    response = annex_a(client)
    assert response.status_code == 403
    assert not exports(user).exists()


@pytest.mark.django_db
def test_a_manager_of_a_force_has_no_council_to_return_for(world, make_user):
    user = make_user("forcemanager", "MSP", "hub_manager")
    assert annex_a(client_for(user)).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["hub_manager", "head_of_service", "analyst"])
def test_the_page_offers_both_returns_and_is_audited(world, make_user, role):
    user = make_user(f"who{role.replace('_', '')}", "LA344", role)
    response = client_for(user).get(URL)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Download Annex A" in text and "Download the CIN census" in text
    # The six months to today, and the census year just ended, are chosen already.
    assert 'value="2026-06-01"' in text and 'value="2026-12-01"' in text
    assert "1 April 2025 to 31 March 2026" in text
    assert AuditEvent.objects.filter(
        user=user, action=Action.VIEW, object_type="returns.index", object_id="LA344"
    ).exists()


@pytest.mark.django_db
def test_annex_a_is_downloaded_and_the_download_recorded_with_its_digest(world, make_user):
    analyst = make_user("anna", "LA344", "analyst")
    response = annex_a(client_for(analyst))
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert response["Content-Disposition"] == (
        'attachment; filename="annex-a-344-2026-06-01-to-2026-11-30.xlsx"'
    )
    assert response["Cache-Control"] == "no-store"
    content = b"".join(response.streaming_content)
    [event] = exports(analyst)
    assert event.object_id == "LA344"
    assert event.purpose == "Ofsted inspection: Annex A lists"
    assert event.detail["sha256"] == hashlib.sha256(content).hexdigest()
    assert event.detail["rows"] == {"List 1": 7, "List 3": 3, "List 4": 3, "List 5": 1}
    assert (event.detail["start"], event.detail["end"]) == ("2026-06-01", "2026-11-30")
    assert event.detail["file"] == "annex-a-344-2026-06-01-to-2026-11-30.xlsx"
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["List 1", "List 3", "List 4", "List 5"]


@pytest.mark.django_db
def test_another_councils_manager_gets_only_their_own_councils_lists(world, make_user):
    lena = make_user("lena", "LA341", "hub_manager")
    response = annex_a(client_for(lena))
    assert response.status_code == 200
    assert "annex-a-341-" in response["Content-Disposition"]
    assert sheets_of(response) == {"List 1": 2, "List 3": 0, "List 4": 0, "List 5": 0}
    [event] = exports(lena)
    assert event.object_id == "LA341"


@pytest.mark.django_db
def test_a_council_cannot_be_chosen_in_the_address(world, make_user):
    lena = make_user("lena", "LA341", "hub_manager")
    response = client_for(lena).get(
        URL,
        {
            "download": "annex-a",
            "start": "2026-06-01",
            "end": "2026-11-30",
            "council": "LA344",
            "la": "344",
        },
    )
    assert sheets_of(response)["List 1"] == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "end", "field", "message"),
    [
        ("2026-11-30", "2026-06-01", "end", "The period must end on or after the day it starts"),
        ("2025-01-01", "2026-06-01", "end", "A period is at most 366 days"),
        ("", "2026-06-01", "start", "Enter from"),
        ("2027-01-01", "2027-02-01", "start", "The period cannot start in the future"),
    ],
)
def test_a_wrong_period_is_shown_in_an_error_summary_and_nothing_is_given(
    world, make_user, start, end, field, message
):
    manager = make_user("boss", "LA344", "hub_manager")
    response = annex_a(client_for(manager), start, end)
    assert response.status_code == 422
    text = response.content.decode()
    assert "govuk-error-summary" in text
    assert f'href="#id_{field}"' in text
    assert message in text
    assert not exports(manager).exists()


@pytest.mark.django_db
def test_the_cin_census_is_downloaded_for_a_year(world, make_user):
    manager = make_user("boss", "LA344", "hub_manager")
    response = client_for(manager).get(URL, {"download": "cin-census", "census-year": "2027"})
    assert response.status_code == 200, response.content.decode()[:2000]
    assert response["Content-Type"] == "application/xml"
    assert "cin-census-344-2027.xml" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    assert b"<LEA>344</LEA>" in content
    [event] = exports(manager, "returns.cin_census")
    assert event.detail["sha256"] == hashlib.sha256(content).hexdigest()


@pytest.mark.django_db
def test_a_census_with_errors_is_not_given_and_its_problems_are_listed(world, make_user):
    from safehub.casework.models import Section47

    # A conference on a Saturday (the form refuses one; an import might not).
    s47 = Section47.objects.get(episode=world.episodes["sam2"])
    Section47.objects.filter(pk=s47.pk).update(icpc_on=dt.date(2026, 10, 3))
    manager = make_user("boss", "LA344", "hub_manager")
    response = client_for(manager).get(URL, {"download": "cin-census", "census-year": "2027"})
    assert response.status_code == 422
    assert "Content-Disposition" not in response
    text = response.content.decode()
    assert "govuk-error-summary" in text
    assert "no file was given" in text
    assert f"Rule 8875, child {world.episodes['sam2'].child_id}" in text
    assert not exports(manager, "returns.cin_census").exists()


@pytest.mark.django_db
def test_a_census_year_not_offered_is_refused(world, make_user):
    manager = make_user("boss", "LA344", "hub_manager")
    response = client_for(manager).get(URL, {"download": "cin-census", "census-year": "2031"})
    assert response.status_code == 422
    assert 'href="#id_census-year"' in response.content.decode()

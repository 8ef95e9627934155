"""Ofsted's Annex A, read back with openpyxl: the four lists, their columns, and exactly the rows
of the period, each value coded as the template's dropdowns code it.

The world (Wirral, LA344; the period 1 June to 30 November 2026):

- a contact received at 00:10 on 1 June (London; 23:10 UTC on 31 May) is in the period, one at
  23:30 on 31 May is not; the first is a referral closed with no further action;
- Sam Jones (born 2 March 2015) was referred in December 2025 (an assessment, a section 47
  enquiry and a conference then), again in July 2026 (an assessment authorised in August) and in
  September 2026 (as "SAM  jones": the same child; an assessment still open, an enquiry and a
  conference that made a plan);
- Olive Green's assessment started in April and was authorised in June;
- the spec's two-authorities notification (23 November): Ravi and an unborn child in Wirral,
  Maya in Liverpool; the high-risk notification (24 November): Amy and Leo, in Wirral;
- a Liverpool contact in August, which Wirral's lists never show.
"""

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from openpyxl import load_workbook

from safehub.core import clock
from safehub.core.errors import DomainError
from safehub.core.testing import example_bytes
from safehub.returns.annex_a import (
    LIST_1,
    LIST_3,
    LIST_4,
    LIST_5,
    SHEETS,
    age_in_years,
    annex_a_bytes,
    annex_a_write,
    contact_child_id,
)

START = dt.date(2026, 6, 1)
END = dt.date(2026, 11, 30)
AFTER = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@dataclass
class World:
    council: Any
    liverpool: Any
    contacts: dict[str, Any]
    episodes: dict[str, Any]
    alice: Any
    mary: Any


def build_world(make_user: Any) -> World:
    """The records of the module's docstring, made with the front door's and casework's services.
    Runs in one transaction of its own (so that it works in a live-server test too)."""
    from safehub.accounts.models import Agency
    from safehub.casework.models import CaseEpisode
    from safehub.casework.services import (
        assessment_authorise,
        child_details_update,
        enquiry_start,
        episode_ensure,
        icpc_record,
    )
    from safehub.intake.models import Channel
    from safehub.intake.services import notification_receive
    from safehub.referrals.decisions import contact_reassign
    from safehub.referrals.models import Contact
    from safehub.referrals.services import contact_create_manual

    alice = make_user("alice", "LA344", "hub_social_worker")
    mary = make_user("mary", "LA344", "hub_manager", last_name="Manager")
    bob = make_user("bob", "LA341", "hub_social_worker")
    contacts: dict[str, Any] = {}
    episodes: dict[str, Any] = {}

    def manual(name: str, at: dt.datetime, by: Any = alice, **child: Any) -> Any:
        given, family = child.pop("names")
        with clock.frozen(at), transaction.atomic():
            contact = contact_create_manual(
                created_by=by,
                referral_source=child.pop("source"),
                referrer_name="A caller",
                referrer_organisation="",
                referrer_contact="",
                reason="Worried about the child.",
                given_names=given,
                family_name=family,
                date_of_birth=child.pop("born", None),
                age_estimate=None,
                sex=child.pop("sex", ""),
                address_line1="",
                town="",
                postcode="",
                school_urn="",
            )
        contacts[name] = contact
        return contact

    def refer(name: str, at: dt.datetime, *, assessment: bool = True) -> Any:
        with clock.frozen(at), transaction.atomic():
            episode = episode_ensure(contact=contacts[name], by=mary, start_assessment=assessment)
        episodes[name] = episode
        return episode

    def allocate(name: str, at: dt.datetime) -> None:
        with clock.frozen(at), transaction.atomic():
            contact_reassign(contact=contacts[name], to_user=alice, by=mary, reason="Hers.")

    def authorise(name: str, at: dt.datetime, **fields: Any) -> None:
        with clock.frozen(at), transaction.atomic():
            assessment_authorise(
                assessment=episodes[name].assessments.get(),
                by=mary,
                authorised_on=at.date(),
                factors=["3A"],
                **fields,
            )

    def enquiry(name: str, started_on: dt.date, icpc_on: dt.date, led_to_plan: bool) -> None:
        with clock.frozen(utc(icpc_on.year, icpc_on.month, icpc_on.day, 16)):
            with transaction.atomic():
                s47 = enquiry_start(
                    contact=contacts[name],
                    discussion=None,
                    by=mary,
                    started_on=started_on,
                    icpc_target=icpc_on,
                )
            with transaction.atomic():
                icpc_record(
                    enquiry=s47,
                    by=mary,
                    icpc_on=icpc_on,
                    not_required=False,
                    led_to_plan=led_to_plan,
                )

    def details(name: str, ethnicity: str, disabilities: list[str]) -> None:
        with clock.frozen(AFTER), transaction.atomic():
            child_details_update(
                episode=episodes[name],
                by=mary,
                upn="",
                upn_unknown="",
                ethnicity=ethnicity,
                disabilities=disabilities,
            )

    # The edges of the period, in London time (British Summer Time: UTC+1).
    manual("before", utc(2026, 5, 31, 22, 30), names=("Early", "Bird"), source="1A")
    manual("midnight", utc(2026, 5, 31, 23, 10), names=("Midnight", "Child"), source="9")
    refer("midnight", utc(2026, 6, 1, 9), assessment=False)
    # No service records an NFA referral yet (the census export reads the flag): set it here.
    CaseEpisode.objects.filter(pk=episodes["midnight"].pk).update(referral_nfa=True)

    # Sam: three referrals, the first before the period.
    sam = {"sex": "M", "born": dt.date(2015, 3, 2)}
    manual("sam0", utc(2025, 12, 1, 10), names=("Sam", "Jones"), source="2A", **sam)
    refer("sam0", utc(2025, 12, 1, 11))
    enquiry("sam0", dt.date(2025, 12, 2), dt.date(2025, 12, 19), led_to_plan=False)
    authorise("sam0", utc(2026, 1, 9, 12), child_seen_on=dt.date(2025, 12, 3), needs_support=False)

    manual("sam1", utc(2026, 7, 10, 9), names=("SAM ", " jones"), source="2A", **sam)
    allocate("sam1", utc(2026, 7, 10, 9, 30))
    refer("sam1", utc(2026, 7, 10, 10))
    details("sam1", "WBRI", ["NONE"])
    authorise("sam1", utc(2026, 8, 20, 12), child_seen_on=dt.date(2026, 7, 15), needs_support=True)

    manual("sam2", utc(2026, 9, 15, 8), names=("Sam", "Jones"), source="3A", **sam)
    allocate("sam2", utc(2026, 9, 15, 8, 30))
    refer("sam2", utc(2026, 9, 15, 10))
    details("sam2", "WBRI", ["AUT"])
    enquiry("sam2", dt.date(2026, 9, 16), dt.date(2026, 10, 5), led_to_plan=True)

    # Olive: referred before the period, her assessment authorised in it.
    manual("olive", utc(2026, 4, 20, 9), names=("Olive", "Green"), source="3B", sex="F",
           born=dt.date(2019, 5, 5))  # fmt: skip
    refer("olive", utc(2026, 4, 20, 10))
    authorise("olive", utc(2026, 6, 10, 12), child_seen_on=None, needs_support=False)

    # Liverpool's.
    manual("liverpool", utc(2026, 8, 1, 9), by=bob, names=("Other", "Council"), source="2A")

    # Police notifications.
    for body, at in (
        ("notification-two-authorities.json", utc(2026, 11, 23, 10)),
        ("notification-high-risk.json", utc(2026, 11, 24, 9)),
    ):
        with clock.frozen(at), transaction.atomic():
            notification = notification_receive(
                raw=example_bytes(body), channel=Channel.IMPORT
            ).notification
        for contact in Contact.objects.filter(notification=notification):
            contacts[contact.given_names.lower()] = contact

    return World(
        council=Agency.objects.get(code="LA344"),
        liverpool=Agency.objects.get(code="LA341"),
        contacts=contacts,
        episodes=episodes,
        alice=alice,
        mary=mary,
    )


@pytest.fixture
def world(make_user) -> World:
    return build_world(make_user)


def read(data: bytes) -> dict[str, list[list[Any]]]:
    """Each sheet's rows (header first), dates as dates."""
    book = load_workbook(io.BytesIO(data))
    sheets = {}
    for sheet in book.worksheets:
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([v.date() if isinstance(v, dt.datetime) else v for v in row])
        sheets[sheet.title] = rows
    return sheets


def by_id(rows: list[list[Any]]) -> dict[str, list[list[Any]]]:
    found: dict[str, list[list[Any]]] = {}
    for row in rows[1:]:
        found.setdefault(row[0], []).append(row)
    return found


def export(world: World, start: dt.date = START, end: dt.date = END) -> Any:
    with clock.frozen(AFTER):
        data, summary = annex_a_bytes(world.council, start, end)
    return read(data), summary


# --- The workbook ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_workbook_has_the_four_lists_with_ofsteds_column_names(world):
    sheets, _ = export(world)
    assert list(sheets) == ["List 1", "List 3", "List 4", "List 5"]
    assert sheets["List 1"][0] == [
        "Child Unique ID",
        "Gender",
        "Ethnicity",
        "Date of Birth",
        "Age of Child (Years)",
        "Date of Contact",
        "Contact Source",
    ]
    assert sheets["List 1"][0] == list(LIST_1)
    assert sheets["List 3"][0] == list(LIST_3)
    assert sheets["List 4"][0] == list(LIST_4)
    assert sheets["List 5"][0] == list(LIST_5)
    assert LIST_3[5:] == (
        "Date of referral",
        "Referral Source",
        "Referral NFA?",
        "Number of Referrals in Last 12 Months",
        "Allocated Team",
        "Allocated Worker",
    )
    assert LIST_5[5:9] == (
        "Does the Child have a Disability",
        "Strategy discussion initiating Section 47 Enquiry Start Date",
        "Was an Initial Child Protection Conference deemed unnecessary?",
        "Date of Initial Child Protection Conference",
    )


@pytest.mark.django_db
def test_list_1_has_one_row_per_contact_received_in_the_period(world):
    sheets, summary = export(world)
    c = world.contacts
    e = world.episodes
    rows = sheets["List 1"][1:]
    # Received order; London days; Wirral's only; the withdrawn and Liverpool's left out.
    assert rows == [
        [e["midnight"].child_id, "c) Not stated/recorded", "t) NOBT", None, None,
         dt.date(2026, 6, 1), "t) 9: Anonymous"],
        [e["sam1"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11,
         dt.date(2026, 7, 10), "e) 2A: Schools"],
        [e["sam2"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11,
         dt.date(2026, 9, 15), "g) 3A: Health services"],
        [contact_child_id(c["ravi"].pk), "a) Male", "t) NOBT", dt.date(2015, 3, 3), 11,
         dt.date(2026, 11, 23), "q) 6: Police"],
        [contact_child_id(c["unborn"].pk), "c) Not stated/recorded", "t) NOBT", None, None,
         dt.date(2026, 11, 23), "q) 6: Police"],
        [contact_child_id(c["amy"].pk), "b) Female", "t) NOBT", dt.date(2017, 6, 11), 9,
         dt.date(2026, 11, 24), "q) 6: Police"],
        [contact_child_id(c["leo"].pk), "a) Male", "t) NOBT", dt.date(2024, 1, 20), 2,
         dt.date(2026, 11, 24), "q) 6: Police"],
    ]  # fmt: skip
    assert summary.contacts == 7
    assert c["maya"].local_authority.code == "LA341"


@pytest.mark.django_db
def test_list_3_has_one_row_per_referral_with_the_childs_earlier_referrals(world):
    sheets, summary = export(world)
    e = world.episodes
    team = world.council.name
    assert sheets["List 3"][1:] == [
        # No date of birth: matched to no one, and no worker was allocated.
        [e["midnight"].child_id, "c) Not stated/recorded", "t) NOBT", None, None,
         dt.date(2026, 6, 1), "t) 9: Anonymous", "a) Yes", 0, team, None],
        # Sam's December referral counts for July; December's and July's for September.
        [e["sam1"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11,
         dt.date(2026, 7, 10), "e) 2A: Schools", "b) No", 1, team, "Alice"],
        [e["sam2"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11,
         dt.date(2026, 9, 15), "g) 3A: Health services", "b) No", 2, team, "Alice"],
    ]  # fmt: skip
    assert summary.referrals == 3


@pytest.mark.django_db
def test_list_4_has_the_assessments_in_progress_or_completed_in_the_period(world):
    sheets, summary = export(world)
    e = world.episodes
    team = world.council.name
    assert sheets["List 4"][1:] == [
        # Started before the period, authorised in it; disability not recorded: unknown.
        [e["olive"].child_id, "b) Female", "t) NOBT", dt.date(2019, 5, 5), 7, "c) Unknown",
         dt.date(2026, 4, 20), "b) No", dt.date(2026, 6, 10), "b) No", team, None],
        [e["sam1"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11, "b) No",
         dt.date(2026, 7, 10), "a) Yes", dt.date(2026, 8, 20), "a) Yes", team, "Alice"],
        # Still open: no authorisation, no outcome yet.
        [e["sam2"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11, "a) Yes",
         dt.date(2026, 9, 15), "b) No", None, None, team, "Alice"],
    ]  # fmt: skip
    assert summary.assessments == 3


@pytest.mark.django_db
def test_list_5_has_one_row_per_enquiry_with_the_childs_earlier_enquiries_and_conferences(world):
    sheets, summary = export(world)
    e = world.episodes
    assert sheets["List 5"][1:] == [
        [e["sam2"].child_id, "a) Male", "a) WBRI", dt.date(2015, 3, 2), 11, "a) Yes",
         dt.date(2026, 9, 16), "b) No", dt.date(2026, 10, 5), "a) Yes", 1, 1,
         world.council.name, "Alice"],
    ]  # fmt: skip
    assert summary.enquiries == 1
    assert summary.rows == {"List 1": 7, "List 3": 3, "List 4": 3, "List 5": 1}


@pytest.mark.django_db
def test_the_lists_show_the_records_as_they_stood_at_the_end_of_the_period(world):
    sheets, summary = export(world, START, dt.date(2026, 8, 15))
    e = world.episodes
    list_4 = by_id(sheets["List 4"])
    # Authorised on 20 August: open on 15 August, its outcome not yet known.
    [sam1] = list_4[e["sam1"].child_id]
    assert sam1[7:10] == ["a) Yes", None, None]
    assert e["sam2"].child_id not in list_4
    assert summary.rows == {"List 1": 2, "List 3": 2, "List 4": 2, "List 5": 0}
    # Ages at the end of that period: Sam turned 11 in March.
    assert sam1[4] == 11


@pytest.mark.django_db
def test_the_earlier_referral_and_enquiry_fall_in_their_own_period(world):
    sheets, summary = export(world, dt.date(2025, 12, 1), dt.date(2025, 12, 31))
    e = world.episodes
    assert summary.rows == {"List 1": 1, "List 3": 1, "List 4": 1, "List 5": 1}
    [row] = sheets["List 5"][1:]
    assert row[0] == e["sam0"].child_id
    assert row[4] == 10  # at 31 December 2025
    assert row[6:12] == [dt.date(2025, 12, 2), "b) No", dt.date(2025, 12, 19), "b) No", 0, 0]


@pytest.mark.django_db
def test_dates_are_real_excel_dates_shown_day_month_year(world):
    with clock.frozen(AFTER):
        data, _ = annex_a_bytes(world.council, START, END)
    sheet = load_workbook(io.BytesIO(data))["List 1"]
    cell = sheet["F2"]
    assert cell.is_date
    assert cell.number_format.lower() == "dd/mm/yyyy"
    assert sheet["D3"].is_date and sheet["D3"].number_format.lower() == "dd/mm/yyyy"
    assert sheet["A1"].font.bold


@pytest.mark.django_db
def test_another_councils_lists_hold_only_its_own_children(world):
    with clock.frozen(AFTER):
        data, summary = annex_a_bytes(world.liverpool, START, END)
    sheets = read(data)
    # Maya (from the two-authorities notification) and the August contact.
    assert summary.rows == {"List 1": 2, "List 3": 0, "List 4": 0, "List 5": 0}
    wirral_ids = {row[0] for row in export(world)[0]["List 1"][1:]}
    assert not wirral_ids & {row[0] for row in sheets["List 1"][1:]}


@pytest.mark.django_db
def test_write_puts_the_workbook_at_the_path_with_its_digest(world, tmp_path):
    import hashlib

    path = tmp_path / "annex-a.xlsx"
    with clock.frozen(AFTER):
        summary = annex_a_write(world.council, START, END, path)
    assert summary.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert summary.la_code == "344" and (summary.start, summary.end) == (START, END)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert list(read(path.read_bytes())) == list(SHEETS)
    assert not list(tmp_path.glob(".*partial"))


@pytest.mark.django_db
def test_a_period_that_ends_before_it_starts_is_refused_and_nothing_is_written(world, tmp_path):
    path = tmp_path / "annex-a.xlsx"
    with pytest.raises(DomainError, match=r"^end: "):
        annex_a_write(world.council, END, START, path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db
def test_only_a_council_has_annex_a_lists(world, tmp_path):
    from safehub.accounts.models import Agency

    force = Agency.objects.get(code="MSP")
    with pytest.raises(DomainError, match=r"^council: "):
        annex_a_bytes(force, START, END)


@pytest.mark.django_db
def test_a_worker_name_is_never_written_as_a_formula(world):
    world.alice.first_name = '=HYPERLINK("http://x")'
    world.alice.save()
    with clock.frozen(AFTER):
        data, _ = annex_a_bytes(world.council, START, END)
    sheet = load_workbook(io.BytesIO(data))["List 3"]
    cell = sheet["K3"]
    assert cell.value == '=HYPERLINK("http://x")'
    assert cell.data_type == "s"


def test_age_is_in_whole_years_at_the_day():
    born = dt.date(2015, 3, 2)
    assert age_in_years(born, dt.date(2026, 3, 1)) == 10
    assert age_in_years(born, dt.date(2026, 3, 2)) == 11
    assert age_in_years(dt.date(2016, 2, 29), dt.date(2026, 2, 28)) == 9
    assert age_in_years(dt.date(2016, 2, 29), dt.date(2026, 3, 1)) == 10
    assert age_in_years(None, dt.date(2026, 3, 1)) is None
    assert age_in_years(dt.date(2027, 1, 1), dt.date(2026, 3, 1)) is None


def test_a_contacts_child_id_is_stable_and_shaped_like_an_episodes():
    import uuid

    pk = uuid.UUID("0f8e2c1a-9b7d-4c3e-8a21-5d6f7e8a9b0c")
    assert contact_child_id(pk) == "C0F8E2C1A9B7" == contact_child_id(str(pk))
    assert len(contact_child_id(pk)) == 12 and contact_child_id(pk).isalnum()

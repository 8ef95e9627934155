"""The CIN census built from casework recorded through the services, read back from the XML: it
validates against the DfE schema, and holds exactly the children, referrals and dates of the
census year, as they stood on its reference date.

The world (Wirral, LA344; the census year 2026: 1 April 2025 to 31 March 2026; written on
1 June 2026):

- Ava, referred on 20 March 2025, before the year: her assessment was authorised on 10 April
  2025 (domestic abuse and neglect found) and her referral closed on 1 May 2025 (RC7);
- Ben, referred on 2 June 2025: an assessment, a section 47 enquiry from 3 June, a conference on
  Friday 20 June that made a plan (neglect, one previous plan), a review on 15 September, a
  children in need plan before all that, from 5 June to 19 June, ended by hand;
- Cara, referred on 20 March 2026: her assessment, authorised on 15 April 2026, and her closure on
  20 April 2026 came after the year: the census shows both open;
- an unborn child, referred on 2 March 2026, expected on 1 July 2026;
- Dan, closed on 1 March 2025, and Eve, referred on 2 April 2026: outside the year;
- a Liverpool child, never in Wirral's census.
"""

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from lxml import etree

from safehub.accounts.models import Agency
from safehub.casework.models import CaseEpisode, CINPlan
from safehub.casework.services import (
    assessment_authorise,
    child_details_update,
    cin_plan_start,
    enquiry_start,
    episode_close,
    episode_ensure,
    icpc_record,
    plan_start,
)
from safehub.core import clock
from safehub.referrals.models import Contact, Routing
from safehub.returns.census import (
    SCHEMA_PATH,
    census_check,
    census_schema,
    census_write,
    sex_element,
)
from safehub.returns.census_rules import CensusPeriod

pytestmark = pytest.mark.django_db

YEAR = 2026
WRITTEN_AT = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
XSD_SHA256 = "9327b3e2deb166108cfa33f87e4af773ac9b14cdd6ebf4dffbd2c7a34f1490dd"


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@dataclass
class Casework:
    """Records a council's casework through the casework services, each act on its own day."""

    by: Any

    def contact(
        self,
        name: str,
        received: dt.date,
        *,
        council: str = "LA344",
        born: dt.date | None = dt.date(2016, 5, 4),
        sex: str = "F",
        unborn: bool = False,
        expected: dt.date | None = None,
        source: str = "6",
    ) -> Contact:
        return Contact.objects.create(
            given_names=name,
            family_name="Census",
            local_authority=Agency.objects.get(code=council),
            routing=Routing.ROUTED,
            received_at=noon(received) - dt.timedelta(hours=3),
            referral_source=source,
            date_of_birth=born,
            sex=sex,
            unborn=unborn,
            expected_date_of_birth=expected,
        )

    def refer(self, contact: Contact, *, assessment: bool = True) -> CaseEpisode:
        with clock.frozen(contact.received_at + dt.timedelta(hours=1)), transaction.atomic():
            return episode_ensure(contact=contact, by=self.by, start_assessment=assessment)

    def authorise(self, episode: CaseEpisode, on: dt.date, factors: list[str]) -> None:
        with clock.frozen(noon(on)):
            assessment_authorise(
                assessment=episode.assessments.get(authorised_on__isnull=True),
                by=self.by,
                authorised_on=on,
                child_seen_on=None,
                factors=factors,
                needs_support=True,
                late_reason="Waited for the health visitor.",
            )

    def enquiry(self, contact: Contact, started_on: dt.date, target: dt.date) -> Any:
        with clock.frozen(noon(started_on)), transaction.atomic():
            return enquiry_start(
                contact=contact,
                discussion=None,
                by=self.by,
                started_on=started_on,
                icpc_target=target,
            )

    def icpc(self, enquiry: Any, on: dt.date, *, led_to_plan: bool) -> None:
        with clock.frozen(noon(on)):
            icpc_record(
                enquiry=enquiry, by=self.by, icpc_on=on, not_required=False, led_to_plan=led_to_plan
            )

    def plan(self, enquiry: Any, category: str, previous: int) -> Any:
        with clock.frozen(noon(enquiry.icpc_on)):
            return plan_start(
                enquiry=enquiry, by=self.by, category=category, previous_plans=previous
            )

    def cin_plan(self, episode: CaseEpisode, on: dt.date) -> CINPlan:
        with clock.frozen(noon(on)):
            return cin_plan_start(episode=episode, by=self.by, started_on=on)

    def close(self, episode: CaseEpisode, on: dt.date, reason: str) -> None:
        with clock.frozen(noon(on)):
            episode_close(episode=episode, by=self.by, closed_on=on, reason=reason)

    def details(self, episode: CaseEpisode, **fields: Any) -> None:
        values = {"upn": "", "upn_unknown": "", "ethnicity": "WBRI", "disabilities": ["NONE"]}
        with clock.frozen(WRITTEN_AT):
            child_details_update(episode=episode, by=self.by, **{**values, **fields})


@dataclass
class World:
    council: Agency
    episodes: dict[str, CaseEpisode]
    casework: Casework


def build_world(make_user: Any) -> World:
    mary = make_user("mary", "LA344", "hub_manager")
    cw = Casework(by=mary)
    d = dt.date
    episodes = {}

    ava = cw.refer(cw.contact("Ava", d(2025, 3, 20)))
    cw.authorise(ava, d(2025, 4, 10), ["3A", "16A"])
    cw.close(ava, d(2025, 5, 1), "RC7")
    cw.details(ava, upn="A123456789012", ethnicity="MWBC", disabilities=["AUT", "LD"])
    episodes["ava"] = ava

    ben_contact = cw.contact("Ben", d(2025, 6, 2), sex="M", source="2A")
    ben = cw.refer(ben_contact)
    cin = cw.cin_plan(ben, d(2025, 6, 5))
    CINPlan.objects.filter(pk=cin.pk).update(ended_on=d(2025, 6, 19))  # no service ends one yet
    s47 = cw.enquiry(ben_contact, d(2025, 6, 3), d(2025, 6, 24))
    cw.icpc(s47, d(2025, 6, 20), led_to_plan=True)
    s47.refresh_from_db()
    plan = cw.plan(s47, "NEG", previous=1)
    plan.review_dates = ["2025-09-15"]  # no service records reviews yet
    plan.save(update_fields=["review_dates"])
    cw.authorise(ben, d(2025, 7, 1), ["3A"])
    cw.details(ben, upn_unknown="UN3", ethnicity="WBRI", disabilities=["NONE"])
    episodes["ben"] = ben

    cara = cw.refer(cw.contact("Cara", d(2026, 3, 20), born=d(2012, 1, 30)))
    cw.authorise(cara, d(2026, 4, 15), ["21"])
    cw.close(cara, d(2026, 4, 20), "RC8")
    episodes["cara"] = cara

    unborn = cw.refer(
        cw.contact("Baby", d(2026, 3, 2), born=None, sex="", unborn=True, expected=d(2026, 7, 1)),
        assessment=False,
    )
    episodes["unborn"] = unborn

    dan = cw.refer(cw.contact("Dan", d(2024, 5, 1)), assessment=False)
    cw.close(dan, d(2025, 3, 1), "RC7")
    episodes["dan"] = dan
    episodes["eve"] = cw.refer(cw.contact("Eve", d(2026, 4, 2)), assessment=False)
    episodes["liverpool"] = cw.refer(cw.contact("Lee", d(2025, 8, 1), council="LA341"))
    return World(council=Agency.objects.get(code="LA344"), episodes=episodes, casework=cw)


@pytest.fixture
def world(make_user) -> World:
    return build_world(make_user)


def write(world: World, path: Path) -> Any:
    with clock.frozen(WRITTEN_AT):
        return census_write(council=world.council, year=YEAR, path=path, exported_by="test")


def children_by_id(root: Any) -> dict[str, Any]:
    return {child.findtext("ChildIdentifiers/LAchildID"): child for child in root.iter("Child")}


def texts(element: Any, path: str) -> list[str]:
    return [e.text for e in element.findall(path)]


def test_the_vendored_schema_is_the_dfe_file_unchanged():
    import hashlib

    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == XSD_SHA256


def test_the_census_validates_against_the_dfe_schema(world, tmp_path):
    path = tmp_path / "census.xml"
    summary = write(world, path)
    assert summary.errors == []
    document = etree.parse(str(path))
    assert census_schema().validate(document), census_schema().error_log
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert not list(tmp_path.glob(".*partial"))


def test_the_header_names_the_council_the_year_and_safehub(world, tmp_path):
    path = tmp_path / "census.xml"
    write(world, path)
    header = etree.parse(str(path)).getroot().find("Header")
    assert header.findtext("CollectionDetails/Collection") == "CIN"
    assert header.findtext("CollectionDetails/Year") == "2026"
    assert header.findtext("CollectionDetails/ReferenceDate") == "2026-03-31"
    assert header.findtext("Source/SourceLevel") == "L"
    assert header.findtext("Source/LEA") == "344"
    assert header.findtext("Source/SoftwareCode") == "safehub"
    assert header.findtext("Source/SerialNo") == "001"
    assert header.findtext("Source/DateTime") == "2026-06-01T10:00:00"  # London, summer time


def test_the_census_holds_exactly_the_children_of_the_year(world, tmp_path):
    path = tmp_path / "census.xml"
    summary = write(world, path)
    children = children_by_id(etree.parse(str(path)).getroot())
    expected = {world.episodes[n].child_id for n in ("ava", "ben", "cara", "unborn")}
    assert set(children) == expected
    assert summary.children == 4 and summary.episodes == 4
    for child in children.values():
        assert len(child.findall("CINdetails")) == 1


def test_each_referral_carries_its_dates_and_codes(world, tmp_path):
    path = tmp_path / "census.xml"
    write(world, path)
    children = children_by_id(etree.parse(str(path)).getroot())

    ava = children[world.episodes["ava"].child_id]
    assert ava.findtext("ChildIdentifiers/UPN") == "A123456789012"
    assert ava.findtext("ChildIdentifiers/PersonBirthDate") == "2016-05-04"
    assert ava.find("ChildIdentifiers/ExpectedPersonBirthDate") is None
    assert texts(ava, "ChildCharacteristics/Disabilities/Disability") == ["AUT", "LD"]
    assert ava.findtext("ChildCharacteristics/Ethnicity") == "MWBC"
    details = ava.find("CINdetails")
    assert [e.tag for e in details] == [
        "CINreferralDate",
        "ReferralSource",
        "PrimaryNeedCode",
        "CINclosureDate",
        "ReasonForClosure",
        "Assessments",
        "ReferralNFA",
    ]
    assert details.findtext("CINreferralDate") == "2025-03-20"
    assert details.findtext("ReferralSource") == "6"
    assert details.findtext("CINclosureDate") == "2025-05-01"
    assert details.findtext("ReasonForClosure") == "RC7"
    assert details.findtext("Assessments/AssessmentActualStartDate") == "2025-03-20"
    assert details.findtext("Assessments/AssessmentAuthorisationDate") == "2025-04-10"
    assert texts(details, "Assessments/FactorsIdentifiedAtAssessment/AssessmentFactors") == [
        "3A",
        "16A",
    ]
    assert details.findtext("ReferralNFA") == "false"

    ben = children[world.episodes["ben"].child_id]
    assert ben.findtext("ChildIdentifiers/UPNunknown") == "UN3"
    details = ben.find("CINdetails")
    assert [e.tag for e in details] == [
        "CINreferralDate",
        "ReferralSource",
        "PrimaryNeedCode",
        "Assessments",
        "CINPlanDates",
        "Section47",
        "ReferralNFA",
        "ChildProtectionPlans",
    ]
    assert details.find("CINclosureDate") is None
    assert details.findtext("ReferralSource") == "2A"
    assert details.findtext("CINPlanDates/CINPlanStartDate") == "2025-06-05"
    assert details.findtext("CINPlanDates/CINPlanEndDate") == "2025-06-19"
    s47 = details.find("Section47")
    assert [e.tag for e in s47] == [
        "S47ActualStartDate",
        "InitialCPCtarget",
        "DateOfInitialCPC",
        "ICPCnotRequired",
    ]
    assert s47.findtext("S47ActualStartDate") == "2025-06-03"
    assert s47.findtext("InitialCPCtarget") == "2025-06-24"
    assert s47.findtext("DateOfInitialCPC") == "2025-06-20"
    assert s47.findtext("ICPCnotRequired") == "false"
    plan = details.find("ChildProtectionPlans")
    assert [e.tag for e in plan] == [
        "CPPstartDate",
        "InitialCategoryOfAbuse",
        "LatestCategoryOfAbuse",
        "NumberOfPreviousCPP",
        "Reviews",
    ]
    assert plan.findtext("CPPstartDate") == "2025-06-20"
    assert plan.findtext("InitialCategoryOfAbuse") == "NEG"
    assert plan.findtext("NumberOfPreviousCPP") == "1"
    assert texts(plan, "Reviews/CPPreviewDate") == ["2025-09-15"]
    # DateOfInitialCPC is recorded at the section 47 level only (rule 2884).
    assert details.find("DateOfInitialCPC") is None


def test_what_happened_after_the_reference_date_is_shown_as_still_open(world, tmp_path):
    path = tmp_path / "census.xml"
    summary = write(world, path)
    children = children_by_id(etree.parse(str(path)).getroot())
    cara = children[world.episodes["cara"].child_id].find("CINdetails")
    assert cara.findtext("CINreferralDate") == "2026-03-20"
    assert cara.find("CINclosureDate") is None and cara.find("ReasonForClosure") is None
    assessment = cara.find("Assessments")
    assert assessment.findtext("AssessmentActualStartDate") == "2026-03-20"
    assert assessment.find("AssessmentAuthorisationDate") is None
    assert assessment.find("FactorsIdentifiedAtAssessment") is None
    assert summary.assessments == 3 and summary.enquiries == 1 and summary.icpcs == 1
    assert summary.protection_plans == 1 and summary.cin_plans == 1


def test_an_unborn_child_has_an_expected_birth_date_and_sex_unknown(world, tmp_path):
    path = tmp_path / "census.xml"
    write(world, path)
    children = children_by_id(etree.parse(str(path)).getroot())
    unborn = children[world.episodes["unborn"].child_id].find("ChildIdentifiers")
    assert unborn.find("PersonBirthDate") is None
    assert unborn.findtext("ExpectedPersonBirthDate") == "2026-07-01"
    code = {"Sex": "U", "GenderCurrent": "0"}[sex_element()]
    assert unborn.findtext(sex_element()) == code
    ben = children[world.episodes["ben"].child_id].find("ChildIdentifiers")
    assert ben.findtext(sex_element()) == {"Sex": "M", "GenderCurrent": "1"}[sex_element()]


def test_the_export_is_audited_and_numbers_each_run(world, tmp_path):
    from safehub.audit.models import Action, AuditEvent

    first = write(world, tmp_path / "one.xml")
    second = write(world, tmp_path / "two.xml")
    assert (first.serial_no, second.serial_no) == ("001", "002")
    events = AuditEvent.objects.filter(action=Action.EXPORT, object_type="returns.cin_census")
    assert events.count() == 2
    detail = events.order_by("id").first().detail
    assert detail["council"] == "344" and detail["year"] == YEAR
    assert detail["counts"]["children"] == 4
    assert detail["sha256"] == first.sha256 and len(first.sha256) == 64


def test_a_check_writes_nothing_and_reports_the_same(world, tmp_path):
    with clock.frozen(WRITTEN_AT):
        summary = census_check(council=world.council, year=YEAR)
    assert summary.children == 4 and summary.errors == []
    assert list(tmp_path.iterdir()) == []


# --- (d) The census year's boundaries -----------------------------------------------------------


@pytest.fixture
def edges(make_user):
    """Referrals on either side of each end of the census year 2026."""
    cw = Casework(by=make_user("mary", "LA344", "hub_manager"))
    d = dt.date
    made = {}
    for name, referred, closed in (
        ("last_day", d(2026, 3, 31), None),  # referred on the reference date: in
        ("next_year", d(2026, 4, 1), None),  # referred the day after: out
        ("closed_before", d(2024, 9, 2), d(2025, 3, 31)),  # closed the day before: out
        ("closed_first_day", d(2024, 9, 2), d(2025, 4, 1)),  # closed on 1 April: in
        ("closed_after", d(2025, 12, 1), d(2026, 4, 1)),  # closed after: in, open
        ("open_for_years", d(2023, 1, 10), None),  # never closed: in
    ):
        episode = cw.refer(cw.contact(name, referred), assessment=False)
        if closed is not None:
            cw.close(episode, closed, "RC7")
        made[name] = episode
    return Agency.objects.get(code="LA344"), made


def test_the_year_runs_from_1_april_to_31_march(edges, tmp_path):
    council, made = edges
    path = tmp_path / "census.xml"
    with clock.frozen(WRITTEN_AT):
        census_write(council=council, year=YEAR, path=path, exported_by="test")
    children = children_by_id(etree.parse(str(path)).getroot())
    inside = {"last_day", "closed_first_day", "closed_after", "open_for_years"}
    assert set(children) == {made[name].child_id for name in inside}
    first_day = children[made["closed_first_day"].child_id].find("CINdetails")
    assert first_day.findtext("CINclosureDate") == "2025-04-01"
    after = children[made["closed_after"].child_id].find("CINdetails")
    assert after.find("CINclosureDate") is None


def test_the_period_and_its_query_cut_offs():
    period = CensusPeriod.of(2026)
    assert (period.start, period.reference_date, period.as_at) == (
        dt.date(2025, 4, 1),
        dt.date(2026, 3, 31),
        dt.date(2026, 3, 31),
    )
    # One working day before Tuesday 1 April 2025 is Monday 31 March.
    assert period.nfa_cutoff == dt.date(2025, 3, 31)
    # 15 working days before Tuesday 31 March 2026: back over two weekends only.
    assert period.enquiry_cutoff == dt.date(2026, 3, 10)
    # During the year the queries count back from today.
    assert CensusPeriod.of(2027, today=dt.date(2026, 11, 28)).as_at == dt.date(2026, 11, 28)


def test_a_year_that_has_not_started_is_refused(world, tmp_path):
    from safehub.core.errors import DomainError

    with clock.frozen(WRITTEN_AT), pytest.raises(DomainError, match="has not started"):
        census_write(council=world.council, year=2028, path=tmp_path / "x.xml", exported_by="t")
    assert not (tmp_path / "x.xml").exists()

"""The census refuses a broken record: each DfE rule's failure is reported with its number, the
child's LAchildID and the field; the schema's own errors with the child and the line; and
nothing is left at the path. DfE queries (Q rules) are listed but do not stop the file.

The broken records are written straight to the database: the casework services refuse them."""

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from safehub.casework.models import Assessment, CaseEpisode, ChildProtectionPlan, Section47
from safehub.core import clock
from safehub.referrals.models import Contact
from safehub.returns.census import (
    ERRATA,
    SCHEMA_PATH,
    CensusInvalid,
    census_schema,
    census_schema_document,
    census_write,
    sex_element,
)
from safehub.returns.census_rules import (
    CensusAssessment,
    CensusChild,
    CensusEnquiry,
    CensusEpisode,
    CensusPeriod,
    CensusProtectionPlan,
    Problem,
    child_problems,
)
from safehub.returns.tests.test_census_build import WRITTEN_AT, YEAR, build_world

pytestmark = pytest.mark.django_db
d = dt.date


@pytest.fixture
def world(make_user):
    return build_world(make_user)


def refuse(world, path: Path) -> list[Problem]:
    """The census is refused: the problems, and nothing at the path or beside it."""
    with clock.frozen(WRITTEN_AT), pytest.raises(CensusInvalid) as refused:
        census_write(council=world.council, year=YEAR, path=path, exported_by="test")
    assert not path.exists()
    assert list(path.parent.iterdir()) == []
    return refused.value.summary.errors


def found(problems: list[Problem]) -> set[tuple[str, str, str]]:
    return {(p.rule, p.child_id, p.field) for p in problems}


# --- (b) Done when: a record broken on purpose --------------------------------------------------


def test_an_icpc_on_a_saturday_is_reported_with_rule_8875_and_no_file_is_written(world, tmp_path):
    ben = world.episodes["ben"]
    Section47.objects.filter(episode=ben).update(icpc_on=d(2025, 6, 21))  # a Saturday
    ChildProtectionPlan.objects.filter(episode=ben).update(started_on=d(2025, 6, 21))
    errors = refuse(world, tmp_path / "census.xml")
    assert ("8875", ben.child_id, "DateOfInitialCPC") in found(errors)
    (weekend,) = [p for p in errors if p.rule == "8875"]
    assert weekend.value == "2025-06-21"
    assert "cannot be a weekend" in weekend.message
    assert "8875" in str(weekend) and ben.child_id in str(weekend)


def test_an_assessment_started_or_authorised_before_its_referral_is_rule_1103(world, tmp_path):
    ben, cara = world.episodes["ben"], world.episodes["cara"]
    Assessment.objects.filter(episode=ben).update(started_on=d(2025, 5, 20))
    Assessment.objects.filter(episode=cara).update(
        started_on=d(2026, 3, 10), authorised_on=d(2026, 3, 12)
    )
    errors = refuse(world, tmp_path / "census.xml")
    assert found(errors) == {
        ("1103", ben.child_id, "AssessmentActualStartDate"),
        ("1103", cara.child_id, "AssessmentActualStartDate"),
    }


def test_every_broken_record_is_listed_not_only_the_first(world, tmp_path):
    ben, cara = world.episodes["ben"], world.episodes["cara"]
    Section47.objects.filter(episode=ben).update(started_on=d(2025, 5, 30))  # before referral
    ChildProtectionPlan.objects.filter(episode=ben).update(started_on=d(2025, 6, 23))
    CaseEpisode.objects.filter(pk=cara.pk).update(referral_nfa=True)  # but assessed
    errors = refuse(world, tmp_path / "census.xml")
    assert found(errors) == {
        ("2889", ben.child_id, "S47ActualStartDate"),
        ("2885", ben.child_id, "CPPstartDate"),
        ("8831", cara.child_id, "AssessmentActualStartDate"),
    }


def test_factors_on_an_open_assessment_and_code_21_with_others_are_errors(world, tmp_path):
    cara = world.episodes["cara"]
    Assessment.objects.filter(episode=cara).update(authorised_on=None, factors=["21", "3A"])
    CaseEpisode.objects.filter(pk=cara.pk).update(closed_on=None, closure_reason="")
    errors = refuse(world, tmp_path / "census.xml")
    assert found(errors) == {
        ("8614", cara.child_id, "AssessmentFactors"),
        ("8869", cara.child_id, "AssessmentFactors"),
    }


# --- (c) The schema's own errors ----------------------------------------------------------------


def test_the_schema_rejects_a_bad_sex_code_and_names_the_child_and_line(world, tmp_path):
    ava = world.episodes["ava"]
    Contact.objects.filter(pk=ava.contact_id).update(sex="X")
    errors = refuse(world, tmp_path / "census.xml")
    schema = [p for p in errors if p.rule == "XSD"]
    assert len(schema) == 1
    (problem,) = schema
    assert problem.child_id == ava.child_id and problem.field == sex_element()
    assert "'X'" in problem.message and problem.line is not None and problem.line > 10
    # Our own rule 4180 says the same in DfE's words.
    assert ("4180", ava.child_id, "Sex") in found(errors)
    assert str(problem).startswith(f"schema (error), child {ava.child_id}, line {problem.line}")


def test_the_line_of_a_schema_error_is_the_line_the_file_would_have_had(world, tmp_path):
    """Write the census once, then break the record: the error points at the same line."""
    path = tmp_path / "good.xml"
    with clock.frozen(WRITTEN_AT):
        census_write(council=world.council, year=YEAR, path=path, exported_by="test")
    ben = world.episodes["ben"]
    document = etree.parse(str(path))
    (element,) = document.xpath(f"//Child[ChildIdentifiers/LAchildID='{ben.child_id}']//Ethnicity")
    # No rule of ours checks the code: only the schema does.
    CaseEpisode.objects.filter(pk=ben.pk).update(ethnicity="WXYZ")
    path.unlink()
    errors = refuse(world, tmp_path / "census.xml")
    (problem,) = errors
    assert (problem.rule, problem.child_id, problem.field) == ("XSD", ben.child_id, "Ethnicity")
    assert "'WXYZ'" in problem.message
    assert problem.line == element.sourceline


def test_a_first_plan_with_no_previous_plans_is_written(world, tmp_path):
    """The published schema's NumberOfPreviousCPP is xs:positiveInteger, which refuses 0; DfE's
    rule 8730 asks for zero or more. The erratum lets 0 through, and nothing else changes."""
    ben = world.episodes["ben"]
    ChildProtectionPlan.objects.filter(episode=ben).update(previous_plans=0)
    path = tmp_path / "census.xml"
    with clock.frozen(WRITTEN_AT):
        census_write(council=world.council, year=YEAR, path=path, exported_by="test")
    (element,) = etree.parse(str(path)).xpath("//NumberOfPreviousCPP")
    assert element.text == "0"
    published = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    assert not published.validate(etree.parse(str(path)))  # as published: refused


def test_the_errata_change_one_attribute_of_the_published_schema():
    published = etree.tostring(etree.parse(str(SCHEMA_PATH)))
    corrected = etree.tostring(census_schema_document())
    (erratum,) = ERRATA
    assert published.count(b'type="xs:positiveInteger"') == 1
    assert corrected == published.replace(
        b'name="NumberOfPreviousCPP" type="xs:positiveInteger"',
        b'name="NumberOfPreviousCPP" type="xs:nonNegativeInteger"',
    )
    assert erratum.element == "NumberOfPreviousCPP" and "8730" in erratum.why


def test_the_schema_itself_refuses_a_tampered_file():
    """The vendored XSD is a real check, independent of our rules: a file with a bad code fails."""
    good = f"""<Message><Children><Child>
      <ChildIdentifiers><LAchildID>C1</LAchildID><PersonBirthDate>2016-05-04</PersonBirthDate>
        <{sex_element()}>{{sex}}</{sex_element()}></ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
      <CINdetails><CINreferralDate>2025-06-02</CINreferralDate><ReferralSource>6</ReferralSource>
        <ReferralNFA>false</ReferralNFA></CINdetails>
    </Child></Children></Message>"""
    valid = {"Sex": "F", "GenderCurrent": "2"}[sex_element()]
    assert census_schema().validate(etree.fromstring(good.format(sex=valid)).getroottree())
    assert not census_schema().validate(etree.fromstring(good.format(sex="Q")).getroottree())


# --- Queries do not block -----------------------------------------------------------------------


def test_a_query_is_listed_and_the_file_is_still_written(world, tmp_path):
    cara = world.episodes["cara"]
    # An assessment open since November, with no authorisation by 31 March: 8670Q.
    CaseEpisode.objects.filter(pk=cara.pk).update(referral_date=d(2025, 11, 3))
    Assessment.objects.filter(episode=cara).update(
        started_on=d(2025, 11, 3), authorised_on=None, factors=[]
    )
    path = tmp_path / "census.xml"
    with clock.frozen(WRITTEN_AT):
        summary = census_write(council=world.council, year=YEAR, path=path, exported_by="test")
    assert path.exists() and summary.errors == []
    assert found(summary.queries) == {("8670Q", cara.child_id, "AssessmentActualStartDate")}
    assert all(not q.blocking for q in summary.queries)


# --- Each rule, on the census as the rules read it ----------------------------------------------


def child(*episodes: CensusEpisode, **fields) -> CensusChild:
    values = {"child_id": "C1", "sex": "F", "birth_date": d(2016, 5, 4)}
    return CensusChild(**{**values, **fields}, episodes=list(episodes))


def episode(**fields) -> CensusEpisode:
    values = {
        "referral_date": d(2025, 6, 2),
        "referral_source": "6",
        "primary_need": "N1",
        "referral_nfa": False,
    }
    return CensusEpisode(**{**values, **fields})


def rules(c: CensusChild) -> set[tuple[str, str]]:
    return {(p.rule, p.value) for p in child_problems(c, CensusPeriod.of(YEAR))}


def test_a_clean_child_breaks_no_rule():
    plan = CensusProtectionPlan(d(2025, 6, 20), None, "NEG", "NEG", 1, (d(2025, 9, 15),))
    enquiry = CensusEnquiry(d(2025, 6, 3), d(2025, 6, 24), d(2025, 6, 20))
    assessment = CensusAssessment(d(2025, 6, 2), d(2025, 7, 1), ("3A",))
    assert (
        rules(child(episode(assessments=[assessment], enquiries=[enquiry], plans=[plan]))) == set()
    )


def test_the_child_identifier_rules():
    assert rules(child(child_id="C-1")) == {("1580", "C-1")}
    assert rules(child(child_id="C" * 21)) == {("1570", "C" * 21)}
    assert rules(child(sex="X")) == {("4180", "X")}
    unborn = child(sex="F", birth_date=None, expected_birth_date=d(2026, 7, 1))
    assert rules(unborn) == {("8750", "F")}
    assert rules(child(birth_date=None)) == {("8525Q", "")}


def test_nothing_starts_before_the_referral():
    early = d(2025, 5, 1)
    c = child(
        episode(
            assessments=[CensusAssessment(early, None)],
            enquiries=[CensusEnquiry(early, None, early)],
            plans=[CensusProtectionPlan(early, None, "NEG", "NEG", 1)],
            cin_plans=[],
        )
    )
    got = {rule for rule, _ in rules(c)}
    assert {"1103", "1104", "1105", "2889"} <= got


def test_the_conference_and_plan_rules():
    enquiry = CensusEnquiry(d(2025, 6, 10), d(2025, 6, 28), d(2025, 6, 9))  # ICPC before s47
    plan = CensusProtectionPlan(d(2025, 6, 12), None, "NEG", "NEG", 1, (d(2025, 6, 12),))
    got = rules(child(episode(enquiries=[enquiry], plans=[plan])))
    assert ("8615", "2025-06-10") in got
    assert ("2885", "2025-06-12") in got  # the plan starts on no conference's day
    assert ("8841", "2025-06-12") in got  # a review on the plan's first day
    assert ("8870Q", "2025-06-28") in got  # the target is a Saturday
    negative = CensusProtectionPlan(d(2025, 6, 9), None, "NEG", "NEG", -1)
    assert ("8730", "-1") in rules(child(episode(enquiries=[enquiry], plans=[negative])))
    both = episode(icpc_on=d(2025, 6, 9), enquiries=[enquiry])
    assert ("2884", "2025-06-09") in rules(child(both))


def test_the_no_further_action_rules():
    nfa = episode(
        referral_nfa=True,
        assessments=[CensusAssessment(d(2025, 6, 2), None)],
        plans=[CensusProtectionPlan(d(2025, 6, 20), None, "NEG", "NEG", 1)],
    )
    got = {rule for rule, _ in rules(child(nfa))}
    assert {"8831", "8832"} <= got
    from safehub.returns.census_rules import CensusCINPlan

    assert ("4000", "2025-06-05") in rules(
        child(episode(referral_nfa=True, cin_plans=[CensusCINPlan(d(2025, 6, 5), None)]))
    )
    # 8569Q: flagged NFA, referred more than a working day before the year began.
    assert rules(child(episode(referral_nfa=True, referral_date=d(2025, 3, 28)))) == {
        ("8569Q", "2025-03-28")
    }
    assert rules(child(episode(referral_nfa=True, referral_date=d(2025, 3, 31)))) == set()


def test_the_factor_rules():
    done = CensusAssessment(d(2025, 6, 2), d(2025, 7, 1), ())
    assert rules(child(episode(assessments=[done]))) == {("8897Q", "2025-07-01")}
    alone = CensusAssessment(d(2025, 6, 2), d(2025, 7, 1), ("21",))
    assert rules(child(episode(assessments=[alone], closure_reason="RC7"))) == {("8873Q", "RC7")}
    closed = episode(assessments=[alone], closed_on=d(2025, 7, 2), closure_reason="RC8")
    assert rules(child(closed)) == set()


def test_work_left_open_too_long_is_queried_from_the_reference_date():
    assessment = CensusAssessment(d(2026, 1, 5), None)
    enquiry = CensusEnquiry(d(2026, 3, 9), None, None)
    got = rules(child(episode(assessments=[assessment], enquiries=[enquiry])))
    assert got == {("8670Q", "2026-01-05"), ("8675Q", "2026-03-09")}
    # Not flagged: started within 45 / 15 working days of 31 March, or no conference needed.
    fresh = CensusAssessment(d(2026, 1, 27), None)
    no_icpc = CensusEnquiry(d(2026, 3, 9), None, None, icpc_not_required=True)
    assert rules(child(episode(assessments=[fresh], enquiries=[no_icpc]))) == set()

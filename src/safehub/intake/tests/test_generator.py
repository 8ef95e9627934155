"""The synthetic notification generator: valid under the contract, believable, repeatable.

No database and no Django settings: run with `-p no:django` if need be.
"""

import collections
import datetime as dt
import itertools
import json
import re
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from safehub.intake import generator as gen

LONDON = ZoneInfo("Europe/London")
START = dt.date(2026, 1, 1)
DAYS = 365
END = dt.datetime(2027, 1, 1, tzinfo=LONDON)
POSTCODE = re.compile(r"^[A-Z]{1,2}\d{1,2} ?\d[ABDEFGHJLNPQRSTUWXYZ]{2}$", re.IGNORECASE)
REFERENCE = re.compile(r"^MSP-(\d{2})-(\d{6,})$")
ANSWER_COUNT = {"DASH_2009_27": 27, "SAFELIVES_RIC_24": 24, "DARA": 0}
ROLES = {"victim", "suspect", "child", "adult_other"}
RELATIONSHIP_TYPES = {
    "partner",
    "ex_partner",
    "parent",
    "step_parent",
    "sibling",
    "other_family",
    "other",
}


def nhs_number_valid(value: str) -> bool:
    """Ten digits, the last the modulus 11 check digit of the first nine (10 is never valid)."""
    if len(value) != 10 or not value.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return check != 10 and check == int(value[9])


def upn_valid(value: str) -> bool:
    if not re.fullmatch(r"[A-Z]\d{12}", value):
        return False
    total = sum(int(c) * w for c, w in zip(value[1:], range(2, 14), strict=True))
    return value[0] == "ABCDEFGHJKLMNPQRTUVWXYZ"[total % 23]


def one_edit_apart(a: str, b: str) -> bool:
    """One character dropped, substituted, or two neighbours swapped."""
    if a == b:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and (a[diff[1]] == b[diff[0]])
        )
    if abs(len(a) - len(b)) == 1:
        long, short = (a, b) if len(a) > len(b) else (b, a)
        return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
    return False


def parse(ts: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(ts)
    assert value.tzinfo is not None, ts
    return value


@pytest.fixture(scope="module")
def labelled() -> list[tuple[dict, dict]]:
    return list(gen.generate_labelled(count=5000, seed=7, start=START, days=DAYS))


@pytest.fixture(scope="module")
def bodies(labelled: list[tuple[dict, dict]]) -> list[dict]:
    return [body for body, _ in labelled]


@pytest.fixture(scope="module")
def reference() -> gen.Reference:
    return gen.load_reference()


def children_of(bodies: list[dict]):
    for body in bodies:
        for person in body["people"]:
            if person["role"] == "child":
                yield body, person


# --- repeatable --------------------------------------------------------------------------------


def test_same_seed_gives_identical_output(tmp_path: Path) -> None:
    args = {"count": 3000, "seed": 11, "start": START, "days": 120}
    assert gen.write_notifications(tmp_path / "a.jsonl", **args) == 3000
    gen.write_notifications(tmp_path / "b.jsonl", **args)
    gen.write_notifications(tmp_path / "c.jsonl", **{**args, "seed": 12})
    a = (tmp_path / "a.jsonl").read_bytes()
    assert a == (tmp_path / "b.jsonl").read_bytes()
    assert a != (tmp_path / "c.jsonl").read_bytes()


def test_file_holds_one_generated_body_a_line(tmp_path: Path) -> None:
    args = {"count": 1500, "seed": 3, "start": START, "days": 60}
    seen: list[int] = []
    gen.write_notifications(tmp_path / "n.jsonl", progress=seen.append, **args)
    lines = (tmp_path / "n.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(gen.generate_notifications(**args))
    assert seen[-1] == 1500


def test_parallel_and_in_process_runs_write_the_same_bytes(tmp_path: Path) -> None:
    args = {"count": 4000, "seed": 5, "start": START, "days": 90}
    gen.write_notifications(tmp_path / "p.jsonl", parallel=True, **args)
    gen.write_notifications(tmp_path / "s.jsonl", parallel=False, **args)
    assert (tmp_path / "p.jsonl").read_bytes() == (tmp_path / "s.jsonl").read_bytes()
    # With another thread running, the shards are spawned rather than forked: same bytes.
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        ref = gen.load_reference()
        lines = list(gen._lines_parallel(4000, 5, START, 90, "MSP", ref, None))
    finally:
        stop.set()
        thread.join()
    assert "\n".join([*lines, ""]).encode() == (tmp_path / "s.jsonl").read_bytes()


def test_labelled_run_gives_the_same_bodies(labelled: list[tuple[dict, dict]]) -> None:
    plain = list(gen.generate_notifications(count=5000, seed=7, start=START, days=DAYS))
    assert plain == [body for body, _ in labelled]


def test_count_is_exact_and_zero_is_empty() -> None:
    assert len(list(gen.generate_notifications(count=777, start=START, days=3))) == 777
    assert list(gen.generate_notifications(count=0, start=START, days=3)) == []


# --- valid under the contract ------------------------------------------------------------------


def test_every_body_passes_the_contract_validator() -> None:
    validation = pytest.importorskip("safehub.intake.validation")
    sample = gen.generate_notifications(count=2000, seed=2, start=START, days=DAYS)
    for body in sample:
        raw = json.dumps(body).encode()
        parsed, errors = validation.validate_notification(raw, now=END)
        assert errors == [], (body["incident_reference"], errors)
        assert parsed is not None


def test_every_body_has_the_contract_structure(bodies: list[dict], reference) -> None:
    required = {
        "schema_version",
        "force_code",
        "incident_reference",
        "occurred_at",
        "recorded_at",
        "incident_address",
        "crime_recorded",
        "risk",
        "people",
        "officer",
    }
    for body in bodies:
        where = body["incident_reference"]
        assert required <= body.keys(), where
        assert body["schema_version"] == "1" and body["force_code"] == "MSP"
        assert isinstance(body["crime_recorded"], bool)
        assert all(isinstance(o, str) for o in body.get("offences", []))
        assert len(body.get("summary", "")) <= 20_000
        address = body["incident_address"]
        assert address["line1"] and POSTCODE.match(address["postcode"]), where
        assert body.get("consent_to_share") in (None, "given", "refused", "not_sought")
        assert body["officer"]["collar_number"] and body["officer"]["name"]

        risk = body["risk"]
        assert risk["officer_grade"] in ("standard", "medium", "high")
        questions = ANSWER_COUNT[risk["instrument"]]
        if questions == 0:
            assert "answers" not in risk, where
        else:
            keys = {str(n) for n in range(1, questions + 1)}
            assert set(risk["answers"]) <= keys, where
            assert set(risk["answers"].values()) <= {"yes", "no", "not_known"}

        people = body["people"]
        assert 1 <= len(people) <= 50
        refs = [p["ref"] for p in people]
        assert len(refs) == len(set(refs)), where
        assert sum(p["role"] == "victim" for p in people) == 1, where
        for person in people:
            assert person["role"] in ROLES
            assert person["given_names"] and person["family_name"]
            assert person.get("sex") in (None, "M", "F", "U")
            for key in ("address",):
                if key in person:
                    assert POSTCODE.match(person[key]["postcode"]), where
            ids = person.get("identifiers") or {}
            if ids.get("nhs_number") is not None:
                assert nhs_number_valid(ids["nhs_number"]), (where, ids)
            if ids.get("upn") is not None:
                assert upn_valid(ids["upn"]), (where, ids)
            if person.get("school_urn") is not None:
                assert re.fullmatch(r"\d{6}", person["school_urn"])
        for rel in body.get("relationships", []):
            assert rel["from"] in refs and rel["to"] in refs, (where, rel)
            assert rel["type"] in RELATIONSHIP_TYPES


def test_every_child_has_a_date_of_birth_an_age_or_is_unborn(bodies: list[dict]) -> None:
    for body, child in children_of(bodies):
        occurred = parse(body["occurred_at"]).date()
        if child.get("unborn"):
            assert child["given_names"] == "Unborn"
            assert "date_of_birth" not in child
            edd = dt.date.fromisoformat(child["expected_date_of_birth"])
            assert occurred < edd <= occurred + dt.timedelta(days=280)
        else:
            assert "expected_date_of_birth" not in child
            assert "date_of_birth" in child or "age_estimate" in child
        if "age_estimate" in child:
            assert isinstance(child["age_estimate"], int) and 0 <= child["age_estimate"] <= 17


def test_times_are_inside_the_window_and_recorded_after_occurred(bodies: list[dict]) -> None:
    start = dt.datetime(START.year, START.month, START.day, tzinfo=LONDON)
    for body in bodies:
        occurred, recorded = parse(body["occurred_at"]), parse(body["recorded_at"])
        assert start <= occurred <= recorded <= END
        # The offset is London's at that moment (GMT in winter, BST in summer).
        assert occurred.utcoffset() == occurred.astimezone(LONDON).utcoffset()
        assert recorded.utcoffset() == recorded.astimezone(LONDON).utcoffset()


def test_dates_of_birth_are_never_in_the_future(bodies: list[dict]) -> None:
    for body in bodies:
        occurred = parse(body["occurred_at"]).date()
        for person in body["people"]:
            if "date_of_birth" in person:
                assert dt.date.fromisoformat(person["date_of_birth"]) <= occurred


def test_incident_references_are_unique_and_carry_the_year() -> None:
    # Across a new year: the number starts again, the year tells them apart.
    sample = list(
        gen.generate_notifications(count=6000, seed=4, start=dt.date(2026, 10, 1), days=200)
    )
    refs = [b["incident_reference"] for b in sample]
    assert len(set(refs)) == len(refs)
    years = set()
    for body, ref in zip(sample, refs, strict=True):
        match = REFERENCE.match(ref)
        assert match, ref
        assert match.group(1) == body["occurred_at"][2:4]
        years.add(match.group(1))
    assert years == {"26", "27"}


def test_nhs_number_check(bodies: list[dict]) -> None:
    assert nhs_number_valid("9434765919")  # the NHS's published example
    assert not nhs_number_valid("9434765918")
    numbers = [
        p["identifiers"]["nhs_number"]
        for b in bodies
        for p in b["people"]
        if (p.get("identifiers") or {}).get("nhs_number")
    ]
    assert len(numbers) > 300
    assert all(nhs_number_valid(n) and n.startswith("999") for n in numbers)  # test range


def test_postcodes_are_in_the_reference_districts(bodies: list[dict], reference) -> None:
    for body in bodies:
        for address in [body["incident_address"]] + [
            p["address"] for p in body["people"] if "address" in p
        ]:
            compact = address["postcode"].replace(" ", "").upper()
            assert compact[:-3] in reference.district_la, address


# --- believable --------------------------------------------------------------------------------


def test_about_a_quarter_of_victims_come_back_within_12_months(labelled) -> None:
    notices: dict[int, list[dt.datetime]] = collections.defaultdict(list)
    for body, label in labelled:
        notices[label["people"]["V1"]].append(parse(body["occurred_at"]))
    again = 0
    for times in notices.values():
        times.sort()
        if any((b - a).days <= 365 for a, b in itertools.pairwise(times)):
            again += 1
    share = again / len(notices)
    assert 0.20 <= share <= 0.30, share


def test_a_returning_household_keeps_its_people(labelled) -> None:
    first: dict[int, dict[str, int]] = {}
    same_suspect = repeats = kept_children = had_children = 0
    for _, label in labelled:
        people = label["people"]
        before = first.setdefault(label["household"], people)
        if before is people:
            continue
        repeats += 1
        assert people["V1"] == before["V1"]
        same_suspect += people["S1"] == before["S1"]
        old_children = {v for k, v in before.items() if k.startswith("C")}
        if old_children:
            had_children += 1
            kept_children += bool(old_children & set(people.values()))
    assert repeats > 500
    assert 0.6 < same_suspect / repeats < 0.95
    assert kept_children / had_children > 0.9


def test_every_kind_of_name_variation_occurs(labelled) -> None:
    kinds = collections.Counter(kind for _, label in labelled for _, kind in label["variations"])
    assert set(kinds) == set(gen.VARIATION_KINDS)

    # And the bodies show them: the same person written differently.
    seen: dict[int, list[tuple[dict, dict]]] = collections.defaultdict(list)
    for body, label in labelled:
        by_ref = {p["ref"]: p for p in body["people"]}
        for ref, pid in label["people"].items():
            if ref in by_ref:
                seen[pid].append((by_ref[ref], body))
    found = set()
    for records in seen.values():
        for (a, body_a), (b, body_b) in itertools.pairwise(records):
            ga, gb = a["given_names"], b["given_names"]
            fa, fb = a["family_name"], b["family_name"]
            if gb in gen.NICKNAMES.get(ga, ()) or ga in gen.NICKNAMES.get(gb, ()):
                found.add("nickname")
            if one_edit_apart(ga, gb) or one_edit_apart(fa, fb):
                found.add("typo")
            da, db = a.get("date_of_birth"), b.get("date_of_birth")
            if da and db and da != db and da[5:7] == db[8:10] and da[8:10] == db[5:7]:
                found.add("dob_swap")
            if a["role"] != "child" and bool(da) != bool(db):
                found.add("dob_missing")
            suspects = {p["family_name"] for p in body_b["people"] if p["role"] == "suspect"}
            if fa != fb and (fb in suspects or fb.startswith(fa + "-")):
                found.add("new_surname")
    postcodes = [b["incident_address"]["postcode"] for b in (body for body, _ in labelled)]
    if any(" " not in p or p != p.upper() for p in postcodes):
        found.add("postcode_format")
    assert found == {
        "nickname",
        "typo",
        "dob_swap",
        "dob_missing",
        "new_surname",
        "postcode_format",
    }


def test_nickname_table_has_the_common_pairs() -> None:
    pairs = {
        "William": "Bill",
        "Katherine": "Kate",
        "Elizabeth": "Liz",
        "Robert": "Bob",
        "Margaret": "Maggie",
        "Michael": "Mike",
        "Thomas": "Tom",
        "Jennifer": "Jen",
        "Christopher": "Chris",
        "Rebecca": "Becky",
        "Daniel": "Dan",
        "Samantha": "Sam",
        "Jonathan": "Jon",
        "Alexander": "Alex",
        "Victoria": "Vicky",
        "Joseph": "Joe",
        "Anthony": "Tony",
        "Nicholas": "Nick",
        "Stephen": "Steve",
        "Deborah": "Debbie",
    }
    for name, nickname in pairs.items():
        assert nickname in gen.NICKNAMES[name]
    assert len(gen.NICKNAMES) >= 20


def test_evenings_nights_and_weekends_are_heavier(bodies: list[dict]) -> None:
    local = [parse(b["occurred_at"]).astimezone(LONDON) for b in bodies]
    evening_night = sum(t.hour >= 18 or t.hour < 2 for t in local) / len(local)
    early_morning = sum(4 <= t.hour < 8 for t in local) / len(local)
    weekend = sum(t.weekday() >= 5 for t in local) / len(local)
    assert evening_night > 8 / 24 + 0.08  # flat would be a third
    assert early_morning < 4 / 24 - 0.06
    assert weekend > 2 / 7 + 0.02
    # And the weights themselves: Saturday 1 a.m. is busier than Tuesday 1 a.m.
    weights = gen.hour_of_week_weights()
    assert len(weights) == 168
    assert weights[5 * 24 + 1] > weights[1 * 24 + 1]


def test_most_are_recorded_within_hours_some_days_late(bodies: list[dict]) -> None:
    delays = [
        (parse(b["recorded_at"]) - parse(b["occurred_at"])).total_seconds() / 3600 for b in bodies
    ]
    n = len(delays)
    assert sum(0.5 <= d <= 6 for d in delays) / n > 0.7
    late = sum(d >= 24 for d in delays) / n
    assert 0.03 < late < 0.15
    assert max(delays) <= 10 * 24 + 1


def test_dash_answers_agree_with_the_grade(bodies: list[dict]) -> None:
    instruments = collections.Counter(b["risk"]["instrument"] for b in bodies)
    assert 0.45 < instruments["DASH_2009_27"] / len(bodies) < 0.55
    assert 0.16 < instruments["SAFELIVES_RIC_24"] / len(bodies) < 0.24
    assert 0.25 < instruments["DARA"] / len(bodies) < 0.35
    grades = collections.Counter(b["risk"]["officer_grade"] for b in bodies)
    assert 0.48 < grades["standard"] / len(bodies) < 0.62
    assert 0.24 < grades["medium"] / len(bodies) < 0.36
    assert 0.10 < grades["high"] / len(bodies) < 0.20
    not_known = missing = judged = 0
    for body in bodies:
        risk = body["risk"]
        if risk["instrument"] == "DARA":
            assert risk.get("officer_rationale")  # the grade stands on the officer's reasons
            continue
        answers = risk["answers"]
        yes = sum(v == "yes" for v in answers.values())
        grade, judgement = risk["officer_grade"], risk.get("professional_judgement", False)
        low, high = gen.GRADE_BANDS[grade]
        assert yes <= high, body["incident_reference"]  # never graded below the count
        if yes < low:
            assert judgement and risk.get("officer_rationale"), body["incident_reference"]
        assert not (grade == "standard" and judgement)
        not_known += "not_known" in answers.values()
        missing += len(answers) < ANSWER_COUNT[risk["instrument"]]
        judged += judgement
    assert not_known > 100 and missing > 50 and judged > 30


def test_a_pregnancy_or_a_baby_is_answered_yes(bodies: list[dict]) -> None:
    for body in bodies:
        risk = body["risk"]
        if risk["instrument"] != "DARA" and any(p.get("unborn") for p in body["people"]):
            assert risk["answers"].get("9") == "yes"


def test_children_of_every_age(bodies: list[dict]) -> None:
    with_children = sum(any(p["role"] == "child" for p in b["people"]) for b in bodies)
    assert 0.55 < with_children / len(bodies) < 0.67
    counts = [sum(p["role"] == "child" for p in b["people"]) for b in bodies]
    assert max(counts) <= 5 and {1, 2, 3, 4} <= set(counts)
    ages = collections.Counter()
    unborn = not_home = injured = voices = estimates = 0
    for body, child in children_of(bodies):
        occurred = parse(body["occurred_at"]).date()
        if child.get("unborn"):
            unborn += 1
            continue
        if "date_of_birth" in child:
            dob = dt.date.fromisoformat(child["date_of_birth"])
            ages[(occurred - dob).days // 365] += 1
        else:
            estimates += 1
        if child["lives_at_incident_address"] is False:
            not_home += 1
            assert "address" in child
        injured += child.get("injured") is True
        voices += "voice_of_child" in child
    total = sum(ages.values()) + estimates
    assert set(range(18)) <= set(ages)
    assert ages[0] > total * 0.04  # babies
    assert unborn > 50 and estimates > 20 and not_home > 100 and voices > 100
    assert 0 < injured < total * 0.03


def test_school_age_children_mostly_have_a_school_of_their_council(bodies, reference) -> None:
    schools = {s.urn: s for s in reference.schools}
    known = unknown = none = right_council = right_phase = 0
    for body, child in children_of(bodies):
        if "date_of_birth" not in child:
            continue
        occurred = parse(body["occurred_at"]).date()
        dob = dt.date.fromisoformat(child["date_of_birth"])
        aug31 = dt.date(occurred.year if occurred.month >= 9 else occurred.year - 1, 8, 31)
        year_age = aug31.year - dob.year - ((dob.month, dob.day) > (8, 31))
        urn = child.get("school_urn")
        if not 5 <= year_age <= 15:  # clear of the edges (and of a swapped date of birth)
            continue
        if urn is None:
            none += 1
        elif urn not in schools:
            unknown += 1
        else:
            known += 1
            school = schools[urn]
            address = child.get("address") or body["incident_address"]
            district = address["postcode"].replace(" ", "").upper()[:-3]
            right_council += school.la_code in reference.district_la[district]
            right_phase += school.phase == ("primary" if year_age <= 10 else "secondary")
    total = known + unknown + none
    assert known / total > 0.75
    assert unknown > 10 and none > 10
    assert right_council / known > 0.85
    assert right_phase / known > 0.97


def test_adults_look_like_the_police_data(bodies: list[dict]) -> None:
    victims = [p for b in bodies for p in b["people"] if p["role"] == "victim"]
    suspects = [p for b in bodies for p in b["people"] if p["role"] == "suspect"]
    assert 0.7 < sum(p["sex"] == "F" for p in victims) / len(victims) < 0.9
    assert sum(p.get("sex") == "M" for p in suspects) / len(suspects) > 0.7
    ages = [
        (parse(b["occurred_at"]).date() - dt.date.fromisoformat(p["date_of_birth"])).days / 365.25
        for b in bodies
        for p in b["people"]
        if p["role"] == "victim" and "date_of_birth" in p
    ]
    assert min(ages) >= 17.9
    assert sum(18 <= a < 61 for a in ages) / len(ages) > 0.85
    rels = collections.Counter(
        r["type"]
        for b in bodies
        for r in b["relationships"]
        if r["from"] == "S1" and r["to"] == "V1"
    )
    assert (rels["partner"] + rels["ex_partner"]) / sum(rels.values()) > 0.9
    assert 0.2 < sum(p["arrested"] for p in suspects) / len(suspects) < 0.6
    assert sum(p["role"] == "adult_other" for b in bodies for p in b["people"]) > 100


def test_names_are_common_and_varied(bodies: list[dict]) -> None:
    family = collections.Counter(
        p["family_name"] for b in bodies for p in b["people"] if p["role"] != "child"
    )
    assert len(family) > 250
    top = [name for name, _ in family.most_common(10)]
    assert "Jones" in top or "Smith" in top  # common names common
    heritage = {"Khan", "Nowak", "Murphy", "Okafor", "Kowalska", "Hussain", "Wong"}
    assert len(heritage & set(family)) >= 4


def test_load_reference_reads_districts_and_schools(reference) -> None:
    assert reference.district_la["CH41"] == ("344",)
    assert set(reference.district_la["L9"]) == {"341", "343"}
    assert len(reference.schools) == 40
    assert {s.phase for s in reference.schools} == {"primary", "secondary"}
    assert {s.la_code for s in reference.schools} == {"340", "341", "342", "343", "344"}

"""The person-records CSV format (spec/person-records.md): strict where the format is, forgiving
where it says so."""

import datetime as dt
import io

import pytest

from safehub.people.records import (
    RecordsError,
    parse_date_of_birth,
    parse_records,
    parse_truth,
)

HEADER = "record_id,given_names,family_name,date_of_birth,postcode\n"


def parse(text: str):
    return parse_records(io.StringIO(text), default_source="file.csv")


def test_the_three_accepted_date_forms_are_read():
    assert parse_date_of_birth("2017-06-11") == dt.date(2017, 6, 11)
    assert parse_date_of_birth("20170611") == dt.date(2017, 6, 11)
    assert parse_date_of_birth("11/06/2017") == dt.date(2017, 6, 11)


@pytest.mark.parametrize(
    "text", ["06/11/17", "2017-6-11", "11.06.2017", "2019-02-30", "01/13/2010", "unknown", "0"]
)
def test_any_other_date_is_unknown(text):
    assert parse_date_of_birth(text) is None


def test_a_bad_date_is_counted_reported_and_unknown():
    parsed = parse(HEADER + "a,Amy,Example,2017-02-30,\nb,Amy,Example,11/06/2017,\n")
    assert parsed.bad_dates == 1
    assert parsed.records[0].date_of_birth is None
    assert parsed.records[1].date_of_birth == dt.date(2017, 6, 11)
    assert "line 2 (a)" in parsed.warnings[0] and "2017-02-30" in parsed.warnings[0]


def test_warnings_stop_after_ten_with_a_count_of_the_rest():
    rows = "".join(f"r{i},A,B,32/01/2000,\n" for i in range(15))
    parsed = parse(HEADER + rows)
    assert parsed.bad_dates == 15
    assert len(parsed.warnings) == 11
    assert parsed.warnings[-1].startswith("... 5 more")


def test_missing_optional_columns_are_empty_and_source_defaults_to_the_file_name():
    parsed = parse("family_name,record_id,given_names,shoe_size\nExample,a,Amy,5\n")
    record = parsed.records[0]
    assert record.source == "file.csv"
    assert (record.postcode, record.nhs_number, record.date_of_birth) == ("", "", None)


def test_a_missing_required_column_is_an_error():
    with pytest.raises(RecordsError, match="family_name"):
        parse("record_id,given_names\na,Amy\n")


def test_an_empty_file_is_an_error():
    with pytest.raises(RecordsError, match="empty"):
        parse("")


def test_a_repeated_record_id_is_an_error():
    with pytest.raises(RecordsError, match="line 3: record_id 'a' appears more than once"):
        parse(HEADER + "a,Amy,Example,,\na,Amy,Example,,\n")


def test_an_empty_record_id_is_an_error():
    with pytest.raises(RecordsError, match="line 2: record_id is empty"):
        parse(HEADER + ",Amy,Example,,\n")


def test_a_row_with_more_fields_than_the_header_is_an_error():
    with pytest.raises(RecordsError, match="more fields"):
        parse(HEADER + "a,Amy,Example,,,extra\n")


def test_empty_names_are_allowed():
    assert parse(HEADER + "a,,,,\n").records[0].given_names == ""


def test_rfc4180_quoting_is_read():
    parsed = parse(HEADER + 'a,"Amy, Jane","O\'Brien ""Junior""",,\n')
    assert parsed.records[0].given_names == "Amy, Jane"
    assert parsed.records[0].family_name == 'O\'Brien "Junior"'


def test_sex_outside_m_f_u_is_ignored_with_a_warning():
    parsed = parse("record_id,given_names,family_name,sex\na,A,B,X\nb,A,B,f\n")
    assert [r.sex for r in parsed.records] == ["", "F"]
    assert "sex 'X'" in parsed.warnings[0]


def test_the_truth_must_cover_every_record_and_nothing_else():
    truth = "record_id,person_id\na,1\nb,1\n"
    assert parse_truth(io.StringIO(truth), ["a", "b"]) == {"a": "1", "b": "1"}
    with pytest.raises(RecordsError, match="no person_id"):
        parse_truth(io.StringIO(truth), ["a", "b", "c"])
    with pytest.raises(RecordsError, match="not in the records file"):
        parse_truth(io.StringIO(truth), ["a"])
    with pytest.raises(RecordsError, match="appears twice"):
        parse_truth(io.StringIO(truth + "a,2\n"))
    with pytest.raises(RecordsError, match="record_id,person_id"):
        parse_truth(io.StringIO("id,person\na,1\n"))

"""Reference data: loading it, and each process's copy of routing and schools."""

import pytest

from safehub.accounts.models import Agency, PostcodeRoute
from safehub.accounts.selectors import councils_for_district, reference_snapshot_clear
from safehub.accounts.services import DATA_DIR, ReferenceDataError, reference_load


def test_the_five_merseyside_councils_are_shipped_with_their_districts(reference):
    codes = dict(Agency.objects.filter(kind="children_services").values_list("la_code", "name"))
    assert sorted(codes) == ["340", "341", "342", "343", "344"]
    assert [c.la_code for c in councils_for_district(district="CH41")] == ["344"]
    assert sorted(c.la_code for c in councils_for_district(district="L9")) == ["341", "343"]


def test_loading_again_updates_in_place(reference):
    summary = reference_load()
    assert summary.agencies_created == 0 and summary.agencies_updated == Agency.objects.count()


def test_a_bad_row_refuses_the_whole_file_naming_line_and_field(db, tmp_path):
    bad = tmp_path / "agencies.csv"
    bad.write_text((DATA_DIR / "agencies.csv").read_text() + "council,X1,Nowhere,,,,,,,\n")
    with pytest.raises(ReferenceDataError, match=r"agencies.csv line \d+: kind 'council'"):
        reference_load(agencies_csv=bad)
    assert not Agency.objects.exists()


def test_each_process_keeps_routing_until_told_or_timed_out(reference, settings):
    settings.SAFEHUB_REFERENCE_CACHE_SECONDS = 3600
    reference_snapshot_clear()
    assert [c.la_code for c in councils_for_district(district="CH41")] == ["344"]
    PostcodeRoute.objects.filter(district="CH41").update(council=Agency.objects.get(la_code="341"))
    assert [c.la_code for c in councils_for_district(district="CH41")] == ["344"]  # cached
    reference_snapshot_clear()
    assert [c.la_code for c in councils_for_district(district="CH41")] == ["341"]
    reference_snapshot_clear()

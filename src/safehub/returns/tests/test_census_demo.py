"""Done when: the CIN census of the demonstration hub validates against the DfE schema
(CIN_schema_2024) and breaks none of the DfE rules safehub checks, for every council, and holds
every referral of the year that the demo recorded."""

import datetime as dt
from pathlib import Path

import pytest
from lxml import etree

from safehub.accounts.models import Agency, AgencyKind
from safehub.casework.models import CaseEpisode
from safehub.core import clock
from safehub.core.management.commands.demo import Command
from safehub.returns.census import CensusInvalid, census_schema, census_write
from safehub.timescales.calendar import london_date

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_hub(reference, settings, tmp_path: Path):
    settings.VAR_DIR = str(tmp_path)
    command = Command()
    command._people(tmp_path / "demo-logins.json")
    command._notifications(tmp_path, 200, 14)
    command._history()
    return command


def census_year_of_today() -> int:
    today = london_date(clock.now())
    return today.year + 1 if today.month >= 4 else today.year


def test_the_demo_hub_census_validates_for_every_council(demo_hub, tmp_path):
    year = census_year_of_today()
    assert CaseEpisode.objects.exists(), "the demo recorded no referral"
    written = 0
    for council in Agency.objects.filter(kind=AgencyKind.CHILDREN_SERVICES):
        referrals = CaseEpisode.objects.filter(local_authority=council).count()
        if not referrals:
            continue  # the schema needs at least one child: a census of nobody is not a file
        path = tmp_path / f"census-{council.la_code}.xml"
        try:
            summary = census_write(council=council, year=year, path=path, exported_by="test")
        except CensusInvalid as refused:
            errors = "\n".join(str(p) for p in refused.summary.errors)
            pytest.fail(f"the census of {council.name} was refused:\n{errors}")
        assert census_schema().validate(etree.parse(str(path))), census_schema().error_log
        # Every referral open at any time in the year, counted here by hand.
        start, end = dt.date(year - 1, 4, 1), dt.date(year, 3, 31)
        open_in_year = sum(
            1
            for e in CaseEpisode.objects.filter(local_authority=council)
            if e.referral_date <= end and (e.closed_on is None or e.closed_on >= start)
        )
        assert summary.episodes == open_in_year
        written += 1
    assert written >= 1

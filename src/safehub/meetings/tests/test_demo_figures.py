"""The demonstration hub's strategy discussion figures, read from the API, agree with counts made
here another way: timeliness from the children's deadline clocks (not the discussions' own
times), attendance and information from the participant rows, requests from their answers."""

import datetime as dt
from collections import Counter
from pathlib import Path

import pytest
from django.test import Client

from safehub.core import clock
from safehub.core.management.commands.demo import Command
from safehub.meetings.models import (
    Attendance,
    DiscussionStatus,
    InformationRequest,
    Participant,
    RequestStatus,
    StrategyDiscussion,
)
from safehub.timescales.models import Clock, ClockKind, ClockState

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_hub(reference, settings, tmp_path: Path):
    settings.VAR_DIR = str(tmp_path)
    command = Command()
    command._people(tmp_path / "demo-logins.json")
    command._notifications(tmp_path, 200, 14)
    command._history()
    return command


def test_the_demo_hub_has_discussions_of_every_kind(demo_hub):
    statuses = Counter(StrategyDiscussion.objects.values_list("status", flat=True))
    assert statuses[DiscussionStatus.HELD] >= 5
    assert statuses[DiscussionStatus.CALLED] >= 1
    attendance = Counter(Participant.objects.values_list("attendance", flat=True))
    assert attendance[Attendance.ATTENDED] and attendance[Attendance.APOLOGIES_WITH_INFORMATION]
    assert InformationRequest.objects.filter(status=RequestStatus.ANSWERED).exists()


def test_the_api_figures_agree_with_a_count_by_hand(demo_hub, make_user):
    analyst = make_user("analyst", "LA344", "analyst")
    client = Client()
    client.force_login(analyst)
    today = clock.now().astimezone(clock.LONDON).date()
    start, end = today - dt.timedelta(days=30), today + dt.timedelta(days=1)
    response = client.get("/api/v1/reports/strategy-discussions", {"start": start, "end": end})
    assert response.status_code == 200, response.content
    got = response.json()

    discussions = list(StrategyDiscussion.objects.filter(local_authority__code="LA344"))
    held = [d for d in discussions if d.status == DiscussionStatus.HELD]
    assert got["called"] == len(discussions) > 0
    assert got["held"] == len(held)

    # On time, from the first child's strategy discussion clock: met (on time) or breached.
    on_time = 0
    for d in held:
        child = d.children.order_by("id").first()
        clock_row = Clock.objects.get(
            contact_id=child.contact_id, kind=ClockKind.STRATEGY_DISCUSSION
        )
        on_time += clock_row.state == ClockState.MET
    assert got["held_within_due"] == on_time
    assert got["held_late"] == len(held) - on_time

    # Attendance of the held discussions, police apart from everyone else but the council.
    rows = Participant.objects.filter(discussion__in=held).exclude(role="children_social_care")
    police = [p for p in rows if p.role == "police"]
    others = [p for p in rows if p.role != "police"]

    def informed(p: Participant) -> bool:
        answered = InformationRequest.objects.filter(
            participant=p, status=RequestStatus.ANSWERED
        ).exists()
        return p.attendance in ("attended", "apologies_with_information") or answered

    for name, group in (("police_attendance", police), ("partners_attendance", others)):
        figure = got[name]
        assert figure["invited"] == len(group)
        assert figure["attended"] == sum(p.attendance == "attended" for p in group)
        assert figure["apologies_with_information"] == sum(
            p.attendance == "apologies_with_information" for p in group
        )
        assert figure["did_not_attend"] == sum(p.attendance == "did_not_attend" for p in group)
        assert figure["sent_information"] == sum(informed(p) for p in group)
    assert got["police_attendance"]["invited"] > 0

    # Requests answered on time, by agency.
    by_agency: dict[str, list[int]] = {}
    for r in InformationRequest.objects.filter(
        participant__discussion__local_authority__code="LA344"
    ).select_related("participant__agency"):
        sent, on_time_count = by_agency.setdefault(r.participant.agency.code, [0, 0])
        by_agency[r.participant.agency.code] = [
            sent + 1,
            on_time_count + int(r.answered_at is not None and r.answered_at <= r.deadline),
        ]
    served = {row["agency"]: row for row in got["requests_by_agency"]}
    assert set(served) == set(by_agency)
    for code, (sent, answered_on_time) in by_agency.items():
        assert served[code]["sent"] == sent
        assert served[code]["answered_on_time"] == answered_on_time

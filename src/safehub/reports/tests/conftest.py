"""Hand-built records for the dashboard's figures: every row written directly, with the times
chosen so that each figure's answer is known before it is computed.

The clock stands at Tue 24 Nov 2026 09:00 UTC; the period is the 30 London days up to then
(Mon 26 Oct to Tue 24 Nov 2026). Wirral (LA344) and Liverpool (LA341) are the councils; Merseyside
(MSP) and Cheshire (CHS) the forces."""

import datetime as dt
import itertools
from typing import Any

import pytest

from safehub.core import clock
from safehub.reports.scope import Period

NOW = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
PERIOD = Period(dt.date(2026, 10, 26), dt.date(2026, 11, 24))
_refs = itertools.count(1)


def at(day: int, hour: float = 12, month: int = 11) -> dt.datetime:
    return dt.datetime(2026, month, day, tzinfo=dt.UTC) + dt.timedelta(hours=hour)


class Build:
    """Rows, made directly."""

    def __init__(self, make_user: Any) -> None:
        from safehub.accounts.models import Agency

        self.agencies = {a.code: a for a in Agency.objects.all()}
        self.wirral = self.agencies["LA344"]
        self.liverpool = self.agencies["LA341"]
        self.msp = self.agencies["MSP"]
        self.chs = self.agencies["CHS"]
        self.worker = make_user("wendy", "LA344", "hub_social_worker")
        self.manager = make_user("mo", "LA344", "hub_manager")

    def notification(
        self,
        *,
        force: Any = None,
        occurred: dt.datetime,
        recorded: dt.datetime,
        received: dt.datetime,
    ) -> Any:
        from safehub.intake.models import Notification

        force = force or self.msp
        return Notification.objects.create(
            force=force,
            force_code=force.code,
            incident_reference=f"{force.code}-{next(_refs):06d}",
            occurred_at=occurred,
            recorded_at=recorded,
            received_at=received,
            officer_grade="medium",
        )

    def contact(
        self,
        *,
        council: Any = None,
        received: dt.datetime,
        rag: str = "amber",
        notification: Any = None,
        given: str = "Amy",
        family: str = "Example",
        dob: dt.date | None = dt.date(2018, 5, 1),
        child_ref: str = "",
    ) -> Any:
        from safehub.referrals.models import Contact

        return Contact.objects.create(
            notification=notification,
            child_ref=child_ref or f"C{next(_refs)}",
            local_authority=council or self.wirral,
            routing="routed",
            received_at=received,
            incident_at=notification.occurred_at if notification else None,
            referral_source="6",
            given_names=given,
            family_name=family,
            date_of_birth=dob,
            rag=rag,
        )

    def clock(
        self,
        contact: Any,
        kind: str,
        *,
        started: dt.datetime,
        due: dt.datetime,
        met: dt.datetime | None = None,
        state: str = "",
    ) -> Any:
        from safehub.timescales.models import Clock

        if not state:
            state = "running" if met is None else ("met" if met <= due else "breached")
        return Clock.objects.create(
            contact=contact,
            local_authority_id=contact.local_authority_id,  # as clock_build copies it
            kind=kind,
            started_at=started,
            due_at=due,
            met_at=met,
            state=state,
        )

    def decision(self, contact: Any, *, referral: bool, signed_off: bool = True) -> Any:
        from safehub.referrals.models import Decision

        return Decision.objects.create(
            contact=contact,
            outcome="assessment_s17" if referral else "early_help",
            rationale="Because.",
            referral_source="6",
            became_referral=referral,
            decided_by=self.worker,
            decided_at=contact.received_at + dt.timedelta(hours=2),
            sign_off="signed_off" if signed_off else "awaiting_sign_off",
            signed_off_by=self.manager if signed_off else None,
            signed_off_at=contact.received_at + dt.timedelta(hours=3) if signed_off else None,
        )

    def episode(self, contact: Any, *, referral: dt.date) -> Any:
        from safehub.casework.models import CaseEpisode

        return CaseEpisode.objects.create(
            contact=contact,
            local_authority=contact.local_authority,
            referral_date=referral,
            referral_source="6",
            opened_at=contact.received_at,
            opened_by=self.manager,
        )


@pytest.fixture
def build(make_user) -> Build:
    return Build(make_user)


@pytest.fixture
def now():
    with clock.frozen(NOW):
        yield NOW

"""Casework for the demonstration hub: what each council's social workers recorded after the front
door, so that its children in need census and Ofsted's Annex A are whole.

Made through the same services as the pages, each act at its own plausible time in the past (a
working day, office hours), with a fixed seed:

- every referral's child details (ethnicity, a UPN or why there is none, disability);
- the assessments started at the front door, most of them authorised with the factors found
  (domestic abuse, 3A/3B, in nearly all: these are police domestic abuse referrals), some with
  no factors, those assessed as needing no support closed (RC8, RC9), some given a children in
  need plan;
- the section 47 enquiries started by Wirral's strategy discussions: conferences recorded on
  working days within their 15 working days, some found not to be needed, some still to come;
- and, because the notifications cover only the last weeks, a few older referrals per council
  (made as contacts from a school, a GP, a health visitor, a relative, two to four months ago)
  that carry what only time shows: assessments authorised after 45 working days with the reason,
  section 47 enquiries (their strategy discussions predate the demo's records, so the enquiry
  names none) with conferences in time and late, protection plans with their review conferences
  (the latest category of abuse decided there, some plans ended at the review), children in need
  plans ended and the referral closed (RC7)."""

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.db import transaction

from safehub.accounts.models import User
from safehub.casework.models import Assessment, CaseEpisode, ChildProtectionPlan, Section47
from safehub.casework.services import (
    assessment_authorise,
    child_details_update,
    cin_plan_start,
    enquiry_start,
    episode_close,
    icpc_record,
    plan_end,
    plan_review_record,
    plan_start,
)
from safehub.core import clock
from safehub.referrals.decisions import contact_decide, contact_reassign, decision_sign_off
from safehub.referrals.models import Contact, Outcome
from safehub.referrals.services import contact_create_manual
from safehub.timescales.calendar import (
    add_working_days,
    is_working_day,
    london_date,
    working_days_between,
)

# Merseyside's children, roughly (census codes).
ETHNICITIES = [
    ("WBRI", 80),
    ("WOTH", 4),
    ("WIRI", 1),
    ("MWBC", 3),
    ("MWBA", 1),
    ("MWAS", 1),
    ("MOTH", 2),
    ("BAFR", 2),
    ("AOTH", 1),
    ("CHNE", 1),
    ("OOTH", 1),
    ("NOBT", 3),
]
DISABILITIES: list[tuple[tuple[str, ...], int]] = [
    (("NONE",), 85),
    (("LD",), 4),
    (("COMM",), 3),
    (("AUT",), 4),
    (("BEH", "LD"), 2),
]
# Factors found alongside domestic abuse, with how often.
OTHER_FACTORS = [("4B", 0.3), ("1B", 0.2), ("2B", 0.15), ("17A", 0.2), ("16A", 0.1)]
LATE_REASONS = [
    "The child's mother was in hospital for three weeks: the family could not be seen together.",
    "The family moved to a refuge out of the area; the assessment resumed on their return.",
    "Waiting for the health visitor's and the GP's information, chased twice.",
]
REFERRERS = [
    ("2A", "Designated safeguarding lead", "Primary school"),
    ("3B", "Health visitor", "Community health trust"),
    ("3A", "GP", "Medical practice"),
    ("1A", "Grandmother", ""),
    ("8", "Family support worker", "Children's centre"),
]
GIVEN = ["Olivia", "Harry", "Isla", "Noah", "Ava", "Jack", "Mia", "Leo", "Evie", "Oscar", "Ruby"]
FAMILY = ["Kelly", "Doyle", "Roberts", "Hughes", "Murphy", "Lloyd", "Jones", "Byrne", "Walsh"]


@dataclass
class CaseworkSummary:
    details: int = 0
    authorised: int = 0
    late: int = 0
    conferences: int = 0
    not_required: int = 0
    plans: int = 0
    reviews: int = 0
    plans_ended: int = 0
    cin_plans: int = 0
    closed: int = 0
    older: int = 0


def _when(day: dt.date, rng: random.Random) -> dt.datetime:
    """A time in office hours (London) on `day`."""
    local = dt.datetime.combine(
        day, dt.time(rng.randint(9, 16), rng.choice([0, 15, 30, 45])), tzinfo=clock.LONDON
    )
    return local.astimezone(dt.UTC)


def _workday(day: dt.date) -> dt.date:
    while not is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def _choose[T](rng: random.Random, weighted: Sequence[tuple[T, int]]) -> T:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights)[0]


def _upn(rng: random.Random) -> str:
    return rng.choice("ABCDEFHJKLMNPRTUVWXYZ") + "".join(str(rng.randint(0, 9)) for _ in range(12))


def _factors(rng: random.Random) -> list[str]:
    if rng.random() < 0.08:
        return ["21"]
    found = ["3B"] if rng.random() < 0.4 else ["3A", "3B"]
    found += [code for code, share in OTHER_FACTORS if rng.random() < share]
    return found


def demo_casework(
    *, staff: dict[int, tuple[User, User]], seed: int = 2026, older: int = 5
) -> CaseworkSummary:
    """Record the casework of every council in `staff` (council id → (worker, manager)):
    `older` older referrals each, then the work on every open referral, as far as today."""
    rng = random.Random(seed)
    now = clock.now()
    summary = CaseworkSummary()
    for council_id in sorted(staff):
        worker, manager = staff[council_id]
        for n in range(older):
            _older_referral(worker, manager, rng=rng, now=now, n=n)
            summary.older += 1
    episodes = (
        CaseEpisode.objects.filter(local_authority_id__in=list(staff), closed_on__isnull=True)
        .select_related("contact")
        .order_by(
            "referral_date",
            "contact__received_at",
            "contact__notification__incident_reference",
            "contact__child_ref",
            "contact__given_names",
        )
    )
    for episode in episodes:
        worker, manager = staff[episode.local_authority_id]
        _work(episode, worker, manager, rng=rng, now=now, summary=summary)
    return summary


def _older_referral(worker: User, manager: User, *, rng: random.Random, now: dt.datetime, n: int):
    """A contact from another agency two to four months ago, referred for an assessment that day;
    every third one also has a section 47 enquiry."""
    received_on = _workday(london_date(now) - dt.timedelta(days=rng.randint(60, 125)))
    received = _when(received_on, rng).replace(hour=9)
    source, name, organisation = REFERRERS[n % len(REFERRERS)]
    age = rng.randint(1, 14)
    with clock.frozen(received):
        contact = contact_create_manual(
            created_by=worker,
            referral_source=source,
            referrer_name=name,
            referrer_organisation=organisation,
            referrer_contact="Through the council's switchboard",
            reason="Worried about the child after the parents' arguments; bruising seen.",
            given_names=rng.choice(GIVEN),
            family_name=rng.choice(FAMILY),
            date_of_birth=received_on - dt.timedelta(days=365 * age + rng.randint(0, 300)),
            age_estimate=None,
            sex=rng.choice("MF"),
            address_line1="",
            town="",
            postcode="",
            school_urn="",
        )
    with clock.frozen(received + dt.timedelta(hours=1)):
        contact_reassign(contact=contact, to_user=worker, by=manager, reason="Screen today.")
    with clock.frozen(received + dt.timedelta(hours=3)):
        contact.refresh_from_db()
        decision = contact_decide(
            contact=contact,
            decided_by=worker,
            outcome=Outcome.ASSESSMENT_S17,
            rationale="Domestic abuse at home and an injury: a child and family assessment.",
        )
    with clock.frozen(received + dt.timedelta(hours=4)):
        decision_sign_off(decision=decision, signed_off_by=manager, note="Agreed.")
    if n % 3 == 0:
        started_on = add_working_days(received_on, rng.randint(1, 3))
        with clock.frozen(_when(started_on, rng)), transaction.atomic():
            # The strategy discussion that started it predates the demo's records.
            enquiry_start(
                contact=Contact.objects.get(pk=contact.pk),
                discussion=None,
                by=worker,
                started_on=started_on,
                icpc_target=add_working_days(started_on, 15),
            )


def _work(
    episode: CaseEpisode,
    worker: User,
    manager: User,
    *,
    rng: random.Random,
    now: dt.datetime,
    summary: CaseworkSummary,
) -> None:
    """The work on one open referral, every act at its time and none after `now`."""
    today = london_date(now)
    older = episode.contact.notification_id is None

    def at(day: dt.date) -> dt.datetime | None:
        when = _when(day, rng)
        return when if day <= today and when <= now else None

    # The child's details, the working day after the referral.
    when = at(add_working_days(episode.referral_date, 1))
    if when is not None:
        age = (episode.referral_date - (episode.contact.date_of_birth or today)).days // 365
        with clock.frozen(when):
            child_details_update(
                episode=episode,
                by=worker,
                upn=_upn(rng) if age >= 5 else "",
                upn_unknown="" if age >= 5 else ("UN6" if episode.contact.unborn else "UN1"),
                ethnicity=_choose(rng, ETHNICITIES),
                disabilities=list(_choose(rng, DISABILITIES)),
            )
        summary.details += 1

    # Section 47 enquiries first: their conferences come before the assessment is authorised.
    made_plan = False
    for enquiry in Section47.objects.filter(episode=episode).order_by("started_on", "id"):
        made_plan |= _conference(enquiry, worker, rng=rng, at=at, older=older, summary=summary)

    assessment = Assessment.objects.filter(episode=episode, authorised_on__isnull=True).first()
    if assessment is None:
        return
    age_wd = working_days_between(assessment.started_on, today)
    if older:
        late = rng.random() < 0.4
        offset = rng.randint(47, 56) if late else rng.randint(15, 40)
        authorised_on = add_working_days(episode.referral_date, offset)
    else:
        if age_wd < 4 or rng.random() < 0.3:
            return  # still being assessed
        authorised_on = add_working_days(assessment.started_on, rng.randint(3, min(age_wd, 12)))
    conferences = [e.icpc_on for e in episode.enquiries.all() if e.icpc_on]
    if conferences and authorised_on < max(conferences):
        authorised_on = max(conferences)
    when = at(authorised_on)
    enquiries_open = episode.enquiries.filter(icpc_on__isnull=True, icpc_not_required=False)
    if when is None:
        return
    factors = ["3A", "3B", "17A"] if made_plan else _factors(rng)
    s47 = episode.enquiries.exists()
    needs_support = s47 or (factors != ["21"] and rng.random() < 0.6)
    # Abuse or neglect for most (a child living with domestic abuse); family stress, family
    # dysfunction or a parent's illness for some of those supported under section 17.
    primary_need = "N1"
    if needs_support and not s47 and rng.random() < 0.35:
        primary_need = rng.choice(["N4", "N5", "N5", "N3"])
    days = working_days_between(assessment.started_on, authorised_on)
    seen = add_working_days(assessment.started_on, rng.randint(0, max(0, min(days, 5))))
    late_reason = ""
    if working_days_between(episode.referral_date, authorised_on) > 45:
        late_reason = rng.choice(LATE_REASONS)
        summary.late += 1
    with clock.frozen(when):
        assessment_authorise(
            assessment=assessment,
            by=manager,
            authorised_on=authorised_on,
            child_seen_on=min(seen, authorised_on),
            factors=factors,
            needs_support=needs_support,
            late_reason=late_reason,
            primary_need=primary_need,
        )
    summary.authorised += 1
    if enquiries_open.exists():
        return  # the referral stays open until its conference is recorded

    if not needs_support:
        # Closed after the assessment: no further action, or to early help (within the hour,
        # when the day it would have closed has not come yet).
        close_at = at(add_working_days(authorised_on, rng.randint(0, 3))) or min(
            now, when + dt.timedelta(hours=1)
        )
        with clock.frozen(close_at):
            episode_close(
                episode=episode,
                by=worker,
                closed_on=london_date(close_at),
                reason="RC8" if rng.random() < 0.6 else "RC9",
            )
        summary.closed += 1
        return
    if made_plan or rng.random() < 0.5:
        return  # supported under the protection plan, or the assessment's plan is still drafted
    start = add_working_days(authorised_on, rng.randint(1, 5))
    when = at(start)
    if when is None:
        return
    with clock.frozen(when):
        cin_plan_start(episode=episode, by=worker, started_on=start)
    summary.cin_plans += 1
    if older and rng.random() < 0.6:
        # The plan's work is done: services cease and the referral closes.
        when = at(add_working_days(start, rng.randint(15, 30)))
        if when is not None:
            with clock.frozen(when):
                episode_close(episode=episode, by=worker, closed_on=london_date(when), reason="RC7")
            summary.closed += 1


def _conference(
    enquiry: Section47,
    worker: User,
    *,
    rng: random.Random,
    at: Callable[[dt.date], dt.datetime | None],
    older: bool,
    summary: CaseworkSummary,
) -> bool:
    """The enquiry's conference, if its day has come: most within the 15 working days (older
    ones late too), some found not to be needed. Whether it made a plan (started that day)."""
    if enquiry.icpc_on is not None or enquiry.icpc_not_required:
        return bool(enquiry.icpc_led_to_plan)
    if rng.random() < 0.15:
        decided = add_working_days(enquiry.started_on, rng.randint(2, 5))
        when = at(decided)
        if when is None:
            return False
        with clock.frozen(when):
            icpc_record(
                enquiry=enquiry, by=worker, icpc_on=None, not_required=True, led_to_plan=None
            )
        summary.not_required += 1
        return False
    late = older and rng.random() < 0.4
    held = add_working_days(enquiry.started_on, rng.randint(16, 22) if late else rng.randint(8, 15))
    when = at(held)
    if when is None:
        return False  # still to come
    led_to_plan = rng.random() < 0.7
    with clock.frozen(when):
        icpc_record(
            enquiry=enquiry, by=worker, icpc_on=held, not_required=False, led_to_plan=led_to_plan
        )
        summary.conferences += 1
        if not led_to_plan:
            return False
        plan = plan_start(
            enquiry=enquiry,
            by=worker,
            category="EMO" if rng.random() < 0.7 else rng.choice(["NEG", "PHY"]),
            previous_plans=0 if rng.random() < 0.8 else 1,
        )
        summary.plans += 1
    _review(plan, worker, rng=rng, at=at, summary=summary)
    return True


def _review(
    plan: ChildProtectionPlan,
    worker: User,
    *,
    rng: random.Random,
    at: Callable[[dt.date], dt.datetime | None],
    summary: CaseworkSummary,
) -> None:
    """The plan's first review conference, if its day has come: within 3 months of the plan
    (Working Together T5), most keeping the category of abuse, some changing it (neglect found,
    or physical abuse), a few ending the plan there."""
    reviewed_on = add_working_days(plan.started_on, rng.randint(25, 60))
    when = at(reviewed_on)
    if when is None:
        return  # still to come
    category = plan.latest_category
    if rng.random() < 0.35:
        category = rng.choice([c for c in ("NEG", "EMO", "PHY") if c != category])
    with clock.frozen(when):
        plan_review_record(plan=plan, by=worker, reviewed_on=reviewed_on, latest_category=category)
        summary.reviews += 1
        if rng.random() < 0.3:
            plan_end(plan=plan, by=worker, ended_on=reviewed_on)
            summary.plans_ended += 1

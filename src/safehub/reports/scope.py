"""Whose figures a dashboard shows (a council, a force across the councils its notices reached,
or the nation), and for which days. See docs/dashboard.md."""

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q

from safehub.accounts.models import Agency, AgencyKind, User
from safehub.accounts.permissions import user_can
from safehub.core import clock

COUNCIL = "council"
FORCE = "force"
NATIONAL = "national"

# The preset periods offered on the page, in days ending today (London).
PRESETS: dict[str, int] = {"7": 7, "30": 30, "90": 90, "365": 365}
DEFAULT_DAYS = 30
MAX_DAYS = 366


@dataclass(frozen=True)
class Period:
    """London days from `start` to `end`, both included."""

    start: dt.date
    end: dt.date

    @classmethod
    def last(cls, days: int, *, today: dt.date | None = None) -> "Period":
        today = today or clock.now().astimezone(clock.LONDON).date()
        return cls(today - dt.timedelta(days=days - 1), today)

    @property
    def lo(self) -> dt.datetime:
        """The first instant of the period, in UTC."""
        return dt.datetime.combine(self.start, dt.time.min, tzinfo=clock.LONDON).astimezone(dt.UTC)

    @property
    def hi(self) -> dt.datetime:
        """The first instant after the period, in UTC."""
        after = self.end + dt.timedelta(days=1)
        return dt.datetime.combine(after, dt.time.min, tzinfo=clock.LONDON).astimezone(dt.UTC)

    @property
    def end_exclusive(self) -> dt.date:
        return self.end + dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def __str__(self) -> str:
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class Scope:
    """What a dashboard counts. A council's: the contacts routed to it. A force's: the contacts
    made from its notifications, in whichever council they were routed to. National: every
    routed contact, shown only as counts by council and by force."""

    kind: str
    name: str
    council: Agency | None = None
    force: Agency | None = None
    council_ids: tuple[int, ...] = field(default=())  # a force's councils, once known

    @property
    def is_national(self) -> bool:
        return self.kind == NATIONAL

    def contacts_q(self, prefix: str = "") -> Q:
        """The contacts in scope, as a filter on Contact (or, with `prefix`, on a model that
        leads to one, e.g. "contact__")."""
        if self.kind == COUNCIL:
            return Q(**{f"{prefix}local_authority": self.council})
        if self.kind == FORCE:
            return Q(
                **{f"{prefix}notification__force": self.force},
                **{f"{prefix}local_authority__isnull": False},
            )
        return Q(**{f"{prefix}local_authority__isnull": False})

    def councils_q(self, field_name: str = "local_authority") -> Q:
        """Records that belong to a council in scope (strategy discussions: the council's own)."""
        if self.kind == COUNCIL:
            return Q(**{field_name: self.council})
        if self.kind == FORCE:
            return Q(**{f"{field_name}__in": list(self.council_ids)})
        return Q(**{f"{field_name}__isnull": False})


def council_scope(council: Agency) -> Scope:
    return Scope(COUNCIL, council.name, council=council)


def force_scope(force: Agency, period: Period) -> Scope:
    """A force's scope: its councils are those its notices' children were routed to in the
    period (there is no table of a force's councils: the data says where its notices went)."""
    from safehub.referrals.models import Contact

    ids = (
        Contact.objects.filter(
            notification__force=force,
            local_authority__isnull=False,
            received_at__gte=period.lo,
            received_at__lt=period.hi,
        )
        .order_by()
        .values_list("local_authority_id", flat=True)
        .distinct()
    )
    return Scope(FORCE, force.name, force=force, council_ids=tuple(sorted(set(ids))))


def national_scope() -> Scope:
    return Scope(NATIONAL, "England and Wales")


def scope_for(user: User, period: Period) -> Scope | None:
    """The dashboard a person with `report.view` (or, for drill-downs, `contact.view`) sees: their
    council's, or their force's. None for anyone else."""
    agency = user.agency
    if agency is None:
        return None
    if agency.kind == AgencyKind.CHILDREN_SERVICES:
        return council_scope(agency)
    if agency.kind == AgencyKind.POLICE_FORCE:
        return force_scope(agency, period)
    return None


def can_drill(user: User, scope: Scope) -> bool:
    """Whether the numbers link to the contacts behind them: never nationally; otherwise for the
    people who may see those contacts (`contact.view`), in their own council or force."""
    if scope.is_national or not user_can(user, "contact.view"):
        return False
    agency = user.agency
    return agency is not None and agency in (scope.council, scope.force)

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models


class AgencyKind(models.TextChoices):
    POLICE_FORCE = "police_force", "Police force"
    CHILDREN_SERVICES = "children_services", "Council children's services"
    EDUCATION_SAFEGUARDING = "education_safeguarding", "Council education safeguarding"
    HEALTH = "health", "Health provider"
    SCHOOL = "school", "School"
    DOMESTIC_ABUSE_SERVICE = "domestic_abuse_service", "Domestic abuse service"
    ADULT_MENTAL_HEALTH = "adult_mental_health", "Adult mental health service"
    SUBSTANCE_MISUSE = "substance_misuse", "Substance misuse service"
    PROBATION = "probation", "Probation service"
    HOUSING = "housing", "Housing"
    YOUTH_JUSTICE = "youth_justice", "Youth justice service"
    OTHER = "other", "Other agency"


class SchoolPhase(models.TextChoices):
    NURSERY = "nursery", "Nursery"
    PRIMARY = "primary", "Primary"
    SECONDARY = "secondary", "Secondary"
    ALL_THROUGH = "all_through", "All-through"
    SPECIAL = "special", "Special"
    PRU = "pru", "Pupil referral unit"
    FURTHER_EDUCATION = "further_education", "Further education"


class Agency(models.Model):
    """An organisation that takes part in the hub: a force, a council, a trust, a school."""

    kind = models.CharField(max_length=32, choices=AgencyKind.choices)
    code = models.CharField(
        max_length=32, unique=True, help_text="Force code, LA + DfE code, ODS code or URN + URN."
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True, help_text="The agency's duty or safeguarding inbox.")
    la_code = models.CharField(
        "DfE LA code",
        max_length=3,
        blank=True,
        null=True,
        unique=True,
        help_text="Councils' children's services only: the three-digit DfE code.",
    )
    urn = models.CharField(
        "URN",
        max_length=6,
        blank=True,
        null=True,
        unique=True,
        help_text="Schools only: the DfE unique reference number.",
    )
    phase = models.CharField(max_length=32, choices=SchoolPhase.choices, blank=True)
    dsl_name = models.CharField("designated safeguarding lead", max_length=200, blank=True)
    dsl_email = models.EmailField("designated safeguarding lead's e-mail", blank=True)
    council = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="served_by",
        limit_choices_to={"kind": AgencyKind.CHILDREN_SERVICES},
        help_text="Schools and education teams: the council whose area they are in.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["kind", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="children_services") | models.Q(la_code__isnull=False),
                name="council_has_la_code",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="school") | models.Q(urn__isnull=False),
                name="school_has_urn",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PostcodeRoute(models.Model):
    """A postcode district served by a council. A district listed for two councils is split:
    contacts there go to the hub's "to be routed" list for a person to decide."""

    district = models.CharField(max_length=4, help_text="The outward code, e.g. CH41.")
    council = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="postcode_routes",
        limit_choices_to={"kind": AgencyKind.CHILDREN_SERVICES},
    )

    class Meta:
        ordering = ["district"]
        constraints = [
            models.UniqueConstraint(fields=["district", "council"], name="unique_district_council")
        ]
        indexes = [models.Index(fields=["district"])]

    def __str__(self) -> str:
        return f"{self.district} → {self.council.la_code}"


class Role(models.TextChoices):
    HUB_SOCIAL_WORKER = "hub_social_worker", "Hub social worker"
    HUB_MANAGER = "hub_manager", "Hub team manager"
    HEAD_OF_SERVICE = "head_of_service", "Head of service"
    POLICE_HUB_OFFICER = "police_hub_officer", "Police hub officer"
    HEALTH_PRACTITIONER = "health_practitioner", "Health practitioner"
    EDUCATION_SAFEGUARDING_LEAD = "education_safeguarding_lead", "Education safeguarding lead"
    DOMESTIC_ABUSE_ADVISER = "domestic_abuse_adviser", "Domestic abuse adviser"
    ANALYST = "analyst", "Performance analyst"
    AUDITOR = "auditor", "Auditor"
    ADMINISTRATOR = "administrator", "Administrator"


class User(AbstractUser):
    """A person who signs in. Belongs to one agency; holds one or more roles."""

    agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, null=True, blank=True, related_name="users"
    )
    roles = models.JSONField(default=list, blank=True, help_text="Role codes the user holds.")

    def has_role(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiClient(models.Model):
    """A police force's records system that sends notifications. Only the token's hash is kept."""

    name = models.CharField(max_length=200)
    force = models.ForeignKey(
        Agency,
        on_delete=models.PROTECT,
        related_name="api_clients",
        limit_choices_to={"kind": AgencyKind.POLICE_FORCE},
    )
    token_prefix = models.CharField(max_length=12, help_text="The token's first characters.")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # After `safehub apiclient rotate`: the token before the current one, accepted until
    # `previous_token_until` so that the sender can switch over without a gap, then refused with
    # a message that says so. Only its hash is kept, as for the current one.
    previous_token_prefix = models.CharField(max_length=12, blank=True)
    previous_token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    previous_token_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["force__code", "name"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(previous_token_hash__isnull=True, previous_token_until__isnull=True)
                    | models.Q(
                        previous_token_hash__isnull=False, previous_token_until__isnull=False
                    )
                ),
                name="apiclient_previous_token_has_an_end",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.force.code})"

    @staticmethod
    def new_token() -> str:
        return "shb_" + secrets.token_urlsafe(32)


class SignInFailure(models.Model):
    """One failed sign-in, kept only while it can still count towards a lock. The lock is on the
    username *and* the address together (safehub.accounts.signin), so this row names both."""

    username = models.CharField(max_length=150, help_text="As typed, case-folded.")
    address = models.CharField(max_length=64, help_text="The client's IP address.")
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["username", "address", "at"], name="signinfailure_pair_at"),
            models.Index(fields=["at"], name="signinfailure_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.username} from {self.address}"


class RateBucket(models.Model):
    """One rate limit's state for one caller (safehub.core.ratelimit): the "theoretical arrival
    time" of the generic cell rate algorithm, in microseconds since the epoch (whole numbers, so
    that a burst adds up exactly). In the database, so that
    every web process and host counts the same requests; on PostgreSQL the table is UNLOGGED (a
    crash empties it, which only forgives recent requests). A row whose time has passed says the
    same as no row, so nothing needs to clear them."""

    key = models.CharField(max_length=100, primary_key=True, help_text="scope:caller:period")
    tat = models.BigIntegerField()

    def __str__(self) -> str:
        return self.key

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from safehub.accounts.models import Agency, AgencyKind, ApiClient, PostcodeRoute, hash_token
from safehub.accounts.selectors import reference_snapshot_clear
from safehub.audit.models import Action
from safehub.audit.services import audit_record
from safehub.core import clock
from safehub.core.errors import Conflict, DomainError, NotFound

DATA_DIR = Path(__file__).resolve().parent / "data"


class ReferenceDataError(DomainError):
    status = 422


@dataclass
class ReferenceLoadSummary:
    agencies_created: int = 0
    agencies_updated: int = 0
    routes: int = 0


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]


@transaction.atomic
def reference_load(
    *,
    agencies_csv: Path = DATA_DIR / "agencies.csv",
    districts_csv: Path = DATA_DIR / "postcode_districts.csv",
) -> ReferenceLoadSummary:
    """Load agencies and the postcode routing table from CSV. Re-running updates in place; the
    routing table is replaced whole. Any bad row refuses the whole file, naming row and field."""
    summary = ReferenceLoadSummary()
    rows = _read_csv(agencies_csv)
    kinds = set(AgencyKind.values)
    problems = []
    for n, row in enumerate(rows, start=2):
        if row.get("kind") not in kinds:
            problems.append(
                f"{agencies_csv.name} line {n}: kind {row.get('kind')!r} is not one of "
                f"{', '.join(sorted(kinds))}"
            )
        if not row.get("code") or not row.get("name"):
            problems.append(f"{agencies_csv.name} line {n}: code and name are required")
    if problems:
        raise ReferenceDataError("; ".join(problems))

    by_la: dict[str, Agency] = {}
    pending_council: list[tuple[Agency, str, int]] = []
    for n, row in enumerate(rows, start=2):
        fields = {
            "kind": row["kind"],
            "name": row["name"],
            "email": row.get("email", ""),
            "la_code": row.get("la_code") or None,
            "urn": row.get("urn") or None,
            "phase": row.get("phase", ""),
            "dsl_name": row.get("dsl_name", ""),
            "dsl_email": row.get("dsl_email", ""),
        }
        agency, created = Agency.objects.update_or_create(code=row["code"], defaults=fields)
        summary.agencies_created += created
        summary.agencies_updated += not created
        if agency.la_code:
            by_la[agency.la_code] = agency
        if row.get("council"):
            pending_council.append((agency, row["council"], n))
    for agency, la_code, n in pending_council:
        council = by_la.get(la_code) or Agency.objects.filter(la_code=la_code).first()
        if council is None:
            raise ReferenceDataError(f"{agencies_csv.name} line {n}: council {la_code} is unknown")
        agency.council = council
        agency.save(update_fields=["council"])

    PostcodeRoute.objects.all().delete()
    routes = []
    for n, row in enumerate(_read_csv(districts_csv), start=2):
        council = (
            by_la.get(row.get("la_code", ""))
            or Agency.objects.filter(la_code=row.get("la_code")).first()
        )
        if council is None:
            raise ReferenceDataError(
                f"{districts_csv.name} line {n}: la_code {row.get('la_code')!r} is not a council"
            )
        routes.append(PostcodeRoute(district=row["district"].upper(), council=council))
    PostcodeRoute.objects.bulk_create(routes)
    summary.routes = len(routes)
    transaction.on_commit(reference_snapshot_clear)
    return summary


def apiclient_create(*, force_code: str, name: str) -> tuple[ApiClient, str]:
    """Create an integration client for a force. The token is returned once and never stored."""
    force = Agency.objects.filter(code=force_code, kind=AgencyKind.POLICE_FORCE).first()
    if force is None:
        raise NotFound(f"No police force with code {force_code!r} is registered.")
    token = ApiClient.new_token()
    client = ApiClient.objects.create(
        name=name,
        force=force,
        token_prefix=token[:10],
        token_hash=hash_token(token),
        created_at=clock.now(),
    )
    return client, token


# A rotation's overlap is for the sender to deploy the new token, not a second lifetime.
MAX_OVERLAP = dt.timedelta(days=7)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _active_client(prefix: str) -> ApiClient:
    """The one active client whose current token starts with `prefix`, locked for the change."""
    clients = list(
        ApiClient.objects.select_for_update().filter(token_prefix=prefix, revoked_at__isnull=True)
    )
    if not clients:
        raise NotFound(f"No active client has a token starting {prefix}.")
    if len(clients) > 1:
        raise Conflict(f"{len(clients)} active clients have tokens starting {prefix}.")
    return clients[0]


@transaction.atomic
def apiclient_rotate(
    *, prefix: str, overlap: dt.timedelta, rotated_by: Any
) -> tuple[ApiClient, str]:
    """Give the client whose current token starts with `prefix` a new token, returned once and
    never stored. The old token keeps working for `overlap` (the sender's time to switch over),
    then is refused. A second rotation while an overlap runs would cut the token before short,
    so it is refused unless `overlap` is zero (a leaked token: only the new one works at once)."""
    if overlap < dt.timedelta(0) or overlap > MAX_OVERLAP:
        raise DomainError(
            f"The overlap must be between 0 and {MAX_OVERLAP.days * 24} hours.", code="bad_overlap"
        )
    client = _active_client(prefix)
    now = clock.now()
    until = client.previous_token_until
    if overlap and until is not None and until > now:
        raise Conflict(
            f"The token before, starting {client.previous_token_prefix}, is still accepted until "
            f"{_iso(until)}: end it first (`safehub apiclient revoke "
            f"{client.previous_token_prefix}`) or rotate with --overlap-hours 0.",
            code="overlap_running",
        )
    token = ApiClient.new_token()
    client.previous_token_prefix = client.token_prefix
    client.previous_token_hash = client.token_hash
    client.previous_token_until = now + overlap
    client.token_prefix = token[:10]
    client.token_hash = hash_token(token)
    client.save(
        update_fields=[
            "previous_token_prefix",
            "previous_token_hash",
            "previous_token_until",
            "token_prefix",
            "token_hash",
        ]
    )
    audit_record(
        actor=rotated_by,
        action=Action.UPDATE,
        obj=client,
        detail={
            "change": "token_rotated",
            "token_prefix": client.token_prefix,
            "previous_token_prefix": client.previous_token_prefix,
            "previous_token_until": _iso(client.previous_token_until),
        },
    )
    return client, token


@transaction.atomic
def apiclient_revoke(*, prefix: str, revoked_by: Any) -> tuple[ApiClient, str]:
    """Refuse a token from now on. The current token of a client (`prefix` as `list` shows it)
    revokes the client, both its tokens; the token before, during a rotation's overlap, ends the
    overlap only, and the client goes on with its new token. Returns the client and what was
    done: "revoked" or "previous_token_ended"."""
    now = clock.now()
    current = ApiClient.objects.filter(token_prefix=prefix, revoked_at__isnull=True).exists()
    if current:
        client = _active_client(prefix)
        client.revoked_at = now
        client.save(update_fields=["revoked_at"])
        change = "revoked"
    else:
        clients = list(
            ApiClient.objects.select_for_update().filter(
                previous_token_prefix=prefix, previous_token_until__gt=now, revoked_at__isnull=True
            )
        )
        if len(clients) != 1:
            raise NotFound(f"No active client has a token starting {prefix}.")
        client = clients[0]
        client.previous_token_until = now
        client.save(update_fields=["previous_token_until"])
        change = "previous_token_ended"
    audit_record(
        actor=revoked_by,
        action=Action.UPDATE,
        obj=client,
        detail={"change": change, "token_prefix": prefix},
    )
    return client, change

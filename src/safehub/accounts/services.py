import csv
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from safehub.accounts.models import Agency, AgencyKind, ApiClient, PostcodeRoute, hash_token
from safehub.accounts.selectors import reference_snapshot_clear
from safehub.core import clock
from safehub.core.errors import DomainError, NotFound

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

from safehub.accounts.models import Agency, AgencyKind, ApiClient, PostcodeRoute, hash_token


def apiclient_by_token(*, token: str) -> ApiClient | None:
    """The active client holding this token, or None."""
    if not token:
        return None
    return (
        ApiClient.objects.select_related("force")
        .filter(token_hash=hash_token(token), revoked_at__isnull=True)
        .first()
    )


def councils_for_district(*, district: str) -> list[Agency]:
    return [
        route.council
        for route in PostcodeRoute.objects.select_related("council").filter(district=district)
    ]


def school_by_urn(*, urn: str) -> Agency | None:
    return Agency.objects.filter(kind=AgencyKind.SCHOOL, urn=urn).first()


def force_by_code(*, code: str) -> Agency | None:
    return Agency.objects.filter(kind=AgencyKind.POLICE_FORCE, code=code).first()

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import transaction

from safehub.accounts.models import Agency, ApiClient, PostcodeRoute, User
from safehub.accounts.selectors import reference_snapshot_clear


class ReferenceAdmin(admin.ModelAdmin):
    """Routing and schools are cached in each process: forget this process's copy on a change
    (the others pick it up within SAFEHUB_REFERENCE_CACHE_SECONDS)."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        transaction.on_commit(reference_snapshot_clear)

    def delete_model(self, request: Any, obj: Any) -> None:
        super().delete_model(request, obj)
        transaction.on_commit(reference_snapshot_clear)


@admin.register(Agency)
class AgencyAdmin(ReferenceAdmin):
    list_display = ["name", "kind", "code", "la_code", "urn", "council", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "code", "la_code", "urn"]


@admin.register(PostcodeRoute)
class PostcodeRouteAdmin(ReferenceAdmin):
    list_display = ["district", "council"]
    list_filter = ["council"]
    search_fields = ["district"]


@admin.register(User)
class SafehubUserAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "agency", "roles", "is_active"]
    list_filter = ["agency__kind", "is_active"]
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        ("Agency and roles", {"fields": ["agency", "roles"]}),
    )


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    list_display = ["name", "force", "token_prefix", "created_at", "revoked_at"]
    # Tokens change through `safehub apiclient rotate | revoke` only, which audit the change.
    readonly_fields = [
        "token_prefix",
        "token_hash",
        "created_at",
        "previous_token_prefix",
        "previous_token_hash",
        "previous_token_until",
    ]

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from safehub.accounts.models import Agency, ApiClient, PostcodeRoute, User


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "code", "la_code", "urn", "council", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name", "code", "la_code", "urn"]


@admin.register(PostcodeRoute)
class PostcodeRouteAdmin(admin.ModelAdmin):
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
    readonly_fields = ["token_prefix", "token_hash", "created_at"]

from django.contrib import admin

from safehub.timescales.models import BankHolidayOverride, SchoolClosure, SchoolDayStart


@admin.register(BankHolidayOverride)
class BankHolidayOverrideAdmin(admin.ModelAdmin):
    list_display = ["date", "is_holiday", "name", "updated_at"]
    list_filter = ["is_holiday"]
    search_fields = ["name"]
    date_hierarchy = "date"
    readonly_fields = ["created_at", "updated_at"]


@admin.register(SchoolClosure)
class SchoolClosureAdmin(admin.ModelAdmin):
    list_display = ["school", "first_day", "last_day", "reason"]
    list_filter = ["first_day"]
    search_fields = ["school__name", "school__urn", "reason"]
    date_hierarchy = "first_day"
    autocomplete_fields = ["school"]


@admin.register(SchoolDayStart)
class SchoolDayStartAdmin(admin.ModelAdmin):
    list_display = ["school", "starts_at"]
    search_fields = ["school__name", "school__urn"]
    autocomplete_fields = ["school"]

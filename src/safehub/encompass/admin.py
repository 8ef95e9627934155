from django.contrib import admin

from safehub.core.fields import encrypted_field_names
from safehub.encompass.models import EncompassNotice, NoticeStatusChange


class NoticeStatusChangeInline(admin.TabularInline):
    model = NoticeStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("at", "from_status", "to_status", "by", "note")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(EncompassNotice)
class EncompassNoticeAdmin(admin.ModelAdmin):
    """Read only: notices are made and moved by the services, never by hand."""

    list_display = ("__str__", "recipient", "status", "due_at", "acknowledged_at")
    list_filter = ("status", "reason_for_recipient")
    # Never the content (the child, the incident): the lead reads it in safehub, audited.
    exclude = encrypted_field_names(EncompassNotice)
    # The content is encrypted: search by the notification's reference (the same police
    # reference), which is not.
    search_fields = ("contact__notification__incident_reference",)
    inlines = [NoticeStatusChangeInline]

    def has_add_permission(self, request):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

from django.contrib import admin

from safehub.core.fields import encrypted_field_names
from safehub.core.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Where a message stands (for the dead letters): never its body or attachments, which are
    encrypted at rest and hold what was disclosed to the recipient."""

    list_display = ["created_at", "reason", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "reason"]
    exclude = encrypted_field_names(OutboxMessage)
    readonly_fields = [
        f.name
        for f in OutboxMessage._meta.fields
        if f.name not in encrypted_field_names(OutboxMessage)
    ]

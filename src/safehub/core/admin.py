from django.contrib import admin

from safehub.core.models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["created_at", "reason", "status", "attempts", "next_attempt_at", "sent_at"]
    list_filter = ["status", "reason"]
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]

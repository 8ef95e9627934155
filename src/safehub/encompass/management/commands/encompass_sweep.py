from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Send the Operation Encompass notices whose contact has been routed since, and record "
        "as sent those whose e-mail the outbox delivered. Safe to run as often as wanted."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        from safehub.encompass.services import encompass_sweep

        result = encompass_sweep()
        self.stdout.write(f"dispatched {result.dispatched}, recorded as sent {result.delivered}")

"""`safehub keys`: the keys that encrypt the most dangerous fields at rest.

To rotate: `safehub keys generate`; put the new key first in SAFEHUB_FIELD_KEYS, the old one
after it, in every process (web, worker), and restart them; `safehub keys rotate`; then drop the
old key from the list.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections

from safehub.core import crypto
from safehub.core.fields import column_rewrite, encrypted_columns, token_bytes

BATCH_SIZE = 1000


class Command(BaseCommand):
    help = "Make a field-encryption key, or re-encrypt every encrypted column with the current one."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("generate", help="Print a new key for SAFEHUB_FIELD_KEYS.")
        rotate = sub.add_parser(
            "rotate",
            help="Re-encrypt every encrypted value with the first key of SAFEHUB_FIELD_KEYS.",
        )
        rotate.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "generate":
            self.stdout.write(crypto.key_generate())
            return
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        connection = connections[DEFAULT_DB_ALIAS]
        keys = crypto.field_keys()
        self.stdout.write(
            f"Re-encrypting with the current key (1 of {len(keys)} in SAFEHUB_FIELD_KEYS)…"
        )
        total = columns = 0
        for model, field in encrypted_columns():
            label = field.label()

            def rotate(value: Any, field: Any = field, label: str = label) -> Any:
                token = crypto.rotate(token_bytes(value), what=label)
                return field.column_value(token, connection)

            def progress(read: int, written: int, label: str = label) -> None:
                self.stdout.write(f"  {label}: {written} re-encrypted")

            try:
                total += column_rewrite(
                    connection,
                    table=model._meta.db_table,
                    source=str(field.column),  # type: ignore[attr-defined]
                    pk=str(model._meta.pk.column),  # type: ignore[union-attr]
                    transform=rotate,
                    batch_size=batch_size,
                    on_batch=progress,
                )
            except crypto.DecryptionError as exc:
                raise CommandError(str(exc)) from exc
            columns += 1
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-encrypted {total} values in {columns} columns with the current key."
            )
        )

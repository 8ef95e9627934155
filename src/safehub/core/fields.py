"""Model fields whose values the database holds encrypted (see `safehub.core.crypto`).

The Python value is what it was before (bytes, text, a dict or list); the column holds its Fernet
token, written by every path that writes a field (`save`, `bulk_create`, `bulk_update`,
`.update()`, the COPY in `intake.services._insert_rows`, which takes `get_db_prep_save`), and read
back by every path that reads one (`from_db_value`: instances, `.values()`, `.values_list()`).

The database cannot look inside a token: filtering, or reaching into a JSON value
(`address__line1`), raises `FieldError` at once rather than silently matching nothing. Only
`isnull` is allowed. Keep what you must search by (a postcode, a reference) in its own
plaintext column.

`column_rewrite` rewrites a column in batches by raw SQL: the data migrations that encrypt
existing rows and `safehub keys rotate` use it.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

from django import forms
from django.apps import apps
from django.core.exceptions import FieldError
from django.db import models, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from safehub.core import crypto


class EncryptedField:
    """What the encrypted fields share. Subclasses say how a value becomes bytes and back, and
    how a token goes into their column (bytes for a binary column, text for a text one)."""

    encrypted = True

    def _encode(self, value: Any) -> bytes:
        raise NotImplementedError

    def _decode(self, data: bytes) -> Any:
        raise NotImplementedError

    def column_value(self, token: bytes, connection: BaseDatabaseWrapper) -> Any:
        raise NotImplementedError

    def label(self) -> str:
        model = getattr(self, "model", None)
        name = getattr(self, "name", "?")
        return f"{model._meta.label}.{name}" if model is not None else str(name)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if value is None:
            return None
        return self.column_value(crypto.encrypt(self._encode(value)), connection)

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        if value is None:
            return None
        return self._decode(crypto.decrypt(token_bytes(value), what=self.label()))

    def _refuse(self, lookup_name: str) -> FieldError:
        return FieldError(
            f"{self.label()} is encrypted: the database cannot filter, search or reach into it "
            f"(lookup {lookup_name!r}). Filter on a plaintext field and compare in Python."
        )

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)  # type: ignore[misc]
        raise self._refuse(lookup_name)

    def get_transform(self, lookup_name: str) -> Any:
        raise self._refuse(lookup_name)


def token_bytes(value: Any) -> bytes:
    """A token as the database gives it back (bytes, a memoryview or text), as bytes."""
    if isinstance(value, str):
        return value.encode("ascii")
    return bytes(value)


class EncryptedBinaryField(EncryptedField, models.BinaryField):
    """Bytes kept byte for byte, stored as the token of those bytes in a binary column."""

    def _encode(self, value: Any) -> bytes:
        if isinstance(value, str):
            raise TypeError(f"{self.label()} holds bytes, not text")
        return bytes(value)

    def _decode(self, data: bytes) -> bytes:
        return data

    def column_value(self, token: bytes, connection: BaseDatabaseWrapper) -> Any:
        return connection.Database.Binary(token)  # type: ignore[attr-defined]


class EncryptedTextField(EncryptedField, models.TextField):
    """Text, stored as the token of its UTF-8 bytes in a text column."""

    def _encode(self, value: Any) -> bytes:
        return str(value).encode("utf-8")

    def _decode(self, data: bytes) -> str:
        return data.decode("utf-8")

    def column_value(self, token: bytes, connection: BaseDatabaseWrapper) -> Any:
        return token.decode("ascii")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class EncryptedJSONField(EncryptedField, models.Field):
    """A JSON value (a dict or a list, as JSONField gives), stored as the token of its canonical
    JSON in a text column."""

    description = "A JSON value, encrypted"
    empty_strings_allowed = False

    def get_internal_type(self) -> str:
        return "TextField"

    def _encode(self, value: Any) -> bytes:
        return canonical_json(value).encode("utf-8")

    def _decode(self, data: bytes) -> Any:
        return json.loads(data)

    def column_value(self, token: bytes, connection: BaseDatabaseWrapper) -> Any:
        return token.decode("ascii")

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return canonical_json(self.value_from_object(obj))

    def formfield(self, **kwargs: Any) -> Any:
        return super().formfield(**{"form_class": forms.JSONField, **kwargs})


# Rewriting columns in batches, by raw SQL: for data migrations and key rotation.

UNCHANGED = object()


def column_rewrite(
    connection: BaseDatabaseWrapper,
    *,
    table: str,
    source: str,
    target: str | None = None,
    transform: Callable[[Any], Any],
    pk: str = "id",
    batch_size: int = 1000,
    on_batch: Callable[[int, int], None] | None = None,
) -> int:
    """Read `source` of every row of `table`, in primary-key order, `batch_size` rows at a
    time, and write `transform(value)` to `target` (the same column by default); a value that
    is NULL stays NULL, and `transform` may answer UNCHANGED to leave a row alone. Each batch is
    one transaction (a savepoint inside a migration's), its rows locked on PostgreSQL, so that
    a row a person changes meanwhile is not overwritten with its old value. Calls
    `on_batch(rows_read, rows_written)` after each batch and returns the rows written."""
    quote = connection.ops.quote_name
    target = target or source
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    # Names from the models and the migrations, never from a request, each quoted.
    select = f"SELECT {quote(pk)}, {quote(source)} FROM {quote(table)}"  # noqa: S608
    order = f" ORDER BY {quote(pk)} LIMIT %s{lock}"
    update = f"UPDATE {quote(table)} SET {quote(target)} = %s WHERE {quote(pk)} = %s"  # noqa: S608
    last: Any = None
    read = written = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            if last is None:
                cursor.execute(select + order, [batch_size])
            else:
                cursor.execute(select + f" WHERE {quote(pk)} > %s" + order, [last, batch_size])
            rows = cursor.fetchall()
            if not rows:
                break
            changes = []
            for key, value in rows:
                if value is None:
                    continue
                new = transform(value)
                if new is not UNCHANGED:
                    changes.append((new, key))
            if changes:
                cursor.executemany(update, changes)
        last = rows[-1][0]
        read += len(rows)
        written += len(changes)
        if on_batch is not None:
            on_batch(read, written)
        if len(rows) < batch_size:
            break
    return written


def encrypted_columns() -> Iterator[tuple[type[models.Model], EncryptedField]]:
    """Every encrypted field of every installed model."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedField):
                yield model, field


def encrypted_field_names(model: type[models.Model]) -> tuple[str, ...]:
    """The names of a model's encrypted fields: what the admin never shows (its staff do not
    need a victim's address or a notice's content to run the service)."""
    return tuple(f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedField))


# Data migrations: encrypt a column's existing plaintext (and back).


def encrypt_plaintext(kind: str) -> Callable[[Any], Any]:
    """The transform that turns a stored plaintext value into a token, as a column of `kind`
    ("binary", "text" or "json") holds it: bytes for binary, text otherwise. A value that is a
    token already is left alone, so a backfill can run twice."""

    def transform(value: Any) -> Any:
        if kind == "json":
            data = canonical_json(json.loads(value) if isinstance(value, str) else value)
            plain = data.encode("utf-8")
        elif kind == "text":
            plain = str(value).encode("utf-8")
        else:
            plain = bytes(value)
            if crypto.is_token(plain):
                return UNCHANGED
        if kind == "text" and crypto.is_token(plain):
            return UNCHANGED
        token = crypto.encrypt(plain)
        return token if kind == "binary" else token.decode("ascii")

    return transform


def decrypt_to_plaintext(kind: str, *, what: str) -> Callable[[Any], Any]:
    """The transform back: a token to the plaintext a column of `kind` held before."""

    def transform(value: Any) -> Any:
        token = token_bytes(value)
        if not crypto.is_token(token):
            return UNCHANGED  # plaintext already
        plain = crypto.decrypt(token, what=what)
        return plain if kind == "binary" else plain.decode("utf-8")

    return transform


def encrypt_existing(*, table: str, kind: str, source: str, target: str | None = None) -> Any:
    """A reversible data migration: encrypt the plaintext of `table.source` into `target` (the
    same column by default), a thousand rows a batch; backwards, decrypt it again into
    `source`. `kind`: "binary", "text" or "json", what the plaintext column held."""
    from django.db import migrations

    encrypted = target or source

    def forward(apps: Any, schema_editor: Any) -> None:
        column_rewrite(
            schema_editor.connection,
            table=table,
            source=source,
            target=encrypted,
            transform=encrypt_plaintext(kind),
        )

    def backward(apps: Any, schema_editor: Any) -> None:
        column_rewrite(
            schema_editor.connection,
            table=table,
            source=encrypted,
            target=source,
            transform=decrypt_to_plaintext(kind, what=f"{table}.{encrypted}"),
        )

    return migrations.RunPython(forward, backward)

"""On PostgreSQL, refuse UPDATE and DELETE of audit events and seals to every role, the
application's included: BEFORE row triggers that raise. TRUNCATE stays possible (Django's test
flush uses it): in production, revoke TRUNCATE on both tables from the application's role.

SQLite has no roles: a hand with the database file can change anything, and `safehub audit
verify` is what notices."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION safehub_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION safehub_audit_append_only();
CREATE TRIGGER audit_auditseal_append_only
    BEFORE UPDATE OR DELETE ON audit_auditseal
    FOR EACH ROW EXECUTE FUNCTION safehub_audit_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditseal_append_only ON audit_auditseal;
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS safehub_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)  # no placeholders: the % are plpgsql's


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0002_auditseal"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]

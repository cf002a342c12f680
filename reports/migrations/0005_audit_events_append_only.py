"""A database-level guard: audit events cannot be changed or deleted, by anyone, through
any path. The one exception is the SET NULL Django applies when a staff user is deleted.

PostgreSQL only (production); the embedded SQLite default relies on the admin being
read-only (and SQLite's test flush would trip a DELETE trigger).
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION testigo_audit_append_only() RETURNS trigger AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
     AND NEW.at = OLD.at AND NEW.action = OLD.action AND NEW.actor_label = OLD.actor_label
     AND NEW.report_id IS NOT DISTINCT FROM OLD.report_id
     AND NEW.media_item_id IS NOT DISTINCT FROM OLD.media_item_id
     AND NEW.data = OLD.data THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit events are append-only';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_auditevent_append_only
  BEFORE UPDATE OR DELETE ON reports_auditevent
  FOR EACH ROW EXECUTE FUNCTION testigo_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS reports_auditevent_append_only ON reports_auditevent;
DROP FUNCTION IF EXISTS testigo_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_staff_moderation_triage_sharing")]

    operations = [migrations.RunPython(forwards, backwards)]

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION sessions_api_event_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'session events are append-only';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER sessions_api_event_no_update BEFORE UPDATE ON sessions_api_sessionevent
    FOR EACH ROW EXECUTE FUNCTION sessions_api_event_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS sessions_api_event_no_update ON sessions_api_sessionevent;
DROP FUNCTION IF EXISTS sessions_api_event_immutable();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("sessions_api", "0001_initial")]
    operations = [migrations.RunPython(create, drop)]

from django.db import migrations

# The application refuses to change audit rows; this makes the database refuse too, so neither a bug, a
# queryset.update() nor a psql session can rewrite history. TRUNCATE stays possible for test teardown.
FORWARD = """
CREATE FUNCTION clinics_auditevent_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'clinics_auditevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER clinics_auditevent_append_only
    BEFORE UPDATE OR DELETE ON clinics_auditevent
    FOR EACH ROW EXECUTE FUNCTION clinics_auditevent_refuse_change();
"""

REVERSE = """
DROP TRIGGER IF EXISTS clinics_auditevent_append_only ON clinics_auditevent;
DROP FUNCTION IF EXISTS clinics_auditevent_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("clinics", "0002_auth_team_audit_oauth")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]

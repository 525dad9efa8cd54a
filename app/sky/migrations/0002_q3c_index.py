"""Q3C functional index on (ra, dec).

The q3c extension is normally created by the database image
(images/db/initdb/10-q3c.sql). ``CREATE EXTENSION IF NOT EXISTS`` is run here
as well so that ``migrate`` also works on a database where the connecting
role may create it (superuser); when the extension already exists the
statement is a no-op and needs no special privilege.
"""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("sky", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE EXTENSION IF NOT EXISTS q3c;",
            # Never drop the extension on rollback: other objects may use it.
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RunSQL(
            "CREATE INDEX sky_skyposition_q3c_idx ON sky_skyposition (q3c_ang2ipix(ra, dec));",
            reverse_sql="DROP INDEX IF EXISTS sky_skyposition_q3c_idx;",
        ),
        # Refresh planner statistics (no CLUSTER: it takes an exclusive lock).
        migrations.RunSQL("ANALYZE sky_skyposition;", reverse_sql=migrations.RunSQL.noop),
    ]

"""``DailyLoopCount`` and ``DailyLoopRollup`` now belong to the ``analytics`` app: removed
from this app's state only, after ``analytics/0001_initial`` added them there. The tables
and their rows stay (the analytics models name them with ``db_table``). No SQL runs."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0007_keyed_payload_hash"),
        ("analytics", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="DailyLoopCount"),
                migrations.DeleteModel(name="DailyLoopRollup"),
            ],
            database_operations=[],
        ),
    ]

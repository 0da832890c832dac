"""The daily roll-up models move here from ``reviews`` in Django's state only: the tables
(``reviews_dailyloopcount``, ``reviews_dailylooprollup``), their rows, indexes and
constraints stay exactly as they are (``db_table`` names them). No SQL runs.

The usual recipe for moving a model between apps: this migration creates the models in
the new app's state first, then ``reviews/0008_move_loop_stats_to_analytics`` (which
depends on this one) deletes them from the old app's state, so there is no moment when
Django knows no model for the tables."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("reviews", "0007_keyed_payload_hash"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DailyLoopRollup",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField(unique=True)),
                        ("until", models.DateTimeField(help_text="The counts cover the day up to this time.")),
                        ("rolled_up_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("rows", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "db_table": "reviews_dailylooprollup",
                        "ordering": ["-day"],
                    },
                ),
                migrations.CreateModel(
                    name="DailyLoopCount",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("metric", models.CharField(max_length=24)),
                        ("key", models.CharField(max_length=64)),
                        ("queues", models.CharField(max_length=200)),
                        ("channel", models.CharField(max_length=20)),
                        ("providers", models.CharField(max_length=200)),
                        ("policy_versions", models.CharField(max_length=200)),
                        ("n", models.PositiveIntegerField()),
                    ],
                    options={
                        "db_table": "reviews_dailyloopcount",
                        "indexes": [models.Index(fields=["metric", "key", "day"], name="daily_loop_count_series")],
                        "constraints": [models.UniqueConstraint(fields=("day", "metric", "key", "queues", "channel", "providers", "policy_versions"), name="daily_loop_count_unique")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]

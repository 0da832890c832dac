"""The approved payload's hash is keyed now (``hmac-sha256:<key id>:<hex>``): a longer column.
A four-eyes first approval still waiting with a plain hash is not confirmed by a second
approval; that second approval becomes the new first one (reviews.services)."""

from django.db import migrations, models

from audit.integrity import HASH_MAX_LENGTH


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0006_loop_stats_schedules"),
        ("audit", "0005_keyed_hashes"),
    ]
    operations = [
        migrations.AlterField(
            model_name="reviewdecision",
            name="payload_hash",
            field=models.CharField(blank=True, max_length=HASH_MAX_LENGTH),
        ),
    ]

"""The daily roll-up of the loop (``analytics.rollup``). Both tables were created by the
``reviews`` app and keep their names: the models moved here in Django's state only
(``analytics/migrations/0001_initial``), so moving them copied no row and locked no table.
"""

from django.db import models
from django.utils import timezone


class DailyLoopCount(models.Model):
    """One count of the daily roll-up of the loop (``analytics.rollup``): on ``day`` (in the
    site's time zone), for one combination of the dashboard's filters, how many facts of
    kind ``metric`` had ``key`` — e.g. ``routed``/``review``, ``reason``/``duplicate``,
    ``latency``/``171`` (a histogram bucket). The dashboard sums these over closed days
    instead of scanning the live tables.

    The filter columns hold what the page filters on, as the live figures define it (see
    ``analytics.facts``): ``channel`` is the request's; ``queues``, ``providers`` and
    ``policy_versions`` are sets written ``,a,b,`` (so a filter is one ``LIKE '%,a,%'``),
    because a request can have proposals from two providers, gate evaluations under two
    policy versions, or tasks in two queues, and the live figures count it under each.
    Each day also has its totals over all combinations, with ``*`` in every filter column:
    the unfiltered page reads those."""

    day = models.DateField()
    metric = models.CharField(max_length=24)
    key = models.CharField(max_length=64)
    queues = models.CharField(max_length=200)
    channel = models.CharField(max_length=20)
    providers = models.CharField(max_length=200)
    policy_versions = models.CharField(max_length=200)
    n = models.PositiveIntegerField()

    class Meta:
        db_table = "reviews_dailyloopcount"  # created by reviews, moved here in state only
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "day",
                    "metric",
                    "key",
                    "queues",
                    "channel",
                    "providers",
                    "policy_versions",
                ],
                name="daily_loop_count_unique",
            )
        ]
        # The unique constraint's index, led by the day, serves the page's sum over a
        # period; this one the daily series (a few metrics and keys, per day).
        indexes = [models.Index(fields=["metric", "key", "day"], name="daily_loop_count_series")]

    def __str__(self) -> str:
        return f"{self.day} {self.metric}/{self.key}: {self.n}"


class DailyLoopRollup(models.Model):
    """A day whose counts are in ``DailyLoopCount`` (a day without any fact has none, so
    the counts alone cannot say whether a day was rolled up), and up to when: the next
    midnight for a closed day, the last full hour for today."""

    day = models.DateField(unique=True)
    until = models.DateTimeField(help_text="The counts cover the day up to this time.")
    rolled_up_at = models.DateTimeField(default=timezone.now)
    rows = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "reviews_dailylooprollup"  # created by reviews, moved here in state only
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"Roll-up of {self.day}"

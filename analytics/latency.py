"""Review latency as a histogram: ``BUCKETS_PER_DOUBLING`` logarithmic buckets per
doubling (bucket ``b`` holds ``[2^(b/16), 2^((b+1)/16))`` seconds), so percentiles of any
set of days can be estimated from summed buckets (``percentile_from_buckets``) — the daily
roll-up keeps latency this way, and the oversight figures read medians from it.
"""

import math

from django.db.models import FloatField, Func, Value
from django.db.models.functions import Floor, Greatest, Ln

from .facts import review_seconds

BUCKETS_PER_DOUBLING = 16


def latency_bucket_bounds(bucket: int) -> tuple[float, float]:
    """Seconds ``[low, high)`` of a latency bucket."""
    return 2 ** (bucket / BUCKETS_PER_DOUBLING), 2 ** ((bucket + 1) / BUCKETS_PER_DOUBLING)


def latency_bucket(seconds: float) -> int:
    """The bucket of a duration (as the database computes it; under a second: bucket 0)."""
    return math.floor(math.log(max(seconds, 1.0)) * BUCKETS_PER_DOUBLING / math.log(2))


def percentile_from_buckets(buckets: dict[int, int], p: float) -> float | None:
    """The ``p`` percentile (0..1) of the durations counted in ``buckets``, interpolated
    as PostgreSQL's ``percentile_cont`` does: between the durations at ranks
    ``floor(p * (n - 1))`` and the next, each estimated inside its bucket by its position
    among the bucket's count (geometrically).

    Precision: each estimated duration lies in the same bucket as the true one, so within
    a factor ``2^(1/16)`` of it (4.4 %), and so does their interpolation: the estimate is
    within 4.4 % of ``percentile_cont`` over the raw durations (durations under a second
    count as one second)."""
    n = sum(buckets.values())
    if not n:
        return None
    ordered = sorted(buckets.items())

    def duration_at(index: int) -> float:
        seen = 0
        for bucket, count in ordered:
            if index < seen + count:
                low, high = latency_bucket_bounds(bucket)
                return low * (high / low) ** ((index - seen + 0.5) / count)
            seen += count
        raise IndexError(index)  # pragma: no cover - ranks stay below n

    rank = p * (n - 1)
    below = math.floor(rank)
    low_value = duration_at(below)
    if below + 1 >= n or rank == below:
        return low_value
    return low_value + (rank - below) * (duration_at(below + 1) - low_value)


class _Seconds(Func):
    """A duration in seconds: PostgreSQL's interval epoch, SQLite's microseconds / 1e6."""

    output_field = FloatField()

    def as_postgresql(self, compiler, conn, **extra):
        return self.as_sql(compiler, conn, template="EXTRACT(EPOCH FROM %(expressions)s)")

    def as_sql(self, compiler, conn, template=None, **extra):
        template = template or "((%(expressions)s) / 1000000.0)"
        return super().as_sql(compiler, conn, template=template, **extra)


def latency_bucket_expression(duration=None) -> Floor:
    """The histogram bucket of ``duration`` (default: the review latency)."""
    seconds = Greatest(_Seconds(duration or review_seconds()), Value(1.0))
    return Floor(Ln(seconds) * Value(BUCKETS_PER_DOUBLING / math.log(2)))

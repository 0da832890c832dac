"""The review fixtures the analytics tests build their cases with: the default queues
(autouse, as in the review tests) and ``reviewer_of``."""

from reviews.tests.conftest import default_queues, reviewer_of  # noqa: F401  (fixtures)

"""Every write of human review — the package's API; callers import from here.

- ``queues``: who works which queue (grant, revoke, the roles' defaults);
- ``tasks``: open, claim, release, reassign a task, reveal personal data on it;
- ``outcomes``: ``review_decide`` and the outcomes that close or move a task;
- ``four_eyes``: approval, with a second approver above ``REVIEW_FOUR_EYES_AMOUNT``;
- ``sla``: the scheduled sweep (expire, escalate overdue, claims of absent reviewers,
  release stale claims);
- ``absences``: a reviewer's absence with a delegate, and the claims that follow it;
- ``moves``/``common``: the task moves and refusals they share.

Every status change of a task goes through ``reviews.transitions.review_task_transition``.
"""

from .absences import (
    review_task_follow_absence,
    reviewer_absence_cancel,
    reviewer_absence_check,
    reviewer_absence_set,
)
from .four_eyes import four_eyes_amount
from .outcomes import review_decide
from .queues import (
    queue_access_defaults_ensure,
    queue_access_grant,
    queue_access_revoke,
    queue_owners_set,
)
from .sla import review_sla_sweep, review_task_expire
from .tasks import (
    review_pii_reveal,
    review_task_claim,
    review_task_open,
    review_task_reassign,
    review_task_release,
)

__all__ = [
    "four_eyes_amount",
    "queue_access_defaults_ensure",
    "queue_access_grant",
    "queue_access_revoke",
    "queue_owners_set",
    "review_decide",
    "review_pii_reveal",
    "review_sla_sweep",
    "review_task_claim",
    "review_task_expire",
    "review_task_follow_absence",
    "review_task_open",
    "review_task_reassign",
    "review_task_release",
    "reviewer_absence_cancel",
    "reviewer_absence_check",
    "reviewer_absence_set",
]

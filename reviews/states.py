"""The review task state machine: the statuses and the only moves allowed between them.

    open ──claim──> claimed ──release / claim ran out / 1st four-eyes approval──> open
      │  ▲            │  ▲                                                    (escalated
      │  └────────────┘  └─ claim again / reassign                         if it was)
      ├──escalate (reviewer or SLA)──> escalated ──claim / reassign──> claimed
      └──decide──> decided        any active status ──hard deadline──> expired

A move to the same status is a real move: it clears or renews the claim and bumps the
task's version (claiming again, a reassignment, a first approval handing the task back).
``decided`` and ``expired`` are final.
"""

from django.db import models


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    DECIDED = "decided", "Decided"
    ESCALATED = "escalated", "Escalated"  # waiting, unclaimed, in the senior queue
    EXPIRED = "expired", "Expired"


# A task in one of these statuses is still waiting for a decision.
ACTIVE_TASK_STATUSES = (TaskStatus.OPEN, TaskStatus.CLAIMED, TaskStatus.ESCALATED)

T = TaskStatus

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    # open → open: a four-eyes first approval on an unclaimed task (version bumped).
    T.OPEN: frozenset({T.OPEN, T.CLAIMED, T.ESCALATED, T.DECIDED, T.EXPIRED}),
    # claimed → open/escalated: released (by hand, by the SLA sweep, by a first approval).
    T.CLAIMED: frozenset({T.CLAIMED, T.OPEN, T.ESCALATED, T.DECIDED, T.EXPIRED}),
    # An escalated task never goes back to open: unclaimed, it is escalated again.
    T.ESCALATED: frozenset({T.ESCALATED, T.CLAIMED, T.DECIDED, T.EXPIRED}),
    T.DECIDED: frozenset(),
    T.EXPIRED: frozenset(),
}


def can_transition(from_status: str, to_status: str) -> bool:
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())

"""A decided history for the demo (``seed_demo --history``), so that precedents, gate-tuning
suggestions, the dashboard and the evaluation set have something to show on a fresh
machine: a reviewed history worked through the real pipeline and review (``reviewed``),
and weeks of gated traffic imported with its outcomes (``imported``). Both are
deterministic; the benchmarks reuse them."""

from dataclasses import dataclass

from django.db import transaction

from analytics import rollup
from audit.services import Actor
from refunds.gate.selectors import gate_policy_active
from refunds.models import Customer, Integration

from .imported import ImportedHistory, gate_history_import
from .reviewed import CUSTOMER_PREFIX, ReviewedHistory, reviewed_history_seed

IMPORT_INTEGRATION = "demo-history-import"
REVIEWED_CASES = 150
IMPORTED_PER_DAY = 40
IMPORTED_WEEKS = 8
SEED = 15


@dataclass(frozen=True)
class DemoHistory:
    reviewed: ReviewedHistory | None  # None: already there
    imported: ImportedHistory | None


def demo_history_seed(*, integration: Integration) -> DemoHistory:
    """Idempotent: each half is skipped if it is already in the database. Needs
    ``demo_seed`` first (the demo integration, users and policy)."""
    reviewed = None
    if not Customer.objects.filter(
        integration=integration, external_id__startswith=CUSTOMER_PREFIX
    ).exists():
        reviewed = reviewed_history_seed(integration=integration, cases=REVIEWED_CASES, seed=SEED)
    imported = None
    with transaction.atomic():
        source, created = Integration.objects.get_or_create(
            name=IMPORT_INTEGRATION,
            defaults={"kind": Integration.Kind.INTERNAL, "is_active": False},
        )
        if created:
            imported = gate_history_import(
                integration=source,
                policy=gate_policy_active(),
                per_day=IMPORTED_PER_DAY,
                weeks=IMPORTED_WEEKS,
                seed=SEED,
                actor=Actor.system("seed_demo"),
            )
    if imported is not None:
        # The dashboard reads closed days from the roll-up: count them now, as the worker's
        # hourly schedule would, rather than leave them blank until it runs.
        rollup.loop_stats_rollup_due()
    return DemoHistory(reviewed=reviewed, imported=imported)

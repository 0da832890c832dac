"""``python manage.py evaluate_drafter --dataset FILE [--provider offline|openai]
[--prompt-version 1.0] [--gate-policy-version N] [--json]``

Re-runs the drafting chain on an evaluation set written by ``export_eval_set`` and
reports: action agreement with the humans, mean absolute amount error, and how many cases
the active gate policy (or ``--gate-policy-version``, e.g. a draft) would have
auto-approved although a human rejected or changed them. Judge a prompt, model or policy
change on real history before it ships.
"""

import json

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from analytics.evalset.replay import EvalSetError, eval_case_from_record, read_dataset
from analytics.evalset.scoring import EvalReport, evaluate_outcomes
from hitl_site.errors import ApplicationError
from refunds.agent.chain import draft_decisions
from refunds.agent.prompts import PROMPT_VERSION
from refunds.agent.providers import OFFLINE, OPENAI, build_provider
from refunds.gate.selectors import gate_policy_active, gate_policy_version_get

BATCH = 64


class Command(BaseCommand):
    help = "Replay the drafter (and a gate policy, by default the active one) on an evaluation set."

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="JSON Lines from export_eval_set.")
        parser.add_argument(
            "--provider",
            choices=[OFFLINE, OPENAI],
            help="Drafting provider (default: HITL_DRAFTER_PROVIDER).",
        )
        parser.add_argument(
            "--prompt-version",
            default=PROMPT_VERSION,
            help="The prompt to draft with. Only the prompt in this build "
            f"({PROMPT_VERSION}) can be run: check out another build "
            "to evaluate another prompt.",
        )
        parser.add_argument(
            "--gate-policy-version",
            type=int,
            metavar="N",
            help="Re-gate the drafts under this gate policy version, e.g. a draft not yet "
            "active (default: the active one).",
        )
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        if options["prompt_version"] != PROMPT_VERSION:
            raise CommandError(
                f"Prompt version {options['prompt_version']!r} is not in this "
                f"build (it has {PROMPT_VERSION!r})."
            )
        try:
            provider = build_provider(options["provider"])
            number = options["gate_policy_version"]
            policy = (
                gate_policy_active() if number is None else gate_policy_version_get(version=number)
            ).to_snapshot()
        except (ImproperlyConfigured, ApplicationError) as exc:
            raise CommandError(str(exc)) from exc
        try:
            handle = open(options["dataset"], encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot read {options['dataset']}: {exc.strerror}.") from exc
        report = EvalReport()
        try:
            with handle:
                batch = []
                for number, record in read_dataset(handle):
                    try:
                        batch.append(eval_case_from_record(record, line=number))
                    except EvalSetError as exc:
                        report.skipped += 1
                        self.stderr.write(f"line {number} skipped: {exc}")
                    if len(batch) >= BATCH:
                        self._run(batch, provider, policy, report)
                        batch = []
                self._run(batch, provider, policy, report)
        except EvalSetError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{options['dataset']} is not UTF-8 text.") from exc
        if not report.cases and not report.skipped:
            raise CommandError(f"{options['dataset']} holds no cases.")
        self._print(
            report,
            provider=provider.name,
            model=provider.model_name,
            policy=policy.version,
            as_json=options["json"],
        )

    def _run(self, batch, provider, policy, report: EvalReport) -> None:
        if not batch:
            return
        outcomes = draft_decisions(
            contexts=[c.context for c in batch],
            provider=provider,
            max_concurrency=settings.HITL_DRAFT_CONCURRENCY,
            max_attempts=settings.HITL_DRAFT_MAX_ATTEMPTS,
            backoff_seconds=settings.HITL_DRAFT_BACKOFF_SECONDS,
        )
        evaluate_outcomes(batch, outcomes, policy=policy, report=report)

    def _print(
        self, report: EvalReport, *, provider: str, model: str, policy: int, as_json: bool
    ) -> None:
        data = {
            "provider": provider,
            "model": model,
            "prompt_version": PROMPT_VERSION,
            "gate_policy_version": policy,
            **report.as_dict(),
        }
        if as_json:
            self.stdout.write(json.dumps(data, indent=2))
            return
        agreement, mae = report.action_agreement, report.mean_absolute_amount_error
        lines = [
            f"Drafter {provider} ({model}), prompt {PROMPT_VERSION}, gate policy v{policy}",
            f"Cases: {report.cases} (drafted {report.drafted}, failed {report.failed}, "
            f"skipped {report.skipped})",
            "Action agreement: "
            + (
                "n/a"
                if agreement is None
                else f"{agreement:.1%} ({report.agreed}/{report.drafted})"
            ),
            "Mean absolute amount error: " + ("n/a" if mae is None else str(mae)),
            f"Re-gated: {report.regated}; auto-approved: {report.auto_approved}; "
            f"auto-approved although a human rejected or changed it: "
            f"{report.auto_against_human}",
        ]
        if report.failures_by_code:
            lines.append(
                "Failures: "
                + ", ".join(f"{k}={v}" for k, v in sorted(report.failures_by_code.items()))
            )
        self.stdout.write("\n".join(lines))

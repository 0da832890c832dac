"""``python manage.py evaluate_drafter --dataset FILE [--provider offline|openai]
[--prompt-version 1.0] [--gate-policy-version N] [--precedents with|without|both]
[--split 0.7] [--json]``

``--split F`` holds back the newest cases: the first F of the decisions (by decision
time) form the precedent corpus, the rest are evaluated. ``--precedents with`` drafts them
with their most similar corpus cases, ``both`` prints the figures without and with side
by side (a split of 0.7 unless given). The default, ``without`` and no split, evaluates
every case as before.

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

from analytics.evalset.precedents import split_records, with_precedents
from analytics.evalset.replay import EvalSetError, eval_case_from_record, read_dataset
from analytics.evalset.scoring import EvalReport, evaluate_outcomes
from hitl_site.errors import ApplicationError
from refunds.agent.chain import draft_decisions
from refunds.agent.prompts import PROMPT_VERSION
from refunds.agent.providers import OFFLINE, OPENAI, build_provider
from refunds.gate.selectors import gate_policy_active, gate_policy_version_get

BATCH = 64
DEFAULT_SPLIT = 0.7


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
        parser.add_argument(
            "--precedents",
            choices=["with", "without", "both"],
            default="without",
            help="Draft with precedents from the held-back split's corpus, without, or both "
            "side by side (default: without).",
        )
        parser.add_argument(
            "--split",
            type=float,
            metavar="F",
            help="Share of the cases (oldest decisions first) that form the precedent corpus; "
            f"the rest are evaluated (default with precedents: {DEFAULT_SPLIT}).",
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
        split = options["split"]
        if split is None and options["precedents"] != "without":
            split = DEFAULT_SPLIT
        if split is not None:
            if not 0 < split < 1:
                raise CommandError("--split must be between 0 and 1, e.g. 0.7.")
            with handle:
                reports = self._held_back(handle, options, provider, policy, split)
            self._print_variants(
                reports,
                provider=provider,
                policy=policy.version,
                split=split,
                as_json=options["json"],
            )
            return
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

    def _held_back(self, handle, options, provider, policy, split) -> dict[str, EvalReport]:
        try:
            numbered = list(read_dataset(handle))
            corpus, held_back = split_records(numbered, split=split)
        except EvalSetError as exc:
            raise CommandError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise CommandError(f"{options['dataset']} is not UTF-8 text.") from exc
        if not held_back:
            raise CommandError(f"{options['dataset']} holds no cases to hold back.")
        cases, records, skipped = [], [], 0
        for number, record in held_back:
            try:
                cases.append(eval_case_from_record(record, line=number))
                records.append(record)
            except EvalSetError as exc:
                skipped += 1
                self.stderr.write(f"line {number} skipped: {exc}")
        variants = (
            ["without", "with"] if options["precedents"] == "both" else [options["precedents"]]
        )
        self.stderr.write(
            f"Precedent corpus: {len(corpus.entries)} case(s); evaluated: {len(cases)}."
        )
        reports = {}
        for variant in variants:
            report = EvalReport(skipped=skipped)
            run = cases
            if variant == "with":
                run = [with_precedents(c, r, corpus) for c, r in zip(cases, records, strict=True)]
            for start in range(0, len(run), BATCH):
                self._run(run[start : start + BATCH], provider, policy, report)
            reports[variant] = report
        return reports

    def _print_variants(
        self, reports: dict[str, EvalReport], *, provider, policy: int, split: float, as_json
    ) -> None:
        if as_json:
            data = {
                "provider": provider.name,
                "model": provider.model_name,
                "prompt_version": PROMPT_VERSION,
                "gate_policy_version": policy,
                "split": split,
                "precedents": {k: r.as_dict() for k, r in reports.items()},
            }
            self.stdout.write(json.dumps(data, indent=2))
            return
        rows = [
            ("Cases evaluated", lambda r: str(r.cases)),
            ("Drafted / failed", lambda r: f"{r.drafted} / {r.failed}"),
            (
                "Action agreement",
                lambda r: (
                    "n/a"
                    if r.action_agreement is None
                    else f"{r.action_agreement:.1%} ({r.agreed}/{r.drafted})"
                ),
            ),
            (
                "Mean absolute amount error",
                lambda r: (
                    "n/a"
                    if r.mean_absolute_amount_error is None
                    else str(r.mean_absolute_amount_error)
                ),
            ),
            ("Auto-approved against the human", lambda r: str(r.auto_against_human)),
        ]
        names = list(reports)
        lines = [
            f"Drafter {provider.name} ({provider.model_name}), prompt {PROMPT_VERSION}, "
            f"gate policy v{policy}; held back: the newest {1 - split:.0%} of the decisions",
            f"{'':34}" + "".join(f"{n + ' precedents':>26}" for n in names),
        ]
        for label, cell in rows:
            lines.append(f"{label:34}" + "".join(f"{cell(reports[n]):>26}" for n in names))
        self.stdout.write("\n".join(lines))

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

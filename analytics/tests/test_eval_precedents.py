"""evaluate_drafter on a held-back split, with and without precedents."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from analytics.evalset.precedents import split_records
from analytics.tests.test_eval_set import reviewed_case

pytestmark = pytest.mark.django_db

CRUSHED = "My widget arrived damaged, the box was crushed."


def dataset_of_lowered_cases(tmp_path, n: int = 4):
    """``n`` cases, oldest first, each one a draft of 20.00 the reviewer cut to 10.00."""
    for i in range(n):  # decided after its own draft, each after the one before
        later = timezone.now() + timedelta(minutes=i + 1)
        reviewed_case(amount="10.00", message=CRUSHED, decided_at=later)
    path = tmp_path / "set.jsonl"
    since = (timezone.localdate() - timedelta(days=1)).isoformat()
    call_command("export_eval_set", "--since", since, "-o", str(path))
    return path


def evaluate(path, *args) -> dict:
    out = io.StringIO()
    call_command(
        "evaluate_drafter",
        "--dataset",
        str(path),
        "--json",
        *args,
        stdout=out,
        stderr=io.StringIO(),
    )
    return json.loads(out.getvalue())


def test_split_puts_the_oldest_decisions_in_the_corpus(tmp_path):
    records = [json.loads(x) for x in dataset_of_lowered_cases(tmp_path).read_text().splitlines()]
    numbered = list(enumerate(reversed(records), start=1))

    corpus, held_back = split_records(numbered, split=0.75)

    newest = max(r["human"]["decided_at"] for r in records)
    assert len(corpus.entries) == 3
    assert [r["human"]["decided_at"] for _, r in held_back] == [newest]


def test_both_prints_agreement_with_and_without_precedents(tmp_path):
    report = evaluate(dataset_of_lowered_cases(tmp_path), "--precedents", "both", "--split", "0.75")

    without, with_ = report["precedents"]["without"], report["precedents"]["with"]
    assert without["cases"] == with_["cases"] == 1
    assert without["mean_absolute_amount_error"] == "10.00"  # drafted 20.00, human 10.00
    assert with_["mean_absolute_amount_error"] == "0.00"  # followed P1: half back


def test_the_readable_report_shows_both_columns(tmp_path):
    out = io.StringIO()
    call_command(
        "evaluate_drafter",
        "--dataset",
        str(dataset_of_lowered_cases(tmp_path)),
        "--precedents",
        "both",
        stdout=out,
        stderr=io.StringIO(),
    )
    text = out.getvalue()
    assert "without precedents" in text and "with precedents" in text
    assert "Action agreement" in text and "Mean absolute amount error" in text


@pytest.mark.parametrize("split", ["0", "1", "1.5"])
def test_a_split_outside_zero_to_one_is_refused(tmp_path, split):
    with pytest.raises(CommandError, match="--split"):
        evaluate(dataset_of_lowered_cases(tmp_path, n=2), "--split", split)

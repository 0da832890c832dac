"""The worker's time budget: the relations the cluster settings must keep."""

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from refunds.checks import check_worker_time_budget, draft_budget_seconds, model_attempt_seconds


def error_ids(settings, *, cluster=None, **overrides):
    if cluster:
        settings.Q_CLUSTER = {**settings.Q_CLUSTER, **cluster}
    for name, value in overrides.items():
        setattr(settings, name, value)
    return [message.id for message in check_worker_time_budget()]


def test_configured_cluster_keeps_every_relation(settings):
    cluster = settings.Q_CLUSTER

    assert cluster["timeout"] < cluster["retry"]
    assert 1 <= cluster["max_attempts"] <= 10
    assert model_attempt_seconds() <= draft_budget_seconds() < cluster["timeout"]
    assert check_worker_time_budget() == []


def test_defaults_of_the_model_client_fit_the_default_task_timeout(settings):
    assert (
        error_ids(
            settings,
            cluster={"timeout": 120, "retry": 180, "max_attempts": 3},
            HITL_OPENAI_TIMEOUT=20.0,
            HITL_OPENAI_MAX_RETRIES=1,
        )
        == []
    )


@pytest.mark.parametrize("retry", [120, 60])
def test_retry_not_above_timeout_is_an_error(settings, retry):
    assert error_ids(settings, cluster={"timeout": 120, "retry": retry}) == ["refunds.E001"]


@pytest.mark.parametrize("max_attempts", [0, -1, 11])
def test_unbounded_or_absurd_task_attempts_are_an_error(settings, max_attempts):
    assert error_ids(settings, cluster={"max_attempts": max_attempts}) == ["refunds.E002"]


@pytest.mark.parametrize(
    ("model_timeout", "expected"),
    [
        pytest.param(30.0, ["refunds.E004"], id="longer-than-the-budget"),  # 90 s > 75 s
        pytest.param(25.0, [], id="exactly-at-the-budget"),  # 75 s = 0.75 * 100 s
    ],
)
def test_one_model_attempt_must_fit_in_the_drafting_budget(settings, model_timeout, expected):
    ids = error_ids(
        settings,
        cluster={"timeout": 100, "retry": 150},
        HITL_OPENAI_TIMEOUT=model_timeout,
        HITL_OPENAI_MAX_RETRIES=2,
    )

    assert ids == expected


def test_non_positive_model_timeout_is_an_error(settings):
    assert error_ids(settings, HITL_OPENAI_TIMEOUT=0.0) == ["refunds.E003"]


@pytest.mark.parametrize("attempts", [0, 11])
def test_draft_attempts_out_of_bounds_are_an_error(settings, attempts):
    assert error_ids(settings, HITL_DRAFT_MAX_ATTEMPTS=attempts) == ["refunds.E005"]


def test_manage_py_check_refuses_a_misconfigured_cluster(settings):
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "timeout": 300, "retry": 200}

    with pytest.raises(SystemCheckError, match="Q_RETRY"):
        call_command("check")

"""Analytics: is the human in the loop helping? The loop's figures read from the other apps'
records — nothing here decides, reviews or pays.

* the figures: ``facts`` (the filtered querysets every figure counts), ``loop_metrics``
  (the live figures), ``counting``/``latency``/``rollup`` (the daily roll-up,
  ``DailyLoopCount``), ``figures`` (the figures read from the roll-up), ``oversight``
  (rubber stamps, agreement by reason code, satisfaction by path);
* the operations dashboard at ``/review/dashboard/`` (``views``, ``forms``, ``dashboard``,
  ``charts``) and its drift alert (``drift``);
* the Prometheus exporter at ``/metrics`` (``prometheus``);
* the evaluation set (``evalset``: ``export_eval_set``, ``evaluate_drafter``);
* the scheduled work (``tasks``: the hourly roll-up and drift check).

Depends on ``reviews``, ``refunds`` and ``audit``; none of them depends on it (only the
project's URLs, navigation and settings name it).

The dashboard's permission stays ``reviews.view_ops_dashboard`` (a ``Queue`` model
permission, granted through the role groups): permissions are data held by groups, and
moving one would mean rewriting every group's grant for no gain. The two roll-up models
keep their tables (``reviews_dailyloopcount``, ``reviews_dailylooprollup``): they moved
here in the state only (``analytics/migrations/0001_initial``).
"""

"""Gate-tuning suggestions from reviewed history (issue #15).

``candidates`` (one-setting relaxations of the active policy, and what is never relaxed)
and ``suggest`` (their figures on replayed cases; the holdout measure) are pure;
``history`` reads, ``services`` creates a draft from a suggestion, ``admin_views`` is the
policy admins' "Suggested changes" page. Nothing here activates a policy.
"""

"""Learning from reviews: human decisions turned into an evaluation set, and the drafter
(plus the active gate policy) replayed on it.

The loop (see docs/operations.md):

1. ``export_eval_set`` streams one JSON object per final human decision: the case exactly
   as the model saw it (the proposal's ``context`` and ``prompt_messages``), the AI's
   proposal, the gate's verdict and context, the human's final decision with reason codes
   and comments, and the difference between the two.
2. ``evaluate_drafter`` rebuilds each ``DraftContext`` from those inputs, re-runs the chain
   (``draft_decisions``), and compares the new draft with what the human decided; the new
   draft is also re-gated under the *active* gate policy, to count the cases it would have
   auto-approved although a human rejected or changed them.

``export`` writes the records (the ORM half); ``replay`` rebuilds what the model saw from a
record and ``scoring`` compares new drafts with the humans: no ORM in those two, records
in, report out (the command loads the policy).
"""

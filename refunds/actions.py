"""The vocabulary of a refund decision, shared by every stage that makes or stores one:
what to do (``Action``) and, for a rejection, why (``RejectReason``, stored as the reason
code on review decisions).

Domain names, not part of any one producer: the LLM output schema, the gate, the
executor and the review app all import them from here.
"""

from enum import StrEnum

from django.db import models


class Action(StrEnum):
    APPROVE_REFUND = "approve_refund"
    DENY_REFUND = "deny_refund"
    REQUEST_MORE_INFO = "request_more_info"
    OFFER_REPLACEMENT = "offer_replacement"


class RejectReason(models.TextChoices):
    POLICY_NOT_MET = "policy_not_met", "Not covered by the refund policy"
    OUTSIDE_WINDOW = "outside_window", "Outside the refund window"
    ALREADY_REFUNDED = "already_refunded", "Already refunded"
    SUSPECTED_FRAUD = "suspected_fraud", "Suspected fraud or abuse"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence", "Insufficient evidence"
    DUPLICATE = "duplicate", "Duplicate request"
    OTHER = "other", "Other (explain in the comment)"

"""A deterministic screen of the untrusted text in a case for prompt-injection attempts.

The model is told that the message is untrusted data, but a model can still be talked
round; so the pipeline does not rely on it. When this screen finds instruction-like text,
the pipeline hands the case to the gate with ``failure_code="prompt_injection_suspected"``,
which the gate always sends to human review, whatever the model answered.

Matching is generous (a false positive costs a human look, a false negative could cost a
refund): the patterns run on ``refunds.textfold.fold`` of the text, the normalisation the
gate's risk-term screen uses too: invisible characters removed, NFKC, case folded,
look-alike characters ("Ignore" with a small capital G, a Cyrillic o, ...) replaced by the
letters they look like, accents removed.

Text that opens or closes one of the prompt's fences (``</customer_message>``, see
``prompts.FENCE_TAGS``) is an attempt to step out of the untrusted part of the prompt.
"""

import re

from refunds.textfold import fold

from .prompts import FENCE_TAGS

PROMPT_INJECTION_SUSPECTED = "prompt_injection_suspected"
# "customer_message" also as "customer message" or "customer-message".
_FENCE_NAMES = "|".join(re.escape(tag).replace("_", r"[\s_-]*") for tag in FENCE_TAGS)

# (name, pattern) — the name is what is recorded; the pattern runs on normalised text.
INJECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.MULTILINE))
    for name, pattern in (
        (
            "ignore_instructions",
            r"\b(ignore|disregard|forget|override)\b[^.\n]{0,40}"
            r"\b(instructions?|rules?|prompts?|polic(y|ies)|above)\b",
        ),
        (
            "role_line",
            r"^\s*[\[<(#*]*\s*(system|assistant|developer|admin(istrator)?)\s*"
            r"[\]>)*]*\s*:",
        ),
        (
            "role_tag",
            r"<\s*/?\s*(system|assistant|developer|instructions?|im_start|im_end)"
            r"\b[^>]*>|\[/?inst\]|<\|im_(start|end)\|>",
        ),
        (
            "new_instructions",
            r"\b(new|updated|real|actual)\s+instructions?\b|"
            r"\byou are now\b|\bact as\b|\bpretend (to be|you are)\b",
        ),
        (
            "schema_imitation",
            r"[\"']\s*(action|amount|needs_human_review|policy_match|"
            r"risk_flags)\s*[\"']\s*:",
        ),
        (
            "pre_approved",
            r"\b(pre-?approved|already approved|approved by (a |the )?"
            r"(manager|supervisor|admin|system))\b",
        ),
        ("fence_tag", rf"<\s*/?\s*({_FENCE_NAMES})\b"),
    )
)


def injection_markers(text: str) -> tuple[str, ...]:
    """The names of the injection patterns found in ``text``, in pattern order."""
    folded = fold(text)
    return tuple(name for name, pattern in INJECTION_PATTERNS if pattern.search(folded))


def injection_markers_in(*texts: str) -> tuple[str, ...]:
    """The markers found in any of ``texts`` — every untrusted text that reaches the prompt
    (message, replies, earlier messages of the conversation, item names) — or across their
    boundaries, so an instruction split between two fields is found too."""
    parts = [t for t in texts if t]
    found = {m for joined in ("\n".join(parts), " ".join(parts)) for m in injection_markers(joined)}
    return tuple(name for name, _ in INJECTION_PATTERNS if name in found)

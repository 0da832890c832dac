"""The evaluation set's replay half: a record read back into what the model saw (the
``DraftContext`` whose prompt equals the stored one) and into an ``EvalCase``, ready to be
drafted again. No ORM."""

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from refunds.agent.context import DraftContext, PolicySection

ZERO = Decimal("0.00")


class EvalSetError(ValueError):
    """A dataset line that cannot be evaluated (the command reports it with its number)."""


_SECTION = re.compile(
    r'<section id="(?P<id>[^"]*)" title="(?P<title>[^"]*)">\n(?P<body>.*?)'
    r"\n</section>",
    re.DOTALL,
)
_POLICY_VERSION = re.compile(r'<policy_sections version="(?P<v>[^"]*)">')
_CUSTOMER = re.compile(r"<customer_message>\n(?P<text>.*)\n</customer_message>", re.DOTALL)


def _decimal(value: Any, *, what: str) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise EvalSetError(f"{what} is not a number: {value!r}") from exc


def draft_context_from_record(record: dict[str, Any]) -> DraftContext:
    """The ``DraftContext`` whose prompt equals the stored ``prompt_messages``: the case
    facts from ``inputs.context``; the customer's words, the policy version and the
    section texts read back from the stored human message (the customer's message and
    replies were rendered into one text, which is all the prompt ever used)."""
    inputs = record.get("inputs")
    if not isinstance(inputs, dict) or not isinstance(inputs.get("context"), dict):
        raise EvalSetError("no model inputs (the case was never drafted)")
    facts = inputs["context"]
    human = next(
        (
            m.get("content", "")
            for m in inputs.get("prompt_messages") or []
            if isinstance(m, dict) and m.get("role") == "human"
        ),
        None,
    )
    if not isinstance(human, str):
        raise EvalSetError("no human prompt message in inputs.prompt_messages")
    customer = _CUSTOMER.search(human)
    if customer is None:
        raise EvalSetError("the prompt has no <customer_message> block")
    version = _POLICY_VERSION.search(human)
    scores = {
        s.get("id"): float(s.get("score", 0.0))
        for s in inputs.get("sections") or []
        if isinstance(s, dict)
    }
    sections = tuple(
        PolicySection(m["id"], m["title"], m["body"], scores.get(m["id"], 0.0))
        for m in _SECTION.finditer(human)
    )
    policy_version = version["v"] if version else ""
    try:
        return DraftContext(
            request_public_id=str(facts["request_public_id"]),
            channel=facts["channel"],
            message=customer["text"],
            currency=facts["currency"],
            requested_amount=_decimal(facts.get("requested_amount"), what="requested_amount"),
            order=facts["order"],
            customer=facts["customer"],
            refund_history=facts["refund_history"],
            refundable_remaining=_decimal(
                facts["refundable_remaining"], what="refundable_remaining"
            ),
            earlier_requests=facts.get("earlier_requests") or [],
            questions_asked=tuple(facts.get("questions_asked") or ()),
            policy_version="" if policy_version == "none" else policy_version,
            sections=sections,
        )
    except KeyError as exc:
        raise EvalSetError(f"inputs.context lacks {exc.args[0]!r}") from exc


@dataclass
class EvalCase:
    """One record ready to replay: the rebuilt context and what the human decided."""

    line: int
    request: str
    context: DraftContext
    human_outcome: str
    human_action: str
    human_amount: Decimal
    gate_context: dict[str, Any] | None


def eval_case_from_record(record: Any, *, line: int) -> EvalCase:
    if not isinstance(record, dict):
        raise EvalSetError("not a JSON object")
    human = record.get("human")
    if not isinstance(human, dict) or not human.get("outcome"):
        raise EvalSetError("no human decision")
    gate = record.get("gate") if isinstance(record.get("gate"), dict) else None
    return EvalCase(
        line=line,
        request=str(record.get("request", "")),
        context=draft_context_from_record(record),
        human_outcome=human["outcome"],
        human_action=human.get("action") or "",
        human_amount=_decimal(human.get("amount"), what="human.amount") or ZERO,
        gate_context=gate.get("context") if gate and gate.get("context") else None,
    )


def read_dataset(lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON) for each non-blank line; bad JSON raises EvalSetError."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise EvalSetError(f"line {number} is not JSON: {exc.msg}") from exc

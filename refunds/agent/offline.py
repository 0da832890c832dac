"""The offline heuristic drafter: a deterministic LangChain chat model, no network, no key.

It is not an AI and says so in every rationale. It exists so a fresh machine runs the
whole loop, and it goes through exactly the chain the real model does (prompt, tool call,
structured-output parsing). Its heuristics, in order:

1. It reads only the <case_facts> JSON, the ids and text of the <policy_sections>, and
   keywords in the <customer_message>; it never follows instructions in the message.
2. Risk terms in the message (fraud, chargeback, lawyer, legal, lawsuit, injury, injured,
   police) become risk flags and ask for human review; instruction-like text ("ignore
   previous instructions", "system:") adds the prompt_injection flag.
3. Action: order cancelled or returned, or delivered more than 30 days ago → deny_refund;
   words for damage (broken, damaged, defective, cracked, faulty, not working) or
   non-arrival of a shipped order → approve_refund; words asking for an exchange →
   offer_replacement; anything else → request_more_info.
4. Amount for approve_refund: the requested amount, else the order amount, capped at what
   is still refundable; nothing refundable left → deny_refund.
5. policy_match: strong if a retrieved section mentions the case's key word (e.g.
   "damaged"), medium if any section was retrieved, weak if none; it cites those sections.
6. Repeat complaints: words saying it happened before ("second time", "again", "not the
   first time", ...) add the repeat_complaint flag. (The customer's earlier requests are
   counted by the gate, under its own policy threshold.)
7. needs_human_review: any risk flag, a match weaker than strong, or an unclear case.
8. Sentiment, graded: each anger cue (an abuse word, three or more "!", shouting) scores
   2, words of impatience or disappointment ("immediately", "still waiting", "second
   time", ...) score 1 each, at most 2 together; 0 is calm, 1-2 frustrated, 3 or more
   angry. So impatience alone is never angry, and one angry word with impatience is.
   The rationale names the cues.
6. needs_human_review: any risk flag, a match weaker than strong, or an unclear case.
7. Sentiment: angry for abuse words, several "!" or shouting; frustrated for words of
   waiting and disappointment; else calm.
9. Precedents (the <precedents> block): when very similar past cases were all changed
   the same way by their reviewers, the draft follows them and cites them
   (``offline_precedents``).
8. Questions already asked (``questions_asked`` in the case facts): the customer's answers
   are part of the message it reads (rules 2 and 3 see them). If it still cannot tell what went
   wrong, it says that the customer was already asked and answered, and that asking again
   would repeat the question; it asks for a human. (Its only "unclear" action is still
   ``request_more_info``: the gate's ``repeat_question`` rule sends such a draft to a
   human, so it is never sent to the customer by itself.)
"""

import json
import re
from decimal import Decimal
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool

from .offline_precedents import follow_precedents, parse_precedents

DRAFTER_NAME = "offline heuristic drafter"
DRAFTER_MODEL = "offline-heuristic-drafter-1"

RISK_WORDS = {
    "fraud": "fraud",
    "chargeback": "chargeback",
    "lawyer": "legal",
    "legal": "legal",
    "lawsuit": "legal",
    "sue ": "legal",
    "injur": "injury",
    "police": "fraud",
}
INJECTION = re.compile(
    r"ignore (all |any )?(previous|prior|above) instructions|^\s*system\s*:"
    r"|you are now|new instructions",
    re.IGNORECASE | re.MULTILINE,
)
DAMAGE = (
    "broken",
    "damaged",
    "defective",
    "cracked",
    "faulty",
    "not working",
    "doesn't work",
    "does not work",
    "shattered",
)
NOT_ARRIVED = (
    "never arrived",
    "not arrived",
    "didn't arrive",
    "did not arrive",
    "not received",
    "never received",
    "lost in",
    "hasn't arrived",
    "has not arrived",
)
EXCHANGE = ("replace", "replacement", "exchange", "swap", "send another", "new one")
REPEAT = (
    "second time",
    "third time",
    "again",
    "once more",
    "another time",
    "not the first time",
    "every time",
    "keeps happening",
    "happened before",
    "same problem",
    "same issue",
    "last time",
)
ANGRY = (
    "furious",
    "ridiculous",
    "unacceptable",
    "scam",
    "disgusting",
    "worst",
    "outraged",
    "pathetic",
    "useless",
    "incompetent",
    "joke",
)
FRUSTRATED = (
    "still",
    "again",
    "second time",
    "disappointed",
    "frustrated",
    "waiting",
    "annoyed",
    "weeks",
    "immediately",
    "asap",
    "right now",
    "fed up",
    "sick of",
    "how many times",
    "i demand",
)
ANGER_POINTS, MAX_FRUSTRATION_POINTS, ANGRY_FROM = 2, 2, 3
RETURN_WINDOW_DAYS = 30


def _between(text: str, tag: str) -> str:
    match = re.search(rf"<{tag}[^>]*>\n?(.*?)\n?</{tag}>", text, re.DOTALL)
    return match.group(1) if match else ""


def _sections(text: str) -> list[tuple[str, str]]:
    return re.findall(r'<section id="([^"]+)"[^>]*>\n(.*?)\n</section>', text, re.DOTALL)


def _has(text: str, words) -> str | None:
    return next((w for w in words if w in text), None)


def _words_in(text: str, words) -> list[str]:
    """The cue words found in ``text``, as whole words ("again", not "against")."""
    return [w for w in words if re.search(rf"\b{re.escape(w)}\b", text)]


def grade_sentiment(message: str) -> tuple[str, list[str]]:
    """calm, frustrated or angry, with the cues that decided it (heuristic 8 above)."""
    text = message.lower()
    anger = _words_in(text, ANGRY)
    if message.count("!") >= 3:
        anger.append('"!!!"')
    if len(re.findall(r"\b[A-Z]{4,}\b", message)) >= 3:
        anger.append("shouting")
    frustration = _words_in(text, FRUSTRATED)
    score = ANGER_POINTS * len(anger) + min(len(frustration), MAX_FRUSTRATION_POINTS)
    sentiment = "angry" if score >= ANGRY_FROM else "frustrated" if score else "calm"
    return sentiment, anger + frustration


def draft_from_prompt(prompt: str) -> dict[str, Any]:
    """The heuristics above, from the rendered human message to ``RefundDecision`` args."""
    facts = json.loads(_between(prompt, "case_facts") or "{}")
    sections = _sections(_between(prompt, "policy_sections"))
    message = _between(prompt, "customer_message")
    text = message.lower()
    order = facts.get("order", {})
    currency = facts.get("currency") or order.get("currency") or "USD"
    remaining = Decimal(str(facts.get("refundable_remaining") or "0"))
    requested = facts.get("requested_amount")

    flags = sorted({flag for word, flag in RISK_WORDS.items() if word in text})
    if INJECTION.search(message):
        flags.append("prompt_injection")
    repeat_words = _words_in(text, REPEAT)
    if repeat_words:
        flags.append("repeat_complaint")

    delivered_days = order.get("days_since_delivery")
    keyword = None
    if order.get("status") in ("cancelled", "returned"):
        action, keyword, why = "deny_refund", "cancel", f"the order is {order.get('status')}"
    elif delivered_days is not None and delivered_days > RETURN_WINDOW_DAYS:
        action, keyword = "deny_refund", "days"
        why = f"it was delivered {delivered_days} days ago, outside the return window"
    elif (keyword := _has(text, DAMAGE)) is not None:
        action, why = "approve_refund", f"the customer reports the item {keyword}"
        keyword = "damaged"
    elif _has(text, NOT_ARRIVED) and order.get("status") != "delivered":
        action, keyword, why = "approve_refund", "arrive", "the shipped order has not arrived"
    elif _has(text, EXCHANGE):
        action, keyword, why = "offer_replacement", "replace", "the customer asks for an exchange"
    else:
        action, why = "request_more_info", "the message does not say what went wrong"
        answered = [q for q in facts.get("questions_asked") or [] if q.get("answered_by_reply")]
        if answered:
            last = answered[-1]
            why = (
                f"the customer already answered question {last.get('number')} (asked "
                f"{str(last.get('asked_at', ''))[:10]}) and still does not say what went "
                "wrong; asking again would repeat the question, so a human must decide"
            )

    amount = Decimal("0")
    if action == "approve_refund":
        wanted = Decimal(str(requested)) if requested else Decimal(str(order.get("amount", "0")))
        amount = min(wanted, remaining)
        if amount <= 0:
            action, why = "deny_refund", "nothing is left to refund on this order"
            amount = Decimal("0")

    followed = follow_precedents(
        parse_precedents(_between(prompt, "precedents")),
        action=action,
        amount=amount,
        fallback_amount=Decimal(str(requested or order.get("amount") or "0")),
        remaining=remaining,
    )
    if followed is not None:
        action, amount = followed.action, followed.amount
        why = f"{why}; {followed.why}"

    cited = [sid for sid, body in sections if keyword and keyword in body.lower()]
    policy_match = "strong" if cited else ("medium" if sections and keyword else "weak")
    if action == "request_more_info":
        policy_match = "weak" if not sections else "medium"
    if not cited and sections:
        cited = [sections[0][0]]

    sentiment, cues = grade_sentiment(message)
    notes = f" Tone: {sentiment}" + (f" ({', '.join(repr(c) for c in cues)})." if cues else ".")
    if repeat_words:
        notes += f" Repeat complaint: the customer says {', '.join(map(repr, repeat_words))}."

    return {
        "action": action,
        "amount": f"{amount:.2f}",
        "currency": currency,
        "rationale": f"[{DRAFTER_NAME}, not an AI] Proposed {action.replace('_', ' ')} "
        f"because {why}; sections consulted: {', '.join(cited) or 'none'}.{notes}",
        "cited_sections": cited,
        "policy_match": policy_match,
        "needs_human_review": bool(flags)
        or policy_match != "strong"
        or action == "request_more_info",
        "customer_sentiment": sentiment,
        "risk_flags": flags,
    }


class OfflineHeuristicDrafter(BaseChatModel):
    """Answers every prompt with a tool call built by ``draft_from_prompt``."""

    model_name: str = DRAFTER_MODEL

    @property
    def _llm_type(self) -> str:
        return "offline-heuristic-drafter"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_name": self.model_name}

    def bind_tools(self, tools, *, tool_choice=None, **kwargs):
        return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        prompt = "\n".join(str(m.content) for m in messages if m.type == "human")
        tools = kwargs.get("tools") or [{"function": {"name": "RefundDecision"}}]
        args = draft_from_prompt(prompt)
        words_in = sum(len(str(m.content).split()) for m in messages)
        words_out = len(json.dumps(args).split())
        message = AIMessage(
            content="",
            tool_calls=[
                {
                    "name": tools[0]["function"]["name"],
                    "args": args,
                    "id": "offline-draft",
                    "type": "tool_call",
                }
            ],
            usage_metadata={
                "input_tokens": words_in,
                "output_tokens": words_out,
                "total_tokens": words_in + words_out,
            },
            response_metadata={"model_name": self.model_name},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

"""The words BM25 compares: policy sections and customer messages reduced to the same terms.

BM25 is lexical, and customers do not write in the policy's words. Three things bring the
two together (``bench/retrieval.py`` measures the effect on labelled messages):

- **Stemming** (Snowball's English stemmer): "cancelled", "cancel" and "cancellation"
  count as one term, as do "arrives" and "arrived", "returned" and "return".
- **Negation**: "never arrived", "has not arrived" and "hasn't arrived" become one term,
  ``not_arriv``, that does not match "arrived damaged"; so "it arrived broken" no longer
  counts as evidence for the section on items that never arrived. A negation word applies
  to the next word that is not a stop word.
- **Synonyms**: a customer's word for a common complaint ("chipped", "doesn't work",
  "wrong size", "my bank") adds the policy's words for it ("damaged broken", "defective",
  "exchange", "chargeback dispute") to the query. Sections are never expanded.
"""

import re
import threading
from functools import lru_cache

import snowballstemmer

NEGATED = "not_"
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_NEGATION_TEXT = "not no never nothing nobody nowhere without cannot neither nor"
_NEGATIONS = frozenset(_NEGATION_TEXT.split())  # and every "…n't"
_STOPWORD_TEXT = """
    a an and any are as at be been but by can could did do does for from had has have
    how i if in into is it its just me my of on or our please so some still than that the
    their them then there these they this to very was we were what when which who will with
    would yet you your
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_local = threading.local()  # a Snowball stemmer keeps state while it stems: one per thread


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    if not hasattr(_local, "stemmer"):
        _local.stemmer = snowballstemmer.stemmer("english")
    return _local.stemmer.stemWord(word)


def _is_negation(word: str) -> bool:
    return word in _NEGATIONS or word.endswith("n't")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed terms without stop words; a negated word is ``not_<stem>``."""
    terms: list[str] = []
    negated = False
    for word in _WORD.findall(text.lower().replace("\u2019", "'")):
        if _is_negation(word):
            negated = True
            continue
        word = word.split("'", 1)[0]  # "it's" -> "it", "customer's" -> "customer"
        if not word or word in STOPWORDS:
            continue
        terms.append(NEGATED + _stem(word) if negated else _stem(word))
        negated = False
    return terms


# A customer's word or phrase (one term once tokenized) -> the policy's words for it.
_SYNONYMS = {
    "damaged broken": (
        "chipped cracked shattered smashed dented scratched scratch crushed snapped torn "
        "ripped bent stopped"
    ),
    "defective broken": (
        "faulty stopped dead malfunctioning doesn't-work won't-charge won't-turn no-sound "
        "no-power no-picture"
    ),
    "never arrived": (
        "missing lost late never-received not-received not-here never-came not-come "
        "haven't-got not-delivered"
    ),
    "exchange replacement": (
        "replacement exchange swap size colour color bigger smaller larger medium"
    ),
    "return": "unopened unused mind back don't-need don't-want",
    "chargeback dispute": "bank",
    "fraud": "stolen unauthorised unauthorized",
    "legal": "lawyer solicitor sue court",
    "injury": "hurt injured burned burnt",
}


def _synonym_table() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for policy_words, customer_words in _SYNONYMS.items():
        expansion = tuple(tokenize(policy_words))
        for phrase in customer_words.split():
            terms = tokenize(phrase.replace("-", " "))
            if len(terms) != 1:
                raise ValueError(f"Synonym {phrase!r} must be one term, not {terms}.")
            known = table.get(terms[0], ())
            table[terms[0]] = known + tuple(t for t in expansion if t not in known)
    return table


QUERY_EXPANSIONS = _synonym_table()


def query_terms(text: str) -> list[str]:
    """The terms of ``text`` followed by the policy's words for its complaint words."""
    terms = tokenize(text)
    return terms + [extra for term in terms for extra in QUERY_EXPANSIONS.get(term, ())]

"""Risk-term matching: pure, no Django.

A gate errs toward review, so matching is deliberately generous: text and terms are both
put through ``refunds.textfold.fold`` (the normalisation the injection screen uses too):
invisible characters removed, NFKC, case folded, look-alike characters (a Cyrillic a, a
small capital G, full-width letters, ...) replaced by the letters they look like, accents
removed. So "fraud" written with a Cyrillic a or a zero-width space, and "legal" with an
accent, all match. Terms match anywhere in the text (substring): "lawsuits",
"chargebacks" and "illegal" all fire.
"""

from collections.abc import Iterable

from refunds.textfold import fold, fold_case


def normalize_term(term: str) -> str:
    """How an admin's keyword is stored: readable (NFKC, case folded, invisible characters
    removed, inner spaces collapsed); look-alikes and accents are folded when matching."""
    return " ".join(fold_case(term).split())


def normalize_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """Normalised, empty ones dropped, duplicates removed, first occurrence order kept."""
    seen: dict[str, None] = {}
    for term in terms:
        normal = normalize_term(term)
        if normal:
            seen.setdefault(normal, None)
    return tuple(seen)


def matched_terms(text: str, terms: Iterable[str]) -> tuple[str, ...]:
    """The terms (as given) whose folded form occurs anywhere in the folded ``text``, in
    ``terms`` order."""
    folded = fold(text)
    return tuple(term for term in terms if (key := fold(term)) and key in folded)

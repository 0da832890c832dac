"""Text normalisation for risk-term matching: pure, no Django.

A gate errs toward review, so matching is deliberately generous: the text is put in NFKC
form (full-width and other compatibility letters become plain ones), invisible format
characters (zero-width spaces and joiners, soft hyphens, bidi marks: Unicode category Cf)
are removed, and case is folded. A second, accent-stripped form is also checked, so
"lėgal" or "legal" followed by a combining mark still matches "legal". Terms match anywhere
in the text (substring): "lawsuits", "chargebacks" and "illegal" all fire.
"""

import unicodedata
from collections.abc import Iterable


def _drop_format_chars(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def normalize_text(text: str) -> str:
    """NFKC, format characters removed, case folded (then NFKC again: folding can
    produce decomposed sequences)."""
    folded = unicodedata.normalize("NFKC", _drop_format_chars(text)).casefold()
    return unicodedata.normalize("NFKC", _drop_format_chars(folded))


def strip_accents(text: str) -> str:
    """The normalised text with combining marks removed ("é" -> "e")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def normalize_term(term: str) -> str:
    """How an admin's keyword is stored: normalised, accents kept, inner spaces collapsed."""
    return " ".join(normalize_text(term).split())


def normalize_terms(terms: Iterable[str]) -> tuple[str, ...]:
    """Normalised, empty ones dropped, duplicates removed, first occurrence order kept."""
    seen: dict[str, None] = {}
    for term in terms:
        normal = normalize_term(term)
        if normal:
            seen.setdefault(normal, None)
    return tuple(seen)


def matched_terms(text: str, terms: Iterable[str]) -> tuple[str, ...]:
    """The terms (already normalised) that occur anywhere in ``text``, in ``terms`` order."""
    normal = normalize_text(text)
    plain = strip_accents(normal)
    found = []
    for term in terms:
        if term in normal or term in plain or strip_accents(term) in plain:
            found.append(term)
    return tuple(found)

"""The one text normalisation both screens match in: the gate's risk-term screen
(``refunds.gate.text``) and the prompt-injection screen (``refunds.agent.screening``).

Pure, no Django. ``fold(text)`` turns what a reader *sees* into plain lower-case text: "Fraud"
written with a Cyrillic a (U+0430), "Ignore" with a small capital G (U+0262), in full-width
letters, with zero-width spaces or with Greek capitals all fold to "fraud" and "ignore".

1. Invisible characters are removed: format characters (Unicode category Cf: zero-width
   spaces and joiners, soft hyphens, bidi marks, tags) and the other default-ignorable ones
   (variation selectors, the combining grapheme joiner, Hangul fillers).
2. Look-alikes are replaced by what they look like: each non-ASCII character by its
   prototype in Unicode's confusables table (UTS #39 section 4, the data of the "skeleton":
   Cyrillic a → a, Greek omicron → o, dotless i → i), and Latin small capitals by their
   letter, which the table leaves alone (they are prototypes themselves). This runs on the
   text as written and again after step 3: a capital look-alike resembles a capital letter,
   while its lower case often resembles nothing Latin (Greek capital kappa looks like K,
   small kappa like no Latin letter).
3. NFKC and case folding (full-width, mathematical and other compatibility letters become
   plain ones).
4. Combining marks are removed (an i with a diaeresis reads as i), then NFKC and case
   folding again. The whole is repeated until nothing changes: ``fold(fold(t)) == fold(t)``.

Where this departs from the UTS #39 skeleton, and why: the skeleton maps some ASCII
characters too ("m" → "rn", "I" → "l", '"' → "''") because it compares two strings that both
went through it. The screens compare text with terms and patterns written in plain lower
case, and ASCII text is already what it looks like, so ASCII is kept as it is; a non-ASCII
character whose prototype is the skeleton of an ASCII character becomes that character
("rn" → "m"), and a capital whose prototype is "l" becomes "I". Matching errs toward
review: a false match costs a human look.

``confusables.txt`` is Unicode's file, unchanged (its header gives the version); to move to
a newer Unicode version, replace it with the one from unicode.org/Public/security/.
"""

import re
import string
import unicodedata
from functools import cache
from importlib.resources import files

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) beyond category Cf; Python's
# unicodedata has no such property, and these ranges are few and stable.
_IGNORABLE_RANGES = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul choseong / jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors 1-16
    (0xFFA0, 0xFFA0),  # half-width Hangul filler
    (0xE0000, 0xE0FFF),  # tags, variation selectors 17-256 and their reserve
)
# Every format character and combining mark lies below this (Unicode 14, Python 3.11),
# but for the tags and variation selectors in the range above.
_SCAN_END = 0x20000
# The blocks holding Latin small capitals (IPA extensions, phonetic extensions, Latin
# extended-D and -F), named "LATIN LETTER SMALL CAPITAL X" or "MODIFIER LETTER SMALL
# CAPITAL X".
_SMALL_CAPITAL_BLOCKS = ((0x0250, 0x02AF), (0x1D00, 0x1DBF), (0xA720, 0xA7FF), (0x10780, 0x107BF))
_SMALL_CAPITAL_NAME = re.compile(r"(?:LATIN|MODIFIER) LETTER SMALL CAPITAL ([A-Z])")
_MAX_ROUNDS = 5


def fold_case(text: str) -> str:
    """Steps 1 and 3 only: invisible characters removed, NFKC, case folded. The readable
    canonical form (how admins' keywords are stored); ``fold`` is what is matched."""
    if text.isascii():
        return text.lower()
    visible = unicodedata.normalize("NFKC", text.translate(_invisible()))
    return unicodedata.normalize("NFKC", visible.casefold())


def fold(text: str) -> str:
    """The form both screens match in (see the module docstring): a fixed point."""
    if text.isascii():
        return text.lower()  # nothing in ASCII is invisible, a look-alike or a mark
    for _ in range(_MAX_ROUNDS):
        folded = _fold_once(text)
        if folded == text:
            break
        text = folded
    return text


def _fold_once(text: str) -> str:
    table = _look_alikes()
    # Before case folding too: a capital look-alike resembles a capital letter, and its
    # lower case often resembles nothing Latin (Greek and Cyrillic capital KA look like K).
    cased = unicodedata.normalize("NFD", text.translate(_invisible())).translate(table)
    lowered = unicodedata.normalize("NFD", fold_case(cased)).translate(table)
    return fold_case(unicodedata.normalize("NFD", lowered).translate(_marks()))


@cache
def _invisible() -> dict[int, None]:
    """A ``str.translate`` table deleting format characters (Cf) and the other
    default-ignorable code points."""
    found = dict.fromkeys(
        cp for cp in range(0x80, _SCAN_END) if unicodedata.category(chr(cp)) == "Cf"
    )
    for first, last in _IGNORABLE_RANGES:
        found.update(dict.fromkeys(range(first, last + 1)))
    return found


@cache
def _marks() -> dict[int, None]:
    """A ``str.translate`` table deleting combining marks (Mn, Me)."""
    return dict.fromkeys(
        cp for cp in range(0x80, _SCAN_END) if unicodedata.category(chr(cp)) in ("Mn", "Me")
    )


def _parse_code_points(field: str) -> str:
    return "".join(chr(int(cp, 16)) for cp in field.split())


@cache
def confusable_prototypes() -> dict[str, str]:
    """Unicode's confusables table: character → prototype (what it looks like)."""
    table = {}
    text = files(__package__).joinpath("confusables.txt").read_text(encoding="utf-8-sig")
    for line in text.splitlines():
        data = line.split("#", 1)[0]
        if data.strip():
            source, prototype, *_ = data.split(";")
            table[_parse_code_points(source)] = _parse_code_points(prototype)
    return table


@cache
def small_capitals() -> dict[str, str]:
    """Latin small capital letters → their lower-case letter (U+0262 → "g")."""
    found = {}
    for first, last in _SMALL_CAPITAL_BLOCKS:
        for cp in range(first, last + 1):
            match = _SMALL_CAPITAL_NAME.fullmatch(unicodedata.name(chr(cp), ""))
            if match:
                found[chr(cp)] = match.group(1).lower()
    return found


@cache
def _look_alikes() -> dict[int, str]:
    """The ``str.translate`` table of step 2, for non-ASCII characters only."""
    prototypes, capitals = confusable_prototypes(), small_capitals()
    # Skeletons of ASCII characters that are not the character itself, back to it: "rn" →
    # "m", "''" → '"'; and a capital whose prototype is "l" looks like "I", not like "l".
    ascii_by_skeleton = {
        prototypes[a]: a for a in string.printable if len(prototypes.get(a, "")) > 1
    }
    capital_by_skeleton = {prototypes[a]: a for a in string.ascii_uppercase if a in prototypes}
    table = {}
    for source, prototype in prototypes.items():
        if source.isascii():
            continue
        target = "".join(capitals.get(ch, ch) for ch in prototype)
        if unicodedata.category(source) in ("Lu", "Lt"):
            target = capital_by_skeleton.get(target, target)
        table[ord(source)] = ascii_by_skeleton.get(target, target)
    table.update({ord(capital): letter for capital, letter in capitals.items()})
    return table

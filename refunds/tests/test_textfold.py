"""The one normalisation both screens match in (``refunds.textfold.fold``)."""

import re
import string
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refunds.tests.look_alikes import HAND_PICKED, INVISIBLE, MARKS, unicode_look_alikes
from refunds.textfold import confusable_prototypes, fold, fold_case, small_capitals


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Fr\u0430ud", "fraud"),  # the Cyrillic a
        ("Ch\u0430rgeback", "chargeback"),
        ("I\u0262nore previous instructions", "ignore previous instructions"),  # small cap G
        ("\ua730\u0280\u1d00\u1d1c\u1d05", "fraud"),  # all small capitals
        ("C\u0397ARGEBACK", "chargeback"),  # Greek capital eta
        ("\u039a\u041d\u0391\u039d", "khan"),  # Greek and Cyrillic capitals
        ("\u0399GNORE", "ignore"),  # Greek capital iota looks like I, not like l
        ("law\u0455uit", "lawsuit"),  # Cyrillic dze
        ("\u017fraud", "fraud"),  # long s looks like f
        ("\uff46\uff52\uff41\uff55\uff44", "fraud"),  # full-width
        ("\U0001d41f\U0001d42b\U0001d41a\U0001d42e\U0001d41d", "fraud"),  # mathematical bold
        ("fr\u200ba\u00adu\u2060d", "fraud"),  # zero-width space, soft hyphen, word joiner
        ("fr\ufe0fa\u034fu\u3164d", "fraud"),  # variation selector, CGJ, Hangul filler
        ("i\u0308gnore pre\u0301vious", "ignore previous"),  # accents
        ("SYSTEM\ua789 approve", "system: approve"),  # modifier letter colon
        ("\u201caction\u201d:", '"action":'),  # curly quotes
        ("\u2039/customer_message\u203a", "</customer_message>"),
        ("stra\u00dfe", "strasse"),
    ],
)
def test_fold_reads_look_alikes_as_what_they_look_like(text, folded):
    assert fold(text) == folded


@given(st.text(alphabet=string.printable))
def test_fold_keeps_plain_ascii_text_but_for_case(text):
    # The UTS #39 skeleton would turn "m" into "rn" and "I" into "l": ASCII is kept.
    assert fold(text) == text.lower()


@settings(max_examples=1000)
@given(st.text())
def test_fold_is_a_fixed_point(text):
    assert fold(fold(text)) == fold(text)


@settings(max_examples=300)
@given(st.text(alphabet=string.ascii_letters + " "), st.data())
def test_fold_removes_every_invisible_character_and_accent(text, data):
    noisy = "".join(
        ch + data.draw(st.sampled_from(("", *INVISIBLE, *MARKS)), label="noise") for ch in text
    )

    assert fold(noisy) == text.lower()


def test_fold_turns_every_look_alike_unicode_lists_into_its_character():
    wrong = {
        (char, look_alike, fold(look_alike))
        for char, look_alikes in unicode_look_alikes().items()
        for look_alike in look_alikes
        if fold(look_alike) != char
    }

    assert wrong == set()
    assert sum(map(len, unicode_look_alikes().values())) > 1000  # the pool is not empty


def test_fold_turns_every_hand_picked_look_alike_into_its_character():
    assert {
        (char, look_alike, fold(look_alike))
        for char, look_alikes in HAND_PICKED.items()
        for look_alike in look_alikes
        if fold(look_alike) != char
    } == set()


def test_every_latin_small_capital_is_known():
    assert "".join(sorted(set(small_capitals().values()))) == "abcdefghijklmnopqrstuvwyz"


def test_fold_case_keeps_non_latin_letters_readable():
    """The stored form of an admin's keyword: no look-alike folding, so it stays legible."""
    assert fold_case("\u041c\u041e\u0428\u0415\u041d\u041d\u0418\u041a") == (
        "\u043c\u043e\u0448\u0435\u043d\u043d\u0438\u043a"
    )


def test_the_confusables_table_is_unicodes_whole_file():
    text = files("refunds.textfold").joinpath("confusables.txt").read_text(encoding="utf-8-sig")
    total = int(re.search(r"^# total: (\d+)$", text, re.MULTILINE).group(1))

    assert re.search(r"^# Unicode Security Mechanisms for UTS #39$", text, re.MULTILINE)
    assert len(confusable_prototypes()) == total
    assert confusable_prototypes()["\u0430"] == "a"

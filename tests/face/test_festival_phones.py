"""festival phones -> ARPAbet by phoneset features; no festival needed."""

from __future__ import annotations

import pytest

from emotrack.core.phonemes import ARPABET
from emotrack.errors import ParameterError
from emotrack.ml.face.festival_phones import arpabet_phone, parse_phoneset, parse_sexp

# Excerpts of the phonesets festival prints with (PhoneSet.description nil).
ITALIAN = ("((name italian) (features ((vc (+ -)) (vlng (s l d a 0)) (vheight (1 2 3 -)) (vfront (1 2 3 -)) "
           "(vrnd (+ -)) (ctype (s f a n l 0)) (cplace (l a p b d v 0)) (cvox (+ -)) (acc (+ - 0)) (gem (+ - 0)) "
           "(semi (+ -)))) (phones ((i + s 1 1 - 0 0 - - 0 -) (a + s 3 2 - 0 0 - - 0 -) (o + s 2 3 + 0 0 - - 0 -) "
           "(u1 + l 1 3 + 0 0 - + 0 -) (j - s 1 1 - 0 0 + - 0 +) (w - s 1 3 + 0 0 + - 0 +) "
           "(p - 0 - - - s l - 0 + -) (b - 0 - - - s l + 0 + -) (m - 0 - - - n l + 0 + -) "
           "(f - 0 - - - f b - 0 + -) (v - 0 - - - f b + 0 + -) (nf - 0 - - - n b + 0 - -) "
           "(tS - 0 - - - a p - 0 + -) (ng - 0 - - - n v + 0 - -) (r - 0 - - - l a + 0 + -) "
           "(l - 0 - - - l a + 0 + -) (# - 0 - - - 0 0 - 0 0 -))) (silences (#)))")
CATALAN = ("((name upc_catalan-central) (features ((vc (+ -)) (vlng (s l d a 0)) (vheight (1 2 3 0)) "
           "(vfront (1 2 3 0)) (vrnd (+ - 0)) (ctype (s f a n l 0)) (cplace (l a p b d v 0)) (cvox (+ - 0)))) "
           "(phones ((ax + a 2 2 - 0 0 +) (a + l 1 2 - 0 0 +) (i + l 3 1 - 0 0 +) (b - 0 0 0 0 s l -) "
           "(p - 0 0 0 0 s l +) (m - 0 0 0 0 n l -) (f - 0 0 0 0 f b +) (j + s 3 1 - 0 0 +) "
           "(pau - 0 0 0 0 0 0 -))) (silences (pau)))")
RUSSIAN = ("((name msu_ru) (features ((vc (+ -)) (vlng (s l a 0)) (vheight (1 2 3 4 5 0)) (vfront (1 2 3 4 5 0)) "
           "(vrnd (+ - 0)) (ctype (s f a n l 0)) (cplace (l a p b d v 0)) (cvox (+ - 0)) (csoft (+ - 0)))) "
           "(phones ((ii + l 5 1 - 0 0 0 0) (aa + l 1 3 - 0 0 0 0) (uu + l 5 5 + 0 0 0 0) "
           "(pp - 0 0 0 0 s l - +) (bb - 0 0 0 0 s l + +) (mm - 0 0 0 0 n l + +) (sh - 0 0 0 0 f a - -) "
           "(pau - 0 0 0 0 0 0 0 0))) (silences (pau)))")
FINNISH_APPROXIMANTS = ("((name finnish) (features ((vc (+ - 0)) (ctype (s f a n l r 0)) (cplace (l a p b d v g 0)) "
                        "(cvox (+ - 0)))) (phones ((w - r l +) (j - r p +) (m - n l +) (# 0 0 0 0))) (silences (#)))")
CZECH = ("((name czech) (features ((vc (+ - 0)) (vlng (s l 0)))) (phones ((# 0 0) (a + s) (b - 0) (p - 0) "
         "(m - 0) (r~ - 0))) (silences (#)))")


def test_parse_sexp_nests_atoms():
    assert parse_sexp("(a (b c) (d))") == ["a", ["b", "c"], ["d"]]
    with pytest.raises(ParameterError):
        parse_sexp("(a (b)")


@pytest.mark.parametrize("description, phone, expected", [
    (ITALIAN, "p", "P"), (ITALIAN, "b", "B"), (ITALIAN, "m", "M"), (ITALIAN, "f", "F"), (ITALIAN, "v", "V"),
    (ITALIAN, "nf", "V"),  # labio-dental nasal: lip to teeth, not a bilabial closure
    (ITALIAN, "tS", "CH"), (ITALIAN, "ng", "NG"), (ITALIAN, "r", "R"), (ITALIAN, "l", "L"),
    (ITALIAN, "i", "IY"), (ITALIAN, "a", "AA"), (ITALIAN, "o", "OW"), (ITALIAN, "u1", "UW"),
    (ITALIAN, "j", "Y"), (ITALIAN, "w", "W"), (ITALIAN, "#", "SIL"),
    # Catalan: voicing column inverted, height counted upwards
    (CATALAN, "p", "P"), (CATALAN, "b", "B"), (CATALAN, "m", "M"), (CATALAN, "f", "F"),
    (CATALAN, "i", "IY"), (CATALAN, "a", "AA"), (CATALAN, "ax", "AH"), (CATALAN, "j", "Y"), (CATALAN, "pau", "SIL"),
    # Russian: soft consonants are the same lips; height 5 = high
    (RUSSIAN, "pp", "P"), (RUSSIAN, "bb", "B"), (RUSSIAN, "mm", "M"), (RUSSIAN, "ii", "IY"),
    (RUSSIAN, "aa", "AA"), (RUSSIAN, "uu", "UW"), (RUSSIAN, "sh", "SH"),
    # Finnish labial approximant is W, never a bilabial
    (FINNISH_APPROXIMANTS, "w", "W"), (FINNISH_APPROXIMANTS, "j", "Y"), (FINNISH_APPROXIMANTS, "m", "M"),
    # Czech has no place features: by name
    (CZECH, "b", "B"), (CZECH, "p", "P"), (CZECH, "m", "M"), (CZECH, "r~", "ZH"), (CZECH, "a", "AA"),
])
def test_phones_map_to_arpabet(description, phone, expected):
    assert arpabet_phone(phone, parse_phoneset(description)) == expected


def test_every_italian_phone_maps_and_only_labial_stops_and_nasals_are_bilabial():
    phoneset = parse_phoneset(ITALIAN)
    mapped = {name: arpabet_phone(name, phoneset) for name in phoneset.features}
    assert set(mapped.values()) <= set(ARPABET) | {"SIL"}
    assert {n for n, a in mapped.items() if a in ("P", "B", "M")} == {"p", "b", "m"}


def test_unknown_phone_is_a_parameter_error():
    with pytest.raises(ParameterError):
        arpabet_phone("qq", parse_phoneset(ITALIAN))

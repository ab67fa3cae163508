"""Phones of festival's non-English voices as ARPAbet, from their phoneset features.

Every festival voice defines a phoneset: each phone with features (vowel height,
frontness, rounding; consonant type, place, voicing). ``arpabet_phone`` maps a phone to
the nearest of the 39 ARPAbet phones + ``SIL`` (``core.phonemes``) from those features,
the same way for every language, because the face targets only need the mouth shape:
labial stops -> P/B, labial nasals -> M, labio-dental -> F/V, vowels by height,
frontness and rounding.

Phonesets disagree on their scales and some lack features, hence small per-phoneset
fixes (``PHONESET_FIXES``): Catalan (``upc_catalan-central``) and Russian (``msu_ru``)
number vowel height upwards (Italian and Finnish downwards), Catalan's voicing column is
inverted, Russian marks its postalveolars alveolar, and the Czech phoneset has no place
or height features at all, so it is a table. Bilabials come out exactly: P/B/M only for
labial stops and labial nasals (never for the labio-dental nasal or a labial approximant).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...core.phonemes import SILENCE
from ...errors import ParameterError

SILENCE_NAMES = frozenset({"#", "##", "_", "pau", "sil", "h#"})


@dataclass(frozen=True)
class Phoneset:
    """A festival phoneset: its name, silence phones and each phone's features by name."""

    name: str
    silences: frozenset[str]
    features: dict[str, dict[str, str]] = field(default_factory=dict)


def parse_sexp(text: str):
    """A Scheme datum as nested lists of atom strings: ``"(a (b c))"`` -> ``["a", ["b", "c"]]``."""
    tokens = text.replace("(", " ( ").replace(")", " ) ").split()
    stack: list[list] = [[]]
    for token in tokens:
        if token == "(":
            stack.append([])
        elif token == ")":
            if len(stack) < 2:
                raise ParameterError("unbalanced ')' in a festival phoneset")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(token)
    if len(stack) != 1 or len(stack[0]) != 1:
        raise ParameterError("a festival phoneset must be one balanced list")
    return stack[0][0]


def parse_phoneset(description: str) -> Phoneset:
    """The phoneset printed by festival's ``(PhoneSet.description nil)``."""
    fields = {entry[0]: entry[1:] for entry in parse_sexp(description) if isinstance(entry, list) and entry}
    try:
        name = fields["name"][0]
        feature_names = [f[0] for f in fields["features"][0]]
        phones = fields["phones"][0]
    except (KeyError, IndexError, TypeError) as error:
        raise ParameterError(f"not a festival phoneset description: {description[:80]!r}") from error
    silences = frozenset(fields.get("silences", [[]])[0])
    features = {p[0]: dict(zip(feature_names, p[1:])) for p in phones}
    return Phoneset(name, silences, features)


# Czech (festvox-czech-*): no place/height features, so every phone by name.
_CZECH = {
    "a": "AA", "a:": "AA", "e": "EH", "e:": "EH", "i": "IY", "i:": "IY", "o": "OW", "o:": "OW", "u": "UW",
    "u:": "UW", "b": "B", "p": "P", "m": "M", "f": "F", "v": "V", "t": "T", "d": "D", "t~": "T", "d~": "D",
    "k": "K", "g": "G", "c": "S", "dz": "Z", "c~": "CH", "dz~": "JH", "s": "S", "z": "Z", "s~": "SH",
    "z~": "ZH", "r~": "ZH", "r~*": "SH", "ch": "HH", "h": "HH", "j": "Y", "l": "L", "r": "R", "n": "N",
    "n~": "N", "n*": "NG", "@": "AH",
}
# Per phoneset: phones by name (overriding the features), and how to read the features.
PHONESET_FIXES: dict[str, dict] = {
    "czech": {"phones": _CZECH},
    "msu_ru": {"phones": {"ch": "CH", "sh": "SH", "zh": "ZH", "j": "Y"},
               "height": {"5": "high", "4": "high", "3": "mid", "2": "mid", "1": "low"},
               "front": {"1": "front", "2": "front", "3": "central", "4": "back", "5": "back"}},
    "upc_catalan-central": {"phones": {"j": "Y", "w": "W"}, "voicing_inverted": True,
                            "height": {"3": "high", "2": "mid", "1": "low"}},
}
_HEIGHT = {"1": "high", "2": "mid", "3": "low"}  # Italian, Finnish
_FRONT = {"1": "front", "2": "central", "3": "back"}
# (height, frontness, rounded) -> ARPAbet; rounding decides only where lips differ.
_VOWELS = {
    ("high", "front", False): "IY", ("high", "front", True): "UW", ("high", "central", False): "IH",
    ("high", "central", True): "UW", ("high", "back", False): "UW", ("high", "back", True): "UW",
    ("mid", "front", False): "EH", ("mid", "front", True): "UH", ("mid", "central", False): "AH",
    ("mid", "central", True): "UH", ("mid", "back", False): "AH", ("mid", "back", True): "OW",
    ("low", "front", False): "AE", ("low", "front", True): "AO", ("low", "central", False): "AA",
    ("low", "central", True): "AO", ("low", "back", False): "AA", ("low", "back", True): "AO",
}
# (consonant type, place) -> (voiceless, voiced). Types: s stop, f fricative, a affricate,
# n nasal; places: l labial, b labio-dental, d dental, a alveolar, p palatal/postalveolar,
# v velar, g glottal.
_CONSONANTS = {
    ("s", "l"): ("P", "B"), ("s", "b"): ("P", "B"), ("s", "d"): ("T", "D"), ("s", "a"): ("T", "D"),
    ("s", "p"): ("T", "D"), ("s", "v"): ("K", "G"), ("s", "g"): ("K", "G"),
    ("f", "l"): ("F", "V"), ("f", "b"): ("F", "V"), ("f", "d"): ("TH", "DH"), ("f", "a"): ("S", "Z"),
    ("f", "p"): ("SH", "ZH"), ("f", "v"): ("HH", "HH"), ("f", "g"): ("HH", "HH"),
    ("a", "l"): ("F", "V"), ("a", "b"): ("F", "V"), ("a", "d"): ("S", "Z"), ("a", "a"): ("S", "Z"),
    ("a", "p"): ("CH", "JH"), ("a", "v"): ("K", "G"),
    # The labio-dental nasal (Italian "nf" in "inferno") touches lip to teeth like /v/: not a bilabial.
    ("n", "l"): ("M", "M"), ("n", "b"): ("V", "V"), ("n", "d"): ("N", "N"), ("n", "a"): ("N", "N"),
    ("n", "p"): ("N", "N"), ("n", "v"): ("NG", "NG"),
}


def arpabet_phone(phone: str, phoneset: Phoneset) -> str:
    """The ARPAbet phone (or ``SIL``) nearest to festival's ``phone`` of ``phoneset``."""
    fixes = PHONESET_FIXES.get(phoneset.name, {})
    if phone in phoneset.silences or phone in SILENCE_NAMES:
        return SILENCE
    if phone in fixes.get("phones", {}):
        return fixes["phones"][phone]
    feats = phoneset.features.get(phone)
    if feats is None:
        raise ParameterError(f"festival phone {phone!r} is not in phoneset {phoneset.name}")
    vowel = feats.get("vc") == "+"
    height = fixes.get("height", _HEIGHT).get(feats.get("vheight", "0"))
    front = fixes.get("front", _FRONT).get(feats.get("vfront", "0"))
    rounded = feats.get("vrnd") == "+"
    if vowel:
        if height and front:
            return _VOWELS[(height, front, rounded)]
        raise ParameterError(f"vowel {phone!r} of {phoneset.name} has no height/frontness")
    ctype, place = feats.get("ctype", "0"), feats.get("cplace", "0")
    voiced = feats.get("cvox") == "+"
    if fixes.get("voicing_inverted"):
        voiced = not voiced
    if (ctype, place) in _CONSONANTS:
        return _CONSONANTS[(ctype, place)][voiced]
    if ctype == "l":  # liquids: the features do not tell r from l, the names do
        return "R" if phone.lower().startswith("r") else "L"
    if ctype == "r":  # approximants
        return {"l": "W", "p": "Y"}.get(place, "R" if phone.lower().startswith("r") else "L")
    if ctype == "0" and front:  # semivowels listed as non-vowels with vowel features
        return "Y" if front == "front" and not rounded else "W"
    raise ParameterError(f"cannot map festival phone {phone!r} of {phoneset.name} ({feats})")

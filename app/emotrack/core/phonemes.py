"""Timed phone segments in ARPAbet, the currency between aligners and the face targets.

Phones are the 39 ARPAbet phones of the CMU dictionary (what pocketsphinx's US-English
model uses), upper case without stress digits, plus ``SIL`` for silence. Aligner
fillers (``+NSN+``, ``+SPN+``, ``<sil>`` ...) all become ``SIL``: the face rests on them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..errors import ParameterError

ARPABET: tuple[str, ...] = (
    "AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW",
    "B", "CH", "D", "DH", "F", "G", "HH", "JH", "K", "L", "M", "N", "NG", "P", "R", "S", "SH",
    "T", "TH", "V", "W", "Y", "Z", "ZH",
)
SILENCE = "SIL"
BILABIALS: frozenset[str] = frozenset({"P", "B", "M"})
_KNOWN = frozenset(ARPABET) | {SILENCE}


@dataclass(frozen=True)
class PhoneSegment:
    """One phone and its time span in seconds (``start < end``)."""

    phone: str
    start: float
    end: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.start + self.end)

    @property
    def duration(self) -> float:
        return self.end - self.start


def normalise_phone(phone: str) -> str:
    """``"ah0"`` -> ``"AH"``; fillers and silences -> ``"SIL"``; ParameterError if unknown."""
    name = phone.strip().upper().rstrip("012")
    if name.startswith(("+", "<")) or name in ("", "SP", "SPN", "NSN", "PAU", "_"):
        return SILENCE
    if name not in _KNOWN:
        raise ParameterError(f"phone {phone!r} is not an ARPAbet phone")
    return name


def phone_segments(rows: Iterable[Sequence]) -> list[PhoneSegment]:
    """Checked segments from ``(phone, start, end)`` rows (e.g. a JSONL record's ``phones``).

    Phones are normalised; times must be finite, ``start < end`` and non-decreasing.
    """
    segments: list[PhoneSegment] = []
    for row in rows:
        if len(row) != 3:
            raise ParameterError(f"a phone segment must be (phone, start, end), got {row!r}")
        phone, start, end = normalise_phone(str(row[0])), float(row[1]), float(row[2])
        if not (0.0 <= start < end < float("inf")):
            raise ParameterError(f"phone {phone} has bad times {start}..{end} (need 0 <= start < end)")
        if segments and start < segments[-1].end - 1e-6:
            raise ParameterError(f"phone {phone} at {start:.3f} s overlaps the one before it")
        segments.append(PhoneSegment(phone, start, end))
    return segments

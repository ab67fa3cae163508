"""Forced alignment of a known transcript with pocketsphinx (optional extra ``face-data``).

pocketsphinx 5.x ships a US-English acoustic model and the CMU dictionary; aligning a
transcript is two passes over the audio: ``set_align_text`` + a decode gives the word
path, then ``set_alignment`` + a second decode gives phone (and state) segments, in
frames of 10 ms.
"""

from __future__ import annotations

import re

import numpy as np

from ...core.phonemes import PhoneSegment, normalise_phone
from ...errors import AudioError, ParameterError

SAMPLE_RATE = 16000
_FRAME_S = 0.01  # pocketsphinx's default frame rate is 100 frames/s


def _import_pocketsphinx():
    try:
        import pocketsphinx
    except ImportError:
        raise ParameterError("phone alignment needs pocketsphinx: pip install 'emotrack[face-data]'") from None
    return pocketsphinx


def transcript_words(text: str) -> list[str]:
    """Lower-case dictionary words of ``text`` (punctuation dropped, apostrophes kept)."""
    return re.findall(r"[a-z']+", text.lower())


class PhoneAligner:
    """Aligns transcripts to 16 kHz mono audio; one decoder reused (it takes ~0.3 s to load)."""

    def __init__(self):
        pocketsphinx = _import_pocketsphinx()
        # Wide beams: with the defaults, synthetic voices (far from the acoustic model's
        # training speech) often fall off the transcript's grammar ("Final result does
        # not match the grammar"); the grammar is tiny, so wide beams cost little.
        # bestpath off: its lattice rescoring returned empty hypotheses on such audio.
        options = dict(samprate=SAMPLE_RATE, loglevel="FATAL", beam=1e-100, wbeam=1e-80, pbeam=1e-100,
                       bestpath=False)
        self._decoder = pocketsphinx.Decoder(**options)
        # Fallback without optional silences/fillers between words: it aligns utterances
        # the first cannot (~1 in 6 espeak-ng ones), at the cost of pauses being absorbed
        # into the neighbouring phones. Loaded on first use.
        self._fallback_options = dict(options, fsgusefiller=False)
        self._fallback = None
        self._pocketsphinx = pocketsphinx

    def missing_words(self, text: str) -> list[str]:
        """Words of ``text`` the pronunciation dictionary does not know (they cannot align)."""
        return [w for w in transcript_words(text) if self._decoder.lookup_word(w) is None]

    def align(self, audio: np.ndarray, text: str) -> list[PhoneSegment]:
        """Phone segments (ARPAbet, ``SIL`` for pauses) of ``text`` spoken in ``audio``.

        ``audio``: float samples in [-1, 1] at 16 kHz, mono. AudioError if the
        transcript cannot be aligned to it; ParameterError for words outside the dictionary.
        """
        samples = np.asarray(audio, dtype=np.float32)
        if samples.ndim != 1 or samples.size < SAMPLE_RATE // 10:
            raise ParameterError("audio must be mono 16 kHz samples, at least 0.1 s long")
        words = transcript_words(text)
        missing = self.missing_words(text)
        if not words or missing:
            raise ParameterError(f"transcript words not in the dictionary: {missing or text!r}")
        pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        alignment = self._align_with(self._decoder, pcm, words)
        if alignment is None:
            if self._fallback is None:
                self._fallback = self._pocketsphinx.Decoder(**self._fallback_options)
            alignment = self._align_with(self._fallback, pcm, words)
        if alignment is None:
            raise AudioError("could not align the transcript to the audio")
        segments = [PhoneSegment(normalise_phone(phone.name), phone.start * _FRAME_S,
                                 (phone.start + phone.duration) * _FRAME_S)
                    for word in alignment for phone in word if phone.duration > 0]
        if not any(s.phone != "SIL" for s in segments):
            raise AudioError("could not align the transcript to the audio")
        return segments

    @staticmethod
    def _align_with(decoder, pcm: bytes, words: list[str]):
        """pocketsphinx's word/phone alignment, or None where the decoder finds no path."""
        try:
            decoder.set_align_text(" ".join(words))
            PhoneAligner._decode(decoder, pcm)
            hypothesis = decoder.hyp()
            if hypothesis is None or not hypothesis.hypstr:
                return None
            decoder.set_alignment()
            PhoneAligner._decode(decoder, pcm)
            return decoder.get_alignment()
        except (RuntimeError, ValueError):
            return None

    @staticmethod
    def _decode(decoder, pcm: bytes) -> None:
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()

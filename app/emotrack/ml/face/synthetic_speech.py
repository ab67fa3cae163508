"""Synthetic speech with phone timings: espeak-ng voices, aligned with pocketsphinx.

espeak-ng reports phonemes but not their times without an MBROLA voice (none here), so
each utterance is synthesised and then force-aligned with the same aligner as real
speech: one phone set and one timing convention for both sources. Voices vary by
accent (``VOICES``), variant (``VARIANTS``), rate (words/min), pitch and amplitude.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from ...core.phonemes import PhoneSegment
from ...errors import AudioError, ParameterError
from .alignment import SAMPLE_RATE, PhoneAligner

# Phonetically varied, every word in the CMU dictionary; many /p b m/ (and /f v/, /th/,
# rounded vowels), because the lip closures are what the face network must learn best.
SENTENCES: tuple[str, ...] = (
    "Bob made a map of the moon",
    "Please pass me the butter and the bread",
    "My mom bought a big blue balloon",
    "Peter picked a peck of pickled peppers",
    "The baby bear bumped into the barn",
    "Maybe we will meet by the museum",
    "Put the purple paper back in the box",
    "Mike bought some maple syrup in Boston",
    "The boy played ball with his puppy",
    "Paul prefers pepperoni pizza on Mondays",
    "Bring the broom and the bucket upstairs",
    "Amber was born in a small farm village",
    "We build boats by the beach every summer",
    "The monkey ate a ripe plum and a pear",
    "Jump up and grab the blue rope",
    "Five very brave men moved the van",
    "Think about three things that matter",
    "The weather feels warmer than last month",
    "Father found his favourite fishing rod",
    "Victor gave the violin back to Steven",
    "Those thirty thin boys thought it was fun",
    "Ruth has a smooth voice on the phone",
    "She sells sea shells by the sea shore",
    "Judge the church choir in June",
    "Who knew the room would be so cool",
    "Go home and open the window slowly",
    "Our cow ran out of the house",
    "I like to ride my bike at night",
    "The boy enjoyed the noisy toys",
    "Kids are talking by the door",
    "Dogs are sitting by the door",
    "Mix the yellow paint with a bit of black",
    "Measure the beam before you cut it",
    "Happy birthday to my mother and brother",
    "A map helps when you are lost in a big town",
    "Tom and Pam swim in the pool every morning",
    "Ben will bake bread for the bake sale",
    "Quickly bring me a cup of warm milk",
    "Lemon pie is better than apple pie",
    "People in the museum were very impressed",
)

VOICES: tuple[str, ...] = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland", "en-029")
VARIANTS: tuple[str, ...] = ("", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+f3", "+f4")
RATE_RANGE = (120, 220)  # words per minute
PITCH_RANGE = (30, 70)  # espeak-ng 0..99, 50 default
AMPLITUDE_RANGE = (60, 180)  # espeak-ng 0..200, 100 default


@dataclass(frozen=True)
class SyntheticUtterance:
    text: str
    voice: str
    rate: int
    pitch: int
    amplitude: int
    audio: np.ndarray  # float32, mono, 16 kHz
    phones: list[PhoneSegment]

    @property
    def seconds(self) -> float:
        return len(self.audio) / SAMPLE_RATE


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def synthesize(text: str, voice: str = "en-us", rate: int = 170, pitch: int = 50,
               amplitude: int = 100) -> np.ndarray:
    """``text`` spoken by espeak-ng as float32 mono samples at 16 kHz."""
    if not espeak_available():
        raise ParameterError("synthetic speech needs espeak-ng (Debian: apt-get install espeak-ng)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        command = ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-a", str(amplitude),
                   "-w", str(path), text]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not path.exists():
            raise AudioError(f"espeak-ng failed for voice {voice}: {result.stderr.strip()[:200]}")
        samples, rate_hz = sf.read(path, dtype="float32", always_2d=True)
    return soxr.resample(samples.mean(axis=1), rate_hz, SAMPLE_RATE).astype(np.float32)


def make_utterances(count: int, seed: int = 0, sentences=SENTENCES,
                    aligner: PhoneAligner | None = None) -> list[SyntheticUtterance]:
    """``count`` synthetic utterances with aligned phones; random voice, rate, pitch, loudness.

    Reproducible for a given ``seed``. Sentences cycle in a shuffled order so a small
    ``count`` still covers many; an utterance the aligner rejects is skipped (the result
    may then be shorter than ``count``; it is rare with the built-in sentences).
    """
    if count < 1:
        raise ParameterError(f"count must be >= 1, got {count}")
    rng = random.Random(seed)
    aligner = aligner or PhoneAligner()
    order = list(sentences)
    rng.shuffle(order)
    utterances = []
    for i in range(count):
        text = order[i % len(order)]
        voice = rng.choice(VOICES) + rng.choice(VARIANTS)
        rate, pitch = rng.randint(*RATE_RANGE), rng.randint(*PITCH_RANGE)
        amplitude = rng.randint(*AMPLITUDE_RANGE)
        audio = synthesize(text, voice, rate, pitch, amplitude)
        try:
            phones = aligner.align(audio, text)
        except AudioError:
            continue
        utterances.append(SyntheticUtterance(text, voice, rate, pitch, amplitude, audio, phones))
    return utterances

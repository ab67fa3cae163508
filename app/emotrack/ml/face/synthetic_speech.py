"""Synthetic speech with phone timings: espeak-ng, festival and flite voices, aligned
with pocketsphinx.

The synthesisers report phonemes but not reliably their times, so each utterance is
synthesised and then force-aligned with the same aligner as real speech: one phone set
and one timing convention for every source. espeak-ng voices vary by accent
(``VOICES``), variant (``VARIANTS``), rate (words/min), pitch and amplitude.

A voice is named ``"en-us+m1"`` (espeak-ng, the default engine), ``"festival:NAME"``
(``text2wave`` with ``voice_NAME``) or ``"flite:NAME"`` (``flite -voice NAME``). festival
and flite take the same rate/pitch/amplitude numbers: the rate becomes a duration
stretch (``170 / rate``; festival's HTS voices ignore it), the pitch a playback speed
(resampling by ``1 + (pitch - 50) / 400``, i.e. +-5 % for the default pitch range: pitch,
formants and tempo together, like another speaker) and the amplitude a gain. Any such
change happens before the alignment, so the phone times always match the audio.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
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

# The English voices of Debian's festival (festvox-kallpc16k, festvox-kdlpc16k,
# festvox-us-slt-hts) and flite packages (``flite -lv``; awb_time is a limited-domain
# voice and says only times).
FESTIVAL_VOICES: tuple[str, ...] = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
FLITE_VOICES: tuple[str, ...] = ("kal", "kal16", "awb", "rms", "slt")
# Speakers that no training corpus uses: the second held-out voice set of the lip-sync
# benchmark (festival's ked is the only "kd" voice, flite's awb the only "awb" voice).
HELD_OUT_OTHER_VOICES: tuple[str, ...] = ("festival:ked_diphone", "flite:awb")
ENGINES: tuple[str, ...] = ("espeak", "festival", "flite")


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


_PROGRAMS = {"espeak": "espeak-ng", "festival": "text2wave", "flite": "flite"}
_PACKAGES = {"espeak": "espeak-ng", "festival": "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
             "flite": "flite"}


def voice_engine(voice: str) -> tuple[str, str]:
    """``(engine, name)`` of a voice: ``"flite:slt"`` -> ``("flite", "slt")``; a name
    without an engine prefix is an espeak-ng voice."""
    engine, colon, name = voice.partition(":")
    if not colon:
        return "espeak", voice
    if engine not in ENGINES or not name:
        raise ParameterError(f"unknown voice {voice!r}: use an espeak-ng name, festival:NAME or flite:NAME")
    return engine, name


def engine_available(engine: str) -> bool:
    if engine not in _PROGRAMS:
        raise ParameterError(f"unknown speech engine {engine!r}; one of {ENGINES}")
    return shutil.which(_PROGRAMS[engine]) is not None


def espeak_available() -> bool:
    return engine_available("espeak")


def read_16k(path: Path) -> np.ndarray:
    samples, rate_hz = sf.read(path, dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    return mono if rate_hz == SAMPLE_RATE else soxr.resample(mono, rate_hz, SAMPLE_RATE).astype(np.float32)


def _run(command: list[str], path: Path, voice: str, stdin: str | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, input=stdin)
    # festival exits 0 even when it could not load the voice; it then says so on stderr.
    if result.returncode != 0 or not path.exists() or path.stat().st_size <= 44 or "SIOD ERROR" in result.stderr:
        raise AudioError(f"speech synthesis failed for voice {voice}: {result.stderr.strip()[:200]}")


def synthesize(text: str, voice: str = "en-us", rate: int = 170, pitch: int = 50,
               amplitude: int = 100) -> np.ndarray:
    """``text`` spoken by ``voice`` (espeak-ng, ``festival:NAME`` or ``flite:NAME``) as
    float32 mono samples at 16 kHz."""
    engine, name = voice_engine(voice)
    if not engine_available(engine):
        raise ParameterError(f"synthetic speech with {voice} needs {_PROGRAMS[engine]} "
                             f"(Debian: apt-get install {_PACKAGES[engine]})")
    if engine != "espeak":
        return _synthesize_other(text, engine, name, rate, pitch, amplitude)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        command = ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-a", str(amplitude),
                   "-w", str(path), text]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 or not path.exists():
            raise AudioError(f"espeak-ng failed for voice {voice}: {result.stderr.strip()[:200]}")
        return read_16k(path)


def _synthesize_other(text: str, engine: str, name: str, rate: int, pitch: int, amplitude: int) -> np.ndarray:
    stretch = 170.0 / max(rate, 1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "speech.wav"
        if engine == "festival":
            if not name.replace("_", "").isalnum():
                raise ParameterError(f"bad festival voice name {name!r}")
            _run(["text2wave", "-eval", f"(voice_{name})", "-eval", f"(Parameter.set 'Duration_Stretch {stretch:.3f})",
                  "-o", str(path)], path, f"festival:{name}", stdin=text + "\n")
        else:
            _run(["flite", "-voice", name, "--setf", f"duration_stretch={stretch:.3f}", "-t", text, "-o", str(path)],
                 path, f"flite:{name}")
        audio = read_16k(path)
    return speed_and_gain(audio, pitch, amplitude)


def playback_speed(pitch: int) -> float:
    """The playback speed that stands for ``pitch`` (0..99, 50 = as synthesised) for
    festival and flite voices: +-5 % over the default pitch range."""
    return 1.0 + (pitch - 50) / 400.0


def speed_and_gain(audio: np.ndarray, pitch: int, amplitude: int) -> np.ndarray:
    """``audio`` played at ``playback_speed(pitch)`` (shorter by that factor) and scaled
    to a peak of ``0.9 * min(1, amplitude / 180)``."""
    speed = playback_speed(pitch)
    if abs(speed - 1.0) > 1e-3:  # played faster: higher pitch and formants, shorter
        audio = soxr.resample(audio, SAMPLE_RATE, SAMPLE_RATE / speed).astype(np.float32)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    if peak > 0:
        audio = audio / peak * 0.9 * min(1.0, amplitude / 180.0)
    return audio.astype(np.float32)


def make_utterances(count: int, seed: int = 0, sentences=SENTENCES,
                    aligner: PhoneAligner | None = None,
                    voices: Sequence[str] | None = None) -> list[SyntheticUtterance]:
    """``count`` synthetic utterances with aligned phones; random voice, rate, pitch, loudness.

    Voices: espeak-ng's ``VOICES`` x ``VARIANTS`` by default, else drawn from ``voices``
    (any engine, e.g. ``HELD_OUT_OTHER_VOICES``). Reproducible for a given ``seed``. Sentences cycle in a shuffled order so a small
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
        voice = rng.choice(voices) if voices else rng.choice(VOICES) + rng.choice(VARIANTS)
        rate, pitch = rng.randint(*RATE_RANGE), rng.randint(*PITCH_RANGE)
        amplitude = rng.randint(*AMPLITUDE_RANGE)
        audio = synthesize(text, voice, rate, pitch, amplitude)
        try:
            phones = aligner.align(audio, text)
        except AudioError:
            continue
        utterances.append(SyntheticUtterance(text, voice, rate, pitch, amplitude, audio, phones))
    return utterances

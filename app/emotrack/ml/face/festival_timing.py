"""Non-English festival voices with the phone times festival itself synthesised.

PocketSphinx aligns only English, but festival knows when every phone it synthesises
starts and ends: a Scheme script (``festival -b``) synthesises the sentence, saves the
wave and prints the voice's phoneset and each Segment's name and end time; the phones
become ARPAbet by their features (``festival_phones``). The voices are Debian's diphone,
cluster-unit and HTS voices of other languages (``FOREIGN_VOICES``): recordings of
real speakers other than every English training voice.

Rate, pitch and amplitude work as for the English festival voices
(``synthetic_speech``): the rate is festival's ``Duration_Stretch`` (already in the
printed times; the HTS voice ignores it and its times say so), the pitch a playback
speed that divides the phone times by the same factor as the audio's length, the
amplitude a gain.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.phonemes import SILENCE, PhoneSegment
from ...errors import AudioError, ParameterError
from .festival_phones import arpabet_phone, parse_phoneset
from .synthetic_speech import playback_speed, read_16k, speed_and_gain


@dataclass(frozen=True)
class ForeignVoice:
    language: str
    encoding: str  # the text encoding the voice's lexicon and letter-to-sound rules read


# Debian bookworm festvox voices that synthesise (checked 2026-12): Italian, Czech,
# Finnish, Russian, Catalan. hindi/marathi/telugu_NSK_diphone crash festival (SIGSEGV).
FOREIGN_VOICES: dict[str, ForeignVoice] = {
    "lp_diphone": ForeignVoice("italian", "iso-8859-1"),  # festvox-italp16k
    "pc_diphone": ForeignVoice("italian", "iso-8859-1"),  # festvox-itapc16k
    "czech_dita": ForeignVoice("czech", "iso-8859-2"),
    "czech_krb": ForeignVoice("czech", "iso-8859-2"),
    "czech_machac": ForeignVoice("czech", "iso-8859-2"),
    "czech_ph": ForeignVoice("czech", "iso-8859-2"),
    "suo_fi_lj_diphone": ForeignVoice("finnish", "iso-8859-1"),  # festvox-suopuhe-lj
    "hy_fi_mv_diphone": ForeignVoice("finnish", "iso-8859-1"),  # festvox-suopuhe-mv
    "msu_ru_nsh_clunits": ForeignVoice("russian", "utf-8"),  # festvox-ru
    "upc_ca_ona_hts": ForeignVoice("catalan", "iso-8859-1"),  # festvox-ca-ona-hts
}
DEBIAN_PACKAGES = ("festvox-italp16k festvox-itapc16k festvox-czech-dita festvox-czech-krb festvox-czech-machac "
                   "festvox-czech-ph festvox-suopuhe-lj festvox-suopuhe-mv festvox-ru festvox-ca-ona-hts")

_SCRIPT = """(voice_{voice})
(Parameter.set 'Duration_Stretch {stretch:.3f})
(set! utt (Utterance Text "{text}"))
(utt.synth utt)
(utt.save.wave utt "{wave}" 'riff)
(format t "PHONESET %l\\n" (PhoneSet.description nil))
(mapcar (lambda (seg) (format t "SEG %s %f\\n" (item.name seg) (item.feat seg "end")))
        (utt.relation.items utt 'Segment))
"""


def foreign_voice(voice: str) -> ForeignVoice | None:
    """The language of ``"festival:NAME"`` if NAME is one of ``FOREIGN_VOICES``, else None."""
    engine, colon, name = voice.partition(":")
    return FOREIGN_VOICES.get(name) if colon and engine == "festival" else None


def festival_script(voice: str, text: str, stretch: float, wave: str) -> str:
    if voice not in FOREIGN_VOICES:
        raise ParameterError(f"unknown foreign festival voice {voice!r}; one of {sorted(FOREIGN_VOICES)}")
    quoted = text.replace("\\", " ").replace('"', " ")  # a Scheme string literal; punctuation is not needed
    return _SCRIPT.format(voice=voice, stretch=stretch, text=quoted, wave=wave)


def parse_festival_output(stdout: str) -> list[PhoneSegment]:
    """ARPAbet phones from the script's ``PHONESET`` and ``SEG name end`` lines; zero-length
    segments dropped, neighbouring silences merged."""
    phoneset, segments, start = None, [], 0.0
    for line in stdout.splitlines():
        if line.startswith("PHONESET "):
            phoneset = parse_phoneset(line[len("PHONESET "):])
        elif line.startswith("SEG "):
            if phoneset is None:
                raise AudioError("festival printed segments before its phoneset")
            _, name, end_text = line.split()
            end = float(end_text)
            if end <= start + 1e-6:
                continue
            phone = arpabet_phone(name, phoneset)
            if phone == SILENCE and segments and segments[-1].phone == SILENCE:
                segments[-1] = PhoneSegment(SILENCE, segments[-1].start, end)
            else:
                segments.append(PhoneSegment(phone, start, end))
            start = end
    if not segments:
        raise AudioError("festival printed no phone segments")
    return segments


def synthesize_timed(text: str, voice: str, rate: int = 170, pitch: int = 50,
                     amplitude: int = 100) -> tuple[np.ndarray, list[PhoneSegment]]:
    """``text`` spoken by the foreign festival voice ``voice`` (``"festival:czech_dita"``):
    float32 mono 16 kHz samples and their ARPAbet phones, timed by festival."""
    spec = foreign_voice(voice)
    if spec is None:
        raise ParameterError(f"{voice!r} is not a foreign festival voice (festival:NAME, NAME in FOREIGN_VOICES)")
    if shutil.which("festival") is None:
        raise ParameterError(f"{voice} needs festival (Debian: apt-get install festival {DEBIAN_PACKAGES})")
    name = voice.partition(":")[2]
    with tempfile.TemporaryDirectory() as folder:
        wave, script = Path(folder) / "speech.wav", Path(folder) / "speak.scm"
        try:
            encoded = festival_script(name, text, 170.0 / max(rate, 1), str(wave)).encode(spec.encoding)
        except UnicodeEncodeError as error:
            raise ParameterError(f"{text!r} cannot be written in {spec.encoding} for {voice}") from error
        script.write_bytes(encoded)
        result = subprocess.run(["festival", "-b", str(script)], capture_output=True)
        stdout = result.stdout.decode("latin-1")
        if result.returncode != 0 or not wave.is_file() or wave.stat().st_size <= 44 or "SIOD ERROR" in stdout:
            raise AudioError(f"festival failed for {voice} (exit {result.returncode}): "
                             f"{(stdout + result.stderr.decode('latin-1')).strip()[:200]}")
        phones = parse_festival_output(stdout)
        audio = read_16k(wave)
    speed = playback_speed(pitch)
    audio = speed_and_gain(audio, pitch, amplitude)
    # The played-faster audio is shorter by ``speed``: the phones are moved alike and
    # clipped to the audio (festival's last silence may end a few ms past the wave).
    duration = len(audio) / 16000
    timed = []
    for p in phones:
        start, end = p.start / speed, min(p.end / speed, duration)
        if end > start + 1e-6:
            timed.append(PhoneSegment(p.phone, start, end))
    return audio, timed

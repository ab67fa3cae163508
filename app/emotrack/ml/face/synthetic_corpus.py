"""A synthetic speech corpus for the face network, built once and kept on disk.

Each utterance: a generated training sentence (``training_sentences``) or a built-in
training sentence, spoken by espeak-ng with a random accent, voice variant, rate, pitch
and loudness (or, with ``other_share`` > 0, that share of the utterances by a festival or
flite voice of ``OTHER_TRAINING_VOICES``), force-aligned on the clean audio, then degraded like a real recording
(``ml.emotion.augment``: tempo, reverberation, noise, band limit, mp3/opus) and encoded
by the bundled encoder. A tempo change stretches the audio uniformly, so the phone
times are stretched by the same factor and stay valid.

Layout: ``records.jsonl`` (one line per utterance: index, text, voice (``festival:``/``flite:``
prefixed for those engines), rate, pitch,
amplitude, augmented, frames, phones) and ``states/NNNNNN.npy`` (fp16 ``[layers, frames,
width]``). A record is written after its states, so an interrupted build resumes at the
first missing index and never reads half-written files.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core.phonemes import PhoneSegment, phone_segments
from ...errors import AudioError, ParameterError
from .alignment import PhoneAligner
from .synthetic_speech import (AMPLITUDE_RANGE, FESTIVAL_VOICES, FLITE_VOICES, HELD_OUT_OTHER_VOICES, PITCH_RANGE,
                               RATE_RANGE, VARIANTS, VOICES, engine_available, synthesize, voice_engine)

# Training draws from more accents and voice variants than the benchmark's synthetic
# test voices (``synthetic_speech.VOICES``/``VARIANTS``), so that the network hears
# more timbres than the ones it is scored on.
TRAINING_VOICES: tuple[str, ...] = VOICES + ("en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc")
TRAINING_VARIANTS: tuple[str, ...] = VARIANTS + (
    "+m5", "+m6", "+m7", "+f5", "+Alex", "+Annie", "+Andy", "+adam", "+belinda", "+benjamin", "+caleb",
    "+david", "+ed", "+edward", "+Gene", "+john", "+klatt", "+klatt2", "+klatt3", "+klatt4", "+linda", "+max",
    "+Michael", "+paul", "+quincy", "+rob", "+robert", "+steph", "+travis", "+victor", "+grandma", "+grandpa",
    "+norbert", "+shelby", "+aunty", "+Lee", "+iven", "+zac")
# festival and flite voices for training: every installed English one except the
# speakers held out for the benchmark's second voice set (``HELD_OUT_OTHER_VOICES``).
OTHER_TRAINING_VOICES: tuple[str, ...] = tuple(
    v for v in [f"festival:{n}" for n in FESTIVAL_VOICES] + [f"flite:{n}" for n in FLITE_VOICES]
    if v not in HELD_OUT_OTHER_VOICES)
RECORDS_FILE = "records.jsonl"


def draw_voice(rng: random.Random, other_share: float = 0.0,
               other_voices: Sequence[str] = OTHER_TRAINING_VOICES) -> str:
    """A training voice: espeak-ng accent + variant, or with probability ``other_share``
    one of ``other_voices``. With ``other_share`` 0 the draws are those of the espeak-only
    corpora (an old corpus resumes with the same voices)."""
    if other_share > 0 and rng.random() < other_share:
        return rng.choice(list(other_voices))
    return rng.choice(TRAINING_VOICES) + rng.choice(TRAINING_VARIANTS)


@dataclass(frozen=True)
class CorpusUtterance:
    index: int
    text: str
    phones: list[PhoneSegment]
    frames: int
    states_path: Path

    def states(self) -> np.ndarray:
        return np.load(self.states_path)


def _stretched(phones: Sequence[PhoneSegment], factor: float) -> list[PhoneSegment]:
    return [PhoneSegment(p.phone, p.start * factor, p.end * factor) for p in phones]


def build_corpus(out_dir: str | Path, sentences: Sequence[str], count: int,
                 encode: Callable[[np.ndarray], np.ndarray], seed: int = 0, augment_share: float = 0.7,
                 aligner: PhoneAligner | None = None, log: Callable[[str], None] = print,
                 other_share: float = 0.0, other_voices: Sequence[str] = OTHER_TRAINING_VOICES) -> int:
    """Ensure ``out_dir`` holds utterances ``0 .. count-1`` (those the aligner rejects are
    skipped); utterance ``i`` says ``sentences[i % len(sentences)]`` and is reproducible
    from ``seed`` and ``i``; a share ``other_share`` of them is spoken by festival/flite
    ``other_voices``. Returns the number of utterances in the corpus."""
    if count < 1 or not sentences:
        raise ParameterError("the synthetic corpus needs at least one sentence and one utterance")
    if not 0.0 <= other_share <= 1.0:
        raise ParameterError(f"other_share must be in [0, 1], got {other_share}")
    if other_share > 0:
        if not other_voices:
            raise ParameterError("other_share > 0 needs festival/flite voices")
        leaked = set(other_voices) & set(HELD_OUT_OTHER_VOICES)
        if leaked:
            raise ParameterError(f"held-out benchmark voices cannot train: {sorted(leaked)}")
        missing = sorted({voice_engine(v)[0] for v in other_voices} - {e for e in ("festival", "flite")
                                                                         if engine_available(e)})
        if missing:
            raise ParameterError(f"not installed: {', '.join(missing)} (Debian: apt-get install festival flite "
                                 "festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts)")
    out = Path(out_dir)
    done = done_indices(out)
    aligner = aligner or PhoneAligner()
    with (out / RECORDS_FILE).open("a") as records:
        for index in range(count):
            if index in done:
                continue
            rng = random.Random(f"{seed}:{index}")
            text = sentences[index % len(sentences)]
            voice = draw_voice(rng, other_share, other_voices)
            rate, pitch, amplitude = rng.randint(*RATE_RANGE), rng.randint(*PITCH_RANGE), rng.randint(*AMPLITUDE_RANGE)
            try:
                clean = synthesize(text, voice, rate, pitch, amplitude)
                phones = aligner.align(clean, text)
            except (AudioError, ParameterError) as error:
                log(f"skipped utterance {index} ({voice}): {error}")
                continue
            write_utterance(out, records, index, text, voice, (rate, pitch, amplitude), clean, phones, encode,
                            rng, augment_share)
            done.add(index)
            if len(done) % 50 == 0:
                log(f"synthetic corpus: {len(done)}/{count}")
    return len(done)


def done_indices(out: Path) -> set[int]:
    """The indices already in the corpus at ``out`` (created if missing): a build resumes."""
    (out / "states").mkdir(parents=True, exist_ok=True)
    records_path = out / RECORDS_FILE
    return {json.loads(line)["index"] for line in records_path.read_text().splitlines() if line.strip()} \
        if records_path.is_file() else set()


def write_utterance(out: Path, records, index: int, text: str, voice: str, rate_pitch_amplitude: tuple[int, int, int],
                    clean: np.ndarray, phones: Sequence[PhoneSegment], encode: Callable[[np.ndarray], np.ndarray],
                    rng: random.Random, augment_share: float) -> None:
    """Degrade ``clean`` with probability ``augment_share`` (phones stretched with the
    tempo), encode it, save the states, then append the record (after the states: a
    record never points at a half-written file)."""
    from ..emotion.augment import augment

    audio, augmented = clean, rng.random() < augment_share
    if augmented:
        audio = augment(clean, np.random.default_rng(rng.getrandbits(64)))
        phones = _stretched(phones, len(audio) / len(clean))
    states = np.asarray(encode(audio), dtype=np.float16)
    np.save(out / "states" / f"{index:06d}.npy", states)
    rate, pitch, amplitude = rate_pitch_amplitude
    records.write(json.dumps({"index": index, "text": text, "voice": voice, "rate": rate, "pitch": pitch,
                              "amplitude": amplitude, "augmented": augmented, "frames": states.shape[1],
                              "phones": [[p.phone, round(p.start, 3), round(p.end, 3)] for p in phones]}) + "\n")
    records.flush()


def read_corpus(corpus_dir: str | Path) -> list[CorpusUtterance]:
    """The utterances of a corpus built by :func:`build_corpus`."""
    root = Path(corpus_dir)
    path = root / RECORDS_FILE
    if not path.is_file():
        raise ParameterError(f"no synthetic corpus in {root} (missing {RECORDS_FILE})")
    utterances = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        utterances.append(CorpusUtterance(record["index"], record["text"], phone_segments(record["phones"]),
                                          record["frames"], root / "states" / f"{record['index']:06d}.npy"))
    return utterances


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m emotrack.ml.face.synthetic_corpus --out DIR --sentences N --count N``."""
    import argparse

    import torch

    from ..emotion.modeling import EmotionModel
    from .training import TEST_SENTENCES, TRAIN_SENTENCES, held_out_content_words
    from .training_sentences import generated_sentences

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--sentences", type=int, default=600, help="generated sentences (plus the 30 built-in)")
    parser.add_argument("--count", type=int, default=900, help="utterances (sentences cycle)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--other-share", type=float, default=0.0,
                        help="share of utterances spoken by festival/flite voices (OTHER_TRAINING_VOICES)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    aligner = PhoneAligner()
    generated = [s for s in generated_sentences(args.sentences, args.seed, held_out_content_words())
                 if not aligner.missing_words(s)]
    sentences = [s for s in list(TRAIN_SENTENCES) + generated if s not in TEST_SENTENCES]
    print(f"{len(sentences)} sentences ({len(generated)} generated and in the dictionary)")
    encoder = EmotionModel.from_pretrained("accurate", device="cpu").whisper

    def encode(audio: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return encoder.encode(audio).hidden_states.numpy()

    total = build_corpus(args.out, sentences, args.count, encode, args.seed, aligner=aligner,
                         other_share=args.other_share)
    print(f"{total} utterances in {args.out}")


if __name__ == "__main__":
    main()

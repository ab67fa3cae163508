"""A synthetic corpus of non-English festival voices, timed by festival itself.

The same layout, augmentation and encoding as ``synthetic_corpus`` (``read_corpus``
reads it; the trainer takes it as one more ``--synthetic-dir``), but each utterance is a
sentence of ``foreign_sentences`` in its voice's language, spoken by one of
``festival_timing.FOREIGN_VOICES`` at a random rate, pitch and loudness, its phones timed
by festival instead of the English aligner. About one sentence in ten is validation-only
(``training.is_validation_sentence``, as for the English corpus).

    python -m emotrack.ml.face.foreign_corpus --out runs/face6/foreign --count 800
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from ...errors import AudioError, ParameterError
from .festival_timing import FOREIGN_VOICES, synthesize_timed
from .foreign_sentences import SENTENCES_BY_LANGUAGE
from .synthetic_corpus import RECORDS_FILE, done_indices, write_utterance
from .synthetic_speech import AMPLITUDE_RANGE, HELD_OUT_OTHER_VOICES, PITCH_RANGE, RATE_RANGE


def foreign_voices() -> tuple[str, ...]:
    """Every foreign festival voice as ``"festival:NAME"``, in a fixed order."""
    return tuple(f"festival:{name}" for name in FOREIGN_VOICES)


def build_foreign_corpus(out_dir: str | Path, count: int, encode: Callable[[np.ndarray], np.ndarray],
                         seed: int = 0, augment_share: float = 0.7, voices: Sequence[str] | None = None,
                         log: Callable[[str], None] = print) -> int:
    """Ensure ``out_dir`` holds utterances ``0 .. count-1`` (those festival fails on are
    skipped and logged). Utterance ``i`` draws its voice uniformly from ``voices``, then a
    sentence of that voice's language; reproducible from ``seed`` and ``i``. Returns the
    number of utterances in the corpus."""
    voices = tuple(voices or foreign_voices())
    if count < 1 or not voices:
        raise ParameterError("the foreign corpus needs at least one voice and one utterance")
    leaked = set(voices) & set(HELD_OUT_OTHER_VOICES)
    if leaked:
        raise ParameterError(f"held-out benchmark voices cannot train: {sorted(leaked)}")
    out = Path(out_dir)
    done = done_indices(out)
    with (out / RECORDS_FILE).open("a") as records:
        for index in range(count):
            if index in done:
                continue
            rng = random.Random(f"foreign:{seed}:{index}")
            voice = rng.choice(voices)
            text = rng.choice(SENTENCES_BY_LANGUAGE[FOREIGN_VOICES[voice.partition(":")[2]].language])
            rate, pitch, amplitude = rng.randint(*RATE_RANGE), rng.randint(*PITCH_RANGE), rng.randint(*AMPLITUDE_RANGE)
            try:
                clean, phones = synthesize_timed(text, voice, rate, pitch, amplitude)
            except (AudioError, ParameterError) as error:
                log(f"skipped utterance {index} ({voice}): {error}")
                continue
            write_utterance(out, records, index, text, voice, (rate, pitch, amplitude), clean, phones, encode,
                            rng, augment_share)
            done.add(index)
            if len(done) % 50 == 0:
                log(f"foreign corpus: {len(done)}/{count}")
    return len(done)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m emotrack.ml.face.foreign_corpus --out DIR --count N``."""
    import argparse

    import torch

    from ..emotion.modeling import EmotionModel

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=800, help="utterances")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--voices", nargs="*", default=None,
                        help="festival:NAME voices (default: every one of festival_timing.FOREIGN_VOICES)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    encoder = EmotionModel.from_pretrained("accurate", device="cpu").whisper

    def encode(audio: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return encoder.encode(audio).hidden_states.numpy()

    total = build_foreign_corpus(args.out, args.count, encode, args.seed, voices=args.voices)
    print(f"{total} utterances in {args.out}")


if __name__ == "__main__":
    main()

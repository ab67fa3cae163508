"""Cache the bundled encoder's hidden states of the RAVDESS clips for face training.

    PYTHONPATH=app python scripts/encode_face_cache.py --data ../shared/data/emotion --cache runs/cache --copies 3

Copy 0 (the clip as recorded) of every RAVDESS clip: training, validation and the test
actors, which the lip-sync benchmark reads. Augmented copies 1.. only for the training
actors (copies whose speed changed are later skipped by the trainer, their phone times
no longer match). The encoder is the bundled emotion model's, the one the app runs, so
training, benchmark and app see the same states. Resumable: cached files are kept.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from emotrack.ml.emotion.data import read_labelled_clips
from emotrack.ml.emotion.encoding_cache import encode_corpus
from emotrack.ml.emotion.modeling import EmotionModel
from emotrack.ml.face.training import TEST_SPEAKERS, VALIDATION_SPEAKERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--copies", type=int, default=3, help="copies per training clip (1 = as recorded only)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    encoder = EmotionModel.from_pretrained("accurate", device="cpu").whisper
    clips = [c for c in read_labelled_clips(args.data) if c.speaker.startswith("ravdess_")]
    held = TEST_SPEAKERS | VALIDATION_SPEAKERS
    started = time.perf_counter()
    # Recorded copies first (the benchmark and validation need them), then augmentations.
    encode_corpus(encoder, clips, args.cache, 1)
    encode_corpus(encoder, [c for c in clips if c.speaker not in held], args.cache, args.copies)
    print(f"{len(clips)} clips cached in {time.perf_counter() - started:.0f} s -> {args.cache}")


if __name__ == "__main__":
    main()

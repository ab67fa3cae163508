"""How an emotion model hears calm read speech from readers it never heard.

    PYTHONPATH=app python benchmarks/read_speech.py --data ../shared/data/speech_clean \
        [--model accurate|fast|DIR] [--part held_out|train|all]

Audiobook narration (LibriSpeech) is mostly flat: an animator expects a neutral face on
it, not a sad or disgusted one. Each utterance of the held-out half of the readers
(``emotrack.ml.emotion.data.read_speech_part``; the other half may teach the plain head
what read speech sounds like) is read alone, as ``emotrack classify --each-alone`` reads
it, and the benchmark prints how often each emotion wins and the mean probabilities.
Read speech is not all neutral (some readers act their characters), so the figure to
watch is the neutral share against the other emotions, not 100 %.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core.emotions import EMOTIONS  # noqa: E402
from emotrack.io.audio import AudioClip  # noqa: E402
from emotrack.ml.emotion.data import read_speech_clips  # noqa: E402
from emotrack.pipeline import classify_clip, load_emotion_model  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a folder of read speech (any depth)")
    parser.add_argument("--model", default=None, help="accurate (default), fast or a model folder")
    parser.add_argument("--part", choices=("held_out", "train", "all"), default="held_out",
                        help="which half of the readers (default: the half no training reads)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    parts = ("train", "held_out") if args.part == "all" else (args.part,)
    clips = [clip for part in parts for clip in read_speech_clips(args.data, part)]
    model = load_emotion_model(args.model, "cpu")
    probabilities = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an utterance without detected speech is read whole
        for clip in clips:
            read = classify_clip(AudioClip(clip.samples, 16000, 16000, 1, clip.path), model)
            probabilities.append([read[emotion] for emotion in EMOTIONS])
    probabilities = np.array(probabilities)
    winners = np.bincount(probabilities.argmax(axis=1), minlength=len(EMOTIONS)) / len(clips)
    seconds = sum(len(clip.samples) for clip in clips) / 16000
    print(f"{len(clips)} utterances of {len({c.speaker for c in clips})} readers ({args.part}), "
          f"{seconds / 60:.1f} min, model {args.model or 'accurate'}, each read alone")
    print("heard as:        " + "  ".join(f"{e} {w:.3f}" for e, w in zip(EMOTIONS, winners)))
    print("mean probability " + "  ".join(f"{e} {p:.3f}" for e, p in zip(EMOTIONS, probabilities.mean(axis=0))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

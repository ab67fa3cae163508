"""Learning from an animator's corrections, on a session of an actor the model never heard.

    PYTHONPATH=app python benchmarks/learn_from_corrections.py --data ../shared/data/emotion \
        [--speakers ravdess_A17 ...] [--actor] [--seeds 0 1 2] [--on-others]

Each test speaker's lines (``whisper_training.TEST_SPEAKERS``: no training or choice read
them) are joined into one session in a random order (``--seeds``; the corpus's own order
runs through the emotions one by one, so its last quarter would hold one or two of
them), analysed with the bundled model
as the app does, and every key is then corrected to the true emotion of the line under it
and locked, as a patient animator would. ``emotrack train emotion --from-projects`` then
learns from the project (its defaults; the last quarter of the keys in time order held
out), and the held-out key accuracy before and after is printed, per session and on
average (a held-out quarter is 20-40 keys, so one session's figure moves by 0.1).

``--actor`` analyses the session against the actor reference made from the same lines
(what Analysis > Actor Reference > Make from This Voice's Lines in the Folder gives), so
the actor head made the keys and is the head that learns.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core import commands  # noqa: E402
from emotrack.core.project_file import save_project  # noqa: E402
from emotrack.ml.emotion.actor import build_reference  # noqa: E402
from emotrack.ml.emotion.corrections import LearningOptions, learn_from_corrections, load_sources  # noqa: E402
from emotrack.ml.emotion.data import SAMPLE_RATE, read_labelled_clips  # noqa: E402
from emotrack.ml.emotion.modeling import DEFAULT_HOP, DEFAULT_WINDOW, EmotionModel  # noqa: E402
from emotrack.ml.emotion.training import evaluate  # noqa: E402
from emotrack.ml.emotion.whisper_training import TEST_SPEAKERS  # noqa: E402
from emotrack.pipeline import analyze_file  # noqa: E402


def session_run(model: EmotionModel, clips, seed: int, actor: bool, options: LearningOptions, others=()):
    """(the learning report, seconds it took, keys, the personal model's clip accuracy on
    ``others`` read alone, or None) of one session: the lines in a random order, analysed,
    every key corrected to its line's emotion and locked, learned from."""
    clips = [clips[i] for i in np.random.default_rng(seed).permutation(len(clips))]
    ends = np.cumsum([len(c.samples) for c in clips]) / SAMPLE_RATE
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        audio = folder / "session.wav"
        sf.write(audio, np.concatenate([c.samples for c in clips]), SAMPLE_RATE)
        reference = None
        if actor:
            reference = build_reference(model, ((c.path.name, c.samples) for c in clips), DEFAULT_WINDOW,
                                        DEFAULT_HOP, name=clips[0].speaker)
        project = analyze_file(audio, model, actor=reference)
        for key in project.keyframes:
            line = min(int(np.searchsorted(ends, key.time, side="right")), len(clips) - 1)
            values = np.zeros(len(project.labels))
            values[project.labels.index(clips[line].label)] = 1.0
            commands.set_keyframe_values(project, key.id, values).redo(project)
        path = save_project(project, folder / "session.emotrack")
        began = time.perf_counter()
        report = learn_from_corrections(load_sources([path]), None, folder / "learned", options, device="cpu")
        seconds = time.perf_counter() - began
        on_others = evaluate(EmotionModel.from_pretrained(folder / "learned", device="cpu"), others).accuracy \
            if others else None
        return report, seconds, len(project.keyframes), on_others


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="the emotion corpus (labels.csv)")
    parser.add_argument("--speakers", nargs="+", default=list(TEST_SPEAKERS))
    parser.add_argument("--actor", action="store_true", help="analyse against the speaker's own actor reference")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="orders of the lines in the session")
    parser.add_argument("--on-others", action="store_true",
                        help="also read the other test speakers' clips with each personal model (a model "
                             "learned from one actor is for that actor)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = EmotionModel.from_pretrained(None, device="cpu")
    options = LearningOptions()
    before, after, bundled_on_others, personal_on_others = [], [], [], []
    print(f"{'against its own actor reference' if args.actor else 'no actor reference'}; learning defaults "
          f"{options}")
    for speaker in args.speakers:
        clips = read_labelled_clips(args.data, {speaker})
        others = read_labelled_clips(args.data, set(TEST_SPEAKERS) - {speaker}) if args.on_others else []
        bundled = evaluate(model, others).accuracy if others else None
        for seed in args.seeds:
            report, seconds, keys, personal = session_run(model, clips, seed, args.actor, options, others)
            before.append(report.accuracy_before)
            after.append(report.accuracy_after)
            elsewhere = ""
            if personal is not None:
                bundled_on_others.append(bundled)
                personal_on_others.append(personal)
                elsewhere = f"; on the other test speakers {bundled:.3f} -> {personal:.3f}"
            print(f"  {speaker} order {seed}: {keys} keys, {report.train_keys} trained, {report.held_out_keys} held "
                  f"out; held-out accuracy {report.accuracy_before:.3f} -> {report.accuracy_after:.3f} (training "
                  f"keys {report.train_accuracy_before:.3f} -> {report.train_accuracy_after:.3f}; "
                  f"{', '.join(report.heads)} head, {seconds:.1f} s){elsewhere}", flush=True)
    print(f"mean over {len(before)} sessions: held-out key accuracy {np.mean(before):.3f} -> {np.mean(after):.3f} "
          f"(better in {sum(a > b for a, b in zip(after, before))}, worse in "
          f"{sum(a < b for a, b in zip(after, before))})")
    if personal_on_others:
        print(f"the personal models on the other test speakers' clips, read alone: {np.mean(bundled_on_others):.3f} "
              f"(bundled) -> {np.mean(personal_on_others):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Lip sync of the face network on held-out RAVDESS speakers, against a loudness baseline.

    PYTHONPATH=app python benchmarks/face_lipsync.py --model runs/facenet/run1/best \
        --phones runs/ravdess_phones.jsonl --data ../shared/data/emotion --cache runs/cache

For every aligned clip of the test speakers (never trained on): the network's ARKit
weights at ``--fps`` from the clip's cached encoder states (copy 0, as recorded) and its
labelled emotion, then on the bundled rig:

* bilabials closed: share of /p b m/ segments with a frame (within the segment widened
  by one frame either side) where the lip opening (``LipProbe``) is under
  ``CLOSED_MM`` (the rig's lips rest 0.64 mm apart);
* vowels shut: share of vowels during which the lips never open past ``CLOSED_MM``
  (false closures; a face that never moves would close every bilabial);
* lip vertex error: mean distance (mm) of the lip vertices from where the articulation
  targets put them.

The baseline is what a user might do without the network: jawOpen from the clip's
loudness (RMS envelope normalised by its 95th percentile), every other shape 0.

RAVDESS says two sentences, so its test speakers say words the network was trained on.
``--synthetic N`` adds N espeak-ng utterances of the held-out built-in sentences
(``ml.face.training.TEST_SENTENCES``, every fourth: never trained on; needs espeak-ng and
pocketsphinx), encoded by the bundled encoder and scored the same way with a neutral
emotion. ``--other-voices N`` adds a second held-out set: N utterances of the same
held-out sentences by the festival and flite voices that no training corpus uses
(``synthetic_speech.HELD_OUT_OTHER_VOICES``: festival's ked, flite's awb; needs festival,
festvox-kdlpc16k and flite). The ``--synthetic`` set is unchanged by it. ``--by-voice``
adds a line per synthetic set with the network's closed bilabials for each voice (e.g.
ked vs awb). The ten held-out sentences differ in how many bilabials they hold, so 40
utterances are a small draw: stage 7 closed 86.5 % of them, and 91.0 % of 120
(``--other-voices 120``, the same seed); prefer 120 for a figure to quote.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.core.articulation import articulation_targets  # noqa: E402
from emotrack.core.face_arkit import ARKIT_INDEX  # noqa: E402
from emotrack.core.face_lips import CLOSED_MM, LipProbe, bilabials_closed  # noqa: E402
from emotrack.core.face_rig import load_face_rig  # noqa: E402
from emotrack.core.phonemes import phone_segments  # noqa: E402

VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
TEST_RAVDESS = ("ravdess_A03", "ravdess_A04", "ravdess_A17", "ravdess_A18")


def vowels_shut(segments, opening_mm: np.ndarray, fps: float) -> tuple[int, int]:
    """(vowels whose lips stay under ``CLOSED_MM`` throughout, vowels): the false closures
    that a mouth kept shut would score on; the rig's lips at rest count as closed, so the
    bilabial share alone would reward a face that never moves."""
    times = np.arange(len(opening_mm)) / fps
    shut = total = 0
    for seg in segments:
        if seg.phone not in VOWELS:
            continue
        inside = (times >= seg.start) & (times <= seg.end)
        if inside.any():
            total += 1
            shut += bool(opening_mm[inside].max() < CLOSED_MM)
    return shut, total


def loudness_weights(samples: np.ndarray, rate: int, frames: int, fps: float) -> np.ndarray:
    """The baseline: jawOpen = RMS over a two-frame window, normalised; the rest 0."""
    hop = rate / fps
    rms = np.zeros(frames, np.float32)
    for i in range(frames):
        centre = int(i * hop)
        window = samples[max(0, centre - int(hop)):centre + int(hop)]
        rms[i] = np.sqrt(np.mean(window ** 2)) if len(window) else 0.0
    scale = np.percentile(rms, 95) or 1.0
    weights = np.zeros((frames, 52), np.float32)
    weights[:, ARKIT_INDEX["jawOpen"]] = np.clip(rms / scale, 0.0, 1.0)
    return weights


class LipVertices:
    """Positions (mm) of the lip vertices (those mouthClose moves most) for ARKit weights."""

    def __init__(self, rig, share: float = 0.3):
        close = np.linalg.norm(rig.dense_delta("mouthClose"), axis=1)
        self.vertices = np.flatnonzero(close > share * close.max())
        scale = {"mm": 1.0, "cm": 10.0, "m": 1000.0}.get(rig.units, 10.0)
        self.basis = np.stack([rig.dense_delta(n)[self.vertices] for n in rig.names]).reshape(52, -1) * scale

    def error_mm(self, weights: np.ndarray, target: np.ndarray) -> float:
        offset = ((weights - target) @ self.basis).reshape(len(weights), -1, 3)
        return float(np.linalg.norm(offset, axis=2).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="face network folder (config.json + model.safetensors)")
    parser.add_argument("--phones", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--fps", type=float, default=30.0)
    parser.add_argument("--synthetic", type=int, default=0, help="also score this many synthetic utterances")
    parser.add_argument("--other-voices", type=int, default=0,
                        help="also score this many utterances by held-out festival/flite voices")
    parser.add_argument("--by-voice", action="store_true",
                        help="also print the network's bilabials per voice of the synthetic sets")
    args = parser.parse_args()

    import torch

    from emotrack.ml.emotion.data import read_labelled_clips
    from emotrack.ml.emotion.encoding_cache import load_encoding
    from emotrack.ml.face.modeling import load_face_net
    from emotrack.ml.face.training import emotion_vector, read_phone_records

    torch.set_num_threads(2)
    model = load_face_net(args.model)
    rig = load_face_rig()
    probe, lips = LipProbe(rig), LipVertices(rig)
    records = {Path(args.data, r["path"]).resolve(): r for r in read_phone_records(args.phones)
               if r["speaker"] in TEST_RAVDESS}
    clips = [c for c in read_labelled_clips(args.data, set(TEST_RAVDESS)) if Path(c.path).resolve() in records]
    items = []
    for clip in clips:
        record = records[Path(clip.path).resolve()]
        items.append(("RAVDESS test speakers", clip.samples, phone_segments(record["phones"]),
                      emotion_vector(record["emotion"], record["strong"]),
                      lambda clip=clip: torch.from_numpy(load_encoding(Path(args.cache), clip, 0).astype(np.float32)),
                      None))
    if args.synthetic or args.other_voices:
        from emotrack.ml.emotion.modeling import EmotionModel
        from emotrack.ml.face.synthetic_speech import HELD_OUT_OTHER_VOICES, make_utterances
        from emotrack.ml.face.training import TEST_SENTENCES

        encoder = EmotionModel.from_pretrained("accurate", device="cpu").whisper
        neutral = emotion_vector("neutral", False)
        sets = []
        if args.synthetic:
            sets.append(("synthetic voices, unseen sentences",
                         make_utterances(args.synthetic, seed=2, sentences=TEST_SENTENCES)))
        if args.other_voices:
            sets.append(("held-out festival/flite voices, unseen sentences",
                         make_utterances(args.other_voices, seed=3, sentences=TEST_SENTENCES,
                                         voices=HELD_OUT_OTHER_VOICES)))
        for source, utterances in sets:
            for utterance in utterances:
                items.append((source, utterance.audio, list(utterance.phones), neutral,
                              lambda audio=utterance.audio: encoder.encode(audio).hidden_states.float(),
                              utterance.voice))
    tallies = {}
    by_voice: dict[str, dict[str, list[int]]] = {}  # the network's bilabials per synthetic voice
    for source, samples, segments, emotion, hidden_states, voice in items:
        counts, shut, errors = tallies.setdefault(source, (
            {"network": [0, 0], "loudness": [0, 0], "targets": [0, 0]},
            {name: [0, 0] for name in ("network", "loudness", "targets")},
            {"network": [], "loudness": []}))
        hidden = hidden_states()
        with torch.inference_mode():
            predicted = model(hidden, torch.from_numpy(emotion), fps=args.fps).numpy()
        frames = len(predicted)
        target = articulation_targets(segments, frames / args.fps, args.fps, emotion)
        baseline = loudness_weights(samples, 16000, frames, args.fps)
        for name, weights in (("network", predicted), ("loudness", baseline), ("targets", target)):
            opening = probe.opening_mm(weights)
            closed, total = bilabials_closed(segments, opening, args.fps)
            vowels = vowels_shut(segments, opening, args.fps)
            shut[name][0] += vowels[0]
            shut[name][1] += vowels[1]
            counts[name][0] += closed
            counts[name][1] += total
            if name == "network" and voice is not None:
                tally = by_voice.setdefault(source, {}).setdefault(voice, [0, 0])
                tally[0] += closed
                tally[1] += total
            if name in errors:
                errors[name].append(lips.error_mm(weights, target))
    for source, (counts, shut, errors) in tallies.items():
        print(f"{source}: {sum(1 for item in items if item[0] == source)} clips at {args.fps:g} fps; "
              f"{len(lips.vertices)} lip vertices; closed = lip opening < {CLOSED_MM:g} mm")
        for name, (closed, total) in counts.items():
            error = f"{np.mean(errors[name]):.2f} mm" if name in errors else "0 (reference)"
            print(f"  {name:9s} bilabials closed {closed}/{total} = {100 * closed / max(total, 1):.1f} %; "
                  f"vowels shut {100 * shut[name][0] / max(shut[name][1], 1):.1f} %; lip vertex error {error}")
        if source in by_voice and args.by_voice:
            print("  network by voice: " + "; ".join(f"{voice} {closed}/{total} = {100 * closed / max(total, 1):.1f} %"
                                                     for voice, (closed, total) in sorted(by_voice[source].items())))


if __name__ == "__main__":
    main()

"""Train the face network on cached encoder states against the articulation targets.

Data: RAVDESS clips with aligned phones (a JSONL file of records: path, speaker,
emotion, strong, seconds, phones) and the Whisper encoder's hidden states of every clip
and augmented copy (``encoding_cache``). Targets come from
:func:`emotrack.core.articulation.articulation_targets` at 50 Hz, the encoder's rate.
Augmented copies whose frame count differs from the recording's (speed changed) are
skipped, so the phone times stay valid. Synthetic speech of many more sentences comes
from an on-disk corpus (``synthetic_corpus``, ``--synthetic-dir``); a studio's Live Link
Face takes (``captures``) train through ``emotrack train face`` (``train_command``).

Loss (as the patent says): L2 on vertex positions plus L2 on vertex velocities (frame
differences), both through the rig's dense blendshape basis, in millimetres. The rig
maps weights linearly to vertices, so the loss is taken on the weight error times the
basis. Each step uses a random subset of the moving vertices plus every lip vertex (the
lips are what viewers judge first).

Optional closure term (``--closure-weight``): at the frames where the targets shut the
lips (a /p b m/), the squared millimetres by which the predicted lips stay more open
than the targets'. L2 on vertices lets a network that is unsure whether it hears a
bilabial leave the lips half shut, a gap every viewer sees; this term makes a missed
closure cost more than a closure that is slightly too firm.
"""

from __future__ import annotations

import json
import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emotrack.core.articulation import articulation_targets
from emotrack.core.emotions import EMOTIONS
from emotrack.core.face_lips import CLOSED_MM, LipProbe, bilabials_closed
from emotrack.core.face_rig import FaceRig
from emotrack.core.phonemes import PhoneSegment, phone_segments
from emotrack.errors import ParameterError
from emotrack.ml.checkpoint import save_training_state
from emotrack.ml.face.modeling import ENCODER_FPS, FaceNet, FaceNetConfig, save_face_net

TEST_SPEAKERS = frozenset({"ravdess_A03", "ravdess_A04", "ravdess_A17", "ravdess_A18", "emovo_f2"})
VALIDATION_SPEAKERS = frozenset({"ravdess_A05", "ravdess_A06", "ravdess_A11", "ravdess_A12"})
WEAK_INTENSITY = 0.6  # RAVDESS "normal" intensity; "strong" is 1.0


def _sentence_split() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from emotrack.ml.face.synthetic_speech import SENTENCES

    held_out = SENTENCES[::4]  # every fourth built-in sentence is never trained on
    return tuple(s for s in SENTENCES if s not in held_out), held_out


TRAIN_SENTENCES, TEST_SENTENCES = _sentence_split()
# Function words are everywhere; the held-out benchmark is about content words unheard.
_FUNCTION_WORDS = frozenset({"a", "the", "and", "in", "of", "on", "by", "into", "with", "his", "has", "that",
                             "about", "was", "are", "you", "before", "it", "up", "be", "we", "will", "for", "so",
                             "who", "would", "those", "every"})


def held_out_content_words() -> frozenset[str]:
    """The content words of the held-out sentences: no generated training sentence has one."""
    from emotrack.ml.face.alignment import transcript_words

    return frozenset(w for s in TEST_SENTENCES for w in transcript_words(s)) - _FUNCTION_WORDS


def is_validation_sentence(text: str) -> bool:
    """About one synthetic training sentence in ten, fixed by its text, is kept for
    validation: the epoch is chosen on sentences the network has not trained on either."""
    return zlib.crc32(text.encode()) % 10 == 0


def emotion_vector(emotion: str, strong: bool) -> np.ndarray:
    """The labelled emotion at 1.0 (strong) or 0.6 (normal), the rest on neutral."""
    if emotion not in EMOTIONS:
        raise ParameterError(f"emotion {emotion!r} is not one of {EMOTIONS}")
    vector = np.zeros(len(EMOTIONS), np.float32)
    share = 1.0 if strong or emotion == "neutral" else WEAK_INTENSITY
    vector[EMOTIONS.index(emotion)] = share
    vector[EMOTIONS.index("neutral")] += 1.0 - share
    return vector


@dataclass
class FaceExample:
    """One clip (one encoder copy of it) and what the network should make of it."""

    encoding: Callable[[], np.ndarray]  # -> [layers, frames, width] (fp16 is fine)
    phones: list[PhoneSegment]
    emotion: np.ndarray  # [6]
    frames: int
    speaker: str = ""
    targets: np.ndarray | None = field(default=None, repr=False)  # [frames, 52] at 50 Hz
    # Captured curves are the targets as they are: no teacher can redo them for another
    # emotion, so such an example always gets its own emotion, never a random one.
    captured: bool = False

    def target_weights(self, emotion: np.ndarray | None = None) -> np.ndarray:
        if emotion is None or self.captured:
            if self.targets is None:
                self.targets = articulation_targets(self.phones, self.frames / ENCODER_FPS, ENCODER_FPS,
                                                    self.emotion)
            return self.targets
        return articulation_targets(self.phones, self.frames / ENCODER_FPS, ENCODER_FPS, emotion)


def read_phone_records(path: str | Path) -> list[dict]:
    """The aligned RAVDESS records (those with phones and one of the six emotions)."""
    records = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [r for r in records if r.get("phones") and r.get("emotion") in EMOTIONS]


def ravdess_examples(records: Sequence[dict], data_dir: str | Path, cache_dir: str | Path,
                     speakers: set[str] | frozenset[str], copies: int = 1) -> list[FaceExample]:
    """Examples of ``speakers``' records: copy 0 plus augmented copies of the same length."""
    from emotrack.ml.emotion.data import LabelledClip
    from emotrack.ml.emotion.encoding_cache import cache_path

    examples = []
    for record in records:
        if record["speaker"] not in speakers:
            continue
        clip = LabelledClip(Path(data_dir) / record["path"], "ravdess", record["speaker"], record["emotion"],
                            np.zeros(0, np.float32))
        phones = phone_segments(record["phones"])
        emotion = emotion_vector(record["emotion"], record["strong"])
        frames0 = None
        for copy in range(copies):
            path = cache_path(Path(cache_dir), clip, copy)
            if not path.is_file():
                continue
            frames = np.load(path, mmap_mode="r").shape[1]
            frames0 = frames if copy == 0 else frames0
            if frames != frames0:
                continue  # speed-changed copy: the phone times no longer match
            examples.append(FaceExample(lambda p=path: np.load(p), phones, emotion, frames, record["speaker"]))
    return examples


def synthetic_examples(count: int, encode: Callable[[np.ndarray], np.ndarray], seed: int = 0,
                       sentences: Sequence[str] | None = None) -> list[FaceExample]:
    """``count`` espeak-ng utterances of ``sentences`` (default: the training sentences),
    aligned and encoded once (kept in memory as fp16), with a neutral emotion: the
    varied words that RAVDESS's two sentences lack."""
    from emotrack.ml.face.synthetic_speech import make_utterances

    neutral = emotion_vector("neutral", True)
    examples = []
    for utterance in make_utterances(count, seed=seed, sentences=sentences or TRAIN_SENTENCES):
        states = np.asarray(encode(utterance.audio), dtype=np.float16)
        examples.append(FaceExample(lambda states=states: states, list(utterance.phones), neutral,
                                    states.shape[1], f"espeak:{utterance.voice}"))
    return examples


def corpus_examples(corpus_dir: str | Path, validation: bool) -> list[FaceExample]:
    """The utterances of a synthetic corpus (``synthetic_corpus``) whose sentence is (or,
    with ``validation`` False, is not) a validation sentence; neutral emotion."""
    from emotrack.ml.face.synthetic_corpus import read_corpus

    neutral = emotion_vector("neutral", True)
    return [FaceExample(u.states, u.phones, neutral, u.frames, "synthetic")
            for u in read_corpus(corpus_dir) if is_validation_sentence(u.text) == validation]


class VertexLoss:
    """L2 on vertex positions and velocities (mm) of weights through a rig's basis."""

    def __init__(self, rig: FaceRig, subset: int = 2000, velocity_weight: float = 1.0, lip_share: float = 0.3,
                 lip_weight: float = 1.0, closure_weight: float = 0.0):
        self.probe = LipProbe(rig)  # the lip opening, for the closure term and validation
        basis = rig.dense_basis().reshape(52, -1, 3) * self.probe.scale  # [52, M, 3] in mm
        self.basis = torch.from_numpy(np.ascontiguousarray(basis))
        close = np.linalg.norm(rig.dense_delta("mouthClose")[rig.moving_vertices], axis=1)
        # Lip vertices: those the lip-shutting shape moves by a good share of its largest move.
        self.lips = np.flatnonzero(close > lip_share * close.max()) if close.max() > 0 else np.zeros(0, np.int64)
        self.subset = subset
        self.velocity_weight = velocity_weight
        # A lip vertex's squared error counts lip_weight times: a 1 mm gap left at a /m/ is
        # what viewers see, while the same error on a cheek is not.
        self.vertex_weight = torch.ones(self.basis.shape[1])
        self.vertex_weight[torch.from_numpy(self.lips)] = lip_weight
        self.opening = torch.from_numpy(self.probe.opening_row.astype(np.float32))
        self.closure_weight = closure_weight

    def vertices(self, rng: np.random.Generator | None) -> torch.Tensor:
        """Indices into the moving vertices: a random subset (all when ``rng`` is None) + the lips."""
        count = self.basis.shape[1]
        if rng is None or self.subset >= count:
            return torch.arange(count)
        chosen = np.union1d(rng.choice(count, self.subset, replace=False), self.lips)
        return torch.from_numpy(chosen)

    def __call__(self, predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
                 rng: np.random.Generator | None = None, closure: bool = True) -> torch.Tensor:
        """``predicted``/``target`` ``[B, T, 52]``, ``mask`` ``[B, T]`` (1 = real frame);
        ``closure`` False leaves out the closure term (validation compares vertex losses)."""
        chosen = self.vertices(rng)
        basis = self.basis[:, chosen].reshape(52, -1).to(predicted.dtype)
        weight = self.vertex_weight[chosen].repeat_interleave(3).to(predicted.dtype)
        weight = weight / weight.sum() * len(chosen)  # a weighted mean over vertices
        error = (predicted - target) @ basis  # [B, T, V*3] vertex offsets in mm
        per_vertex = len(chosen)
        position = ((error.pow(2) * weight).sum(-1) / per_vertex * mask).sum() / mask.sum().clamp(min=1)
        both = mask[:, 1:] * mask[:, :-1]
        speed = (error[:, 1:] - error[:, :-1]).pow(2) * weight
        velocity = (speed.sum(-1) / per_vertex * both).sum() / both.sum().clamp(min=1)
        total = position + self.velocity_weight * velocity
        if closure and self.closure_weight > 0:
            total = total + self.closure_weight * self.closure_gap(predicted, target, mask)
        return total

    def closure_gap(self, predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean squared mm by which the lips stay more open than the targets' at the
        frames where the targets shut them (0 when a batch has no such frame)."""
        opening = self.opening.to(predicted.dtype)
        wanted = (target @ opening) + float(self.probe.rest_mm)
        shut = mask * (wanted < CLOSED_MM)
        gap = torch.relu((predicted - target) @ opening)
        return (gap.pow(2) * shut).sum() / shut.sum().clamp(min=1)


def collate(examples: Sequence[FaceExample], emotions: Sequence[np.ndarray | None]):
    """Padded batch: hidden ``[B, L, T, W]``, emotions ``[B, T, 6]``, targets ``[B, T, 52]``, mask."""
    frames = max(e.frames for e in examples)
    hidden, emo, target = [], [], []
    mask = torch.zeros(len(examples), frames)
    for i, (example, emotion) in enumerate(zip(examples, emotions)):
        states = torch.from_numpy(np.asarray(example.encoding(), np.float32))[:, :example.frames]
        pad = frames - states.shape[1]
        hidden.append(torch.nn.functional.pad(states, (0, 0, 0, pad)))
        vector = example.emotion if emotion is None or example.captured else emotion
        emo.append(torch.from_numpy(np.broadcast_to(vector, (frames, len(EMOTIONS))).copy()))
        target.append(torch.nn.functional.pad(torch.from_numpy(example.target_weights(emotion)), (0, 0, 0, pad)))
        mask[i, :example.frames] = 1
    return torch.stack(hidden), torch.stack(emo), torch.stack(target), mask


@dataclass
class TrainSettings:
    epochs: int = 30
    batch_size: int = 16
    lr: float = 2e-3
    weight_decay: float = 0.01
    random_emotion_share: float = 0.5  # batches' clips that get a random emotion mix (teacher follows it)
    max_minutes: float = 15.0
    seed: int = 0


def random_emotion(rng: np.random.Generator) -> np.ndarray:
    """A random emotion mix: one emotion at a random intensity, the rest neutral."""
    vector = np.zeros(len(EMOTIONS), np.float32)
    share = rng.uniform(0.0, 1.0)
    vector[rng.integers(len(EMOTIONS))] += share
    vector[EMOTIONS.index("neutral")] += 1.0 - share
    return vector


@dataclass(frozen=True)
class Evaluation:
    loss: float  # mean vertex loss (mm², without the closure term, so runs compare)
    closed: int  # bilabials whose lips shut (as the lip-sync benchmark counts them)
    bilabials: int

    def __str__(self) -> str:
        share = self.closed / self.bilabials if self.bilabials else 0.0
        return f"{self.loss:.3f}, bilabials closed {self.closed}/{self.bilabials} = {share:.1%}"


def evaluate(model: FaceNet, examples: Sequence[FaceExample], loss: VertexLoss, batch_size: int = 16) -> Evaluation:
    """Mean vertex loss over ``examples`` (labelled emotions, a fixed vertex subset) and
    their closed bilabials (``face_lips.bilabials_closed`` at 50 frames/s)."""
    model.eval()
    total = count = 0.0
    closed = bilabials = 0
    rng = np.random.default_rng(12345)  # the same vertices every epoch
    with torch.inference_mode():
        for start in range(0, len(examples), batch_size):
            batch = examples[start:start + batch_size]
            hidden, emo, target, mask = collate(batch, [None] * len(batch))
            predicted = model(hidden, emo, fps=ENCODER_FPS)
            total += float(loss(predicted, target, mask, rng, closure=False)) * len(batch)
            count += len(batch)
            openings = loss.probe.opening_mm(predicted.reshape(-1, predicted.shape[-1]).clamp(0, 1).numpy())
            for example, opening in zip(batch, openings.reshape(len(batch), -1)):
                done, of = bilabials_closed(example.phones, opening[:example.frames], ENCODER_FPS)
                closed, bilabials = closed + done, bilabials + of
    return Evaluation(total / max(count, 1), closed, bilabials)


def train_face_net(train: Sequence[FaceExample], validation: Sequence[FaceExample], loss: VertexLoss,
                   run_dir: str | Path, settings: TrainSettings | None = None,
                   config: FaceNetConfig | None = None, log: Callable[[str], None] = print,
                   initial: FaceNet | None = None) -> FaceNet:
    """Train (resuming from ``run_dir/state.pt`` if there) and save the best model by
    validation loss into ``run_dir/best`` (``config.json`` + fp16 ``model.safetensors``).

    With ``initial``, its validation loss on the same set is logged first, as epoch 0:
    the figure a fine-tune has to beat (the best epoch is saved either way)."""
    settings = settings or TrainSettings()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(settings.seed)
    model = FaceNet(initial.config if initial is not None else config or FaceNetConfig())
    if initial is not None:  # fine-tune a trained network (e.g. on new data) instead of starting afresh
        model.load_state_dict(initial.state_dict())
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
    steps_per_epoch = math.ceil(len(train) / settings.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, settings.lr, total_steps=settings.epochs * steps_per_epoch,
                                                   pct_start=0.1)
    state_path = run_dir / "state.pt"
    epoch, best = 0, math.inf
    if state_path.is_file():
        state = torch.load(state_path, weights_only=False)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        schedule.load_state_dict(state["schedule"])
        epoch, best = state["epoch"], state["best"]
        log(f"resumed at epoch {epoch} (best validation {best:.3f})")
    if initial is not None and epoch == 0 and validation:
        # The starting network's loss on this run's validation set: what a fine-tune must beat.
        log(f"epoch 0 (initial network): validation {evaluate(model, validation, loss)}")
    started = time.monotonic()
    while epoch < settings.epochs:
        rng = np.random.default_rng(settings.seed * 1000 + epoch)
        model.train()
        order = rng.permutation(len(train))
        running = 0.0
        for step in range(steps_per_epoch):
            batch = [train[i] for i in order[step * settings.batch_size:(step + 1) * settings.batch_size]]
            emotions = [random_emotion(rng) if rng.random() < settings.random_emotion_share else None for _ in batch]
            hidden, emo, target, mask = collate(batch, emotions)
            value = loss(model(hidden, emo, fps=ENCODER_FPS), target, mask, rng)
            optimiser.zero_grad()
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            running += float(value.detach())
        epoch += 1
        if validation:
            scored = evaluate(model, validation, loss)
            val, shown = scored.loss, str(scored)
        else:
            val = running / steps_per_epoch
            shown = f"{val:.3f}"
        log(f"epoch {epoch}: train {running / steps_per_epoch:.3f} validation {shown} "
            f"({(time.monotonic() - started) / 60:.1f} min)")
        if val < best:
            best = val
            save_face_net(model, run_dir / "best")
        save_training_state(state_path, {"model": model.state_dict(), "optimiser": optimiser.state_dict(),
                                         "schedule": schedule.state_dict(), "epoch": epoch, "best": best})
        if (time.monotonic() - started) / 60 > settings.max_minutes:
            log("time budget spent; stopping")
            break
    return model


def add_loss_arguments(parser) -> None:
    """``--lip-weight`` and ``--closure-weight`` of :class:`VertexLoss`, for both face trainers."""
    parser.add_argument("--lip-weight", type=float, default=1.0, help="weight of a lip vertex's error")
    parser.add_argument("--closure-weight", type=float, default=0.0,
                        help="weight of the closure term: mm² the lips stay open past the targets at /p b m/")


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m emotrack.ml.face.training --phones JSONL --data DIR --cache DIR --out DIR``."""
    import argparse

    from emotrack.core.face_rig import load_face_rig

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--phones", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--cache", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--max-minutes", type=float, default=15.0)
    add_loss_arguments(parser)
    parser.add_argument("--synthetic", type=int, default=0,
                        help="add this many espeak-ng utterances of the training sentences (needs espeak-ng, "
                             "pocketsphinx); a tenth as many more join validation")
    parser.add_argument("--synthetic-dir", action="append", default=[],
                        help="a synthetic corpus built by emotrack.ml.face.synthetic_corpus or foreign_corpus "
                             "(its validation sentences join validation); repeat for several corpora")
    parser.add_argument("--synthetic-weight", type=int, default=1,
                        help="how many times each synthetic-corpus utterance is listed per epoch")
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--init", default=None, help="start from this saved face network")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (1 on a shared machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = read_phone_records(args.phones)
    speakers = {r["speaker"] for r in records} - TEST_SPEAKERS - VALIDATION_SPEAKERS
    train = ravdess_examples(records, args.data, args.cache, speakers, args.copies)
    validation = ravdess_examples(records, args.data, args.cache, VALIDATION_SPEAKERS, 1)
    if args.synthetic:
        from emotrack.ml.emotion.modeling import EmotionModel

        encoder = EmotionModel.from_pretrained("accurate", device="cpu").whisper

        def encode(audio: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return encoder.encode(audio).hidden_states.numpy()

        train += synthetic_examples(args.synthetic, encode, seed=0)
        validation += synthetic_examples(max(1, args.synthetic // 10), encode, seed=1)
    for corpus in args.synthetic_dir:
        train += corpus_examples(corpus, validation=False) * args.synthetic_weight
        validation += corpus_examples(corpus, validation=True)
    print(f"{len(train)} training examples ({len(speakers)} speakers), {len(validation)} validation")
    from emotrack.ml.face.modeling import load_face_net

    train_face_net(train, validation, VertexLoss(load_face_rig(), lip_weight=args.lip_weight,
                                                    closure_weight=args.closure_weight), args.out,
                   TrainSettings(epochs=args.epochs, max_minutes=args.max_minutes, lr=args.lr),
                   initial=load_face_net(args.init) if args.init else None)


if __name__ == "__main__":
    main()

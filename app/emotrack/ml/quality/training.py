"""Training of the VQScore quality model on clean speech only.

``emotrack train quality --data DIR --out DIR [--steps N] [--resume]``

Every audio file under ``--data`` (FLAC/WAV/OGG, any rate, mixed to mono) is clean
speech. Files are split by speaker (the LibriSpeech ``SPEAKER-CHAPTER-UTT`` prefix, or
the file name): a fixed subset is held out for the quality benchmark
(``benchmark_split``) and a few more for validation, so the benchmark never scores
speech the model trained on. The run checkpoints every ``--checkpoint-every`` steps to
``OUT/checkpoint`` and ``--resume`` continues from there; the final model is written to
``OUT`` with ``save_pretrained``.

The reference trains 800k steps at lr 1e-5; on a CPU we train ~10k steps, so the lr is
higher (default 3e-4, Adam betas (0.5, 0.9) as the reference).
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np
import torch

from emotrack.errors import ParameterError
from emotrack.ml.quality.vqscore import VQScoreConfig, VQScoreModel

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".flac", ".wav", ".ogg")
STATE_NAME = "training_state.pt"


def speaker_of(path: Path) -> str:
    """LibriSpeech-style '1034-121119-0000' -> '1034'; other names are their own speaker."""
    return path.stem.split("-")[0]


def benchmark_split(paths: list[Path]) -> tuple[list[Path], list[Path], list[Path]]:
    """(train, validation, benchmark) by speaker, deterministic.

    Speakers and paths are sorted; every 10th (offset 0) is held out for the benchmark and every
    25th (offset 5) for validation, so both sets are the same for every run.
    """
    paths = sorted(paths)
    speakers = sorted({speaker_of(p) for p in paths})
    benchmark = {s for i, s in enumerate(speakers) if i % 10 == 0}
    validation = {s for i, s in enumerate(speakers) if i % 25 == 5} - benchmark
    train = [p for p in paths if speaker_of(p) not in benchmark | validation]
    return (train, [p for p in paths if speaker_of(p) in validation],
            [p for p in paths if speaker_of(p) in benchmark])


def find_audio(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)


def read_mono_16k(path: Path, sample_rate: int = 16000) -> np.ndarray:
    """Training-side reader: float32 mono at ``sample_rate``."""
    import soundfile
    import soxr

    samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    mono = samples.mean(axis=1)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate).astype(np.float32)
    return mono


class CropSampler:
    """Random fixed-length crops of the training audio, with random gain (0.05-2)."""

    def __init__(self, clips: list[np.ndarray], crop_samples: int, seed: int):
        self.clips = [c for c in clips if c.size >= crop_samples]
        if not self.clips:
            raise ParameterError(f"no training clip is at least {crop_samples} samples long")
        self.crop_samples = crop_samples
        # Longer clips are drawn proportionally more often: every second counts the same.
        lengths = np.array([c.size for c in self.clips], dtype=np.float64)
        self.weights = lengths / lengths.sum()
        self.rng = np.random.default_rng(seed)

    def batch(self, batch_size: int) -> torch.Tensor:
        out = np.empty((batch_size, self.crop_samples), dtype=np.float32)
        for row in range(batch_size):
            clip = self.clips[self.rng.choice(len(self.clips), p=self.weights)]
            start = self.rng.integers(0, clip.size - self.crop_samples + 1)
            out[row] = clip[start:start + self.crop_samples]
        peaks = np.abs(out).max(axis=1, keepdims=True) + 1e-8
        gains = self.rng.uniform(0.05, 2.0, size=(batch_size, 1))
        # Gain relative to the crop's peak, so the same range applies to any recording level.
        return torch.from_numpy((out / peaks * gains).astype(np.float32))


def validation_gap(model: VQScoreModel, clips: list[np.ndarray], snr_db: float = 5.0
                   ) -> tuple[float, float]:
    """Mean VQScore of validation clips, clean and with white noise at ``snr_db``."""
    rng = np.random.default_rng(0)
    clean_scores, noisy_scores = [], []
    model.eval()
    for clip in clips:
        noise = rng.standard_normal(clip.size).astype(np.float32)
        noise *= np.sqrt(np.mean(clip ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
        for target, signal in ((clean_scores, clip), (noisy_scores, clip + noise)):
            target.append(float(model.frame_scores(torch.from_numpy(signal)[None]).mean()))
    model.train()
    return float(np.mean(clean_scores)), float(np.mean(noisy_scores))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="folder of clean speech")
    parser.add_argument("--out", type=Path, required=True, help="output model folder")
    parser.add_argument("--config", type=Path, default=None,
                        help="VQScoreConfig JSON for a new model (default: reference sizes)")
    parser.add_argument("--steps", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--crop-seconds", type=float, default=3.0)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--checkpoint-every", type=int, default=500)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (1 leaves cores to other work)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true",
                        help="continue from OUT/checkpoint")
    parser.add_argument("--use-all", action="store_true",
                        help="train on every file (no benchmark/validation hold-out)")


def _save_checkpoint(out: Path, model: VQScoreModel, optimizer: torch.optim.Optimizer,
                     step: int, sampler: CropSampler) -> None:
    checkpoint = out / "checkpoint"
    model.save_pretrained(checkpoint)
    state = {"step": step, "optimizer": optimizer.state_dict(),
             "sampler_rng": sampler.rng.bit_generator.state,
             "torch_rng": torch.get_rng_state()}
    temporary = checkpoint / (STATE_NAME + ".tmp")
    torch.save(state, temporary)
    temporary.replace(checkpoint / STATE_NAME)


def run(args: argparse.Namespace) -> int:
    if args.steps <= 0:
        raise ParameterError(f"--steps must be positive, got {args.steps}")
    # No-op when the caller already configured logging.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    files = find_audio(args.data)
    if not files:
        raise ParameterError(f"no audio files under --data {args.data}")
    if args.use_all:
        train_files, validation_files = files, []
    else:
        train_files, validation_files, _ = benchmark_split(files)

    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint = args.out / "checkpoint"
    if args.resume and (checkpoint / STATE_NAME).is_file():
        model = VQScoreModel.from_pretrained(checkpoint).train()
    else:
        config = (VQScoreConfig.from_dict(json.loads(args.config.read_text()))
                  if args.config else VQScoreConfig())
        model = VQScoreModel(config).train()
    config = model.config
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.9))
    sampler = CropSampler([read_mono_16k(p, config.sample_rate) for p in train_files],
                          int(args.crop_seconds * config.sample_rate), args.seed)
    validation_clips = [read_mono_16k(p, config.sample_rate) for p in validation_files]
    step = 0
    if args.resume and (checkpoint / STATE_NAME).is_file():
        state = torch.load(checkpoint / STATE_NAME, weights_only=False)
        step = state["step"]
        optimizer.load_state_dict(state["optimizer"])
        # The command line's lr wins over the saved one, so a resumed run can change it.
        for group in optimizer.param_groups:
            group["lr"] = args.lr
        sampler.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])
        log.info("resumed at step %d", step)
    (args.out / "training_files.json").write_text(json.dumps({
        "train": [p.name for p in train_files],
        "validation": [p.name for p in validation_files]}, indent=1) + "\n")

    started = time.monotonic()
    while step < args.steps:
        output = model(sampler.batch(args.batch_size))
        optimizer.zero_grad(set_to_none=True)
        output["loss"].backward()
        optimizer.step()
        step += 1
        if step % 50 == 0 or step == args.steps:
            used = int((output["indices"].flatten().bincount(
                minlength=config.codebook_size) > 0).sum())
            log.info("step %d loss %.4f rec_cos %.4f commit %.5f codes_used %d (%.2f s/step)",
                     step, output["loss"].item(), output["reconstruction_cosine"].item(),
                     output["commitment_loss"].item(), used,
                     (time.monotonic() - started) / 50)
            started = time.monotonic()
        if step % args.checkpoint_every == 0 or step == args.steps:
            _save_checkpoint(args.out, model, optimizer, step, sampler)
            if validation_clips:
                clean, noisy = validation_gap(model, validation_clips)
                log.info("step %d validation VQScore clean %.4f noisy(5 dB) %.4f",
                         step, clean, noisy)
    model.save_pretrained(args.out)
    log.info("saved %s after %d steps", args.out, step)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())

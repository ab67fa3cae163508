"""Training of the VQ speech enhancer on clean speech only, then adversarially.

``emotrack train enhance --data DIR --out DIR [--steps N] [--adversarial-steps M] [--resume]``

Phase 1 (steps 1..N): the VQ-VAE reconstructs clean log1p magnitudes through its cosine
codebook (45 × spectral convergence + 3 × VQ loss). At step N the model is saved as the
teacher (``OUT/teacher``).

Phase 2 (steps N+1..N+M), the reference's self-distillation: the student starts as the
teacher with its quantiser frozen. For each clean batch the teacher's code indices are
the targets; the adversarial input is the clean waveform plus the normalised gradient of
the student's code cross-entropy, scaled so ||noise|| / ||speech|| ~ U(0.03, 0.55).
Loss = CE(adversarial) + CE(clean) + 45 × spectral convergence. Code similarities are
cosines in [-1, 1], so they are multiplied by ``--logit-scale`` before the softmax, else
the distribution over thousands of codes is nearly flat and the CE gives no signal.

Same speaker split as ``emotrack train quality`` (benchmark speakers never trained on).
Checkpoints every ``--checkpoint-every`` steps to ``OUT/checkpoint``; ``--resume``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from emotrack.errors import ParameterError
from emotrack.ml.quality.enhancement import (
    EnhancementConfig,
    VQEnhancerModel,
    complex_spectrogram,
    log_magnitude,
    spectral_convergence,
)
from emotrack.ml.quality.training import CropSampler, benchmark_split, find_audio, read_mono_16k

log = logging.getLogger(__name__)

STATE_NAME = "training_state.pt"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, required=True, help="folder of clean speech")
    parser.add_argument("--out", type=Path, required=True, help="output model folder")
    parser.add_argument("--config", type=Path, default=None,
                        help="EnhancementConfig JSON for a new model (default: reference sizes)")
    parser.add_argument("--steps", type=int, default=4000, help="phase-1 (VQ-VAE) steps")
    parser.add_argument("--adversarial-steps", type=int, default=1000,
                        help="phase-2 (adversarial student) steps")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--crop-seconds", type=float, default=2.0)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--logit-scale", type=float, default=10.0)
    parser.add_argument("--min-noise-ratio", type=float, default=0.03)
    parser.add_argument("--max-noise-ratio", type=float, default=0.55)
    parser.add_argument("--checkpoint-every", type=int, default=250)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint")


def adversarial_input(student: VQEnhancerModel, clean: torch.Tensor, targets: torch.Tensor,
                      logit_scale: float, ratios: torch.Tensor) -> torch.Tensor:
    """clean + noise along the input gradient of the student's code cross-entropy.

    ``ratios`` [batch] sets ||noise|| / ||clean|| per example.
    """
    probe = clean.detach().clone().requires_grad_(True)
    similarity = student(probe)["code_similarity"]
    loss = F.cross_entropy(logit_scale * similarity.flatten(0, 1), targets.flatten())
    (gradient,) = torch.autograd.grad(loss, probe)
    direction = gradient / (gradient.norm(dim=1, keepdim=True) + 1e-12)
    noise = direction * clean.norm(dim=1, keepdim=True) * ratios[:, None]
    return (clean + noise).detach()


def adversarial_loss(student: VQEnhancerModel, teacher: VQEnhancerModel, clean: torch.Tensor,
                     args: argparse.Namespace, generator: torch.Generator
                     ) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        targets = teacher(clean)["indices"]
    ratios = torch.empty(clean.shape[0]).uniform_(args.min_noise_ratio, args.max_noise_ratio,
                                                  generator=generator)
    noisy = adversarial_input(student, clean, targets, args.logit_scale, ratios)
    on_noisy = student(noisy)
    on_clean = student(clean, target=clean)
    ce_noisy = F.cross_entropy(args.logit_scale * on_noisy["code_similarity"].flatten(0, 1),
                               targets.flatten())
    ce_clean = F.cross_entropy(args.logit_scale * on_clean["code_similarity"].flatten(0, 1),
                               targets.flatten())
    sc = on_clean["spectral_convergence"]
    # Spectral convergence of the enhanced adversarial input, for the log only.
    with torch.no_grad():
        clean_log = log_magnitude(complex_spectrogram(clean, student.config))
        sc_noisy = spectral_convergence(on_noisy["enhanced_log_magnitude"], clean_log)
    return {"loss": ce_noisy + ce_clean + student.config.spectral_convergence_weight * sc,
            "ce_noisy": ce_noisy, "ce_clean": ce_clean, "spectral_convergence": sc,
            "sc_noisy": sc_noisy}


def _save_checkpoint(out: Path, model: VQEnhancerModel, optimizer: torch.optim.Optimizer,
                     step: int, sampler: CropSampler, generator: torch.Generator) -> None:
    checkpoint = out / "checkpoint"
    model.save_pretrained(checkpoint)
    state = {"step": step, "optimizer": optimizer.state_dict(),
             "sampler_rng": sampler.rng.bit_generator.state,
             "torch_rng": torch.get_rng_state(), "noise_rng": generator.get_state()}
    temporary = checkpoint / (STATE_NAME + ".tmp")
    torch.save(state, temporary)
    temporary.replace(checkpoint / STATE_NAME)


def _student_optimizer(model: VQEnhancerModel, lr: float) -> torch.optim.Optimizer:
    # The quantiser has no parameters (EMA buffers only); freezing it = eval mode.
    model.quantizer.eval()
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(0.5, 0.9))


def run(args: argparse.Namespace) -> int:
    if args.steps <= 0 or args.adversarial_steps < 0:
        raise ParameterError("--steps must be positive and --adversarial-steps >= 0")
    if not 0 < args.min_noise_ratio <= args.max_noise_ratio:
        raise ParameterError("need 0 < --min-noise-ratio <= --max-noise-ratio")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    files = find_audio(args.data)
    if not files:
        raise ParameterError(f"no audio files under --data {args.data}")
    train_files = benchmark_split(files)[0]
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint, teacher_dir = args.out / "checkpoint", args.out / "teacher"
    resuming = args.resume and (checkpoint / STATE_NAME).is_file()
    if resuming:
        model = VQEnhancerModel.from_pretrained(checkpoint).train()
    else:
        config = (EnhancementConfig.from_dict(json.loads(args.config.read_text()))
                  if args.config else EnhancementConfig())
        model = VQEnhancerModel(config).train()
    sampler = CropSampler([read_mono_16k(p, model.config.sample_rate) for p in train_files],
                          int(args.crop_seconds * model.config.sample_rate), args.seed)
    generator = torch.Generator().manual_seed(args.seed)
    step = 0
    teacher: VQEnhancerModel | None = None
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.5, 0.9))
    if resuming:
        state = torch.load(checkpoint / STATE_NAME, weights_only=False)
        step = state["step"]
        in_phase_two = (teacher_dir / "config.json").is_file()
        if step > args.steps and not in_phase_two:
            raise ParameterError(f"checkpoint is at phase-1 step {step}: resume with "
                                 f"--steps <= {step} to start the adversarial phase there")
        if in_phase_two:
            teacher = VQEnhancerModel.from_pretrained(teacher_dir)
            optimizer = _student_optimizer(model, args.lr)
        # A phase-1 run resumed with --steps equal to its step switches to phase 2 at
        # once and starts the student's optimizer afresh.
        optimizer.load_state_dict(state["optimizer"])
        for group in optimizer.param_groups:
            group["lr"] = args.lr
        sampler.rng.bit_generator.state = state["sampler_rng"]
        torch.set_rng_state(state["torch_rng"])
        generator.set_state(state["noise_rng"])
        log.info("resumed at step %d", step)

    total = args.steps + args.adversarial_steps
    started = time.monotonic()
    while step < total:
        if step == args.steps and teacher is None:
            model.save_pretrained(teacher_dir)
            teacher = VQEnhancerModel.from_pretrained(teacher_dir)
            optimizer = _student_optimizer(model, args.lr)
            log.info("step %d: teacher saved, adversarial training starts", step)
        clean = sampler.batch(args.batch_size)
        if teacher is None:
            output = model(clean, target=clean)
        else:
            output = adversarial_loss(model, teacher, clean, args, generator)
        optimizer.zero_grad(set_to_none=True)
        output["loss"].backward()
        optimizer.step()
        step += 1
        if step % 25 == 0 or step == total:
            details = " ".join(f"{k} {v.item():.4f}" for k, v in output.items()
                               if v.ndim == 0)
            log.info("step %d %s (%.2f s/step)", step, details,
                     (time.monotonic() - started) / 25)
            started = time.monotonic()
        if step % args.checkpoint_every == 0 or step == total:
            _save_checkpoint(args.out, model, optimizer, step, sampler, generator)
    model.save_pretrained(args.out)
    log.info("saved %s after %d steps", args.out, step)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())

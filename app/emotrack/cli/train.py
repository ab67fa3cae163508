"""``emotrack train MODEL ...``: train a bundled model (each trainer parses its own options).

Trainers are imported only when chosen, so ``emotrack --help`` does not load torch.
"""

from __future__ import annotations

import argparse
import importlib

# model name -> (trainer module, one-line help)
TRAINERS = {
    "emotion": ("emotrack.ml.emotion.whisper_training",
                "the emotion classifier (fine-tunes the Whisper base encoder; with --from-projects, "
                "learns from the keyframes an animator corrected)"),
    "emotion-actor": ("emotrack.ml.emotion.actor_training",
                      "the actor-referenced head of the emotion model (reads each window relative to "
                      "the actor's own voice; see 'emotrack actor-reference'); with --plain, its plain head"),
    "voice-space": ("emotrack.ml.emotion.voice_space_training",
                    "the voice space beside the actor head (groups a batch of lines by voice, so that "
                    "'classify' reads each line against its own voice's lines)"),
    "emotion-fast": ("emotrack.ml.emotion.training",
                     "a small wav2vec2 classifier from scratch (the bundled fast model until 2026-12-03)"),
    "quality": ("emotrack.ml.quality.training", "the VQScore speech-quality estimator"),
    "quality-mos": ("emotrack.ml.quality.mos_training",
                    "the supervised quality estimator (PESQ-wb and STOI without a reference)"),
    "enhance": ("emotrack.ml.quality.enhancement_training", "the self-distilled speech enhancer"),
    "face": ("emotrack.ml.face.train_command",
             "the face network (ARKit-52 weights from speech and emotion; RAVDESS, synthetic speech or "
             "Live Link Face captures with their audio)"),
}


CORRECTIONS_TRAINER = ("emotrack.ml.emotion.corrections",
                       "an emotion model on the keyframes an animator corrected")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train", help="train a model (emotion, emotion-actor, voice-space, emotion-fast, quality, quality-mos, "
                      "enhance, face)",
        add_help=False,
        description="Train a model; 'emotrack train MODEL --help' lists its options.",
    )
    # add_help=False passes --help on to the trainer; MODEL is optional only so that
    # 'emotrack train --help' can still print this parser's own help.
    parser.add_argument("model", nargs="?", choices=list(TRAINERS), metavar="MODEL",
                        help="; ".join(f"{k}: {v[1]}" for k, v in TRAINERS.items()))
    parser.set_defaults(func=run, accepts_rest=True, train_parser=parser)


def run(args: argparse.Namespace, rest: list[str]) -> int:
    if args.model is None:
        if any(arg in ("-h", "--help") for arg in rest):
            args.train_parser.print_help()
            return 0
        args.train_parser.error("the following arguments are required: MODEL")
    module_name, description = TRAINERS[args.model]
    if args.model == "emotion" and any(arg.split("=")[0] == "--from-projects" for arg in rest):
        # Learning from an animator's corrections fine-tunes an existing model instead.
        module_name, description = CORRECTIONS_TRAINER
    trainer = importlib.import_module(module_name)
    parser = argparse.ArgumentParser(prog=f"emotrack train {args.model}", description=f"Train {description}.")
    trainer.add_arguments(parser)
    return int(trainer.run(parser.parse_args(rest)) or 0)

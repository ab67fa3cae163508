"""Ship a retrained checkpoint head as the bundled model's plain head (``plain/``).

    PYTHONPATH=app python scripts/bundle_plain_head.py runs/emotion-read/best resources/models/emotion
    PYTHONPATH=app python scripts/bundle_plain_head.py runs/emotion-l2/best resources/models/emotion/fast

The head of ``emotrack train emotion --train-layers 0`` reads one layer of the frozen
encoder, so it folds into a linear plain head (``window_mean_head.plain_head_from_checkpoint``)
with the checkpoint's temperature, written as fp16 to TARGET/plain. Refuses a checkpoint
whose encoder differs from the target's (the head would read other states), and checks
that the target then reads a clip exactly as the checkpoint does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.ml.emotion.modeling import EmotionModel  # noqa: E402
from emotrack.ml.emotion.window_mean_head import PLAIN_FOLDER, plain_head_from_checkpoint  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a trained Whisper emotion checkpoint folder")
    parser.add_argument("target", type=Path, help="the model folder that gets plain/, or a heads folder inside one")
    args = parser.parse_args()
    source = EmotionModel.from_pretrained(args.source, device="cpu")
    # TARGET is a model folder, or a heads folder inside one (the bundled fast model's):
    # either way the head must read the encoder of the checkpoint it will sit beside.
    checkpoint = args.target if (args.target / "config.json").is_file() else args.target.parent
    target = EmotionModel.from_pretrained(checkpoint, device="cpu")
    source_encoder = source.whisper.model.encoder.state_dict()
    for name, tensor in target.whisper.model.encoder.state_dict().items():
        if not torch.equal(tensor.half(), source_encoder[name].half()):
            print(f"the encoders differ at {name}: this head reads other states", file=sys.stderr)
            return 2
    head = plain_head_from_checkpoint(source.whisper.model, source.temperature)
    head.save_pretrained(args.target / PLAIN_FOLDER, half=True)
    shipped = EmotionModel.from_pretrained(args.target, device="cpu")
    clip = np.random.default_rng(0).normal(0, 0.1, 16000 * 5).astype(np.float32)
    gap = np.abs(shipped.classify(clip) - source.classify(clip)).max()
    print(f"wrote {args.target / PLAIN_FOLDER} (layer {head.config.layers[0]}, temperature "
          f"{head.config.temperature}); largest probability difference from the checkpoint on a test clip: {gap:.1e}")
    return 0 if gap < 1e-2 else 1


if __name__ == "__main__":
    sys.exit(main())

"""Copy a trained emotion checkpoint into resources/ as fp16 safetensors.

    PYTHONPATH=app python scripts/bundle_emotion_model.py runs/emotion/best resources/models/emotion

Halves the weights (the app loads them back as float32 on the CPU), keeps config.json
(labels, ``emotrack_temperature``) and the feature extractor's preprocessor_config.json,
and leaves a model card (README.md) already in the target folder in place.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch
from transformers import AutoModelForAudioClassification


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    model = AutoModelForAudioClassification.from_pretrained(args.source, local_files_only=True, dtype=torch.float32)
    args.target.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(args.target, safe_serialization=True)
    shutil.copy2(args.source / "preprocessor_config.json", args.target / "preprocessor_config.json")
    size = (args.target / "model.safetensors").stat().st_size / 2**20
    print(f"wrote {args.target} ({size:.1f} MiB of fp16 weights)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

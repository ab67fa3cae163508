"""Check an imported Whisper encoder against CTranslate2 itself (optional tool).

    pip install ctranslate2        # not an Emotrack dependency; only this check needs it
    PYTHONPATH=app python scripts/check_whisper_import.py runs/whisper-base CT2_DIR [AUDIO]

CT2_DIR holds the joined ``model.bin`` and the wheel's ``config.json`` (and
``vocabulary.txt``); the imported folder is what ``scripts/import_whisper_base.py``
wrote (with the full 30 s positional table, i.e. without ``--max-seconds``). Both encode
the same 30 s log-mel input (AUDIO, default synthetic speech-like tones, zero-padded);
the script prints the largest and mean absolute difference of the final hidden states.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))


def main() -> int:
    import ctranslate2
    from transformers import WhisperFeatureExtractor, WhisperForAudioClassification

    from emotrack.io.audio import load_audio
    from transformers.utils import logging

    logging.set_verbosity_error()  # the untrained head's load report is expected

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("imported", type=Path)
    parser.add_argument("ct2_dir", type=Path)
    parser.add_argument("audio", type=Path, nargs="?")
    args = parser.parse_args()

    if args.audio:
        samples = load_audio(args.audio).samples[: 30 * 16000]
    else:
        t = np.arange(4 * 16000) / 16000
        samples = (0.2 * np.sin(2 * np.pi * (140 + 30 * np.sin(2 * np.pi * 0.7 * t)) * t)
                   * np.clip(np.sin(2 * np.pi * 3 * t), 0, None)).astype(np.float32)
    features = WhisperFeatureExtractor(feature_size=80)(samples, sampling_rate=16000,
                                                         return_tensors="np").input_features.astype(np.float32)
    model = WhisperForAudioClassification.from_pretrained(args.imported, num_labels=2, dtype=torch.float32).eval()
    with torch.inference_mode():
        ours = model.encoder(torch.from_numpy(features)).last_hidden_state.numpy()
    reference = ctranslate2.models.Whisper(str(args.ct2_dir), device="cpu", compute_type="float32")
    theirs = np.array(reference.encode(ctranslate2.StorageView.from_array(features), to_cpu=True))
    difference = np.abs(ours - theirs)
    print(f"max |difference| {difference.max():.2e}, mean {difference.mean():.2e}, "
          f"largest |value| {np.abs(theirs).max():.2f}, shape {ours.shape}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Face network speed on CPU: frames/s of the full network (from cached encoder states)
and of an emotion-only re-run (``articulate`` on cached analysis features).

    PYTHONPATH=app python benchmarks/face_speed.py [--model DIR] [--threads 2] [--seconds 60]

Without ``--model`` the default (untrained) configuration is timed: the speed does not
depend on the weights. Frames are output frames at ``--fps`` (default 30).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))


def best_time(run, repeats: int = 5) -> float:
    run()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the test clip")
    parser.add_argument("--fps", type=float, default=30.0)
    args = parser.parse_args()

    import torch

    from emotrack.ml.face.modeling import FaceNet, load_face_net

    torch.set_num_threads(args.threads)
    model = load_face_net(args.model) if args.model else FaceNet().eval()
    config = model.config
    frames_in = round(args.seconds * config.input_fps)
    hidden = torch.randn(config.n_layers_in, frames_in, config.width_in)
    emotions = torch.softmax(torch.randn(frames_in, config.n_emotions), -1)
    with torch.inference_mode():
        features = model.analysis(hidden)
        frames_out = len(model.articulate(features, emotions, args.fps))
        full = best_time(lambda: model(hidden, emotions, args.fps))
        articulate = best_time(lambda: model.articulate(features, emotions, args.fps))
    params = sum(p.numel() for p in model.parameters())
    print(f"{params:,} parameters; {args.seconds:g} s clip, {frames_out} frames at {args.fps:g} fps, "
          f"{args.threads} threads")
    print(f"full network:      {frames_out / full:10.0f} frames/s")
    print(f"emotion-only rerun:{frames_out / articulate:10.0f} frames/s")


if __name__ == "__main__":
    main()

"""Compare quality-estimator runs, and their ensemble, on the corpus's validation speakers.

    PYTHONPATH=app python scripts/compare_quality_runs.py --corpus runs/mos/corpus runs/mos/statistics runs/mos/attention

Each run's trainer kept its best epoch's validation predictions
(``best/validation_predictions.npz``); the ensemble is their mean, as
``MOSEstimator`` averages the members of an ``ensemble.json`` folder. This is how the
shipped estimator is chosen: on validation speakers, never on the benchmark's.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))

from emotrack.ml.quality.mos_corpus import read_corpus  # noqa: E402
from emotrack.ml.quality.mos_training import VALIDATION_PREDICTIONS  # noqa: E402


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x)).astype(float)


def figures(predicted: np.ndarray, truth: np.ndarray) -> str:
    lcc = np.corrcoef(predicted, truth)[0, 1]
    srcc = np.corrcoef(ranks(predicted), ranks(truth))[0, 1]
    rmse = np.sqrt(np.mean((predicted - truth) ** 2))
    return f"LCC {lcc:.3f}  SRCC {srcc:.3f}  RMSE {rmse:.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("runs", type=Path, nargs="+", help="training output folders (each with best/)")
    args = parser.parse_args()
    items = {item.index: item for item in read_corpus(args.corpus, "validation")}
    predictions = {}
    for run in args.runs:
        stored = np.load(run / "best" / VALIDATION_PREDICTIONS)
        predictions[run.name] = dict(zip(stored["index"].tolist(), zip(stored["pesq"], stored["stoi"])))
        print(f"{run.name}: epoch {int(stored['epoch'])}")
    common = sorted(set(items).intersection(*[set(p) for p in predictions.values()]))
    pesq = np.array([items[i].pesq for i in common])
    stoi = np.array([items[i].stoi for i in common])
    print(f"{len(common)} validation items")
    for size in range(1, len(predictions) + 1):
        for names in itertools.combinations(predictions, size):
            p = np.mean([[predictions[n][i][0] for i in common] for n in names], axis=0)
            s = np.mean([[predictions[n][i][1] for i in common] for n in names], axis=0)
            print(f"{' + '.join(names):<40} PESQ {figures(p, pesq)}   STOI LCC {np.corrcoef(s, stoi)[0, 1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

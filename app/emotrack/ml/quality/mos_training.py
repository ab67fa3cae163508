"""Training of the supervised quality estimator (``mos_estimator.MOSNet``).

``emotrack train quality-mos --corpus DIR --out DIR [--epochs N] [--resume]``

``--corpus`` is a folder built by ``python -m emotrack.ml.quality.mos_corpus``: degraded
speech with its PESQ-wb and STOI against the clean original. Its ``train`` split trains;
its ``validation`` split (other speakers) chooses the epoch, by the Pearson correlation
(LCC) of predicted and true PESQ-wb. The benchmark speakers are in neither.

Loss: squared error of the clip's PESQ, plus STOI's (scaled to PESQ's range), plus a
weak pull of every frame's estimate towards its clip's scores (so the frame curve is a
local estimate). Features are computed once per item (they have no parameters); batches
hold items of similar length, so little is padded. After every epoch the run saves
``OUT/checkpoint.pt`` (``--resume`` continues from it) and, when validation improved,
``OUT/best`` (``save_pretrained``; ``--half`` for what ships).

``--pair-weight`` adds a ranking loss between items cut from the same clean utterance
(the clean cut above its degraded ones, a milder degradation above a harsher one), and
batches then hold ``--items-per-source`` items of each of several utterances. It asks for
what the benchmark's pairs measure, a clean clip above its own degraded versions, with
the speaker and the recording held fixed; the batch-wide ranking (``--rank-weight``)
compares different speakers' clips, where PESQ's order says less.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emotrack.errors import ParameterError
from emotrack.ml.checkpoint import save_training_state
from emotrack.ml.quality.mos_corpus import CorpusItem, read_corpus
from emotrack.ml.quality.mos_estimator import PESQ_RANGE, MOSConfig, MOSNet

log = logging.getLogger(__name__)

STOI_WEIGHT = PESQ_RANGE[1] - PESQ_RANGE[0]  # STOI's 0-1 scaled to PESQ's span
FRAME_WEIGHT = 0.2
VALIDATION_PREDICTIONS = "validation_predictions.npz"
RANK_MARGIN = 0.1  # PESQ points: closer pairs are ties, not orders
RANK_SCALE = 4.0  # per PESQ point: a 0.5-point lead costs softplus(-2)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, required=True, help="a quality corpus (mos_corpus)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--weight-decay", type=float, default=1e-2)
    parser.add_argument("--hidden-channels", type=int, default=MOSConfig.hidden_channels)
    parser.add_argument("--pooling", choices=("statistics", "attention"), default=MOSConfig.pooling)
    parser.add_argument("--rank-weight", type=float, default=0.0,
                        help="weight of a pairwise ranking loss on clip PESQ (0: squared error only)")
    parser.add_argument("--pair-weight", type=float, default=0.0,
                        help="weight of a ranking loss between items of the same clean utterance (0: none)")
    parser.add_argument("--items-per-source", type=int, default=4,
                        help="with --pair-weight: items of each clean utterance in a batch")
    parser.add_argument("--no-balance", dest="balance", action="store_false",
                        help="weigh every item alike (default: by 1/sqrt of how common its PESQ is)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    parser.add_argument("--max-minutes", type=float, default=None, help="stop after the epoch that passes this")


def item_features(model: MOSNet, items: list[CorpusItem]) -> list[torch.Tensor]:
    """Each item's input features ``[channels, frames]`` (fp16 to halve the memory)."""
    with torch.inference_mode():
        return [model.features(torch.from_numpy(item.audio())[None])[0].half() for item in items]


def batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Indices in batches of similar length, batch order shuffled."""
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], rng.random()))
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    rng.shuffle(chunks)
    return chunks


def source_batches(sources: list[str], batch_size: int, per_source: int, rng: random.Random) -> list[list[int]]:
    """Every index once, in batches of ``batch_size // per_source`` groups of up to
    ``per_source`` indices that share a source (so each batch holds same-source pairs)."""
    by_source: dict[str, list[int]] = {}
    for index, source in enumerate(sources):
        by_source.setdefault(source, []).append(index)
    groups = []
    for members in by_source.values():
        rng.shuffle(members)
        groups += [members[i:i + per_source] for i in range(0, len(members), per_source)]
    rng.shuffle(groups)
    per_batch = max(1, batch_size // per_source)
    return [[i for group in groups[g:g + per_batch] for i in group] for g in range(0, len(groups), per_batch)]


def collate(features: list[torch.Tensor], indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-padded ``[batch, channels, frames]`` features and the ``[batch, frames]`` mask
    (the network zeroes padded frames itself, so the padding value does not matter)."""
    frames = max(features[i].shape[-1] for i in indices)
    channels = features[indices[0]].shape[0]
    batch = torch.zeros(len(indices), channels, frames)
    mask = torch.zeros(len(indices), frames, dtype=torch.bool)
    for row, i in enumerate(indices):
        length = features[i].shape[-1]
        batch[row, :, :length] = features[i].float()
        mask[row, :length] = True
    return batch, mask


def balance_weights(pesq: np.ndarray, bins: int = 12) -> np.ndarray:
    """Per-item loss weights ~ 1/sqrt(share of items in its PESQ bin), mean 1.

    Random degradations pile up at the bottom of PESQ's scale (heavy noise and reverb
    all score ~1.1), so plain squared error learns the crowded low end and regresses
    clean and mildly degraded speech towards the mean, where telling them apart is
    what a user needs."""
    edges = np.linspace(PESQ_RANGE[0], PESQ_RANGE[1], bins + 1)
    which = np.clip(np.digitize(pesq, edges) - 1, 0, bins - 1)
    share = np.bincount(which, minlength=bins) / len(pesq)
    weights = 1.0 / np.sqrt(share[which])
    return weights / weights.mean()


def loss_of(model: MOSNet, features: torch.Tensor, mask: torch.Tensor, pesq: torch.Tensor, stoi: torch.Tensor,
            weights: torch.Tensor | None = None, rank_weight: float = 0.0, pair_weight: float = 0.0,
            sources: torch.Tensor | None = None) -> torch.Tensor:
    """``sources``: ``[batch]`` integer ids of the items' clean utterances (for ``pair_weight``)."""
    output = model.score_features(features, mask)
    clip = (output.pesq - pesq) ** 2 + (STOI_WEIGHT * (output.stoi - stoi)) ** 2
    frame = ((output.frame_pesq - pesq[:, None]) ** 2 + (STOI_WEIGHT * (output.frame_stoi - stoi[:, None])) ** 2)
    frame = (frame * mask).sum(dim=1) / mask.sum(dim=1)
    per_item = clip + FRAME_WEIGHT * frame
    loss = (per_item if weights is None else weights * per_item).mean()
    if rank_weight > 0:
        loss = loss + rank_weight * ranking_loss(output.pesq, pesq)
    if pair_weight > 0 and sources is not None:
        loss = loss + pair_weight * ranking_loss(output.pesq, pesq, same=sources[:, None] == sources[None, :])
    return loss


def ranking_loss(predicted: torch.Tensor, target: torch.Tensor, margin: float = RANK_MARGIN,
                 same: torch.Tensor | None = None) -> torch.Tensor:
    """Mean logistic loss over the batch's pairs whose PESQ differs by more than ``margin``
    when the estimate orders them the other way (RankNet). Squared error alone lets the
    crowded top of the scale collapse: clean speech and a near-clean copy end up tied.
    ``same``: ``[batch, batch]`` booleans, the pairs to rank (default: all)."""
    ahead = (target[:, None] - target[None, :]) > margin
    if same is not None:
        ahead = ahead & same
    if not ahead.any():
        return predicted.sum() * 0.0
    difference = predicted[:, None] - predicted[None, :]
    return torch.nn.functional.softplus(-RANK_SCALE * difference[ahead]).mean()


def predict(model: MOSNet, features: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """Clip PESQ and STOI estimates for every item, in order. One item at a time, as the
    app scores a clip: padding would change the frames near a shorter clip's end."""
    model.eval()
    pesq, stoi = np.zeros(len(features)), np.zeros(len(features))
    with torch.inference_mode():
        for index, item in enumerate(features):
            output = model.score_features(*collate(features, [index]))
            pesq[index], stoi[index] = float(output.pesq[0]), float(output.stoi[0])
    return pesq, stoi


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.corrcoef(x, y)[0, 1])


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.rank_weight < 0 or args.pair_weight < 0:
        raise ParameterError("--rank-weight and --pair-weight must be >= 0")
    if args.pair_weight > 0 and not 2 <= args.items_per_source <= args.batch_size:
        raise ParameterError("--items-per-source must be 2 ... --batch-size")
    if args.epochs < 1 or args.batch_size < 1 or not args.lr > 0:
        raise ParameterError("--epochs and --batch-size must be >= 1 and --lr > 0")
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    train_items, validation_items = read_corpus(args.corpus, "train"), read_corpus(args.corpus, "validation")
    if not train_items or not validation_items:
        raise ParameterError(f"{args.corpus} needs items in both its train and validation splits")
    sources = [item.source for item in train_items]
    if args.pair_weight > 0 and len(set(sources)) < 2:
        raise ParameterError(f"{args.corpus} does not name its items' sources: --pair-weight needs them")
    model = MOSNet(MOSConfig(hidden_channels=args.hidden_channels, pooling=args.pooling))
    started = time.monotonic()
    train_features, validation_features = item_features(model, train_items), item_features(model, validation_items)
    log.info("features of %d train + %d validation items (%.0f s)", len(train_items), len(validation_items),
             time.monotonic() - started)
    train_pesq = torch.tensor([item.pesq for item in train_items], dtype=torch.float32)
    train_stoi = torch.tensor([item.stoi for item in train_items], dtype=torch.float32)
    validation_pesq = np.array([item.pesq for item in validation_items])
    item_weights = torch.tensor(balance_weights(train_pesq.numpy()) if args.balance else np.ones(len(train_items)),
                                dtype=torch.float32)

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train_items) / args.batch_size)
    if args.pair_weight > 0:  # as many batches every epoch, whatever the shuffle
        steps_per_epoch = len(source_batches(sources, args.batch_size, args.items_per_source, random.Random(0)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=args.lr, epochs=args.epochs,
                                                   steps_per_epoch=steps_per_epoch, pct_start=0.1)
    args.out.mkdir(parents=True, exist_ok=True)
    checkpoint_path, history_path = args.out / "checkpoint.pt", args.out / "history.json"
    first_epoch, best, history = 1, -1.0, []
    if args.resume and checkpoint_path.is_file():
        state = torch.load(checkpoint_path, weights_only=False)
        if state["epochs"] != args.epochs:  # the one-cycle schedule spans the whole run
            raise ParameterError(f"{checkpoint_path} belongs to a {state['epochs']}-epoch run; "
                                 f"resume it with --epochs {state['epochs']}")
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        first_epoch, best, history = state["epoch"] + 1, state["best"], state["history"]
        log.info("resumed after epoch %d (best validation LCC %.3f)", state["epoch"], best)
    lengths = [f.shape[-1] for f in train_features]
    source_ids = {source: i for i, source in enumerate(sorted(set(sources)))}
    train_sources = torch.tensor([source_ids[source] for source in sources])
    for epoch in range(first_epoch, args.epochs + 1):
        model.train()
        epoch_started, total = time.monotonic(), 0.0
        rng = random.Random(f"{args.seed}:{epoch}")
        if args.pair_weight > 0:
            epoch_batches = source_batches(sources, args.batch_size, args.items_per_source, rng)
        else:
            epoch_batches = batches(lengths, args.batch_size, rng)
        for indices in epoch_batches:
            features, mask = collate(train_features, indices)
            loss = loss_of(model, features, mask, train_pesq[indices], train_stoi[indices], item_weights[indices],
                           args.rank_weight, args.pair_weight, train_sources[indices])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += loss.item() * len(indices)
        predicted, predict_stoi = predict(model, validation_features)
        lcc = pearson(predicted, validation_pesq)
        rmse = float(np.sqrt(np.mean((predicted - validation_pesq) ** 2)))
        history.append({"epoch": epoch, "train_loss": total / len(train_items), "validation_lcc": lcc,
                        "validation_rmse": rmse, "minutes": (time.monotonic() - epoch_started) / 60})
        log.info("epoch %d: train loss %.4f, validation PESQ LCC %.3f RMSE %.3f (%.1f min)", epoch,
                 history[-1]["train_loss"], lcc, rmse, history[-1]["minutes"])
        if lcc > best:
            best = lcc
            model.save_pretrained(args.out / "best")
            # Kept so that ensembles of runs can be scored on the same validation items.
            np.savez(args.out / "best" / VALIDATION_PREDICTIONS, index=[item.index for item in validation_items],
                     pesq=predicted, stoi=predict_stoi, epoch=epoch)
        save_training_state(checkpoint_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                              "schedule": schedule.state_dict(), "epoch": epoch, "epochs": args.epochs, "best": best,
                                              "history": history})
        history_path.write_text(json.dumps(history, indent=1) + "\n")
        if args.max_minutes is not None and (time.monotonic() - started) / 60 > args.max_minutes:
            log.info("stopping after epoch %d: --max-minutes %.0f passed", epoch, args.max_minutes)
            break
    log.info("best validation PESQ LCC %.3f; network in %s", best, args.out / "best")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
